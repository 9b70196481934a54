"""dev and prod end to end, with a moto server as AWS: bootstrap of the state bucket, the STS
account guard, aws-vault sessions, plan/apply through the S3 backend with `use_lockfile`, and
every refusal of prod's approval gate.

How AWS is faked, in a copy of the repository (the environments' own files are never edited):
- one moto server per account (dev 111111111111, prod 222222222222, as their tfvars say);
  AWS_ENDPOINT_URL points boto3, the S3 backend and the provider at it;
- `zz_moto_override.tf` in each copied root: path-style S3 (moto serves no virtual hosts);
  nothing else is turned off: the moto server is platformctl's own (tests/conftest.py's
  start_moto), which answers Budgets, Application Auto Scaling, RedriveAllowPolicy and Cost
  Anomaly Detection;
- moto evaluates the TLS-only bucket policy's Deny without its aws:SecureTransport condition,
  so it would refuse every object request, over HTTPS as well: the tests check that bootstrap
  wrote the policy, then remove it so Terraform can use the bucket;
- aws-vault cannot be installed here: a stand-in `aws-vault` on PATH records its arguments,
  exports test credentials and runs the command after `--`, as `aws-vault exec` does.
Commands run as real `python -m platformctl` processes; interactive ones on a pseudo-terminal.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import ENABLE_MIRROR, MIRROR, REPO, TEST_CACHE, MotoServer, as_terminal_job, copy_repository, start_moto

from integration.test_engines import read_until
from platformctl.release import gate

pytestmark = pytest.mark.integration

DEV_ACCOUNT = "111111111111"
PROD_ACCOUNT = "222222222222"
OTHER_ACCOUNT = "999999999999"
REGION = "us-east-1"
TIMEOUT = 600

STAND_IN = """\
#!/bin/sh
# Stand-in for aws-vault, which cannot be installed on this machine: records its arguments,
# then does what `aws-vault exec [flags] PROFILE -- COMMAND...` does: runs COMMAND with
# (test) credentials of PROFILE in its environment and AWS_VAULT set to the profile.
echo "$*" >> "$STAND_IN_LOG"
profile=
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do profile=$1; shift; done
shift
export AWS_VAULT="$profile" AWS_ACCESS_KEY_ID=ASIASTANDIN AWS_SECRET_ACCESS_KEY=stand-in-secret
export AWS_SESSION_TOKEN=stand-in-session
exec "$@"
"""

MOTO_OVERRIDE = """\
# Test only (tests/integration/test_release.py): this copy runs against a moto server.
terraform {
  backend "s3" {
    use_path_style = true
  }
}

provider "aws" {
  s3_use_path_style = true
}

provider "aws" {
  alias             = "billing"
  s3_use_path_style = true
}
"""


@dataclass
class Platform:
    """A copy of the repository whose ENV runs against its own moto server."""

    root: Path
    environment: str
    moto: MotoServer
    env: dict[str, str]
    vault_log: Path
    bucket: str
    state_key: str
    servers: list[MotoServer] = field(default_factory=list)
    # What the module fixture did before the tests run (results, the policy it removed).
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def plans(self) -> Path:
        return self.root / ".platformctl" / "plans" / self.environment

    def run(
        self,
        *args: str,
        env: dict[str, str | None] | None = None,
        timeout: float = TIMEOUT,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "platformctl", "--no-color", *args],
            cwd=self.root,
            env=self.environment_with(env),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )

    def environment_with(self, changes: dict[str, str | None] | None) -> dict[str, str]:
        merged: dict[str, str | None] = {**self.env, **(changes or {})}
        return {name: value for name, value in merged.items() if value is not None}

    def s3(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            region_name=REGION,
            endpoint_url=self.moto.endpoint,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def object_keys(self) -> list[str]:
        return [o["Key"] for o in self.s3().list_objects_v2(Bucket=self.bucket).get("Contents", [])]

    def state_versions(self) -> list[str]:
        """Every stored version of the state object: any write, even a failed apply's, adds one."""
        listing = self.s3().list_object_versions(Bucket=self.bucket, Prefix=self.state_key)
        # The prefix also matches the lock object (KEY.tflock), whose versions come and go.
        return [v["VersionId"] for v in listing.get("Versions", []) if v["Key"] == self.state_key]

    def vault_calls(self) -> list[str]:
        return self.vault_log.read_text().splitlines() if self.vault_log.exists() else []


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line.removeprefix("Error: ") for line in result.stderr.splitlines() if line.startswith("Error: ")]


def base_environment(home: Path, bin_dir: Path, moto: MotoServer, vault_log: Path) -> dict[str, str]:
    """The caller's environment minus anything AWS, platformctl or CI (as the isolation fixture)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "PLATFORMCTL_", "TF_")) and name not in ("CI", "NO_COLOR")
    }
    env.update(
        HOME=str(home),
        XDG_CACHE_HOME=str(TEST_CACHE),
        PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        AWS_ENDPOINT_URL=moto.endpoint,
        AWS_EC2_METADATA_DISABLED="true",
        PLATFORMCTL_PROVIDER_MIRROR=MIRROR,
        TF_IN_AUTOMATION="1",
        STAND_IN_LOG=str(vault_log),
    )
    return env


def make_platform(folder: Path, environment: str, account: str) -> Platform:
    if not MIRROR:
        pytest.skip(ENABLE_MIRROR)
    folder.mkdir(parents=True, exist_ok=True)
    root = copy_repository(folder / "repo")
    shutil.copy2(REPO / ".gitignore", root / ".gitignore")
    env_dir = root / "terraform" / "environments" / environment
    (env_dir / "zz_moto_override.tf").write_text(MOTO_OVERRIDE)
    identity = ["-c", "user.name=Test", "-c", "user.email=test@example.invalid"]
    for command in (["init", "-q"], ["add", "-A"], [*identity, "commit", "-q", "-m", "platform"]):
        subprocess.run(["git", *command], cwd=root, check=True, capture_output=True, timeout=60)
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    (bin_dir / "aws-vault").write_text(STAND_IN)
    (bin_dir / "aws-vault").chmod(0o755)
    home = folder / "home"
    home.mkdir()
    moto = start_moto(folder / "moto.log", account_id=account)
    backend = dict(
        line.split("=", 1)
        for line in (env_dir / f"{environment}.s3.tfbackend").read_text().splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    )
    setting = {k.strip(): v.split("#")[0].strip().strip('"') for k, v in backend.items()}
    vault_log = folder / "aws-vault-calls.log"
    return Platform(
        root,
        environment,
        moto,
        base_environment(home, bin_dir, moto, vault_log),
        vault_log,
        setting["bucket"],
        setting["key"],
        [moto],
    )


def bootstrap_for_terraform(platform: Platform) -> tuple[dict, str]:
    """bootstrap once (JSON report), then the moto work-around: note the TLS-only policy and
    remove it, since moto applies its Deny to every request whatever the transport."""
    result = platform.run("--json", "bootstrap", platform.environment)
    assert result.returncode == 0, result.stderr
    s3 = platform.s3()
    policy = s3.get_bucket_policy(Bucket=platform.bucket)["Policy"]
    s3.delete_bucket_policy(Bucket=platform.bucket)
    return json.loads(result.stdout), policy


def stop(platform: Platform) -> None:
    for server in platform.servers:
        server.stop()


# ---------------------------------------------------------------------------------------------
# dev: bootstrap, aws-vault, account guard, plan and apply


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    platform = make_platform(tmp_path_factory.mktemp("dev"), "dev", DEV_ACCOUNT)
    try:
        platform.notes["first"] = platform.run("--json", "bootstrap", "dev")
        platform.notes["second"] = platform.run("bootstrap", "dev")
        platform.notes["policy"] = platform.s3().get_bucket_policy(Bucket=platform.bucket)["Policy"]
        platform.s3().delete_bucket_policy(Bucket=platform.bucket)  # moto: see the module docstring
        yield platform
    finally:
        stop(platform)


def test_bootstrap_creates_the_state_bucket_and_a_second_run_changes_nothing(dev: Platform) -> None:
    import boto3

    first = dev.notes["first"]
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["changed"] is True and report["bucket"] == dev.bucket == "ecommerce-platform-tfstate-111111111111"
    assert f"created bucket {dev.bucket} in us-east-1" in report["changes"]
    for setting in (
        "versioning enabled",
        "default encryption aws:kms with alias/ecommerce-platform-tfstate",
        "created KMS key alias/ecommerce-platform-tfstate",
        "KMS key rotation enabled",
        "noncurrent state versions expire after 90 days",
        "public access blocked",
        "bucket policy denies requests without TLS",
        f"access logging to {dev.bucket}-access-logs",
        f"created log bucket {dev.bucket}-access-logs",
        "bucket tags",
    ):
        assert setting in report["changes"]

    second = dev.notes["second"]
    assert second.returncode == 0, second.stderr
    assert f"dev: state bucket {dev.bucket} already set up: nothing changed" in second.stdout
    assert "+ " not in second.stdout  # no line announces a change

    s3 = dev.s3()
    assert s3.get_bucket_versioning(Bucket=dev.bucket)["Status"] == "Enabled"
    rules = s3.get_bucket_encryption(Bucket=dev.bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    (rule,) = rules
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms" and rule["BucketKeyEnabled"]
    kms = boto3.client(
        "kms",
        region_name=REGION,
        endpoint_url=dev.moto.endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    key = kms.describe_key(KeyId="alias/ecommerce-platform-tfstate")["KeyMetadata"]
    assert rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == key["Arn"]
    assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is True
    (lifecycle,) = s3.get_bucket_lifecycle_configuration(Bucket=dev.bucket)["Rules"]
    assert lifecycle["NoncurrentVersionExpiration"]["NoncurrentDays"] == 90 and lifecycle["Status"] == "Enabled"
    logging = s3.get_bucket_logging(Bucket=dev.bucket)["LoggingEnabled"]
    assert logging == {"TargetBucket": f"{dev.bucket}-access-logs", "TargetPrefix": f"{dev.bucket}/"}
    block = s3.get_public_access_block(Bucket=dev.bucket)["PublicAccessBlockConfiguration"]
    assert all(
        block[name] for name in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    )
    ownership = s3.get_bucket_ownership_controls(Bucket=dev.bucket)["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=dev.bucket)["TagSet"]}
    assert tags == {
        "Project": "ecommerce-data-platform",
        "Environment": "dev",
        "ManagedBy": "platformctl",
        "Purpose": "terraform-state",
    }
    statement = json.loads(dev.notes["policy"])["Statement"]
    assert statement == [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{dev.bucket}", f"arn:aws:s3:::{dev.bucket}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    # Both runs asked STS first, then did the AWS work, each through aws-vault's prefix.
    calls = dev.vault_calls()
    assert calls[0].startswith("exec --ecs-server ecommerce-dev -- ") and calls[0].endswith(
        "-m platformctl.aws.account --region us-east-1"
    )
    assert calls[1].startswith("exec --ecs-server ecommerce-dev -- ") and "-m platformctl.aws.bootstrap {" in calls[1]


def test_dynamodb_lock_table_for_teams_migrating(dev: Platform) -> None:
    def bootstrap() -> dict[str, Any]:
        result = dev.run("--json", "bootstrap", "dev", "--dynamodb-lock")
        assert result.returncode == 0, result.stderr
        dev.s3().delete_bucket_policy(Bucket=dev.bucket)  # moto: see the module docstring
        return dict(json.loads(result.stdout))

    report = bootstrap()
    table = f"{dev.bucket}-lock"
    assert report["lock_table"] == table
    assert f"created lock table {table} (on demand, encrypted)" in report["changes"]
    assert "lock table point-in-time recovery" in report["changes"]
    # Only the bucket policy, removed for moto after each run, is made again.
    assert bootstrap()["changes"] == ["bucket policy denies requests without TLS"]

    import boto3

    dynamodb = boto3.client(
        "dynamodb",
        region_name=REGION,
        endpoint_url=dev.moto.endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    description = dynamodb.describe_table(TableName=table)["Table"]
    assert description["KeySchema"] == [{"AttributeName": "LockID", "KeyType": "HASH"}]
    assert description["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert description["SSEDescription"]["Status"] == "ENABLED"
    backups = dynamodb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_plan_then_apply_writes_the_state_to_the_bucket_and_leaves_no_lock(dev: Platform) -> None:
    before = len(dev.vault_calls())
    plan = dev.run("--json", "plan", "dev")
    assert plan.returncode == 2, plan.stderr
    summary = json.loads(plan.stdout)["summary"]
    assert summary["add"] > 30 and summary["destroy"] == 0

    apply = dev.run("--json", "apply", "dev", "--yes")
    assert apply.returncode == 0, apply.stderr
    # --yes: one `apply -json` run, shown as timestamped lines off a terminal, summed up at the end.
    assert re.search(r"terraform apply: \d+ added, 0 changed, 0 destroyed in \d+ s", apply.stderr), apply.stderr[-3000:]
    keys = dev.object_keys()
    assert dev.state_key in keys
    assert not [k for k in keys if k.endswith(".tflock")], keys
    state = json.loads(dev.s3().get_object(Bucket=dev.bucket, Key=dev.state_key)["Body"].read())
    assert any(r["type"] == "aws_kinesis_stream" for r in state["resources"])

    # Terraform itself ran under aws-vault, after the STS probe, for both commands.
    calls = dev.vault_calls()[before:]
    terraform = [c for c in calls if " plan " in f"{c} " or " apply " in f"{c} "]
    assert terraform and all(c.startswith("exec --ecs-server ecommerce-dev -- ") for c in terraform)
    assert sum("-m platformctl.aws.account" in c for c in calls) == 2

    # A second plan reads that state: nothing left to create. (moto round-trips a few
    # attributes differently, e.g. Kinesis tags, so in-place updates may show; not creates.)
    again = dev.run("--json", "plan", "dev")
    assert again.returncode in (0, 2), again.stderr
    assert json.loads(again.stdout)["summary"]["add"] == 0


def test_credentials_of_another_account_are_refused_naming_both(dev: Platform, tmp_path: Path) -> None:
    other = start_moto(tmp_path / "other.log", account_id=OTHER_ACCOUNT)
    try:
        result = dev.run("plan", "dev", env={"AWS_ENDPOINT_URL": other.endpoint})
    finally:
        other.stop()
    assert result.returncode == 1
    assert error_lines(result) == [
        f"These credentials are for AWS account {OTHER_ACCOUNT} (arn:aws:sts::{OTHER_ACCOUNT}:user/moto) but dev is "
        f"account {DEV_ACCOUNT}: use dev's credentials (aws-vault profile ecommerce-dev, aws-vault credential server "
        "(--ecs-server): credentials refresh during long applies) and retry."
    ]
    assert "Initializing" not in result.stderr  # terraform never started


def test_a_nested_aws_vault_session_of_another_profile_is_refused(dev: Platform) -> None:
    before = dev.vault_calls()
    result = dev.run("plan", "dev", env={"AWS_VAULT": "ecommerce-prod"})
    assert result.returncode == 1
    assert error_lines(result) == [
        "This shell is inside aws-vault session 'ecommerce-prod' but dev uses profile 'ecommerce-dev': exit that "
        "session first (or run inside `aws-vault exec ecommerce-dev`)."
    ]
    assert dev.vault_calls() == before  # aws-vault was never nested


@pytest.mark.parametrize(
    ("variables", "described"),
    [
        ({"AWS_VAULT": "ecommerce-dev"}, "the current aws-vault session of profile ecommerce-dev (AWS_VAULT)"),
        ({"CI": "true"}, "ambient AWS credentials (CI=true)"),
        ({"PLATFORMCTL_NO_VAULT": "1"}, "ambient AWS credentials (PLATFORMCTL_NO_VAULT=1)"),
    ],
    ids=["same-session", "ci", "no-vault"],
)
def test_ambient_or_current_session_credentials_skip_aws_vault(
    dev: Platform, variables: dict[str, str], described: str
) -> None:
    before = dev.vault_calls()
    credentials = {"AWS_ACCESS_KEY_ID": "ASIAAMBIENT", "AWS_SECRET_ACCESS_KEY": "ambient"}
    result = dev.run("--json", "bootstrap", "dev", env={**credentials, **variables})
    assert result.returncode == 0, result.stderr
    assert described in result.stderr
    assert f"dev: AWS account {DEV_ACCOUNT} confirmed" in result.stderr
    assert dev.vault_calls() == before


def test_aws_vault_missing_is_one_line(dev: Platform) -> None:
    path = os.pathsep.join(p for p in dev.env["PATH"].split(os.pathsep) if not (Path(p) / "aws-vault").exists())
    result = dev.run("plan", "dev", env={"PATH": path})
    assert result.returncode == 1
    assert error_lines(result) == [
        "aws-vault not found on PATH (dev uses profile 'ecommerce-dev'): install it (brew install aws-vault, or a "
        "release from github.com/ByteNess/aws-vault), or pass --no-vault to use the ambient AWS credentials."
    ]


def collect(stream: Any) -> tuple[list[str], threading.Thread]:
    lines: list[str] = []

    def read() -> None:
        for line in stream:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return lines, reader


def test_ctrl_c_during_apply_leaves_no_lock_object(tmp_path: Path) -> None:
    platform = make_platform(tmp_path / "interrupted", "dev", DEV_ACCOUNT)
    try:
        bootstrap_for_terraform(platform)
        init = platform.run("init", "dev")
        assert init.returncode == 0, init.stderr
        child = subprocess.Popen(
            [sys.executable, "-m", "platformctl", "--no-color", "apply", "dev", "--yes"],
            cwd=platform.root,
            env=platform.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        lines, reader = collect(child.stdout)
        deadline = time.monotonic() + 300
        while not any("still creating..." in line for line in lines):  # mid-apply, lock held (the live lines)
            assert child.poll() is None and time.monotonic() < deadline, "".join(lines)
            time.sleep(0.2)
        assert any(k.endswith(".tflock") for k in platform.object_keys())  # the lock is really taken
        os.killpg(child.pid, signal.SIGINT)  # the terminal's Ctrl-C: the whole foreground group
        try:
            child.wait(timeout=120)
        finally:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
        reader.join(timeout=10)
        output = "".join(lines)
        assert child.returncode == 130, output
        assert "Interrupt received" in output and "Two interrupts received" not in output
        keys = platform.object_keys()
        assert not [k for k in keys if k.endswith(".tflock")], keys
        assert platform.state_key in keys  # what was created is recorded
        json.loads(platform.s3().get_object(Bucket=platform.bucket, Key=platform.state_key)["Body"].read())
    finally:
        stop(platform)


# ---------------------------------------------------------------------------------------------
# prod: the approval gate


# The gate does not care how big a plan is, and the whole platform is applied in the dev test
# above (over a minute, mostly the provider waiting on S3 lifecycle settings): prod's plan
# targets one IAM role, so its apply takes seconds.
PROD_TARGET = "-target=module.order_ingest.aws_iam_role.lambda"


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    platform = make_platform(tmp_path_factory.mktemp("prod"), "prod", PROD_ACCOUNT)
    try:
        bootstrap_for_terraform(platform)
        plan = platform.run("--json", "plan", "prod", "--", PROD_TARGET)
        assert plan.returncode == 2, plan.stderr
        platform.notes["plan"] = plan
        yield platform
    finally:
        stop(platform)


@pytest.fixture
def saved(prod: Platform, tmp_path: Path) -> Iterator[gate.SavedPlan]:
    """The module's saved prod plan; whatever a test does to the plans folder is undone after."""
    backup = tmp_path / "plans-backup"
    shutil.copytree(prod.plans, backup)
    manifests = sorted(prod.plans.glob("*.json"))
    assert len(manifests) == 1
    try:
        yield gate.read(manifests[0])
    finally:
        shutil.rmtree(prod.plans, ignore_errors=True)
        shutil.copytree(backup, prod.plans)


def reseal(saved: gate.SavedPlan, **changes: object) -> None:
    """Rewrite the manifest with a valid checksum: a plan that is intact, but foreign or old."""
    data = json.loads(saved.manifest_path.read_text())
    data.pop("manifest_sha256")
    data.update(changes)
    gate.write_manifest(saved.manifest_path, gate.Manifest(**data))


def test_gated_plan_is_saved_with_its_manifest(prod: Platform) -> None:
    result = prod.notes["plan"]
    data = json.loads(result.stdout)
    manifest = data["manifest"]
    assert data["plan_file"] == manifest["plan_path"]
    plan_file = Path(manifest["plan_path"])
    assert manifest["plan_file"] == plan_file.name
    assert manifest["manifest_path"] == str(plan_file.with_suffix(".json"))
    assert plan_file.parent == prod.plans and plan_file.name.endswith(f"-{manifest['plan_sha256'][:12]}.tfplan")
    assert manifest["plan_sha256"] == gate.file_sha256(plan_file)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=prod.root, capture_output=True, text=True, check=True)
    assert (manifest["environment"], manifest["account"], manifest["git_commit"], manifest["git_dirty"]) == (
        "prod",
        PROD_ACCOUNT,
        head.stdout.strip(),
        False,
    )
    assert manifest["terraform_version"] and manifest["provider_versions"] == {
        "registry.terraform.io/hashicorp/aws": "5.100.0"
    }
    assert (
        manifest["summary"]
        == data["summary"]
        == {"add": 1, "change": 0, "destroy": 0, "replace": 0, "destroyed": [], "replaced": []}
    )
    assert manifest["consumed"] is None
    # The human summary went to stderr (stdout is the JSON), with the hash to approve.
    assert f"CI: --approve {manifest['plan_sha256'][:12]}" in result.stderr
    assert prod.state_versions() == []  # planning wrote no state


def sha(saved: gate.SavedPlan) -> str:
    return saved.sha256[:12]


CI_CREDENTIALS = {"CI": "true", "AWS_ACCESS_KEY_ID": "ASIACI", "AWS_SECRET_ACCESS_KEY": "ci"}

# (id, what the test does to the saved plan or the checkout, arguments, extra environment, expected message)
REFUSALS = [
    (
        "no-plan",
        lambda p, s: shutil.rmtree(p.plans),
        lambda s: ["apply", "prod", "--approve", sha(s)],
        None,
        "No saved plan for prod: run `platformctl plan prod`, review it, then apply.",
    ),
    (
        "other-environment",
        lambda p, s: reseal(s, environment="dev"),
        lambda s: ["apply", "prod", "--approve", sha(s)],
        None,
        "was made for dev, not prod",
    ),
    (
        "other-account",
        lambda p, s: reseal(s, account=OTHER_ACCOUNT),
        lambda s: ["apply", "prod", "--approve", sha(s)],
        None,
        f"was made in AWS account {OTHER_ACCOUNT} but these credentials are for {PROD_ACCOUNT}",
    ),
    (
        "plan-file-altered",
        lambda p, s: s.plan_path.open("ab").write(b"\0"),
        lambda s: ["apply", "prod", "--approve", sha(s)],
        None,
        "changed after it was saved",
    ),
    (
        "manifest-edited",
        lambda p, s: s.manifest_path.write_text(s.manifest_path.read_text().replace('"destroy": 0', '"destroy": 1')),
        lambda s: ["apply", "prod", "--approve", sha(s)],
        None,
        "was edited after it was written",
    ),
    (
        "too-old",
        lambda p, s: reseal(s, created_at=(datetime.now(UTC) - timedelta(hours=25)).isoformat()),
        lambda s: ["apply", "prod", "--approve", sha(s)],
        None,
        "older than the 24h00m max_plan_age of prod",
    ),
    (
        "other-commit",
        lambda p, s: reseal(s, git_commit="0" * 40),
        lambda s: ["apply", "prod", "--approve", sha(s)],
        None,
        "was made from commit 000000000000 but the checkout is at",
    ),
    (
        "planned-from-dirty-tree",
        lambda p, s: reseal(s, git_dirty=True),
        lambda s: ["apply", "prod", "--approve", sha(s)],
        None,
        "made from a working tree with uncommitted changes",
    ),
    (
        "dirty-tree-now",
        lambda p, s: (p.root / "notes.txt").write_text("uncommitted\n"),
        lambda s: ["apply", "prod", "--approve", sha(s)],
        None,
        "The working tree has uncommitted changes (notes.txt)",
    ),
    (
        "already-applied",
        lambda p, s: reseal(s, consumed={"at": "2026-01-01T00:00:00+00:00", "outcome": "applied"}),
        lambda s: ["apply", "prod", "--approve", sha(s)],
        None,
        "was already used by an apply at 2026-01-01T00:00:00",
    ),
    ("yes", None, lambda s: ["apply", "prod", "--yes"], None, "--yes is refused for prod"),
    (
        "ci-without-approve",
        None,
        lambda s: ["apply", "prod"],
        CI_CREDENTIALS,
        "prod needs an approval and nothing can prompt here (CI=true): pass --approve <sha256 prefix",
    ),
    ("no-terminal-without-approve", None, lambda s: ["apply", "prod"], None, "nothing can prompt here (no terminal)"),
    (
        "approve-mismatch",
        None,
        lambda s: [
            "apply",
            "prod",
            "--approve",
            "0123456789ab" if not s.sha256.startswith("0123456789ab") else "fedcba987654",
        ],
        CI_CREDENTIALS,
        "does not match plan",
    ),
    (
        "approve-too-short",
        None,
        lambda s: ["apply", "prod", "--approve", s.sha256[:8]],
        CI_CREDENTIALS,
        "is not a sha256 prefix of at least 12 hex characters",
    ),
    (
        "foreign-plan-file",
        lambda p, s: shutil.copy2(s.plan_path, p.root / "mine.tfplan"),
        lambda s: ["apply", "prod", "mine.tfplan", "--approve", sha(s)],
        None,
        "is not a plan saved by",
    ),
    (
        "terraform-options",
        None,
        lambda s: ["apply", "prod", "--approve", sha(s), "--", "-parallelism=1"],
        None,
        "prod applies exactly the saved plan: pass no Terraform options after --.",
    ),
    ("plan-out", None, lambda s: ["plan", "prod", "--out", "x.tfplan"], None, "prod is gated: its plans are saved"),
    ("destroy-without-allow", None, lambda s: ["destroy", "prod"], None, "destroying it needs --allow-destroy"),
    (
        "destroy-with-yes",
        None,
        lambda s: ["destroy", "prod", "--yes", "--allow-destroy"],
        None,
        "--yes is refused for prod",
    ),
    (
        "destroy-in-ci",
        None,
        lambda s: ["destroy", "prod", "--allow-destroy"],
        CI_CREDENTIALS,
        "Destroying prod needs a human to type its name (CI=true)",
    ),
]


def consumed(saved: gate.SavedPlan) -> object:
    try:
        return gate.read(saved.manifest_path).manifest.consumed
    except Exception as exc:  # noqa: BLE001 - a missing or edited manifest is part of the test
        return type(exc).__name__


@pytest.mark.parametrize(
    ("prepare", "arguments", "variables", "message"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_the_gate_refuses(prod: Platform, saved: gate.SavedPlan, prepare, arguments, variables, message: str) -> None:
    if prepare:
        prepare(prod, saved)
    versions = prod.state_versions()
    before = consumed(saved)
    try:
        result = prod.run(*arguments(saved), env=variables)
    finally:
        (prod.root / "notes.txt").unlink(missing_ok=True)
        (prod.root / "mine.tfplan").unlink(missing_ok=True)
    assert result.returncode == 1, result.stdout + result.stderr
    errors = error_lines(result)
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert prod.state_versions() == versions  # nothing applied, not even a state refresh
    assert consumed(saved) == before  # and the plan is still as it was


def run_on_terminal(
    platform: Platform,
    *args: str,
    answer: bytes | None = None,
    interrupt: bool = False,
    env: dict[str, str | None] | None = None,
) -> tuple[int, str]:
    """platformctl on a pseudo-terminal; at the typed-name prompt, answer or press Ctrl-C."""
    leader, follower = os.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "platformctl", "--no-color", *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        cwd=platform.root,
        env=platform.environment_with(env),
        start_new_session=True,
        preexec_fn=as_terminal_job,
    )
    os.close(follower)
    seen = bytearray()
    try:
        assert read_until(leader, b"to apply this plan: ", seen, timeout=120), seen.decode(errors="replace")
        if interrupt:
            os.killpg(child.pid, signal.SIGINT)  # Ctrl-C reaches the terminal's foreground group
        else:
            os.write(leader, answer or b"\n")
        read_until(leader, b"\0never", seen, timeout=TIMEOUT)  # read until the terminal closes
        # The terminal shows rich's styles (bold) even with --no-color; compare plain text.
        return child.wait(timeout=60), re.sub(r"\x1b\[[0-9;]*m", "", seen.decode(errors="replace"))
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        os.close(leader)


def test_the_prompt_shows_the_summary_and_refuses_another_name(prod: Platform, saved: gate.SavedPlan) -> None:
    versions = prod.state_versions()
    code, screen = run_on_terminal(prod, "apply", "prod", answer=b"dev\n")
    assert code == 1, screen
    assert f"Plan {saved.name} for prod: sha256 {sha(saved)}, account {PROD_ACCOUNT}" in screen
    assert f"{saved.manifest.summary['add']} to add, 0 to change, 0 to replace, 0 to destroy" in screen
    assert "Error: Typed 'dev', not 'prod': nothing was changed in prod." in screen
    assert prod.state_versions() == versions
    assert gate.read(saved.manifest_path).manifest.consumed is None


def test_ctrl_c_at_the_prompt_aborts_with_nothing_applied(prod: Platform, saved: gate.SavedPlan) -> None:
    versions = prod.state_versions()
    code, screen = run_on_terminal(prod, "apply", "prod", interrupt=True)
    assert code == 130, screen
    assert "Error: Aborted at the confirmation prompt: nothing was changed in prod." in screen
    assert prod.state_versions() == versions
    assert gate.read(saved.manifest_path).manifest.consumed is None


def test_typed_name_applies_the_plan_once_and_a_stale_copy_is_one_line(prod: Platform, saved: gate.SavedPlan) -> None:
    # A second saved plan with the same content, as if planned twice before either was applied.
    twin_plan = saved.plan_path.with_name(f"{saved.plan_path.stem}-twin.tfplan")
    shutil.copy2(saved.plan_path, twin_plan)
    twin = gate.SavedPlan(
        twin_plan,
        twin_plan.with_suffix(".json"),
        gate.Manifest(**{**saved.manifest.body(), "plan_file": twin_plan.name}),
    )
    gate.write_manifest(twin.manifest_path, twin.manifest)

    code, screen = run_on_terminal(prod, "apply", "prod", str(saved.plan_path), answer=b"prod\n")
    assert code == 0, screen
    assert "Apply complete! Resources: 1 added, 0 changed, 0 destroyed." in screen
    assert len(prod.state_versions()) >= 1
    assert not [k for k in prod.object_keys() if k.endswith(".tflock")]
    used = gate.read(saved.manifest_path).manifest.consumed
    assert used is not None and used["outcome"] == "applied"

    again = prod.run("apply", "prod", str(saved.plan_path), "--approve", sha(saved), env=CI_CREDENTIALS)
    assert again.returncode == 1
    assert len(error_lines(again)) == 1 and "was already used by an apply" in error_lines(again)[0]

    versions = prod.state_versions()
    stale = prod.run("--json", "apply", "prod", str(twin_plan), "--approve", sha(saved), env=CI_CREDENTIALS)
    assert stale.returncode == 1
    assert error_lines(stale) == [
        f"Plan {twin_plan.name} is stale: prod's state changed after it was made, so Terraform applied nothing; "
        "run `platformctl plan prod` again."
    ]
    assert "Saved plan is stale" not in stale.stderr  # Terraform's multi-line version is not repeated
    assert json.loads(stale.stdout)["exit_code"] == 1
    assert prod.state_versions() == versions
    assert consumed(twin) == {"at": consumed(twin)["at"], "outcome": "failed"}  # type: ignore[index]
