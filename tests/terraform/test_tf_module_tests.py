"""`terraform test` in every module and in the dev and prod roots: runs against a mocked provider."""

from __future__ import annotations

from pathlib import Path

import pytest

from terraform.tf_helpers import MODULES, Terraform

TESTED = [f"modules/{m}" for m in MODULES] + ["environments/dev", "environments/prod"]


@pytest.mark.parametrize("folder", TESTED)
def test_terraform_test(terraform: Terraform, tf_tree: Path, folder: str) -> None:
    result = terraform.run(tf_tree / folder, "test", "-no-color", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 failed" in result.stdout and "passed" in result.stdout
