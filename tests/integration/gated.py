"""A tiny gated platform for the gate's attack tests (tests/integration/test_gate_*.py).

The gate does not care what a root deploys, so most attacks run against a tiny `prod` root
instead of the real platform: a partial S3 backend (state in a moto server's bucket, the
account prod's tfvars names), the real hashicorp/aws provider from the mirror with
`allowed_account_ids`, and `terraform_data` resources named in terraform.tfvars, so a plan
that creates, deletes or replaces takes seconds. It calls one local module and has one Lambda
function source folder, so the inputs the gate hashes include both. A git repository holds it,
committed, like a checkout.

AWS is a moto server per account (as in test_release.py); aws-vault cannot be installed here,
so the stand-in `aws-vault` of test_release.py records its arguments on PATH. Commands run as
real `python -m platformctl` processes; interactive ones on a pseudo-terminal.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import ENABLE_MIRROR, MIRROR, REPO, as_terminal_job, make_project, start_moto

from integration.test_engines import read_until
from integration.test_release import STAND_IN, Platform, base_environment, error_lines
from platformctl.release import gate

PROD_ACCOUNT = "222222222222"
DEV_ACCOUNT = "111111111111"
REGION = "us-east-1"
BUCKET = f"tiny-tfstate-{PROD_ACCOUNT}"
CI = {"CI": "true", "AWS_ACCESS_KEY_ID": "ASIACI", "AWS_SECRET_ACCESS_KEY": "ci"}

CONTRACT = """\
[environments.prod]
aws_vault_profile = "tiny-prod"
backend_config = "prod.s3.tfbackend"
approval = "required"
"""

ROOT_TF = """\
terraform {
  required_version = ">= 1.11"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }
  backend "s3" {}
}

provider "aws" {
  region              = "us-east-1"
  allowed_account_ids = [var.aws_account_id]
  s3_use_path_style   = true
}

variable "aws_account_id" {
  type        = string
  description = "The only account this root may change."
}

variable "names" {
  type        = list(string)
  description = "One terraform_data resource per name."
}

module "tag" {
  source = "../../modules/tag"
  name   = "tiny"
}

resource "terraform_data" "this" {
  for_each = toset(var.names)
  input    = "${module.tag.value}-${each.key}"
}
"""

MODULE_TF = """\
variable "name" {
  type        = string
  description = "A name."
}

output "value" {
  description = "The name, tagged."
  value       = "tag-${var.name}"
}
"""


def tfvars(account: str, names: list[str]) -> str:
    return f'aws_account_id = "{account}"\nnames = {json.dumps(names)}\n'


def tfbackend(bucket: str, key: str) -> str:
    return f'bucket = "{bucket}"\nkey = "{key}"\nregion = "{REGION}"\nuse_lockfile = true\nuse_path_style = true\n'


def git(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    identity = ["-c", "user.name=Test", "-c", "user.email=test@example.invalid"]
    result = subprocess.run(
        ["git", *identity, *args], cwd=root, check=True, capture_output=True, text=True, timeout=60, env=env
    )
    return result.stdout


def commit(root: Path, message: str = "change") -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


def make_gated(folder: Path, names: list[str] | None = None) -> Platform:
    """The tiny gated platform, committed, with its state bucket on a fresh moto server."""
    if not MIRROR:
        pytest.skip(ENABLE_MIRROR)
    folder.mkdir(parents=True, exist_ok=True)
    root = make_project(folder / "repo", {"prod": ROOT_TF}, contract=CONTRACT)
    env_dir = root / "terraform" / "environments" / "prod"
    (env_dir / "terraform.tfvars").write_text(tfvars(PROD_ACCOUNT, names or ["a", "b"]))
    (env_dir / "prod.s3.tfbackend").write_text(tfbackend(BUCKET, "prod/terraform.tfstate"))
    # The repository's lock file pins the provider the mirror holds (5.100.0).
    shutil.copy2(REPO / "terraform/environments/prod/.terraform.lock.hcl", env_dir / ".terraform.lock.hcl")
    module = root / "terraform" / "modules" / "tag"
    module.mkdir(parents=True)
    (module / "main.tf").write_text(MODULE_TF)
    function = root / "functions" / "hello"
    function.mkdir(parents=True)
    (function / "handler.py").write_text("def handler(event, context):\n    return 'hello'\n")
    shutil.copy2(REPO / ".gitignore", root / ".gitignore")
    git(root, "init", "-q")
    commit(root, "tiny platform")
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    (bin_dir / "aws-vault").write_text(STAND_IN)
    (bin_dir / "aws-vault").chmod(0o755)
    home = folder / "home"
    home.mkdir()
    moto = start_moto(folder / "moto.log", account_id=PROD_ACCOUNT)
    vault_log = folder / "aws-vault-calls.log"
    platform = Platform(
        root,
        "prod",
        moto,
        base_environment(home, bin_dir, moto, vault_log),
        vault_log,
        BUCKET,
        "prod/terraform.tfstate",
        [moto],
    )
    s3 = platform.s3()
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return platform


def plan(platform: Platform, *args: str, env: dict[str, str | None] | None = None) -> gate.SavedPlan:
    """`plan prod ARGS` that must save a plan; returns it."""
    result = platform.run("--json", "plan", "prod", *args, env=env)
    assert result.returncode == 2, result.stderr
    manifest = json.loads(result.stdout)["manifest"]
    return gate.read(Path(manifest["manifest_path"]))


def apply_ci(
    platform: Platform, saved: gate.SavedPlan, *args: str, env: dict[str, str | None] | None = None
) -> subprocess.CompletedProcess[str]:
    return platform.run(
        "apply", "prod", str(saved.plan_path), "--approve", saved.sha256[:12], *args, env={**CI, **(env or {})}
    )


def resources(platform: Platform, key: str | None = None) -> dict[str, str]:
    """{terraform_data key: its input} in the state object (empty when there is none)."""
    s3 = platform.s3()
    try:
        body = s3.get_object(Bucket=platform.bucket, Key=key or platform.state_key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return {}
    found: dict[str, str] = {}
    for resource in json.loads(body).get("resources", []):
        if resource["type"] == "terraform_data":
            for instance in resource["instances"]:
                value = instance["attributes"]["input"]  # terraform_data keeps a dynamic value
                found[instance.get("index_key", "")] = value["value"] if isinstance(value, dict) else value
    return found


def all_objects(platform: Platform, bucket: str | None = None) -> list[tuple[str, str]]:
    """Every (key, version) in the bucket: any write at all, to any key, adds one."""
    listing = platform.s3().list_object_versions(Bucket=bucket or platform.bucket)
    return sorted((v["Key"], v["VersionId"]) for v in listing.get("Versions", []) if not v["Key"].endswith(".tflock"))


def reseal(saved: gate.SavedPlan, **changes: Any) -> None:
    """Rewrite the manifest with a valid checksum (an attacker who can write .platformctl can)."""
    data = json.loads(saved.manifest_path.read_text())
    data.pop("manifest_sha256")
    data.update(changes)
    gate.write_manifest(saved.manifest_path, gate.Manifest(**data))


def one_error(result: subprocess.CompletedProcess[str]) -> str:
    errors = error_lines(result)
    assert result.returncode == 1 and len(errors) == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return errors[0]


def on_terminal(
    platform: Platform,
    *args: str,
    answers: list[tuple[bytes, bytes]],
    at_prompt: Callable[[], None] | None = None,
    env: dict[str, str | None] | None = None,
) -> tuple[int, str]:
    """platformctl on a pseudo-terminal: for each (prompt, answer), wait for the prompt and type
    the answer; `at_prompt` runs while the first prompt waits."""
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
        for index, (prompt, answer) in enumerate(answers):
            if not read_until(leader, prompt, seen, timeout=180):
                break  # refused before this prompt: the screen says why
            if index == 0 and at_prompt is not None:
                at_prompt()
            os.write(leader, answer)
        read_until(leader, b"\0never", seen, timeout=300)  # read until the terminal closes
        return child.wait(timeout=60), re.sub(r"\x1b\[[0-9;]*m", "", seen.decode(errors="replace"))
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        os.close(leader)


NAME_PROMPT = b"to apply this plan: "
COUNT_PROMPT = b"to allow it: "
