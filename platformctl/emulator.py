"""The local AWS emulator: which one, and its lifecycle (start, reuse, health, stop, logs).

Two emulators answer the AWS APIs on one endpoint (default http://127.0.0.1:4566):
- moto server, started by platformctl as a detached background process (moto is a pip
  dependency, no Docker needed). It keeps everything in memory: a restart loses it all.
- LocalStack, a pinned image run with Docker, where a Docker engine answers.

Whatever platformctl starts is written down in `.platformctl/emulator/emulator.json` (kind,
pid, port, endpoint, log file, a start id), so `down`, `status` and the next `up` find it.
An emulator that platformctl did not start is reused when it answers as an AWS emulator,
and never stopped unless the user forces it.

No Typer or rich here; waiting is reported through a `Progress` the caller passes in.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from platformctl import files, process
from platformctl.contract import Environment, Project
from platformctl.credentials import EMULATOR_ACCOUNT_ID, emulator_env
from platformctl.errors import EmulatorError, PlatformctlError

log = logging.getLogger("platformctl")

MOTO, LOCALSTACK = "moto", "localstack"
KINDS = (MOTO, LOCALSTACK)
HOST = "127.0.0.1"  # loopback only: the emulator accepts any credentials, so never expose it
LOCALSTACK_PORT = 4566  # inside the container
LOCALSTACK_TOKEN_ENV = "LOCALSTACK_AUTH_TOKEN"  # noqa: S105 - a variable name, not its value
# LocalStack exits with 55 when its licence check fails (e.g. `latest` without a token).
LOCALSTACK_LICENCE_EXIT = 55
LICENCE_TEXT = "requires an account"
# Seconds to wait for health: moto answers in about a second; LocalStack may pull its image.
HEALTH_TIMEOUT = {MOTO: 60.0, LOCALSTACK: 300.0}
PROBE_TIMEOUT = 2.0
RECORD_FILE = "emulator.json"


class Progress(Protocol):
    """How the core reports to whoever runs it: one-line notes, and waits (a spinner)."""

    def note(self, message: str) -> None: ...

    def waiting(self, message: str) -> AbstractContextManager[object]: ...


class LogProgress:
    """The default Progress: notes to the log, waits silent."""

    def note(self, message: str) -> None:
        log.info("%s", message)

    def waiting(self, message: str) -> AbstractContextManager[object]:
        log.debug("%s", message)
        return contextlib.nullcontext()


# --- the record --------------------------------------------------------------------------


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


# --- what answers on a port --------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """What answers on a port: nothing, an AWS emulator (its kind), or another program."""

    port: int
    listening: bool
    kind: str | None = None
    detail: str = ""

    @property
    def other_program(self) -> bool:
        return self.listening and self.kind is None


def _open(request: Any, timeout: float) -> Any:
    """urlopen without any proxy: HTTP(S)_PROXY or ALL_PROXY of the shell must not route a
    call to the loopback emulator (urllib would, without NO_PROXY)."""
    import urllib.request  # here, not at the top: `platformctl --help` never needs it

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return opener.open(request, timeout=timeout)


def _get_json(url: str, timeout: float) -> Any:
    with _open(url, timeout) as response:
        return json.loads(response.read() or b"null")


def probe(port: int, timeout: float = PROBE_TIMEOUT) -> Probe:
    """Ask the port who it is: LocalStack answers /_localstack/health, moto /moto-api/config."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            pass
    except OSError:
        return Probe(port, listening=False)
    endpoint = endpoint_for(port)
    try:
        health = _get_json(f"{endpoint}/_localstack/health", timeout)
        if isinstance(health, dict) and "services" in health:
            return Probe(port, True, LOCALSTACK, f"LocalStack {health.get('version', '')}".strip())
    except (OSError, ValueError):
        pass
    try:
        config = _get_json(f"{endpoint}/moto-api/config", timeout)
        if isinstance(config, dict) and "lambda" in config:
            return Probe(port, True, MOTO, "moto server")
    except (OSError, ValueError):
        pass
    return Probe(port, True, None, "not an AWS emulator")


def healthy(record: Record) -> bool:
    """The recorded emulator runs and answers as what it is."""
    if record.pid is not None and not process.pid_alive(record.pid):
        return False
    return probe(record.port).kind == record.kind


def port_taken(port: int) -> EmulatorError:
    return EmulatorError(
        f"Port {port} is taken by another program (not an AWS emulator): stop it, or pass --port to use another port."
    )


# --- which emulator ----------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    kind: str
    reason: str


@dataclass(frozen=True)
class DockerEngine:
    answers: bool
    summary: str  # short, for the line that says which emulator was chosen
    detail: str  # with what docker said, for the error when LocalStack was asked for


def docker_engine() -> DockerEngine:
    """Whether a Docker engine answers `docker info`."""
    if shutil.which("docker") is None:
        return DockerEngine(False, "docker is not on PATH", "docker is not on PATH")
    try:
        result = process.capture(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=15)
    except PlatformctlError as exc:
        return DockerEngine(False, "docker cannot run", str(exc))
    except subprocess.TimeoutExpired:  # a hung daemon socket
        return DockerEngine(False, "no Docker engine answers", "docker info did not answer within 15 s")
    if result.returncode != 0:
        first = next((line.strip() for line in (result.stderr or result.stdout).splitlines() if line.strip()), "")
        said = first or f"exit {result.returncode}"
        return DockerEngine(False, "no Docker engine answers", f"no Docker engine answers (docker info: {said})")
    version = f"Docker engine {result.stdout.strip()} answers"
    return DockerEngine(True, version, version)


def _image_usable(image: str) -> tuple[bool, str]:
    """A pinned community tag starts without a token; `latest` needs one since 2026-03."""
    name, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "")
    if tag in ("", "latest") and not os.environ.get(LOCALSTACK_TOKEN_ENV):
        return False, (
            f"{image} is not a pinned tag and {LOCALSTACK_TOKEN_ENV} is not set ({name or image}:latest needs a token)"
        )
    return True, f"image {image}"


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
    usable, why = _image_usable(image)
    if not usable:
        return Choice(MOTO, f"{seen} but {why}, so moto")
    return Choice(LOCALSTACK, f"{seen} and platform.toml pins {image}")


# --- starting ----------------------------------------------------------------------------


def _check_moto_installed() -> None:
    if importlib.util.find_spec("moto") is None:
        raise EmulatorError(
            f"moto is not installed in {sys.executable}: pip install 'moto[server]', "
            "or use --emulator localstack with Docker."
        )
    if importlib.util.find_spec("flask") is None or importlib.util.find_spec("werkzeug") is None:
        raise EmulatorError(
            "moto is installed without its server (flask, werkzeug): pip install 'moto[server]', "
            "or use --emulator localstack with Docker."
        )


def _port_bindable(port: int) -> bool:
    """Whether we could listen on the port now (a bound but idle socket does not answer a probe)."""
    with socket.socket() as sock:
        # As the servers do: connections that just closed (TIME_WAIT, e.g. after an emulator
        # was killed) do not keep a port from being listened on again.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _last_line(text: str) -> str:
    return next((line.strip() for line in reversed(text.splitlines()) if line.strip()), "")


def moto_argv(port: int) -> list[str]:
    # moto.server, with platformctl's AWS-fidelity fixes (see platformctl/moto_server.py).
    return [sys.executable, "-m", "platformctl.moto_server", "-H", HOST, "-p", str(port)]


def localstack_container(port: int) -> str:
    return f"platformctl-localstack-{port}"


def localstack_argv(image: str, port: int) -> list[str]:
    """`docker run` of LocalStack. Not `-d`: the client stays attached (itself detached from
    the terminal by spawn_detached) so the container's output lands in our log file even
    after --rm removes it, and a licence failure's exit code 55 reaches us while we wait."""
    return [
        "docker", "run", "--rm",
        "--name", localstack_container(port),
        "-p", f"{HOST}:{port}:{LOCALSTACK_PORT}",
        # By name only: docker copies the value from its own environment, so the token is
        # never on a command line, in a log or in a file.
        "-e", LOCALSTACK_TOKEN_ENV,
        # LocalStack runs Lambda code in sibling containers through the host's engine.
        "-v", "/var/run/docker.sock:/var/run/docker.sock",
        image,
    ]


def _licence_failure(returncode: int | None, log_text: str) -> bool:
    return returncode == LOCALSTACK_LICENCE_EXIT or LICENCE_TEXT in log_text.lower()


def _start_failure(kind: str, port: int, returncode: int | None, log_file: Path) -> EmulatorError:
    text = _log_tail(log_file)
    if kind == LOCALSTACK and _licence_failure(returncode, text):
        return EmulatorError(
            f"LocalStack refused to start without a licence (exit {returncode}, \"{LICENCE_TEXT}\"): set "
            f"{LOCALSTACK_TOKEN_ENV} in your environment, pin a community image tag, or use --emulator moto."
        )
    if "address already in use" in text.lower() or "port is already allocated" in text.lower():
        return port_taken(port)
    detail = _last_line(text) or "no output"
    return EmulatorError(f"The {kind} emulator exited while starting (exit {returncode}: {detail}): see {log_file}.")


def _wait_healthy(kind: str, port: int, child: Any, log_file: Path, timeout: float, progress: Progress) -> None:
    endpoint = endpoint_for(port)
    deadline = time.monotonic() + timeout
    with progress.waiting(f"Waiting for {kind} to answer on {endpoint}"):
        while True:
            returncode = child.poll()
            if returncode is not None:
                raise _start_failure(kind, port, returncode, log_file)
            if probe(port, timeout=1.0).kind == kind:
                return
            if time.monotonic() > deadline:
                process.stop_detached(child.pid)
                raise EmulatorError(
                    f"{kind} did not answer on {endpoint} within {timeout:.0f} s: see {log_file}; "
                    "retry, or pass a longer --timeout."
                )
            time.sleep(0.2)


def _configure_moto(endpoint: str, docker_answers: bool) -> None:
    """Without a Docker engine, moto creates functions but cannot run their code: switch its
    Lambda to the no-Docker stub, so an invoke answers instead of failing on Docker."""
    if docker_answers:
        return
    import urllib.request

    body = json.dumps({"lambda": {"use_docker": False}, "batch": {"use_docker": False}}).encode()
    request = urllib.request.Request(  # noqa: S310 - our own loopback URL
        f"{endpoint}/moto-api/config", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with contextlib.suppress(OSError):
        _open(request, PROBE_TIMEOUT).close()


def start(project: Project, environment: Environment, kind: str, port: int, *,
          progress: Progress, timeout: float | None = None) -> Record:
    """Start `kind` on `port` in the background, wait until it answers, record it."""
    if not _port_bindable(port):
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
    if kind == MOTO:
        _check_moto_installed()
        child = process.spawn_detached(
            moto_argv(port),
            log_file=log_file,
            env={
                # The user's AWS_PROFILE and friends break moto's own boto3 session (a
                # profile it cannot find is a 500 on every call), and mean nothing to it.
                **emulator_env(environment.region),
                # moto answers as the account the local provider allows (allowed_account_ids).
                "MOTO_ACCOUNT_ID": EMULATOR_ACCOUNT_ID,
                "MOTO_PORT": str(port),
            },
        )
        container = None
    else:
        image = environment.localstack_image
        if not image:
            raise EmulatorError(
                f"No LocalStack image configured: set environments.{environment.name}.localstack_image in "
                f"{environment.contract_path.name}, or use --emulator moto."
            )
        container = localstack_container(port)
        child = process.spawn_detached(localstack_argv(image, port), log_file=log_file)
    try:
        _wait_healthy(kind, port, child, log_file, timeout or HEALTH_TIMEOUT[kind], progress)
    except BaseException:
        process.stop_detached(child.pid)
        if container:
            _docker_stop(container)
        raise
    endpoint = endpoint_for(port)
    lambda_code_runs = True
    if kind == MOTO:
        lambda_code_runs = docker_engine().answers
        _configure_moto(endpoint, docker_answers=lambda_code_runs)
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
        container_id=_container_id(container) if container else None,
        lambda_code_runs=lambda_code_runs,
    )
    save_record(project, record)
    return record


def _container_id(name: str) -> str | None:
    result = process.capture(["docker", "inspect", "--format", "{{.Id}}", name], timeout=15)
    if result.returncode != 0:
        return None
    return result.stdout.strip()[:12] or None


def _docker_stop(name: str) -> None:
    with contextlib.suppress(PlatformctlError):
        process.capture(["docker", "stop", name], timeout=60)


@dataclass(frozen=True)
class Running:
    """The emulator `up` uses, and what happened to get it (shown to the user)."""

    record: Record
    started: bool
    message: str


def ensure_running(project: Project, environment: Environment, *, requested: str | None = None,
                   port: int | None = None, progress: Progress | None = None,
                   timeout: float | None = None) -> Running:
    """Reuse the emulator that answers, or start the chosen one (under the record's lock, so
    two processes never both start one and the loser never overwrites the winner's record)."""
    with record_lock(project):
        return _ensure_running(project, environment, requested=requested, port=port,
                               progress=progress or LogProgress(), timeout=timeout)


def _ensure_running(project: Project, environment: Environment, *, requested: str | None, port: int | None,
                    progress: Progress, timeout: float | None) -> Running:
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
            _docker_stop(record.container_name)
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
            record, False,
            f"Reusing the {found.kind} emulator on {record.endpoint} that platformctl did not start "
            f"(`down` leaves it running; --force stops it).",
        )
    choice = choose(environment, requested)
    progress.note(f"Emulator: {choice.kind} ({choice.reason}).")
    record = start(project, environment, choice.kind, port, progress=progress, timeout=timeout)
    return Running(record, True, f"Started {record.describe()}; log {record.log_file}.")


# --- stopping ----------------------------------------------------------------------------


def _listening_pids(port: int) -> list[int]:
    """Pids listening on a loopback TCP port: /proc on Linux, lsof elsewhere."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            # local_address is HEXIP:HEXPORT; state 0A is LISTEN.
            if len(fields) > 9 and int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                inodes.add(fields[9])
    if inodes:
        wanted = {f"socket:[{inode}]" for inode in inodes}
        pids = []
        for fd_dir in Path("/proc").glob("[0-9]*/fd"):
            with contextlib.suppress(OSError):
                if any(os.readlink(fd) in wanted for fd in fd_dir.iterdir()):
                    pids.append(int(fd_dir.parent.name))
        return sorted(pids)
    if shutil.which("lsof"):
        result = process.capture(["lsof", "-nP", "-t", f"-iTCP:{port}", "-sTCP:LISTEN"], timeout=10)
        return sorted(int(p) for p in result.stdout.split() if p.isdigit())
    return []


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
            _docker_stop(container)
        if ids:
            return True
    pids = [pid for pid in _listening_pids(port) if pid != os.getpid()]
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
            _docker_stop(record.container_name)
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
        return Status(record.kind, record.endpoint, record.pid, ok, record.started_by_platformctl,
                      record.log_file, record.container_name, detail, record)
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
