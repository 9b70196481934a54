"""The emulator's record: what platformctl started (or found) for the local environment, in
`.platformctl/emulator/emulator.json`, so `down`, `status` and the next `up` find it; and the
one rule for its endpoint: an emulator on this machine, never anything else.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from platformctl import files
from platformctl.errors import EmulatorError
from platformctl.project.contract import Environment, Project

log = logging.getLogger("platformctl")

HOST = "127.0.0.1"  # loopback only: the emulator accepts any credentials, so never expose it
RECORD_FILE = "emulator.json"


@dataclass(frozen=True)
class Record:
    """What platformctl knows about the emulator the local environment uses."""

    kind: str
    port: int
    endpoint: str
    started_by_platformctl: bool
    # New at every start: the local state is known to belong to one start of the emulator.
    start_id: str
    started_at: str
    pid: int | None = None
    log_file: str | None = None
    container_name: str | None = None
    container_id: str | None = None
    # Whether Lambda code runs there: LocalStack and moto with a Docker engine run it; moto
    # without one only creates the functions. None: unknown (an emulator we did not start).
    lambda_code_runs: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        who = "started by platformctl" if self.started_by_platformctl else "not started by platformctl"
        pid = f", pid {self.pid}" if self.pid else ""
        return f"{self.kind} on {self.endpoint} ({who}{pid})"


def folder(project: Project) -> Path:
    return project.state_dir / "emulator"


def record_path(project: Project) -> Path:
    return folder(project) / RECORD_FILE


def load_record(project: Project) -> Record | None:
    path = record_path(project)
    try:
        data = json.loads(path.read_text())
        return Record(**data)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError) as exc:
        log.warning("Ignoring unreadable emulator record %s (%s)", path, exc)
        return None


def save_record(project: Project, record: Record) -> None:
    files.atomic_write(record_path(project), json.dumps(record.as_dict(), indent=2) + "\n")


def lock_path(project: Project) -> Path:
    """Beside the emulator's folder, not in it: `forget` removes the folder."""
    return project.state_dir / "emulator.lock"


def record_lock(project: Project) -> contextlib.AbstractContextManager[None]:
    """The lock every start, reuse and stop of the emulator holds around its record."""
    return files.locked(lock_path(project), what="the local emulator")


def forget(project: Project) -> None:
    """Remove the state folder: the record and the emulator's log."""
    shutil.rmtree(folder(project), ignore_errors=True)


def endpoint_for(port: int) -> str:
    return f"http://{HOST}:{port}"


def current_endpoint(project: Project, environment: Environment) -> str:
    """Where terraform must point for this environment: the recorded emulator, else the
    contract's port. A record that names anything but this machine is refused, whoever wrote it."""
    record = load_record(project)
    endpoint = record.endpoint if record else endpoint_for(environment.emulator_port)
    return require_loopback(endpoint, environment)


# The names an emulator on this machine goes by (LocalStack's resolves to 127.0.0.1).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "localhost.localstack.cloud")


def is_loopback_url(value: Any) -> bool:
    """A literal http(s) URL whose host is this machine (no interpolation, no user part)."""
    if not isinstance(value, str) or "${" in value:
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or parts.username is not None or parts.password is not None:
        return False
    return (parts.hostname or "") in LOOPBACK_HOSTS


def require_loopback(endpoint: str, environment: Environment) -> str:
    if not is_loopback_url(endpoint):
        raise EmulatorError(
            f"The emulator endpoint {endpoint!r} is not a loopback URL: platformctl only talks to an emulator on "
            f"this machine; run `platformctl down {environment.name}` and `platformctl up {environment.name}`."
        )
    return endpoint


def timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
