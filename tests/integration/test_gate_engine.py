"""Class "the engine is not part of the binding": a gated plan records the engine's resolved
path, sha256 and version; apply refuses another engine (another binary, or the same path with
other bytes), and a gated run refuses a script as its engine (PLATFORMCTL_TERRAFORM pointed at
a wrapper that rewrites `apply PLAN`), at plan as at apply. The manifest has a
schema: an unknown format, a field of the wrong type, an unknown field or a plan name with a
path in it is a one-line refusal, never a traceback, even with a valid checksum.

Runs against the tiny gated prod of tests/integration/gated.py (moto as AWS; aws-vault is the
stand-in of test_release.py)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from integration.gated import all_objects, apply_ci, make_gated, one_error, plan, reseal
from integration.test_release import Platform, stop
from platformctl.release import gate

pytestmark = pytest.mark.integration

# What an attacker's engine looks like: answers `version` like Terraform, but turns
# `apply PLAN` into an apply of a fresh plan with -auto-approve.
WRAPPER = """\
#!/bin/sh
if [ "$1" = "apply" ]; then
  exec "{terraform}" apply -auto-approve -input=false
fi
exec "{terraform}" "$@"
"""


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Platform, gate.SavedPlan, Path]]:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("needs terraform >= 1.11 on PATH (https://developer.hashicorp.com/terraform/install)")
    folder = tmp_path_factory.mktemp("engine")
    platform = make_gated(folder)
    wrapper = folder / "terraform-wrapper"
    wrapper.write_text(WRAPPER.format(terraform=terraform))
    wrapper.chmod(0o755)
    try:
        yield platform, plan(platform), wrapper
    finally:
        stop(platform)


@pytest.mark.parametrize("command", ["apply", "plan"])
def test_a_wrapper_engine_is_refused(planned: tuple[Platform, gate.SavedPlan, Path], command: str) -> None:
    platform, saved, wrapper = planned
    objects, calls, plans = all_objects(platform), platform.vault_calls(), sorted(platform.plans.iterdir())
    env = {"PLATFORMCTL_TERRAFORM": str(wrapper)}
    result = apply_ci(platform, saved, env=env) if command == "apply" else platform.run("plan", "prod", env=env)
    assert one_error(result).startswith(f"The engine {wrapper} is a script, not a Terraform binary")
    assert all_objects(platform) == objects == [] and platform.vault_calls() == calls
    assert sorted(platform.plans.iterdir()) == plans


def test_another_engine_binary_is_refused(planned: tuple[Platform, gate.SavedPlan, Path], tmp_path: Path) -> None:
    platform, saved, _ = planned
    other = tmp_path / "terraform"
    shutil.copy2(saved.manifest.engine["path"], other)  # same bytes and version, another file
    message = one_error(apply_ci(platform, saved, env={"PLATFORMCTL_TERRAFORM": str(other)}))
    engine = saved.manifest.engine
    assert message == (
        f"Plan {saved.name} was made by terraform {engine['version']} at {engine['path']} (sha256 "
        f"{engine['sha256'][:12]}), but this apply would run {engine['version']} at {other} (sha256 "
        f"{engine['sha256'][:12]}): apply with the engine that planned (check PLATFORMCTL_TERRAFORM and PATH), "
        "or plan again."
    )
    assert all_objects(platform) == []


def test_the_same_path_with_other_bytes_is_refused(planned: tuple[Platform, gate.SavedPlan, Path]) -> None:
    platform, saved, _ = planned
    body = saved.manifest.body()
    reseal(saved, engine={**body["engine"], "sha256": "0" * 64})
    try:
        message = one_error(apply_ci(platform, saved))
    finally:
        reseal(saved, engine=body["engine"])
    assert "(sha256 000000000000), but this apply would run" in message
    assert all_objects(platform) == []


def sealed(data: Any) -> str:
    if isinstance(data, dict):
        body = {k: v for k, v in data.items() if k != "manifest_sha256"}
        data = {**body, "manifest_sha256": gate.canonical_sha256(body)}
    return json.dumps(data)


EDITS: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
    ("unknown-format", lambda d: {**d, "format": 99}, "format 99, this platformctl reads format 2"),
    ("old-format", lambda d: {k: v for k, v in {**d, "format": 1}.items() if k != "engine"}, "format 1"),
    ("version-not-a-string", lambda d: {**d, "terraform_version": 5}, "field 'terraform_version' is not a str"),
    ("summary-not-an-object", lambda d: {**d, "summary": "none"}, "field 'summary' is not a summary"),
    ("negative-count", lambda d: {**d, "summary": {**d["summary"], "destroy": -1}}, "is not a summary"),
    ("engine-not-strings", lambda d: {**d, "engine": {"path": 1}}, "field 'engine' is not a dict[str, str]"),
    ("unknown-field", lambda d: {**d, "approved_by": "me"}, "unknown field 'approved_by'"),
    ("missing-field", lambda d: {k: v for k, v in d.items() if k != "inputs"}, "no field 'inputs'"),
    ("path-in-plan-name", lambda d: {**d, "plan_file": "../../../elsewhere.tfplan"}, "is not a saved plan's name"),
    ("naive-time", lambda d: {**d, "created_at": "2026-01-01T00:00:00"}, "has no time zone"),
    ("not-an-object", lambda d: [d], "a JSON list, not an object"),
]


@pytest.mark.parametrize(("edit", "problem"), [e[1:] for e in EDITS], ids=[e[0] for e in EDITS])
def test_a_manifest_outside_the_schema_is_one_line(
    planned: tuple[Platform, gate.SavedPlan, Path], edit: Callable[[dict[str, Any]], Any], problem: str
) -> None:
    platform, saved, _ = planned
    original = saved.manifest_path.read_text()
    saved.manifest_path.write_text(sealed(edit(json.loads(original))))
    try:
        message = one_error(apply_ci(platform, saved))
    finally:
        saved.manifest_path.write_text(original)
    assert message.startswith(f"Manifest {saved.manifest_path.name} is unreadable or incomplete (")
    assert problem in message
    assert all_objects(platform) == []
