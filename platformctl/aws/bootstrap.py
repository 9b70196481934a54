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


class _Run:
    """One bootstrap in the child process: each ensure_* checks, changes if needed, records."""

    def __init__(self, spec: BackendSpec) -> None:
        import boto3

        self.spec = spec
        self.s3 = boto3.client("s3", region_name=spec.region)
        self.dynamodb = boto3.client("dynamodb", region_name=spec.region)
        self.kms = boto3.client("kms", region_name=spec.region)
        self.key_arn = ""
        self.changes: list[str] = []
        self.unchanged: list[str] = []

    def record(self, changed: bool, what: str) -> None:
        (self.changes if changed else self.unchanged).append(what)

    # S3 bucket
    def ensure_bucket(self) -> None:
        from botocore.exceptions import ClientError

        bucket = self.spec.bucket
        try:
            self.s3.head_bucket(Bucket=bucket)
            self.record(False, f"bucket {bucket} exists")
            return
        except ClientError as exc:
            code = _error_code(exc)
            if code in ("403", "AccessDenied", "Forbidden"):
                raise BootstrapError(
                    f"Bucket {bucket} exists but these credentials cannot use it (another account owns it, or "
                    "access is denied): choose another bucket name in the backend file, or fix the permissions."
                ) from exc
            if code not in ("404", "NoSuchBucket", "NotFound"):
                raise
        configuration: Any = {"Tags": [{"Key": k, "Value": v} for k, v in self.spec.tags.items()]}
        if self.spec.region != "us-east-1":  # us-east-1 refuses an explicit LocationConstraint
            configuration["LocationConstraint"] = self.spec.region
        self.s3.create_bucket(
            Bucket=bucket, ObjectOwnership="BucketOwnerEnforced", CreateBucketConfiguration=configuration
        )
        self.s3.get_waiter("bucket_exists").wait(Bucket=bucket, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        self.record(True, f"created bucket {bucket} in {self.spec.region}")

    def ensure_versioning(self) -> None:
        status = self.s3.get_bucket_versioning(Bucket=self.spec.bucket).get("Status")
        if status != "Enabled":
            self.s3.put_bucket_versioning(Bucket=self.spec.bucket, VersioningConfiguration={"Status": "Enabled"})
        self.record(status != "Enabled", "versioning enabled")

    # KMS key of the state
    def ensure_kms_key(self) -> None:
        from botocore.exceptions import ClientError

        alias = self.spec.kms_key_alias
        try:
            metadata = self.kms.describe_key(KeyId=alias)["KeyMetadata"]
        except ClientError as exc:
            if _error_code(exc) != "NotFoundException":
                raise
            metadata = self.kms.create_key(
                Description=f"Terraform state in s3://{self.spec.bucket} (platformctl bootstrap)",
                KeyUsage="ENCRYPT_DECRYPT",
                Tags=[{"TagKey": k, "TagValue": v} for k, v in self.spec.tags.items()],
            )["KeyMetadata"]
            self.kms.create_alias(AliasName=alias, TargetKeyId=metadata["KeyId"])
            self.record(True, f"created KMS key {alias}")
        else:
            if metadata.get("KeyState") != "Enabled":
                raise BootstrapError(
                    f"KMS key {alias} is {metadata.get('KeyState')}: enable it (or cancel its deletion) and run "
                    "bootstrap again."
                )
            self.record(False, f"KMS key {alias} exists")
        self.key_arn = str(metadata["Arn"])
        rotating = bool(self.kms.get_key_rotation_status(KeyId=metadata["KeyId"]).get("KeyRotationEnabled"))
        if not rotating:
            self.kms.enable_key_rotation(KeyId=metadata["KeyId"])
        self.record(not rotating, "KMS key rotation enabled")

    def ensure_encryption(self) -> None:
        from botocore.exceptions import ClientError

        try:
            rules = self.s3.get_bucket_encryption(Bucket=self.spec.bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        except ClientError as exc:
            if _error_code(exc) != "ServerSideEncryptionConfigurationNotFoundError":
                raise
            rules = []
        wanted: Any = {
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": self.key_arn},
            "BucketKeyEnabled": True,
        }
        current = [r for r in rules if r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm")]
        matches = (
            len(current) == 1
            and current[0].get("ApplyServerSideEncryptionByDefault") == wanted["ApplyServerSideEncryptionByDefault"]
            and bool(current[0].get("BucketKeyEnabled"))
        )
        if not matches:
            self.s3.put_bucket_encryption(
                Bucket=self.spec.bucket, ServerSideEncryptionConfiguration={"Rules": [wanted]}
            )
        self.record(not matches, f"default encryption aws:kms with {self.spec.kms_key_alias}")

    def _lifecycle_rules(self, bucket: str) -> list[dict[str, Any]]:
        from botocore.exceptions import ClientError

        try:
            rules: Any = self.s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
            return list(rules)
        except ClientError as exc:
            if _error_code(exc) != "NoSuchLifecycleConfiguration":
                raise
            return []

    def _ensure_lifecycle_rule(self, bucket: str, rule: dict[str, Any], what: str) -> None:
        """Our rule (by ID) present exactly as wanted; every other rule kept as it is."""
        rules = self._lifecycle_rules(bucket)
        ours = [r for r in rules if r.get("ID") == rule["ID"]]
        present = len(ours) == 1 and all(ours[0].get(k) == v for k, v in rule.items())
        if not present:
            configuration: Any = {"Rules": [*[r for r in rules if r.get("ID") != rule["ID"]], rule]}
            self.s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=configuration)
        self.record(not present, what)

    def ensure_state_lifecycle(self) -> None:
        rule: dict[str, Any] = {
            "ID": STATE_LIFECYCLE_ID,
            "Filter": {"Prefix": ""},
            "Status": "Enabled",
            "NoncurrentVersionExpiration": {"NoncurrentDays": NONCURRENT_STATE_DAYS},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
        }
        self._ensure_lifecycle_rule(
            self.spec.bucket, rule, f"noncurrent state versions expire after {NONCURRENT_STATE_DAYS} days"
        )

    def ensure_access_logging(self) -> None:
        from botocore.exceptions import ClientError

        logs = self.spec.log_bucket
        try:
            self.s3.head_bucket(Bucket=logs)
            self.record(False, f"log bucket {logs} exists")
        except ClientError as exc:
            if _error_code(exc) not in ("404", "NoSuchBucket", "NotFound"):
                raise
            configuration: Any = {"Tags": [{"Key": k, "Value": v} for k, v in self.spec.tags.items()]}
            if self.spec.region != "us-east-1":
                configuration["LocationConstraint"] = self.spec.region
            self.s3.create_bucket(
                Bucket=logs, ObjectOwnership="BucketOwnerEnforced", CreateBucketConfiguration=configuration
            )
            self.s3.get_waiter("bucket_exists").wait(Bucket=logs, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
            # Set once, at creation: public access blocked, SSE-S3 (log delivery takes no SSE-KMS default).
            self.s3.put_public_access_block(
                Bucket=logs,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                },
            )
            sse: Any = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
            self.s3.put_bucket_encryption(Bucket=logs, ServerSideEncryptionConfiguration=sse)
            self.record(True, f"created log bucket {logs}")
        self._ensure_lifecycle_rule(
            logs,
            {
                "ID": LOG_LIFECYCLE_ID,
                "Filter": {"Prefix": ""},
                "Status": "Enabled",
                "Expiration": {"Days": ACCESS_LOG_DAYS},
            },
            f"access logs expire after {ACCESS_LOG_DAYS} days",
        )
        self._ensure_log_delivery_policy(logs)
        current = self.s3.get_bucket_logging(Bucket=self.spec.bucket).get("LoggingEnabled") or {}
        wanted: Any = {"TargetBucket": logs, "TargetPrefix": f"{self.spec.bucket}/"}
        enabled = all(current.get(k) == v for k, v in wanted.items())
        if not enabled:
            self.s3.put_bucket_logging(Bucket=self.spec.bucket, BucketLoggingStatus={"LoggingEnabled": wanted})
        self.record(not enabled, f"access logging to {logs}")

    def _ensure_log_delivery_policy(self, logs: str) -> None:
        """S3's logging service may write into the log bucket, for the state bucket only (no ACLs)."""
        from botocore.exceptions import ClientError

        partition = _partition(self.spec.region)
        ours = {
            "Sid": LOGGING_SID,
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"arn:{partition}:s3:::{logs}/{self.spec.bucket}/*",
            "Condition": {"ArnLike": {"aws:SourceArn": f"arn:{partition}:s3:::{self.spec.bucket}"}},
        }
        try:
            policy = json.loads(self.s3.get_bucket_policy(Bucket=logs)["Policy"])
        except ClientError as exc:
            if _error_code(exc) != "NoSuchBucketPolicy":
                raise
            policy = {"Version": "2012-10-17", "Statement": []}
        statements = policy.get("Statement", [])
        statements = [statements] if isinstance(statements, dict) else list(statements)
        present = ours in statements
        if not present:
            policy["Statement"] = [s for s in statements if s.get("Sid") != LOGGING_SID] + [ours]
            self.s3.put_bucket_policy(Bucket=logs, Policy=json.dumps(policy))
        self.record(not present, "log bucket admits S3 log delivery from the state bucket")

    def ensure_public_access_block(self) -> None:
        from botocore.exceptions import ClientError

        wanted: Any = {
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        }
        try:
            current = self.s3.get_public_access_block(Bucket=self.spec.bucket)["PublicAccessBlockConfiguration"]
        except ClientError as exc:
            if _error_code(exc) != "NoSuchPublicAccessBlockConfiguration":
                raise
            current = {}
        missing = any(current.get(name) is not True for name in wanted)
        if missing:
            self.s3.put_public_access_block(Bucket=self.spec.bucket, PublicAccessBlockConfiguration=wanted)
        self.record(missing, "public access blocked")

    def ensure_ownership(self) -> None:
        from botocore.exceptions import ClientError

        try:
            rules = self.s3.get_bucket_ownership_controls(Bucket=self.spec.bucket)["OwnershipControls"]["Rules"]
        except ClientError as exc:
            if _error_code(exc) != "OwnershipControlsNotFoundError":
                raise
            rules = []
        enforced = any(r.get("ObjectOwnership") == "BucketOwnerEnforced" for r in rules)
        if not enforced:
            self.s3.put_bucket_ownership_controls(
                Bucket=self.spec.bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
            )
        self.record(not enforced, "object ownership BucketOwnerEnforced (ACLs disabled)")

    def ensure_tls_only_policy(self) -> None:
        from botocore.exceptions import ClientError

        ours = tls_only_statement(self.spec.bucket, self.spec.region)
        try:
            policy = json.loads(self.s3.get_bucket_policy(Bucket=self.spec.bucket)["Policy"])
        except ClientError as exc:
            if _error_code(exc) != "NoSuchBucketPolicy":
                raise
            policy = {"Version": "2012-10-17", "Statement": []}
        statements = policy.get("Statement", [])
        statements = [statements] if isinstance(statements, dict) else list(statements)
        present = ours in statements
        if not present:
            # Keep whatever else the policy says; replace only our own statement.
            policy["Statement"] = [s for s in statements if s.get("Sid") != TLS_ONLY_SID] + [ours]
            self.s3.put_bucket_policy(Bucket=self.spec.bucket, Policy=json.dumps(policy))
        self.record(not present, "bucket policy denies requests without TLS")

    def ensure_bucket_tags(self) -> None:
        from botocore.exceptions import ClientError

        try:
            current = {t["Key"]: t["Value"] for t in self.s3.get_bucket_tagging(Bucket=self.spec.bucket)["TagSet"]}
        except ClientError as exc:
            if _error_code(exc) != "NoSuchTagSet":
                raise
            current = {}
        merged = {**current, **self.spec.tags}
        if merged != current:
            self.s3.put_bucket_tagging(
                Bucket=self.spec.bucket, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in merged.items()]}
            )
        self.record(merged != current, "bucket tags")

    # DynamoDB lock table (optional)
    def ensure_lock_table(self, name: str) -> None:
        from botocore.exceptions import ClientError

        tags: Any = [{"Key": k, "Value": v} for k, v in self.spec.tags.items()]
        try:
            table = self.dynamodb.describe_table(TableName=name)["Table"]
        except ClientError as exc:
            if _error_code(exc) != "ResourceNotFoundException":
                raise
            self.dynamodb.create_table(
                TableName=name,
                AttributeDefinitions=[{"AttributeName": LOCK_TABLE_KEY, "AttributeType": "S"}],
                KeySchema=[{"AttributeName": LOCK_TABLE_KEY, "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
                SSESpecification={"Enabled": True},
                Tags=tags,
            )
            self.dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
            self.record(True, f"created lock table {name} (on demand, encrypted)")
            table = self.dynamodb.describe_table(TableName=name)["Table"]
        else:
            self.record(False, f"lock table {name} exists")
        if table.get("KeySchema") != [{"AttributeName": LOCK_TABLE_KEY, "KeyType": "HASH"}]:
            raise BootstrapError(
                f"Table {name} exists with another key than {LOCK_TABLE_KEY}: Terraform cannot lock with it; "
                "name another table in dynamodb_table."
            )
        on_demand = table.get("BillingModeSummary", {}).get("BillingMode") == "PAY_PER_REQUEST"
        if not on_demand:
            self.dynamodb.update_table(TableName=name, BillingMode="PAY_PER_REQUEST")
        self.record(not on_demand, "lock table on demand")
        encrypted = table.get("SSEDescription", {}).get("Status") in ("ENABLED", "ENABLING")
        if not encrypted:
            self.dynamodb.update_table(TableName=name, SSESpecification={"Enabled": True})
        self.record(not encrypted, "lock table encrypted with KMS")
        backups = self.dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        pitr = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus") == "ENABLED"
        if not pitr:
            self.dynamodb.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
        self.record(not pitr, "lock table point-in-time recovery")
        arn = table["TableArn"]
        current = {t["Key"]: t["Value"] for t in self.dynamodb.list_tags_of_resource(ResourceArn=arn).get("Tags", [])}
        missing = [t for t in tags if current.get(t["Key"]) != t["Value"]]
        if missing:
            self.dynamodb.tag_resource(ResourceArn=arn, Tags=missing)
        self.record(bool(missing), "lock table tags")

    def run(self) -> dict[str, list[str]]:
        self.ensure_bucket()
        self.ensure_ownership()
        self.ensure_public_access_block()
        self.ensure_versioning()
        self.ensure_kms_key()
        self.ensure_encryption()
        self.ensure_state_lifecycle()
        self.ensure_tls_only_policy()
        self.ensure_access_logging()
        self.ensure_bucket_tags()
        if self.spec.lock_table:
            self.ensure_lock_table(self.spec.lock_table)
        return {"changes": self.changes, "unchanged": self.unchanged}


def make_backend(creds: credentials.Credentials, spec: BackendSpec) -> BootstrapReport:
    """Create or complete the bucket (and table) as the environment's identity."""
    data = credentials.run_python(creds, BOOTSTRAP_MODULE, spec.to_json())
    return BootstrapReport(spec, list(data.get("changes", [])), list(data.get("unchanged", [])))


def _child(argv: list[str]) -> int:
    """The child side: make the backend described by the JSON spec; print what changed."""
    from botocore.exceptions import BotoCoreError, ClientError

    spec = BackendSpec(**json.loads(argv[0]))
    try:
        result = _Run(spec).run()
    except BootstrapError as exc:
        print(json.dumps({"error": str(exc)}))
        return 1
    except (BotoCoreError, ClientError) as exc:
        first = str(exc).strip().splitlines()[0]
        print(json.dumps({"error": f"Bootstrap of bucket {spec.bucket} failed ({first}): fix it and run it again."}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
