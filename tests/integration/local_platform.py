"""The whole platform brought up on platformctl's moto server by a real `platformctl up local`,
as tests/integration/test_up_local.py and test_smoke.py share it (one `up` per session, the
`shared_local_platform` fixture of integration/conftest.py): the clean shell platformctl runs
in, and the applied platform with its boto3 clients."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conftest import MIRROR, TEST_CACHE

from platformctl import process
from platformctl.emulators import lifecycle as emulator
from platformctl.project import contract


def clean_env(home: Path) -> dict[str, str]:
    """The caller's environment without AWS_*, PLATFORMCTL_*, TF_*; the machine's mirror and cache."""
    dropped = ("CI", "NO_COLOR", "LOCALSTACK_AUTH_TOKEN")
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "PLATFORMCTL_", "TF_")) and name not in dropped
    }
    home.mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), XDG_CACHE_HOME=str(TEST_CACHE), PLATFORMCTL_PROVIDER_MIRROR=MIRROR, TF_IN_AUTOMATION="1")
    # A user's real credentials in the shell must never reach the local environment.
    env.update(AWS_PROFILE="production-admin", AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE")
    return env


@dataclass
class Platform:
    root: Path
    port: int
    env: dict[str, str]
    first_up: dict[str, Any]
    first_up_log: str

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def run(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "platformctl", "--root", str(self.root), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )

    def json(self, *args: str, ok: tuple[int, ...] = (0,)) -> tuple[dict[str, Any], str]:
        result = self.run("--json", *args)
        assert result.returncode in ok, f"exit {result.returncode}\n{result.stdout}\n{result.stderr[-6000:]}"
        return json.loads(result.stdout), result.stderr

    def record(self) -> emulator.Record | None:
        return emulator.load_record(contract.load(self.root))

    def client(self, service: str) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )


def bring_up(base: Path, root: Path | None = None) -> Platform:
    """A copy of this repository (or `root`) brought up by a real `platformctl --json up` on a free port."""
    from conftest import copy_repository, free_port

    port = free_port()
    started = Platform(root or copy_repository(base / "repo"), port, clean_env(base / "home"), {}, "")
    result = started.run("--json", "up", "--port", str(port))
    if result.returncode != 0:
        take_down(started)
        raise AssertionError(f"up failed (exit {result.returncode}):\n{result.stderr[-8000:]}")
    started.first_up, started.first_up_log = json.loads(result.stdout), result.stderr
    return started


def take_down(platform: Platform) -> None:
    """`down --force`, and the emulator stopped even if down could not stop it."""
    platform.run("down", "--force", timeout=300)
    leftover = platform.record()
    if leftover and leftover.pid:
        process.stop_detached(leftover.pid)


def cold_up(platform: Platform) -> tuple[dict[str, Any], str]:
    """`down` (the emulator stops, taking everything), then `up` on the same port."""
    down = platform.run("down")
    assert down.returncode == 0, down.stderr[-4000:]
    return platform.json("up", "--port", str(platform.port))


def snapshot_folder(platform: Platform, snapshot_id: str) -> Path:
    return platform.root / ".platformctl" / "snapshots" / snapshot_id


def snapshots_listed(platform: Platform) -> list[dict[str, Any]]:
    answer, _ = platform.json("snapshot", "list")
    return list(answer["snapshots"])


def small_local_project(destination: Path, name: str) -> Path:
    """A project at `destination` whose only environment is local on moto, with small_local_root(name)."""
    from conftest import make_project

    contract = '[environments.local]\nemulator = "moto"\n'
    return make_project(destination, {"local": small_local_root(name)}, contract=contract)


def small_local_root(name: str) -> str:
    """A local root of two resources (bucket and table named NAME-data and NAME-items), with the
    provider block local isolation requires (emulators/isolation.py): for tests of platformctl's
    and just's wiring, where the whole platform's minute of provider waits would test nothing more."""
    return f"""\
terraform {{
  required_providers {{
    aws = {{
      source = "hashicorp/aws"
    }}
  }}
}}

variable "emulator_endpoint" {{
  type    = string
  default = "http://127.0.0.1:4566"
}}

provider "aws" {{
  region                      = "us-east-1"
  allowed_account_ids         = ["000000000000"]
  access_key                  = "test"
  secret_key                  = "test"
  s3_use_path_style           = true
  skip_credentials_validation = true
  http_proxy                  = "http://127.0.0.1:1"
  https_proxy                 = "http://127.0.0.1:1"
  no_proxy                    = "127.0.0.1,localhost,::1"
}}

resource "aws_s3_bucket" "data" {{
  bucket        = "{name}-data"
  force_destroy = true
}}

resource "aws_dynamodb_table" "items" {{
  name         = "{name}-items"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"
  attribute {{
    name = "id"
    type = "S"
  }}
}}

output "platform_resources" {{
  value = {{
    endpoint  = var.emulator_endpoint
    buckets   = [aws_s3_bucket.data.bucket]
    tables    = [aws_dynamodb_table.items.name]
    streams   = []
    queues    = []
    functions = []
  }}
}}
"""
