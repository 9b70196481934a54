"""The per-user plugin cache under two platformctl processes at once: both inits succeed
(platformctl holds a file lock on the cache around init), and an init that cannot get the
lock in time says which cache is busy instead of racing into it. Real Terraform, the real
hashicorp/aws provider from the machine's mirror, an empty cache of the test's own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_project

from platformctl import files, operations

pytestmark = pytest.mark.integration

ROOT = """\
terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
  }
}
"""


def test_two_concurrent_inits_on_one_cache_both_succeed(tmp_path: Path, provider_mirror: Path) -> None:
    cache_home = tmp_path / "cache"
    roots = [make_project(tmp_path / f"repo{i}", {"demo": ROOT}) for i in (1, 2)]
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home), "PLATFORMCTL_PROVIDER_MIRROR": str(provider_mirror)}
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "platformctl", "--no-color", "init", "demo"],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for root in roots
    ]
    outputs = [child.communicate(timeout=600)[0] for child in children]
    for child, output in zip(children, outputs, strict=True):
        assert child.returncode == 0, output
    cache = cache_home / "platformctl" / "plugin-cache"
    assert list(cache.glob("registry.terraform.io/hashicorp/aws/*/*")), "the provider is in the shared cache"
    assert (cache.parent / "plugin-cache.lock").exists()
    for root in roots:
        installed = list(
            (root / "terraform/environments/demo/.terraform/providers").glob(
                "registry.terraform.io/hashicorp/aws/*/*/terraform-provider-aws*"
            )
        )
        assert installed, f"{root}: no provider installed"


def test_an_init_waits_for_the_cache_then_names_it(
    cli, isolation: Path, provider_mirror: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(operations, "PLUGIN_CACHE_WAIT", 0.2)
    make_project(isolation, {"demo": ROOT})
    cache = tmp_path / "cache" / "platformctl" / "plugin-cache"
    with files.locked(cache, what="held by this test"):  # another process's init, in effect
        busy = cli("init", "demo")
    assert busy.exit_code == 1
    assert f"Another platformctl process is using Terraform's plugin cache {cache}" in busy.stderr
    assert "after waiting 0.2 s" in busy.stderr
    assert not (isolation / "terraform/environments/demo/.terraform").exists(), "init did not start"
    assert cli("init", "demo").exit_code == 0
