"""Small Terraform test roots applied on platformctl's own moto server (`python -m
platformctl.emulators.moto_server`): one module call at a time, real provider from the mirror, real
boto3 against the same server."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from conftest import start_moto

from terraform.tf_helpers import EMULATOR_ACCOUNT, TERRAFORM_DIR, Moto

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
    """platformctl's moto server (conftest's start_moto, the one starter), stopped afterwards."""
    server = start_moto(log_file, account_id=EMULATOR_ACCOUNT)
    try:
        yield Moto(endpoint=server.endpoint, process=server.process, server=server)
    finally:
        server.stop()


def write_root(destination: Path, body: str) -> Path:
    """A root beside a copy of terraform/modules: the provider above plus `body`."""
    shutil.copytree(TERRAFORM_DIR / "modules", destination / "modules", ignore=shutil.ignore_patterns(".terraform"))
    root = destination / "root"
    root.mkdir()
    (root / "providers.tf").write_text(PROVIDER)
    (root / "main.tf").write_text(body)
    return root
