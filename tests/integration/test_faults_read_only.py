"""Faults, an unwritable `.platformctl/`: one line before anything is started or applied, and
nothing marked that was not applied.

CI runs as root, which chmod does not stop; so the folders are made unwritable in ways root
cannot write through either: a regular file, or a dangling symlink, where a folder must be.
The root is emulated and holds only `terraform_data`; a real moto server would start if
platformctl got that far, and Terraform would write terraform.tfstate if anything applied.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import free_port, make_project

from platformctl import process
from platformctl.emulators import lifecycle as emulator
from platformctl.project import contract

pytestmark = pytest.mark.integration

ROOT = 'resource "terraform_data" "this" {\n  input = "x"\n}\n\noutput "platform_resources" {\n  value = {}\n}\n'


def _file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("not a folder\n")


def _dangling(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(path.parent / "gone" / "nowhere")


BLOCKERS: dict[str, Callable[[Path], None]] = {
    ".platformctl is a file": lambda root: _file(root / ".platformctl"),
    ".platformctl/emulator is a file": lambda root: _file(root / ".platformctl" / "emulator"),
    ".platformctl/emulator is a dangling symlink": lambda root: _dangling(root / ".platformctl" / "emulator"),
    ".platformctl/plans is a file": lambda root: _file(root / ".platformctl" / "plans"),
    ".platformctl/plans/local is a dangling symlink": lambda root: _dangling(root / ".platformctl" / "plans" / "local"),
    ".platformctl/init is a file": lambda root: _file(root / ".platformctl" / "init"),
}


@pytest.fixture
def stop_emulator() -> Iterator[list[Path]]:
    roots: list[Path] = []
    yield roots
    for root in roots:
        try:
            record = emulator.load_record(contract.load(root))
        except Exception:  # noqa: BLE001, S112 - the blocker may make the record unreadable
            continue
        if record and record.pid and record.started_by_platformctl:
            process.stop_detached(record.pid)


def _project(tmp_path: Path) -> tuple[Path, int]:
    port = free_port()
    root = make_project(
        tmp_path / "repo",
        {"local": ROOT},
        contract=f'[environments.local]\nemulator = "moto"\nemulator_port = {port}\n',
    )
    return root, port


@pytest.mark.parametrize("block", list(BLOCKERS.values()), ids=list(BLOCKERS))
@pytest.mark.parametrize("command", ["up", "down"])
def test_an_unwritable_state_folder_is_one_line_before_anything_starts(
    tmp_path: Path, cli: Callable[..., Any], stop_emulator: list[Path], block: Callable[[Path], None], command: str
) -> None:
    root, port = _project(tmp_path)
    stop_emulator.append(root)
    block(root)

    result = cli("--root", str(root), command, env={"COLUMNS": "1000"})

    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.output
    assert "Cannot " in errors[0] and "writable" in errors[0]
    assert emulator.probe(port).listening is False, "no emulator may start"
    environment_dir = root / "terraform" / "environments" / "local"
    assert not (environment_dir / "terraform.tfstate").exists(), "nothing may be applied"
    assert not (environment_dir / ".terraform").exists(), "Terraform must not have run"
    assert not list(root.glob(".platformctl/local-applied.json")), "nothing may be marked applied"


def test_an_unwritable_applied_record_stops_before_the_apply(
    tmp_path: Path, cli: Callable[..., Any], stop_emulator: list[Path]
) -> None:
    """The note of which emulator start the state belongs to is written before the apply: when
    it cannot be, nothing is applied (the state would be unmarked)."""
    root, port = _project(tmp_path)
    stop_emulator.append(root)
    (root / ".platformctl" / "local-applied.json").mkdir(parents=True)  # a folder where the record goes

    result = cli("--root", str(root), "up", env={"COLUMNS": "1000"})

    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "local-applied.json" in errors[0], result.output
    assert not (root / "terraform" / "environments" / "local" / "terraform.tfstate").exists()

    # Once it is writable again, up applies and marks what it applied with the emulator's start.
    os.rmdir(root / ".platformctl" / "local-applied.json")
    again = cli("--root", str(root), "--json", "up", env={"COLUMNS": "1000"})
    assert again.exit_code == 0, again.output
    record = emulator.load_record(contract.load(root))
    assert record is not None and record.port == port
    applied = json.loads((root / ".platformctl" / "local-applied.json").read_text())
    assert applied["start_id"] == record.start_id
    assert (root / "terraform" / "environments" / "local" / "terraform.tfstate").is_file()
    assert cli("--root", str(root), "down").exit_code == 0
