"""Faults, the local state's shape: a terraform.tfstate that is valid JSON of the wrong shape
(or no JSON at all) is a one-line error that names the file, in `up`, `status` and `down`,
and the file is kept byte for byte; nothing starts, nothing is moved aside.

The root is emulated but holds only `terraform_data` (no provider to download); `up` and
`down` would start and stop a real moto server if they got that far.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import free_port, make_project

from platformctl.emulators import lifecycle as emulator
from platformctl.project import contract

pytestmark = pytest.mark.integration

ROOT = 'resource "terraform_data" "this" {\n  input = "x"\n}\n'

SHAPES = {
    "an array": "[]",
    "null": "null",
    "a string": '"terraform state"',
    "a number": "4",
    "resources an object": json.dumps({"version": 4, "resources": {}}),
    "a resource a string": json.dumps({"version": 4, "resources": ["aws_s3_bucket.data"]}),
    "instances an object": json.dumps({"version": 4, "resources": [{"type": "terraform_data", "instances": {}}]}),
    "outputs an array": json.dumps({"version": 4, "resources": [], "outputs": []}),
    "platform_resources a string": json.dumps({"version": 4, "outputs": {"platform_resources": "x"}}),
    "not JSON": '{"version": 4, "resources": [',
}


@pytest.mark.parametrize("command", ["up", "status", "down"])
@pytest.mark.parametrize("text", list(SHAPES.values()), ids=list(SHAPES))
def test_a_state_of_the_wrong_shape_is_one_line_and_kept(
    tmp_path: Path, cli: Callable[..., Any], command: str, text: str
) -> None:
    port = free_port()
    root = make_project(
        tmp_path / "repo",
        {"local": ROOT},
        contract=f'[environments.local]\nemulator = "moto"\nemulator_port = {port}\n',
    )
    state = root / "terraform" / "environments" / "local" / "terraform.tfstate"
    state.write_text(text)
    before = state.read_bytes()

    result = cli("--root", str(root), command, env={"COLUMNS": "1000"})

    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.output
    assert f"{state} is not a Terraform state (" in errors[0] and "it was left as it is" in errors[0]
    assert state.read_bytes() == before, "the state file must be kept as it was"
    assert not (root / ".platformctl" / "backups").exists() or not any((root / ".platformctl" / "backups").iterdir())
    assert emulator.load_record(contract.load(root)) is None, "nothing may start"
    assert emulator.probe(port).listening is False


def test_an_empty_state_file_is_no_state(tmp_path: Path, cli: Callable[..., Any]) -> None:
    """Terraform itself treats an empty file as no state: so does status."""
    root = make_project(
        tmp_path / "repo",
        {"local": ROOT},
        contract=f'[environments.local]\nemulator = "moto"\nemulator_port = {free_port()}\n',
    )
    (root / "terraform" / "environments" / "local" / "terraform.tfstate").write_text("")
    result = cli("--root", str(root), "--json", "status")
    assert json.loads(result.stdout)["applied"] is False
