"""`platformctl bootstrap ENV`: the S3 bucket that holds an environment's Terraform state.

The bucket is the one named in the environment's `<env>.s3.tfbackend` (the same file
`init` hands to the S3 backend), so there is one name and one place to change it. Every
setting is checked and only what is missing is changed, so a second run changes nothing
and says so: versioning, default encryption with a customer-managed KMS key (the alias the
backend file's `kms_key_id` names, created with yearly rotation if missing; S3 Bucket Keys
keep its request cost down), all four public-access blocks, BucketOwnerEnforced (no ACLs), a
policy denying plain-HTTP requests, a lifecycle rule expiring noncurrent state versions after
NONCURRENT_STATE_DAYS (90: a quarter of history to roll back to, while state files that
carry every resource's attributes do not pile up for ever; the current version never
expires), server access logging into a `<bucket>-access-logs`
bucket (SSE-S3, since S3 cannot deliver access logs to a bucket whose default encryption is
SSE-KMS; logs expire after ACCESS_LOG_DAYS), and tags (given at creation, and added later if
someone removed them). With --dynamodb-lock it also makes the
DynamoDB lock table older backends used (on demand, point-in-time recovery, encrypted),
for teams migrating to `use_lockfile`.

The AWS calls run in a child, `python -m platformctl.aws.bootstrap SPEC`, through the same
aws-vault prefix as terraform (credentials.run_python): the bucket is created with the
credentials that will later read and write the state.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from platformctl.aws import credentials
from platformctl.errors import ContractError, PlatformctlError
from platformctl.project import hcl
from platformctl.project.contract import Environment

BOOTSTRAP_MODULE = "platformctl.aws.bootstrap"
TLS_ONLY_SID = "DenyInsecureTransport"
LOCK_TABLE_KEY = "LockID"
DEFAULT_KMS_ALIAS = "alias/terraform-state"
NONCURRENT_STATE_DAYS = 90
ACCESS_LOG_DAYS = 365
STATE_LIFECYCLE_ID = "expire-noncurrent-state-versions"
LOG_LIFECYCLE_ID = "expire-access-logs"
LOGGING_SID = "S3ServerAccessLogsFromStateBucket"


class BootstrapError(PlatformctlError):
    """The state bucket or lock table cannot be made as the contract describes."""


@dataclass(frozen=True)
class BackendSpec:
    """What to create, read from the environment's backend file and contract."""

    environment: str
    bucket: str
    region: str
    tags: dict[str, str]
    lock_table: str | None = None
    kms_key_alias: str = DEFAULT_KMS_ALIAS

    @property
    def log_bucket(self) -> str:
        return f"{self.bucket}-access-logs"

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@dataclass(frozen=True)
class BootstrapReport:
    spec: BackendSpec
    changes: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": "bootstrap",
            "environment": self.spec.environment,
            "bucket": self.spec.bucket,
            "region": self.spec.region,
            "lock_table": self.spec.lock_table,
            "kms_key_alias": self.spec.kms_key_alias,
            "log_bucket": self.spec.log_bucket,
            "changed": self.changed,
            "changes": self.changes,
            "unchanged": self.unchanged,
        }


def backend_file(environment: Environment) -> Path:
    path = environment.backend_config
    if path is None:
        raise ContractError(
            f"{environment.name} has no backend_config in platform.toml: bootstrap is for environments with "
            "an S3 backend (dev, prod)."
        )
    if not path.is_file():
        raise ContractError(f"Backend config {path} is missing: create it (bucket, key, region, use_lockfile).")
    return path


def spec_for(environment: Environment, dynamodb_lock: bool = False) -> BackendSpec:
    path = backend_file(environment)
    settings = hcl.load(path)
    bucket = settings.get("bucket")
    if not bucket:
        raise ContractError(f'{path} names no bucket: add bucket = "...".')
    region = settings.get("region") or environment.region
    if not region:
        raise ContractError(f'{path} names no region, nor does {environment.name}\'s provider: add region = "...".')
    project = hcl.variable_value(environment.directory, "project_name")
    tags = {
        "Project": str(project or environment.directory.parents[2].name),
        "Environment": environment.name,
        "ManagedBy": "platformctl",
        "Purpose": "terraform-state",
    }
    kms_key_alias = _kms_alias(path, settings.get("kms_key_id"))
    lock_table = None
    if dynamodb_lock:
        # The table a migrating team's backend already names, else one named after the bucket.
        lock_table = str(settings.get("dynamodb_table") or f"{bucket}-lock")
    return BackendSpec(environment.name, str(bucket), str(region), tags, lock_table, kms_key_alias)


def _kms_alias(path: Path, kms_key_id: object) -> str:
    """The alias bootstrap makes the state key under: the one the backend file's kms_key_id names."""
    if not kms_key_id:
        return DEFAULT_KMS_ALIAS
    text = str(kms_key_id)
    if text.startswith("alias/"):
        return text
    if ":alias/" in text:
        return "alias/" + text.split(":alias/", 1)[1]
    raise ContractError(
        f"{path}: kms_key_id {text} is not an alias: name the state key by alias "
        '(kms_key_id = "arn:aws:kms:REGION:ACCOUNT:alias/NAME"), so bootstrap can create it.'
    )


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def tls_only_statement(bucket: str, region: str) -> dict[str, Any]:
    arn = f"arn:{_partition(region)}:s3:::{bucket}"
    return {
        "Sid": TLS_ONLY_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _read(call: Callable[[], Any], absent: str, default: Any) -> Any:
    """`call()`, or `default` when AWS answers that the thing read is not there (error code `absent`)."""
    from botocore.exceptions import ClientError

    try:
        return call()
    except ClientError as exc:
        if _error_code(exc) != absent:
            raise
        return default


@dataclass
class ChangeLog:
    """What a bootstrap changed and what it found as wanted, in the order it checked them."""

    changes: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def record(self, changed: bool, what: str) -> None:
        (self.changes if changed else self.unchanged).append(what)

    def as_dict(self) -> dict[str, list[str]]:
        return {"changes": self.changes, "unchanged": self.unchanged}


@dataclass(frozen=True)
class AwsClients:
    s3: Any
    dynamodb: Any
    kms: Any

    @classmethod
    def for_region(cls, region: str) -> AwsClients:
        import boto3

        return cls(*(boto3.client(service, region_name=region) for service in ("s3", "dynamodb", "kms")))


PUBLIC_ACCESS_BLOCKED = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


def make_state_backend(spec: BackendSpec, aws: AwsClients, log: ChangeLog) -> None:
    """Every setting of the state bucket (then its log bucket, then the lock table if asked),
    each checked and changed only if it differs; the KMS key before the encryption that names it."""
    s3 = aws.s3
    ensure_state_bucket(s3, spec, log)
    ensure_ownership_enforced(s3, spec.bucket, log)
    ensure_public_access_blocked(s3, spec.bucket, log)
    ensure_versioning(s3, spec.bucket, log)
    key_arn = ensure_state_key(aws.kms, spec, log)
    ensure_default_encryption(s3, spec, key_arn, log)
    ensure_lifecycle_rule(
        s3,
        spec.bucket,
        {
            "ID": STATE_LIFECYCLE_ID,
            "Filter": {"Prefix": ""},
            "Status": "Enabled",
            "NoncurrentVersionExpiration": {"NoncurrentDays": NONCURRENT_STATE_DAYS},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
        },
        f"noncurrent state versions expire after {NONCURRENT_STATE_DAYS} days",
        log,
    )
    ensure_policy_statement(
        s3, spec.bucket, tls_only_statement(spec.bucket, spec.region), "bucket policy denies requests without TLS", log
    )
    ensure_access_logging(s3, spec, log)
    ensure_bucket_tags(s3, spec, log)
    if spec.lock_table:
        ensure_lock_table(aws.dynamodb, spec.lock_table, spec.tags, log)


# --- S3 buckets ------------------------------------------------------------------------


def _bucket_exists(s3: Any, bucket: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
        return True
    except ClientError as exc:
        if _error_code(exc) not in ("404", "NoSuchBucket", "NotFound"):
            raise
        return False


def _create_bucket(s3: Any, bucket: str, spec: BackendSpec) -> None:
    """A tagged bucket without ACLs in the spec's region, waited for until S3 answers for it."""
    configuration: Any = {"Tags": [{"Key": k, "Value": v} for k, v in spec.tags.items()]}
    if spec.region != "us-east-1":  # us-east-1 refuses an explicit LocationConstraint
        configuration["LocationConstraint"] = spec.region
    s3.create_bucket(Bucket=bucket, ObjectOwnership="BucketOwnerEnforced", CreateBucketConfiguration=configuration)
    s3.get_waiter("bucket_exists").wait(Bucket=bucket, WaiterConfig={"Delay": 1, "MaxAttempts": 30})


def ensure_state_bucket(s3: Any, spec: BackendSpec, log: ChangeLog) -> None:
    from botocore.exceptions import ClientError

    try:
        exists = _bucket_exists(s3, spec.bucket)
    except ClientError as exc:
        if _error_code(exc) in ("403", "AccessDenied", "Forbidden"):
            raise BootstrapError(
                f"Bucket {spec.bucket} exists but these credentials cannot use it (another account owns it, or "
                "access is denied): choose another bucket name in the backend file, or fix the permissions."
            ) from exc
        raise
    if exists:
        log.record(False, f"bucket {spec.bucket} exists")
        return
    _create_bucket(s3, spec.bucket, spec)
    log.record(True, f"created bucket {spec.bucket} in {spec.region}")


def ensure_ownership_enforced(s3: Any, bucket: str, log: ChangeLog) -> None:
    controls = _read(lambda: s3.get_bucket_ownership_controls(Bucket=bucket), "OwnershipControlsNotFoundError", {})
    rules = controls.get("OwnershipControls", {}).get("Rules", [])
    enforced = any(r.get("ObjectOwnership") == "BucketOwnerEnforced" for r in rules)
    if not enforced:
        s3.put_bucket_ownership_controls(
            Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
        )
    log.record(not enforced, "object ownership BucketOwnerEnforced (ACLs disabled)")


def ensure_public_access_blocked(s3: Any, bucket: str, log: ChangeLog) -> None:
    answer = _read(lambda: s3.get_public_access_block(Bucket=bucket), "NoSuchPublicAccessBlockConfiguration", {})
    current = answer.get("PublicAccessBlockConfiguration", {})
    missing = any(current.get(name) is not True for name in PUBLIC_ACCESS_BLOCKED)
    if missing:
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCKED)
    log.record(missing, "public access blocked")


def ensure_versioning(s3: Any, bucket: str, log: ChangeLog) -> None:
    status = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    if status != "Enabled":
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    log.record(status != "Enabled", "versioning enabled")


def ensure_default_encryption(s3: Any, spec: BackendSpec, key_arn: str, log: ChangeLog) -> None:
    """SSE-KMS with the state key and an S3 Bucket Key (which keeps KMS request costs down)."""
    answer = _read(
        lambda: s3.get_bucket_encryption(Bucket=spec.bucket), "ServerSideEncryptionConfigurationNotFoundError", {}
    )
    rules = answer.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    wanted: Any = {
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
        "BucketKeyEnabled": True,
    }
    current = [r for r in rules if r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm")]
    matches = (
        len(current) == 1
        and current[0].get("ApplyServerSideEncryptionByDefault") == wanted["ApplyServerSideEncryptionByDefault"]
        and bool(current[0].get("BucketKeyEnabled"))
    )
    if not matches:
        s3.put_bucket_encryption(Bucket=spec.bucket, ServerSideEncryptionConfiguration={"Rules": [wanted]})
    log.record(not matches, f"default encryption aws:kms with {spec.kms_key_alias}")


def ensure_lifecycle_rule(s3: Any, bucket: str, rule: dict[str, Any], what: str, log: ChangeLog) -> None:
    """Our rule (by ID) present exactly as wanted; every other rule kept as it is."""
    answer = _read(lambda: s3.get_bucket_lifecycle_configuration(Bucket=bucket), "NoSuchLifecycleConfiguration", {})
    rules: list[dict[str, Any]] = list(answer.get("Rules", []))
    ours = [r for r in rules if r.get("ID") == rule["ID"]]
    present = len(ours) == 1 and all(ours[0].get(k) == v for k, v in rule.items())
    if not present:
        configuration: Any = {"Rules": [*[r for r in rules if r.get("ID") != rule["ID"]], rule]}
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=configuration)
    log.record(not present, what)


def ensure_policy_statement(s3: Any, bucket: str, ours: dict[str, Any], what: str, log: ChangeLog) -> None:
    """Our statement (by Sid) in the bucket policy exactly as wanted; whatever else it says is kept."""
    empty = {"Policy": json.dumps({"Version": "2012-10-17", "Statement": []})}
    policy = json.loads(_read(lambda: s3.get_bucket_policy(Bucket=bucket), "NoSuchBucketPolicy", empty)["Policy"])
    statements = policy.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else list(statements)
    present = ours in statements
    if not present:
        policy["Statement"] = [s for s in statements if s.get("Sid") != ours["Sid"]] + [ours]
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    log.record(not present, what)


def ensure_bucket_tags(s3: Any, spec: BackendSpec, log: ChangeLog) -> None:
    """The spec's tags added to whatever tags the bucket carries (someone may have removed ours)."""
    answer = _read(lambda: s3.get_bucket_tagging(Bucket=spec.bucket), "NoSuchTagSet", {})
    current = {t["Key"]: t["Value"] for t in answer.get("TagSet", [])}
    merged = {**current, **spec.tags}
    if merged != current:
        s3.put_bucket_tagging(
            Bucket=spec.bucket, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in merged.items()]}
        )
    log.record(merged != current, "bucket tags")


# --- server access logs ------------------------------------------------------------------


def ensure_access_logging(s3: Any, spec: BackendSpec, log: ChangeLog) -> None:
    """The log bucket, its expiry and delivery policy, and the state bucket logging into it."""
    logs = spec.log_bucket
    if _bucket_exists(s3, logs):
        log.record(False, f"log bucket {logs} exists")
    else:
        _create_log_bucket(s3, logs, spec)
        log.record(True, f"created log bucket {logs}")
    ensure_lifecycle_rule(
        s3,
        logs,
        {
            "ID": LOG_LIFECYCLE_ID,
            "Filter": {"Prefix": ""},
            "Status": "Enabled",
            "Expiration": {"Days": ACCESS_LOG_DAYS},
        },
        f"access logs expire after {ACCESS_LOG_DAYS} days",
        log,
    )
    ensure_policy_statement(
        s3, logs, log_delivery_statement(spec), "log bucket admits S3 log delivery from the state bucket", log
    )
    current = s3.get_bucket_logging(Bucket=spec.bucket).get("LoggingEnabled") or {}
    wanted: Any = {"TargetBucket": logs, "TargetPrefix": f"{spec.bucket}/"}
    enabled = all(current.get(k) == v for k, v in wanted.items())
    if not enabled:
        s3.put_bucket_logging(Bucket=spec.bucket, BucketLoggingStatus={"LoggingEnabled": wanted})
    log.record(not enabled, f"access logging to {logs}")


def _create_log_bucket(s3: Any, logs: str, spec: BackendSpec) -> None:
    _create_bucket(s3, logs, spec)
    # Set once, at creation: public access blocked, SSE-S3 (log delivery takes no SSE-KMS default).
    s3.put_public_access_block(Bucket=logs, PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCKED)
    sse: Any = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
    s3.put_bucket_encryption(Bucket=logs, ServerSideEncryptionConfiguration=sse)


def log_delivery_statement(spec: BackendSpec) -> dict[str, Any]:
    """S3's logging service may write into the log bucket, for the state bucket only (no ACLs)."""
    partition = _partition(spec.region)
    return {
        "Sid": LOGGING_SID,
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"arn:{partition}:s3:::{spec.log_bucket}/{spec.bucket}/*",
        "Condition": {"ArnLike": {"aws:SourceArn": f"arn:{partition}:s3:::{spec.bucket}"}},
    }


# --- KMS key of the state ------------------------------------------------------------------


def ensure_state_key(kms: Any, spec: BackendSpec, log: ChangeLog) -> str:
    """The customer-managed key under the spec's alias, enabled and rotating yearly; its ARN."""
    alias = spec.kms_key_alias
    metadata = _read(lambda: kms.describe_key(KeyId=alias)["KeyMetadata"], "NotFoundException", None)
    if metadata is None:
        metadata = kms.create_key(
            Description=f"Terraform state in s3://{spec.bucket} (platformctl bootstrap)",
            KeyUsage="ENCRYPT_DECRYPT",
            Tags=[{"TagKey": k, "TagValue": v} for k, v in spec.tags.items()],
        )["KeyMetadata"]
        kms.create_alias(AliasName=alias, TargetKeyId=metadata["KeyId"])
        log.record(True, f"created KMS key {alias}")
    elif metadata.get("KeyState") != "Enabled":
        raise BootstrapError(
            f"KMS key {alias} is {metadata.get('KeyState')}: enable it (or cancel its deletion) and run "
            "bootstrap again."
        )
    else:
        log.record(False, f"KMS key {alias} exists")
    rotating = bool(kms.get_key_rotation_status(KeyId=metadata["KeyId"]).get("KeyRotationEnabled"))
    if not rotating:
        kms.enable_key_rotation(KeyId=metadata["KeyId"])
    log.record(not rotating, "KMS key rotation enabled")
    return str(metadata["Arn"])


# --- DynamoDB lock table (optional) ----------------------------------------------------------


def ensure_lock_table(dynamodb: Any, name: str, tags: dict[str, str], log: ChangeLog) -> None:
    """The table older S3 backends lock with: keyed on LockID, on demand, encrypted, with
    point-in-time recovery and the spec's tags."""
    tag_list: Any = [{"Key": k, "Value": v} for k, v in tags.items()]
    table = _lock_table(dynamodb, name, tag_list, log)
    if table.get("KeySchema") != [{"AttributeName": LOCK_TABLE_KEY, "KeyType": "HASH"}]:
        raise BootstrapError(
            f"Table {name} exists with another key than {LOCK_TABLE_KEY}: Terraform cannot lock with it; "
            "name another table in dynamodb_table."
        )
    on_demand = table.get("BillingModeSummary", {}).get("BillingMode") == "PAY_PER_REQUEST"
    if not on_demand:
        dynamodb.update_table(TableName=name, BillingMode="PAY_PER_REQUEST")
    log.record(not on_demand, "lock table on demand")
    encrypted = table.get("SSEDescription", {}).get("Status") in ("ENABLED", "ENABLING")
    if not encrypted:
        dynamodb.update_table(TableName=name, SSESpecification={"Enabled": True})
    log.record(not encrypted, "lock table encrypted with KMS")
    backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    pitr = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus") == "ENABLED"
    if not pitr:
        dynamodb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    log.record(not pitr, "lock table point-in-time recovery")
    arn = table["TableArn"]
    current = {t["Key"]: t["Value"] for t in dynamodb.list_tags_of_resource(ResourceArn=arn).get("Tags", [])}
    missing = [t for t in tag_list if current.get(t["Key"]) != t["Value"]]
    if missing:
        dynamodb.tag_resource(ResourceArn=arn, Tags=missing)
    log.record(bool(missing), "lock table tags")


def _lock_table(dynamodb: Any, name: str, tags: Any, log: ChangeLog) -> dict[str, Any]:
    """The table's description, after creating it (on demand, encrypted, tagged) if missing."""
    table = _read(lambda: dynamodb.describe_table(TableName=name)["Table"], "ResourceNotFoundException", None)
    if table is not None:
        log.record(False, f"lock table {name} exists")
        return dict(table)
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": LOCK_TABLE_KEY, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": LOCK_TABLE_KEY, "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        SSESpecification={"Enabled": True},
        Tags=tags,
    )
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    log.record(True, f"created lock table {name} (on demand, encrypted)")
    return dict(dynamodb.describe_table(TableName=name)["Table"])


def make_backend(creds: credentials.Credentials, spec: BackendSpec) -> BootstrapReport:
    """Create or complete the bucket (and table) as the environment's identity."""
    data = credentials.run_python(creds, BOOTSTRAP_MODULE, spec.to_json())
    return BootstrapReport(spec, list(data.get("changes", [])), list(data.get("unchanged", [])))


def _child(argv: list[str]) -> int:
    """The child side: make the backend described by the JSON spec; print what changed."""
    from botocore.exceptions import BotoCoreError, ClientError

    spec = BackendSpec(**json.loads(argv[0]))
    log = ChangeLog()
    try:
        make_state_backend(spec, AwsClients.for_region(spec.region), log)
    except BootstrapError as exc:
        print(json.dumps({"error": str(exc)}))
        return 1
    except (BotoCoreError, ClientError) as exc:
        first = str(exc).strip().splitlines()[0]
        print(json.dumps({"error": f"Bootstrap of bucket {spec.bucket} failed ({first}): fix it and run it again."}))
        return 1
    print(json.dumps(log.as_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
