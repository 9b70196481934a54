"""Region and account are read from the roots' HCL in Terraform's own variable precedence:
one test per source, each checked against what real Terraform resolves (`terraform console`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from platformctl.errors import ContractError
from platformctl.project import hcl

DECLARATIONS = """\
variable "aws_region" {
  type        = string
  description = "region"
  default     = "us-east-1"
}

variable "allowed" {
  type        = list(string)
  description = "accounts"
  default     = []
}
"""

# Each case: files beside variables.tf, TF_VAR_ values, and the variable to read.
CASES = {
    "default only": ({}, {}, "aws_region"),
    "TF_VAR_ over the default": ({}, {"TF_VAR_aws_region": "eu-west-1"}, "aws_region"),
    "terraform.tfvars over TF_VAR_": (
        {"terraform.tfvars": 'aws_region = "eu-west-2"\n'},
        {"TF_VAR_aws_region": "eu-west-1"},
        "aws_region",
    ),
    "terraform.tfvars.json over terraform.tfvars": (
        {"terraform.tfvars": 'aws_region = "eu-west-2"\n', "terraform.tfvars.json": '{"aws_region": "eu-west-3"}'},
        {},
        "aws_region",
    ),
    "*.auto.tfvars over terraform.tfvars.json": (
        {"terraform.tfvars.json": '{"aws_region": "eu-west-3"}', "a.auto.tfvars": 'aws_region = "eu-north-1"\n'},
        {},
        "aws_region",
    ),
    "auto files in lexical order, .json included": (
        {
            "a.auto.tfvars": 'aws_region = "eu-north-1"\n',
            "b.auto.tfvars.json": '{"aws_region": "eu-south-1"}',
            "ab.auto.tfvars": 'aws_region = "eu-central-2"\n',
        },
        {},
        "aws_region",
    ),
    "TF_VAR_ of a list is parsed as HCL": ({}, {"TF_VAR_allowed": '["111122223333"]'}, "allowed"),
    "a tfvars file without the variable leaves TF_VAR_": (
        {"terraform.tfvars": "allowed = []\n"},
        {"TF_VAR_aws_region": "ap-south-1"},
        "aws_region",
    ),
}


def make_root(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir()
    (folder / "variables.tf").write_text(DECLARATIONS)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def terraform_says(root: Path, name: str, environ: dict[str, str]) -> object:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("needs terraform on PATH to compare with (https://developer.hashicorp.com/terraform/install)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_VAR_")} | environ
    env["CHECKPOINT_DISABLE"] = "1"
    result = subprocess.run(
        [terraform, "console"],
        input=f"jsonencode(var.{name})\n",
        capture_output=True,
        text=True,
        cwd=root,
        env=env,
        check=True,
        timeout=60,
    )
    return json.loads(json.loads(result.stdout.strip()))


@pytest.mark.parametrize("case", CASES)
def test_variable_value_follows_terraforms_precedence(tmp_path: Path, case: str) -> None:
    files, environ, name = CASES[case]
    root = make_root(tmp_path / "root", files)
    ours = hcl.variable_value(root, name, environ)
    assert ours == terraform_says(root, name, environ)


def test_a_malformed_tfvars_json_is_one_line(tmp_path: Path) -> None:
    root = make_root(tmp_path / "root", {"terraform.tfvars.json": "[1, 2]"})
    with pytest.raises(ContractError, match=r"terraform.tfvars.json must hold a JSON object"):
        hcl.variable_value(root, "aws_region", {})
