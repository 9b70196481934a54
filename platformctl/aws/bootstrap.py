"""`platformctl bootstrap ENV`: the S3 bucket that holds an environment's Terraform state.

The bucket is the one named in the environment's `<env>.s3.tfbackend` (the same file
`init` hands to the S3 backend), so there is one name and one place to change it. Every
setting is checked and only what is missing is changed, so a second run changes nothing
and says so: versioning, default encryption, all four public-access blocks,
BucketOwnerEnforced (no ACLs), a policy denying plain-HTTP requests, and tags (given at
creation, and added later if someone removed them). With --dynamodb-lock it also makes the
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
        raise ContractError(f"{path} names no bucket: add bucket = \"...\".")
    region = settings.get("region") or environment.region
    if not region:
        raise ContractError(f"{path} names no region, nor does {environment.name}'s provider: add region = \"...\".")
    project = hcl.variable_value(environment.directory, "project_name")
    tags = {
        "Project": str(project or environment.directory.parents[2].name),
        "Environment": environment.name,
        "ManagedBy": "platformctl",
        "Purpose": "terraform-state",
    }
    lock_table = None
    if dynamodb_lock:
        # The table a migrating team's backend already names, else one named after the bucket.
        lock_table = str(settings.get("dynamodb_table") or f"{bucket}-lock")
    return BackendSpec(environment.name, str(bucket), str(region), tags, lock_table)


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

    def ensure_encryption(self) -> None:
        from botocore.exceptions import ClientError

        try:
            rules = self.s3.get_bucket_encryption(Bucket=self.spec.bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        except ClientError as exc:
            if _error_code(exc) != "ServerSideEncryptionConfigurationNotFoundError":
                raise
            rules = []
        encrypted = any(r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for r in rules)
        if not encrypted:
            self.s3.put_bucket_encryption(
                Bucket=self.spec.bucket,
                ServerSideEncryptionConfiguration={
                    "Rules": [
                        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}
                    ]
                },
            )
        self.record(not encrypted, "default encryption")

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
        self.ensure_encryption()
        self.ensure_tls_only_policy()
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
