"""`terraform test` in every module: plan-only runs against a mocked provider."""

from __future__ import annotations

from pathlib import Path

import pytest

from terraform.tf_helpers import MODULES, Terraform


@pytest.mark.parametrize("module", MODULES)
def test_terraform_test(terraform: Terraform, tf_tree: Path, module: str) -> None:
    result = terraform.run(tf_tree / "modules" / module, "test", "-no-color", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 failed" in result.stdout and "passed" in result.stdout
