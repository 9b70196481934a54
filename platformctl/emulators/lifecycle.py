"""The local AWS emulator's lifecycle: which kind, start or reuse, health, stop, status, logs.

Two kinds answer the AWS APIs on one endpoint (default http://127.0.0.1:4566), each behind
the small interface of emulators/base.py and registered in emulators/kinds.py:
- moto server (emulators/moto.py), started by platformctl as a detached background process;
- LocalStack (emulators/localstack.py), a pinned image run with Docker.

Whatever platformctl starts is written down in its record (emulators/records.py), so `down`,
`status` and the next `up` find it. An emulator that platformctl did not start is reused
when it answers as an AWS emulator, and never stopped unless the user forces it.

No Typer or rich here; waiting is reported through a `Progress` the caller passes in.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platformctl import process
from platformctl.emulators import localstack
from platformctl.emulators.base import Kind, LogProgress, Progress
from platformctl.emulators.docker import container_id, docker_engine, stop_container
from platformctl.emulators.kinds import KINDS, LOCALSTACK, MOTO
from platformctl.emulators.probes import Probe, healthy, listening_pids, port_bindable, port_taken, probe
from platformctl.emulators.records import (
    Record,
    current_endpoint,
    endpoint_for,
    folder,
    forget,
    is_loopback_url,
    load_record,
    record_lock,
    record_path,
    require_loopback,
    save_record,
    timestamp,
)
from platformctl.errors import EmulatorError
from platformctl.project.contract import Environment, Project

# What the rest of platformctl uses of the emulator, wherever in emulators/ it lives.
__all__ = [
    "KINDS",
    "LOCALSTACK",
    "MOTO",
    "Choice",
    "LogProgress",
    "Probe",
    "Progress",
    "Record",
    "Running",
    "Status",
    "Stopped",
    "choose",
    "current_endpoint",
    "endpoint_for",
    "ensure_running",
    "folder",
    "follow",
    "healthy",
    "is_loopback_url",
    "load_record",
    "log_file",
    "probe",
    "require_loopback",
    "save_record",
    "start",
    "status",
    "stop",
    "tail",
    "timestamp",
]


@dataclass(frozen=True)
class Choice:
    kind: str
    reason: str


def choose(environment: Environment, requested: str | None = None) -> Choice:
    """The emulator for this run: --emulator, else the contract's `emulator`, else auto."""
    wanted = requested or environment.emulator or "auto"
    if wanted not in ("auto", *KINDS):
        raise EmulatorError(f"Unknown emulator {wanted!r}: use auto, moto or localstack.")
    if wanted == MOTO:
        return Choice(MOTO, "asked for moto")
    docker = docker_engine()
    seen = docker.summary
    image = environment.localstack_image
    if wanted == LOCALSTACK:
        if not docker.answers:
            fix = "install Docker" if "not on PATH" in docker.detail else "start Docker"
            raise EmulatorError(
                f"--emulator localstack needs a Docker engine, and {docker.detail}: {fix}, or use --emulator moto."
            )
        if not image:
            raise EmulatorError(
                f"No LocalStack image configured: set environments.{environment.name}.localstack_image in "
                f"{environment.contract_path.name} (a pinned tag, e.g. localstack/localstack:4.4.0), "
                "or use --emulator moto."
            )
        return Choice(LOCALSTACK, f"asked for LocalStack ({seen}, image {image})")
    if not docker.answers:
        return Choice(MOTO, f"{seen}, so the embedded moto server")
    if not image:
        return Choice(MOTO, f"{seen} but no localstack_image in {environment.contract_path.name}, so moto")
    usable, why = localstack.image_usable(image)
    if not usable:
        return Choice(MOTO, f"{seen} but {why}, so moto")
    return Choice(LOCALSTACK, f"{seen} and platform.toml pins {image}")


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _last_line(text: str) -> str:
    return next((line.strip() for line in reversed(text.splitlines()) if line.strip()), "")


def _start_failure(kind: Kind, port: int, returncode: int | None, log_file: Path) -> EmulatorError:
    text = _log_tail(log_file)
    own = kind.start_failure(returncode, text)
    if own is not None:
        return own
    if "address already in use" in text.lower() or "port is already allocated" in text.lower():
        return port_taken(port)
    detail = _last_line(text) or "no output"
    return EmulatorError(
        f"The {kind.name} emulator exited while starting (exit {returncode}: {detail}): see {log_file}."
    )


def _wait_healthy(kind: Kind, port: int, child: Any, log_file: Path, timeout: float, progress: Progress) -> None:
    endpoint = endpoint_for(port)
    deadline = time.monotonic() + timeout
    with progress.waiting(f"Waiting for {kind.name} to answer on {endpoint}"):
        while True:
            returncode = child.poll()
            if returncode is not None:
                raise _start_failure(kind, port, returncode, log_file)
            if probe(port, timeout=1.0).kind == kind.name:
                return
            if time.monotonic() > deadline:
                process.stop_detached(child.pid)
                raise EmulatorError(
                    f"{kind.name} did not answer on {endpoint} within {timeout:.0f} s: see {log_file}; "
                    "retry, or pass a longer --timeout."
                )
            time.sleep(0.2)


def start(
    project: Project,
    environment: Environment,
    kind: str,
    port: int,
    *,
    progress: Progress,
    timeout: float | None = None,
) -> Record:
    """Start `kind` on `port` in the background, wait until it answers, record it."""
    if not port_bindable(port):
        raise port_taken(port)
    log_file = folder(project) / f"{kind}.log"
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        if log_file.is_file() and log_file.stat().st_size:
            # One start per log (old output would confuse the reading of a failure), but keep
            # the last one: it may say why the previous emulator died.
            log_file.replace(log_file.with_name(f"{kind}.previous.log"))
        log_file.write_text("")
    except OSError as exc:
        raise EmulatorError(
            f"Cannot write the emulator's log {log_file} ({exc.strerror or exc}): make {folder(project)} a "
            "writable folder, then run the command again."
        ) from exc
    emulator = KINDS[kind]
    spawned = emulator.spawn(project, environment, port, log_file)
    child, container = spawned.child, spawned.container
    try:
        _wait_healthy(emulator, port, child, log_file, timeout or emulator.health_timeout, progress)
    except BaseException:
        process.stop_detached(child.pid)
        emulator.cleanup(container)
        raise
    endpoint = endpoint_for(port)
    lambda_code_runs = emulator.after_start(endpoint)
    record = Record(
        kind=kind,
        port=port,
        endpoint=endpoint,
        started_by_platformctl=True,
        start_id=uuid.uuid4().hex,
        started_at=timestamp(),
        pid=child.pid,
        log_file=str(log_file),
        container_name=container,
        container_id=container_id(container) if container else None,
        lambda_code_runs=lambda_code_runs,
    )
    save_record(project, record)
    return record


@dataclass(frozen=True)
class Running:
    """The emulator `up` uses, and what happened to get it (shown to the user)."""

    record: Record
    started: bool
    message: str


def ensure_running(
    project: Project,
    environment: Environment,
    *,
    requested: str | None = None,
    port: int | None = None,
    progress: Progress | None = None,
    timeout: float | None = None,
) -> Running:
    """Reuse the emulator that answers, or start the chosen one (under the record's lock, so
    two processes never both start one and the loser never overwrites the winner's record)."""
    with record_lock(project):
        return _ensure_running(
            project, environment, requested=requested, port=port, progress=progress or LogProgress(), timeout=timeout
        )


def _ensure_running(
    project: Project,
    environment: Environment,
    *,
    requested: str | None,
    port: int | None,
    progress: Progress,
    timeout: float | None,
) -> Running:
    record = load_record(project)
    if record is not None:
        if healthy(record):
            if port is not None and port != record.port:
                raise EmulatorError(
                    f"The local emulator already runs on port {record.port}: run `platformctl down {environment.name}` "
                    f"first to move it to port {port}, or drop --port."
                )
            if requested in KINDS and requested != record.kind:
                raise EmulatorError(
                    f"The local emulator is {record.kind}, not {requested}: run `platformctl down {environment.name}` "
                    f"first to switch, or drop --emulator."
                )
            return Running(record, False, f"Reusing {record.describe()}.")
        gone = f"pid {record.pid}" if record.pid else record.endpoint
        progress.note(
            f"The {record.kind} emulator recorded for {environment.name} ({gone}) is gone; starting a new one."
        )
        if record.container_name:
            stop_container(record.container_name)
        port = port or record.port
        record_path(project).unlink(missing_ok=True)  # its log stays, for the post-mortem
    port = port or environment.emulator_port
    found = probe(port)
    if found.other_program:
        raise port_taken(port)
    if found.kind is not None:
        if requested in KINDS and requested != found.kind:
            raise EmulatorError(
                f"A {found.kind} emulator that platformctl did not start answers on port {port}, not {requested}: "
                "stop it, or pass --port to use another port."
            )
        record = Record(
            kind=found.kind,
            port=port,
            endpoint=endpoint_for(port),
            started_by_platformctl=False,
            # Its restarts are invisible to us; refresh removes what it lost.
            start_id=f"external-{found.kind}-{port}",
            started_at=timestamp(),
        )
        save_record(project, record)
        return Running(
            record,
            False,
            f"Reusing the {found.kind} emulator on {record.endpoint} that platformctl did not start "
            f"(`down` leaves it running; --force stops it).",
        )
    choice = choose(environment, requested)
    progress.note(f"Emulator: {choice.kind} ({choice.reason}).")
    record = start(project, environment, choice.kind, port, progress=progress, timeout=timeout)
    return Running(record, True, f"Started {record.describe()}; log {record.log_file}.")


# --- stopping ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Stopped:
    stopped: bool
    message: str
    found: bool = True  # False: no emulator was recorded or answering


def _stop_external(kind: str, port: int) -> bool:
    if kind == LOCALSTACK and shutil.which("docker"):
        result = process.capture(["docker", "ps", "-q", "--filter", f"publish={port}"], timeout=15)
        ids = result.stdout.split()
        for container in ids:
            stop_container(container)
        if ids:
            return True
    pids = [pid for pid in listening_pids(port) if pid != os.getpid()]
    return bool(pids) and all(process.stop_detached(pid, group=False) for pid in pids)


def stop(project: Project, environment: Environment, *, force: bool = False) -> Stopped:
    """Stop the emulator platformctl started (another one only with force); forget it."""
    with record_lock(project):
        return _stop(project, environment, force=force)


def _stop(project: Project, environment: Environment, *, force: bool) -> Stopped:
    record = load_record(project)
    if record is None:
        found = probe(environment.emulator_port)
        if found.kind is None:
            return Stopped(False, "No local emulator is running: nothing to stop.", found=False)
        if not force:
            return Stopped(
                False,
                f"A {found.kind} emulator that platformctl did not start runs on {endpoint_for(found.port)}: "
                "left running (--force stops it).",
            )
        record = Record(found.kind, found.port, endpoint_for(found.port), False, "", timestamp())
    if not record.started_by_platformctl and not force:
        forget(project)
        return Stopped(
            False,
            f"Left the {record.kind} emulator on {record.endpoint} running: platformctl did not start it "
            "(--force stops it).",
        )
    if record.started_by_platformctl:
        alive = record.pid is not None and process.pid_alive(record.pid)
        if record.container_name:
            stop_container(record.container_name)
        if record.pid is not None and not process.stop_detached(record.pid):
            raise EmulatorError(
                f"The {record.kind} emulator (pid {record.pid}) did not stop: kill it, then run this again."
            )
        forget(project)
        if not alive and not record.container_name:
            return Stopped(False, f"The {record.kind} emulator (pid {record.pid}) had already stopped; forgot it.")
        return Stopped(True, f"Stopped {record.describe()}.")
    stopped = _stop_external(record.kind, record.port)
    forget(project)
    if not stopped:
        raise EmulatorError(
            f"Could not find the process behind the {record.kind} emulator on {record.endpoint}: stop it yourself."
        )
    return Stopped(
        True, f"Stopped the {record.kind} emulator on {record.endpoint} (--force; platformctl did not start it)."
    )


# --- status and logs ---------------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    kind: str | None
    endpoint: str
    pid: int | None
    healthy: bool
    started_by_platformctl: bool | None
    log_file: str | None = None
    container_name: str | None = None
    detail: str = ""
    record: Record | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "endpoint": self.endpoint,
            "pid": self.pid,
            "healthy": self.healthy,
            "started_by_platformctl": self.started_by_platformctl,
            "log_file": self.log_file,
            "container_name": self.container_name,
            "detail": self.detail,
        }


def status(project: Project, environment: Environment) -> Status:
    record = load_record(project)
    if record is not None:
        ok = healthy(record)
        if ok:
            detail = "answers"
        elif record.pid and not process.pid_alive(record.pid):
            detail = "process gone"
        else:
            detail = "does not answer"
        return Status(
            record.kind,
            record.endpoint,
            record.pid,
            ok,
            record.started_by_platformctl,
            record.log_file,
            record.container_name,
            detail,
            record,
        )
    found = probe(environment.emulator_port)
    endpoint = endpoint_for(environment.emulator_port)
    if found.kind is not None:
        return Status(found.kind, endpoint, None, True, False, detail="answers; not started by platformctl")
    detail = "port taken by another program" if found.other_program else "not running"
    return Status(None, endpoint, None, False, None, detail=detail)


def log_file(project: Project) -> Path:
    """The log of the emulator platformctl started."""
    record = load_record(project)
    if record is None:
        raise EmulatorError("No emulator started by platformctl is recorded: run `platformctl up local` first.")
    if not record.log_file:
        raise EmulatorError(
            f"The {record.kind} emulator on {record.endpoint} was not started by platformctl: "
            "its logs are wherever it was started."
        )
    path = Path(record.log_file)
    if not path.is_file():
        raise EmulatorError(f"The emulator's log {path} is gone: restart it with `platformctl emulator start`.")
    return path


def tail(path: Path, lines: int) -> list[str]:
    return path.read_text(errors="replace").splitlines()[-lines:] if lines > 0 else []


def follow(path: Path, poll: float = 0.3) -> Iterator[str]:
    """New lines appended to `path`, forever (the caller stops on Ctrl-C)."""
    with path.open(errors="replace") as handle:
        handle.seek(0, os.SEEK_END)
        while True:
            line = handle.readline()
            if line:
                yield line.rstrip("\n")
            else:
                time.sleep(poll)
