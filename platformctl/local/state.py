"""The files platformctl keeps for an emulated environment: its Terraform state (read, shape
checked, moved aside when the emulator it belonged to is gone) and small JSON notes."""

from __future__ import annotations

import json
import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from platformctl import files
from platformctl.emulators import lifecycle as emulator
from platformctl.errors import PlatformctlError
from platformctl.project.contract import Environment, Project
from platformctl.terraform.runner import Terraform

log = logging.getLogger("platformctl")

RESOURCES_OUTPUT = "platform_resources"
STATE_FILE = "terraform.tfstate"


def applied_path(project: Project, environment: Environment) -> Path:
    """Which emulator start the environment's state belongs to (written before each apply)."""
    return project.state_dir / f"{environment.name}-applied.json"


def init_path(project: Project, environment: Environment) -> Path:
    return project.state_dir / "init" / f"{environment.name}.json"


def state_path(environment: Environment) -> Path:
    return environment.directory / STATE_FILE


def json_kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def state_problem(state: Any) -> str | None:
    """What makes parsed JSON something other than a Terraform state platformctl can read."""
    if not isinstance(state, dict):
        return f"it holds {json_kind(state)}, not an object"
    resources = state.get("resources", [])
    if not isinstance(resources, list):
        return f"`resources` is {json_kind(resources)}, not a list"
    for index, resource in enumerate(resources):
        if not isinstance(resource, dict):
            return f"resources[{index}] is {json_kind(resource)}, not an object"
        instances = resource.get("instances", [])
        if not isinstance(instances, list):
            return f"resources[{index}].instances is {json_kind(instances)}, not a list"
    outputs = state.get("outputs", {})
    if not isinstance(outputs, dict):
        return f"`outputs` is {json_kind(outputs)}, not an object"
    output = outputs.get(RESOURCES_OUTPUT)
    if output is not None and not (isinstance(output, dict) and isinstance(output.get("value") or {}, dict)):
        return f"outputs.{RESOURCES_OUTPUT} is not an object with a `value` object"
    return None


def load_state(environment: Environment) -> dict[str, Any] | None:
    """The local terraform.tfstate, None when there is none; a one-line error naming the file
    (which stays as it is) when it is unreadable or not a state."""
    path = state_path(environment)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise PlatformctlError(f"Cannot read {path} ({reason}): fix it, then run the command again.") from exc
    if not text.strip():
        return None
    try:
        state = json.loads(text)
    except ValueError as exc:
        problem: str | None = f"not JSON: {exc}"
    else:
        problem = state_problem(state)
    if problem is not None:
        raise PlatformctlError(
            f"{path} is not a Terraform state ({problem}); it was left as it is: restore it from "
            f"{STATE_FILE}.backup or .platformctl/backups, or move it aside, then run the command again."
        )
    return dict(state)


def state_resource_count(environment: Environment) -> int:
    state = load_state(environment) or {}
    return sum(len(r.get("instances", [])) for r in state.get("resources", []))


def read_json(path: Path, what: str) -> dict[str, Any] | None:
    """One of platformctl's own JSON records: None when absent, a one-line error when it is not
    a JSON object."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        data = exc
    if not isinstance(data, dict):
        detail = str(data) if isinstance(data, Exception) else f"it holds {json_kind(data)}, not an object"
        raise PlatformctlError(f"{path} ({what}) is unreadable ({detail}): delete it, then run the command again.")
    return data


def write_json(path: Path, data: dict[str, Any]) -> None:
    files.atomic_write(path, json.dumps(data, indent=2) + "\n")


def stale(project: Project, environment: Environment, record: emulator.Record) -> bool:
    """The state was written against an earlier start of the emulator than the one running.

    Without a note of which start it belongs to (state from `platformctl apply local`), the
    state is trusted: Terraform's refresh drops what no longer exists.
    """
    applied = read_json(applied_path(project, environment), "which emulator start the local state belongs to")
    return applied is not None and applied.get("start_id") != record.start_id


def move_state_aside(project: Project, environment: Environment) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = project.state_dir / "backups" / f"{STATE_FILE}.{stamp}"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(state_path(environment)), target)
    backup = environment.directory / f"{STATE_FILE}.backup"
    if backup.is_file():  # Terraform's own previous copy names the same lost resources
        shutil.move(str(backup), target.with_name(f"{STATE_FILE}.backup.{stamp}"))
    return target


def platform_resources(environment: Environment, tf: Terraform | None = None) -> dict[str, Any]:
    """Output `platform_resources`. With the default local backend it is read straight from
    terraform.tfstate, saving a Terraform start (half a second) on every `up` and `status`;
    with any other backend (.terraform/terraform.tfstate records it), `terraform output`."""
    state = load_state(environment)
    if tf is None or (state is not None and not (environment.directory / ".terraform" / STATE_FILE).exists()):
        output = ((state or {}).get("outputs") or {}).get(RESOURCES_OUTPUT) or {}
        return dict(output.get("value") or {})
    return dict(tf.outputs().get(RESOURCES_OUTPUT) or {})
