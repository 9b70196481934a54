"""`lock` and `drift` against a real moto server and the real AWS provider: a tiny root with an
S3 backend (`use_lockfile`) in a moto bucket and two CloudWatch log groups.

- lock: a real `terraform apply` stops at its prompt holding the S3 lock object and is killed
  (SIGKILL: the stale lock a crashed CI job leaves); `lock status` shows it, `lock release`
  refuses what it must, then Terraform's force-unlock releases it after the typed name.
- drift: boto3 changes one log group's retention and deletes the other behind Terraform's
  back; `drift` reports both (exit 2), an apply puts them back, and `drift` is clean (exit 0).
Credentials are moto's test keys, ambient (no aws-vault: the environments name no profile).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import MotoServer, make_project, start_moto

from platformctl.terraform import engine

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
BUCKET = "day-two-state"

ROOT = """\
terraform {
  backend "s3" {}
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
  }
}

variable "aws_account_id" {
  type        = string
  description = "The only account this root may touch."
}

provider "aws" {
  region              = "us-east-1"
  allowed_account_ids = [var.aws_account_id]
  s3_use_path_style   = true
}

resource "aws_cloudwatch_log_group" "kept" {
  name              = "/day-two/${terraform.workspace}/kept"
  retention_in_days = 7
}

resource "aws_cloudwatch_log_group" "removed" {
  name              = "/day-two/${terraform.workspace}/removed"
  retention_in_days = 7
}
"""

CONTRACT = """\
[environments.demo]
backend_config = "demo.s3.tfbackend"

[environments.gated]
backend_config = "gated.s3.tfbackend"
approval = "required"
"""


def backend(key: str) -> str:
    return (
        f'bucket = "{BUCKET}"\nkey = "{key}/terraform.tfstate"\nregion = "{REGION}"\n'
        "use_lockfile = true\nuse_path_style = true\n"
    )


@pytest.fixture
def engine_on_path() -> engine.Engine:
    try:
        return engine.resolve(">= 1.11")
    except engine.EngineError:
        pytest.skip("needs Terraform >= 1.11: put terraform on PATH, or pip install 'platformctl[engine]'")


@pytest.fixture
def moto(tmp_path: Path) -> Iterator[MotoServer]:
    server = start_moto(tmp_path / "moto.log", account_id=ACCOUNT)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def project(isolation: Path, moto: MotoServer, provider_mirror: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import boto3

    make_project(isolation, {"demo": ROOT, "gated": ROOT}, contract=CONTRACT)
    for name in ("demo", "gated"):
        folder = isolation / "terraform" / "environments" / name
        (folder / f"{name}.s3.tfbackend").write_text(backend(name))
        (folder / "terraform.tfvars").write_text(f'aws_account_id = "{ACCOUNT}"\n')
    for name, value in {
        "AWS_ENDPOINT_URL": moto.endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
    return isolation


HOLD = """\
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
seen = b""
while b"Enter a value" not in seen:
    chunk = os.read(fd, 4096)
    if not chunk:
        sys.exit("terraform ended before its prompt: " + seen.decode(errors="replace"))
    seen += chunk
print(pid, flush=True)
sys.stdin.readline()
"""


def test_a_stale_s3_lock_is_shown_and_released(
    cli, project: Path, engine_on_path: engine.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gated = project / "terraform" / "environments" / "gated"
    assert cli("init", "gated").exit_code == 0
    assert json.loads(cli("lock", "status", "gated", "--json").stdout)["held"] is False

    holder = tmp_path / "hold.py"
    holder.write_text(HOLD)
    child = subprocess.Popen(
        [sys.executable, str(holder), *engine_on_path.argv, "apply"],
        cwd=gated,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        assert child.stdout is not None
        terraform_pid = int(child.stdout.readline())
        os.kill(terraform_pid, signal.SIGKILL)  # a crash: the lock object stays in the bucket
    finally:
        child.kill()
        child.wait()

    status = cli("lock", "status", "gated", "--json")
    assert status.exit_code == 2, status.stderr
    data = json.loads(status.stdout)
    assert data["held"] is True
    assert data["location"] == f"s3://{BUCKET}/gated/terraform.tfstate.tflock"
    lock = data["lock"]
    assert lock["operation"] == "OperationTypeApply"
    assert lock["this_machine"] is True
    assert lock["version"] == engine_on_path.version
    lock_id = lock["id"]

    young = cli("lock", "release", "gated", lock_id)
    assert young.exit_code == 1
    assert "younger than 15 min" in young.stderr
    assert "--yes is refused for gated" in cli("lock", "release", "gated", lock_id, "--force", "--yes").stderr
    no_prompt = cli("lock", "release", "gated", lock_id, "--force")
    assert no_prompt.exit_code == 1 and "nothing can prompt here" in no_prompt.stderr

    # A terminal (CliRunner's stdin stands in for the typing): the gated name, not "yes".
    monkeypatch.setattr("platformctl.process.stdin_is_tty", lambda: True)
    wrong = cli("lock", "release", "gated", lock_id, "--force", input="yes\n")
    assert wrong.exit_code == 1 and "not 'gated'" in wrong.stderr
    assert json.loads(cli("lock", "status", "gated", "--json").stdout)["held"] is True  # nothing lost

    released = cli("lock", "release", "gated", lock_id, "--force", input="gated\n")
    assert released.exit_code == 0, released.stderr
    assert f"Released lock {lock_id} on gated" in released.stdout
    assert json.loads(cli("lock", "status", "gated", "--json").stdout)["held"] is False
    # Terraform can lock the state again.
    plan = subprocess.run(
        [*engine_on_path.argv, "plan", "-input=false", "-lock-timeout=0s"],
        cwd=gated,
        capture_output=True,
        text=True,
        check=False,
    )
    assert plan.returncode == 0, plan.stderr


def test_drift_behind_terraforms_back_is_reported_then_gone_after_apply(
    cli, project: Path, engine_on_path: engine.Engine
) -> None:
    import boto3

    assert cli("apply", "demo", "--yes").exit_code == 0
    clean = cli("drift", "demo", "--json")
    assert clean.exit_code == 0, clean.stderr
    assert json.loads(clean.stdout)["drift"] is False

    logs = boto3.client("logs", region_name=REGION)
    logs.put_retention_policy(logGroupName="/day-two/default/kept", retentionInDays=30)
    logs.delete_log_group(logGroupName="/day-two/default/removed")

    drifted = cli("drift", "demo", "--json")
    assert drifted.exit_code == 2, drifted.stderr
    report = json.loads(drifted.stdout)["environments"][0]
    resources = {r["address"]: r for r in report["resources"]}
    assert resources["aws_cloudwatch_log_group.kept"] == {
        "address": "aws_cloudwatch_log_group.kept",
        "action": "update",
        "attributes": ["retention_in_days"],
    }
    assert resources["aws_cloudwatch_log_group.removed"]["action"] == "delete"
    table = cli("drift", "demo")
    assert "retention_in_days" in table.stdout and "deleted outside Terraform" in table.stdout
    assert not list((project / ".platformctl" / "drift").glob("*.tfplan")), "plan files hold values: removed"

    # --all: the gated environment has no state yet (nothing to drift), local does not exist here.
    every = cli("drift", "--all", "--json")
    assert every.exit_code == 2
    assert {e["environment"]: e["drift"] for e in json.loads(every.stdout)["environments"]} == {
        "demo": True,
        "gated": False,
    }

    assert cli("apply", "demo", "--yes").exit_code == 0
    assert logs.describe_log_groups(logGroupNamePrefix="/day-two/default/kept")["logGroups"][0]["retentionInDays"] == 7
    after = cli("drift", "demo", "--json")
    assert after.exit_code == 0, after.stderr
    assert json.loads(after.stdout)["environments"][0]["resources"] == []
