"""Small Terraform test roots applied on platformctl's own moto server (`python -m
platformctl.emulators.moto_server`): one module call at a time, real provider from the mirror, real
boto3 against the same server."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from terraform.tf_helpers import _ORIGINAL_ENV, EMULATOR_ACCOUNT, REPO, TERRAFORM_DIR, Moto, free_port

PROVIDER = """\
terraform {
  required_version = ">= 1.11"
  required_providers {
    aws = { source = "hashicorp/aws", version = ">= 5.100" }
  }
}

variable "endpoint" {
  type        = string
  description = "The moto server every endpoint points at."
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test" # emulator placeholder, not a credential
  secret_key                  = "test" # emulator placeholder, not a credential
  allowed_account_ids         = ["000000000000"]
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true
  max_retries                 = 2

  endpoints {
    applicationautoscaling = var.endpoint
    dynamodb               = var.endpoint
    iam                    = var.endpoint
    kms                    = var.endpoint
    s3                     = var.endpoint
    secretsmanager         = var.endpoint
    sts                    = var.endpoint
  }
}
"""


@contextmanager
def platformctl_moto(log_file: Path) -> Iterator[Moto]:
    """platformctl's moto server (moto plus its patches) on a free port, stopped afterwards."""
    port = free_port()
    env = {k: v for k, v in _ORIGINAL_ENV.items() if not k.startswith("AWS_")}
    env["MOTO_ACCOUNT_ID"] = EMULATOR_ACCOUNT
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "platformctl.emulators.moto_server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"moto server exited: {log_file.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not answer on {endpoint} within 30 s") from None
                time.sleep(0.1)  # polling a port, not synchronising on an event
        yield Moto(endpoint=endpoint, process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def write_root(destination: Path, body: str) -> Path:
    """A root beside a copy of terraform/modules: the provider above plus `body`."""
    shutil.copytree(TERRAFORM_DIR / "modules", destination / "modules", ignore=shutil.ignore_patterns(".terraform"))
    root = destination / "root"
    root.mkdir()
    (root / "providers.tf").write_text(PROVIDER)
    (root / "main.tf").write_text(body)
    return root
