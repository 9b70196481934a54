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

# Where calls go: AWS_ENDPOINT_URL of the run (tf_helpers.Terraform.at(moto.endpoint)), for
# every service; anything not for loopback goes to a closed port, so a run without it fails
# instead of leaving the machine.
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
  http_proxy                  = "http://127.0.0.1:1"
  https_proxy                 = "http://127.0.0.1:1"
  no_proxy                    = "127.0.0.1,localhost,::1"
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
