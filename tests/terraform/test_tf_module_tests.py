"""`terraform test` in every module and in the dev and prod roots: runs against a mocked provider.

Terraform's mock providers cannot open ephemeral resources ("No ephemeral resource types in mock
providers"), even one with no instances, and the roots' HMAC key comes from one (secrets.tf).
So the roots' tests run in a sibling copy of the root whose secrets.tf is a plain secret of the
same address; the real file is applied on moto by test_secret_write_only.py, which checks that
its value reaches neither plan nor state.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import partial
from pathlib import Path

import pytest

from terraform.tf_helpers import MODULES, Terraform, parallel

TESTED = [f"modules/{m}" for m in MODULES] + ["environments/dev", "environments/prod"]

SECRET_STAND_IN = """\
# Stands in for secrets.tf under `terraform test` only (see tests/terraform/test_tf_module_tests.py).
resource "aws_secretsmanager_secret" "order_ingest_hmac" {
  name = "mocked-order-ingest-hmac"
}
"""


def mockable(folder: Path) -> Path:
    """`folder` itself, or for a root with an ephemeral resource a copy beside it (the same
    depth, so ../../modules still resolves) with the stand-in secret."""
    secrets = folder / "secrets.tf"
    if not secrets.is_file() or "ephemeral " not in secrets.read_text():
        return folder
    copy = folder.with_name(folder.name + "-mocked")
    if not copy.exists():
        shutil.copytree(folder, copy, symlinks=True)
        (copy / "secrets.tf").write_text(SECRET_STAND_IN)
    return copy


@pytest.fixture(scope="module")
def test_runs(terraform: Terraform, tf_tree: Path) -> dict[str, object]:
    """Every folder's `terraform test`, two at a time: the machines that run the suite have two
    cores, and one run at a time leaves one of them mostly idle."""
    folders = {folder: mockable(tf_tree / folder) for folder in TESTED}  # the copies made first, one by one
    jobs = {name: partial(terraform.run, path, "test", "-no-color", check=False) for name, path in folders.items()}
    return parallel(jobs, workers=2)


@pytest.mark.parametrize("folder", TESTED)
def test_terraform_test(test_runs: dict[str, object], folder: str) -> None:
    result = test_runs[folder]
    if isinstance(result, Exception):
        raise result
    assert isinstance(result, subprocess.CompletedProcess)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 failed" in result.stdout and "passed" in result.stdout
