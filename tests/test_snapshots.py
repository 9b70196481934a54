"""The platformctl side of snapshots (platformctl/local/snapshots.py, snapshot_checks.py), without
an apply: the fingerprint misses on every input that decides the result and on nothing else;
list and prune read the store; a state with a resource type nobody checks never passes.
A real save and restore of the whole platform is in tests/integration/test_snapshots.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import copy_repository

from platformctl import packaging
from platformctl.local import snapshot_checks, snapshots
from platformctl.project import contract

ENDPOINT = "http://127.0.0.1:4566"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = copy_repository(tmp_path / "repo")
    packaging.build_all(root)
    return root


def print_of(root: Path, **overrides: str) -> snapshots.Fingerprint:
    project = contract.load(root)
    environment = project.environment("local")
    endpoint = overrides.pop("endpoint", ENDPOINT)
    return snapshots.fingerprint(project, environment, kind="moto", endpoint=endpoint, overrides=overrides or None)


def test_the_same_inputs_give_the_same_fingerprint_and_docs_do_not_count(repo: Path) -> None:
    first = print_of(repo)
    (repo / "terraform/modules/lambda/README.md").write_text("docs changed\n")
    assert print_of(repo) == first
    assert first.parts["moto"] == snapshots.moto_version() and first.parts["emulator"] == "moto"
    assert first.parts["provider"].startswith("registry.terraform.io/hashicorp/aws=")


@pytest.mark.parametrize(
    ("part", "change"),
    [
        ("root", lambda root: _append(root / "terraform/environments/local/terraform.tfvars", "\n# a new line\n")),
        ("modules", lambda root: _append(root / "terraform/modules/kinesis/main.tf", "\n# changed\n")),
        ("lambda_packages", lambda root: _change_function(root)),
        ("lock_file", lambda root: _append(root / "terraform/environments/local/.terraform.lock.hcl", "\n")),
    ],
)
def test_a_changed_input_misses(repo: Path, part: str, change: object) -> None:
    before = print_of(repo)
    change(repo)  # type: ignore[operator]
    after = print_of(repo)
    assert after.value != before.value
    assert [name for name in before.parts if before.parts[name] != after.parts[name]] == [part]


def test_another_moto_version_or_port_misses(repo: Path) -> None:
    base = print_of(repo)
    other_moto = print_of(repo, moto="4.0.0")
    assert other_moto.value != base.value and other_moto.parts["moto"] == "4.0.0"
    assert print_of(repo, endpoint="http://127.0.0.1:4567").value != base.value


def _append(path: Path, text: str) -> None:
    path.write_text((path.read_text() if path.exists() else "") + text)


def _change_function(root: Path) -> None:
    source = next((root / "functions/order_ingest").glob("*.py"))
    _append(source, "\n# a changed function\n")
    packaging.build_all(root)


def _fake_snapshot(root: Path, snapshot_id: str, environment: str, created: datetime) -> None:
    folder = root / ".platformctl" / "snapshots" / snapshot_id
    folder.mkdir(parents=True)
    meta = {"environment": environment, "fingerprint": "f" * 64, "created": created.isoformat(), "resources": 3}
    (folder / "meta.json").write_text(json.dumps(meta))


def test_list_is_newest_first_and_prune_keeps_the_newest_of_each_environment(repo: Path) -> None:
    now = datetime.now(UTC)
    for index in range(3):
        _fake_snapshot(repo, f"local-{index}", "local", now - timedelta(days=index))
    _fake_snapshot(repo, "other-0", "other", now - timedelta(days=10))
    (repo / ".platformctl/snapshots/.half-written.partial-1").mkdir()  # not a snapshot: ignored
    project = contract.load(repo)
    assert [s.id for s in snapshots.list_snapshots(project)] == ["local-0", "local-1", "local-2", "other-0"]
    removed = snapshots.prune(project, keep=1)
    assert sorted(s.id for s in removed) == ["local-1", "local-2"]
    assert [s.id for s in snapshots.list_snapshots(project)] == ["local-0", "other-0"]
    removed = snapshots.prune(project, older_than=timedelta(days=5))
    assert [s.id for s in removed] == ["other-0"]
    with pytest.raises(snapshots.SnapshotError, match="--keep"):
        snapshots.prune(project)


def test_a_resource_type_without_a_check_fails_the_verification() -> None:
    state = {
        "resources": [
            {"mode": "managed", "type": "aws_new_thing", "name": "this", "instances": [{"attributes": {"id": "x"}}]},
            {"mode": "data", "type": "aws_caller_identity", "name": "me", "instances": [{"attributes": {}}]},
        ]
    }
    report = snapshot_checks.verify(state, "http://127.0.0.1:9", "us-east-1")
    assert report.problems and "aws_new_thing" in report.problems[0]
    assert snapshot_checks.managed_instances(state)[0][1] == "aws_new_thing.this"
