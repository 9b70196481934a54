"""The one place that starts processes.

argv lists only, never a shell string. The child's environment is `os.environ` plus
overrides (an override of None removes a variable). Anything logged is redacted first.
Long runs (`stream`) write straight to the terminal, or (`stream_lines`) hand each line of
stdout to a callback as it arrives; short probes (`capture`) are captured.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from platformctl.errors import Interrupted, PlatformctlError

log = logging.getLogger("platformctl")

EnvOverrides = Mapping[str, str | None]

_SECRET_NAME = re.compile(r"(SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|PRIVATE|SESSION|_KEY$|^AWS_ACCESS_KEY_ID$)", re.I)
_SECRET_ARG = re.compile(r"((?:secret|token|password|passwd|access_key|session)[\w.-]*=)([^\s,]+)", re.I)
REDACTED = "***"


def build_env(overrides: EnvOverrides | None = None) -> dict[str, str]:
    """os.environ with `overrides` applied; a None value removes the variable."""
    env = dict(os.environ)
    for name, value in (overrides or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


@contextmanager
def environ_overridden(overrides: EnvOverrides) -> Iterator[None]:
    """This process's own os.environ with `overrides` applied (None removes), restored after:
    for libraries such as boto3 that read os.environ themselves, where no child gets an env."""
    saved = dict(os.environ)
    try:
        for name, value in overrides.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def redact_arg(arg: str) -> str:
    return _SECRET_ARG.sub(rf"\1{REDACTED}", arg)


def redact_env(overrides: EnvOverrides | None) -> dict[str, str | None]:
    return {
        name: (REDACTED if value is not None and _SECRET_NAME.search(name) else value)
        for name, value in (overrides or {}).items()
    }


def describe(argv: Sequence[str]) -> str:
    """A redacted, human-readable rendering of argv for logs and error messages."""
    return " ".join(redact_arg(a) for a in argv)


def _cannot_start(argv: Sequence[str], exc: OSError) -> PlatformctlError:
    if isinstance(exc, FileNotFoundError):
        return PlatformctlError(f"{argv[0]} not found: install it or put it on PATH.")
    return PlatformctlError(f"Cannot run {argv[0]} ({exc.strerror or exc}): check that it is an executable program.")


def capture(
    argv: Sequence[str],
    *,
    env: EnvOverrides | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a short probe and return its captured stdout/stderr (never raises on exit code)."""
    log.debug("capture: %s (cwd=%s, env+=%s)", describe(argv), cwd, redact_env(env))
    try:
        return subprocess.run(
            list(argv),
            env=build_env(env),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input_text,
            stdin=None if input_text is not None else subprocess.DEVNULL,
            check=False,
        )
    except OSError as exc:
        raise _cannot_start(argv, exc) from exc


def stream(
    argv: Sequence[str],
    *,
    env: EnvOverrides | None = None,
    cwd: str | os.PathLike[str] | None = None,
    stdout: IO[Any] | int | None = None,
    stderr: IO[Any] | int | None = None,
    name: str | None = None,
) -> int:
    """Run a long command attached to the terminal and return its exit code.

    While it runs, SIGINT is caught by a no-op handler and never re-sent: the child is in
    our process group, so the terminal's Ctrl-C already reached it once, and Terraform
    stops gracefully on the first interrupt (releasing its state lock) but aborts hard on
    a second. SIGTERM, which is aimed at us alone, is forwarded once. `name` is what the
    user knows the child as (argv[0] may be aws-vault, or a Python running the bundled engine).
    """
    log.debug("stream: %s (cwd=%s, env+=%s)", describe(argv), cwd, redact_env(env))
    return _run_attached(argv, env=env, cwd=cwd, stdout=stdout, stderr=stderr, name=name, on_line=None)


def stream_lines(
    argv: Sequence[str],
    on_line: Callable[[str], None],
    *,
    env: EnvOverrides | None = None,
    cwd: str | os.PathLike[str] | None = None,
    stderr: IO[Any] | int | None = None,
    name: str | None = None,
) -> int:
    """Like `stream`, with the same signal rule, but the child's stdout is read line by line
    and each line (without its newline) is handed to `on_line` as it arrives, e.g. Terraform's
    `-json` events for a live view. stderr stays attached (or goes to `stderr`).

    If `on_line` raises, the rest of the output is still read (a child blocked on a full pipe
    would never exit) but not passed on; the exception is raised once the child has exited.
    """
    log.debug("stream_lines: %s (cwd=%s, env+=%s)", describe(argv), cwd, redact_env(env))
    return _run_attached(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=stderr, name=name, on_line=on_line)


def _run_attached(
    argv: Sequence[str],
    *,
    env: EnvOverrides | None,
    cwd: str | os.PathLike[str] | None,
    stdout: IO[Any] | int | None,
    stderr: IO[Any] | int | None,
    name: str | None,
    on_line: Callable[[str], None] | None,
) -> int:
    child: subprocess.Popen[bytes] | None = None
    interrupted = False
    terminated = False
    callback_error: BaseException | None = None

    def on_sigint(signum: int, frame: object) -> None:
        nonlocal interrupted
        interrupted = True

    def on_sigterm(signum: int, frame: object) -> None:
        nonlocal terminated
        if not terminated:
            terminated = True
            if child is not None:
                child.send_signal(signal.SIGTERM)

    # The handlers go in before the child starts, so no Ctrl-C can land in between as a
    # KeyboardInterrupt that would leave the child running unwatched.
    in_main_thread = _in_main_thread()
    if in_main_thread:
        previous_int = signal.signal(signal.SIGINT, on_sigint)
        previous_term = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        try:
            child = subprocess.Popen(list(argv), env=build_env(env), cwd=cwd, stdout=stdout, stderr=stderr)
        except OSError as exc:
            raise _cannot_start(argv, exc) from exc
        if terminated:  # SIGTERM arrived while the child was being started: it is still owed one
            child.send_signal(signal.SIGTERM)
        if on_line is not None and child.stdout is not None:
            # readline returns each line as soon as it is written (a pipe read returns what is
            # there); the no-op SIGINT handler above only interrupts it to be retried (PEP 475).
            with child.stdout:
                for raw in iter(child.stdout.readline, b""):
                    if callback_error is not None:
                        continue
                    try:
                        on_line(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
                    except Exception as exc:  # noqa: BLE001 - re-raised below, once the child is done
                        callback_error = exc
        returncode = child.wait()
    finally:
        if in_main_thread:
            signal.signal(signal.SIGINT, previous_int)
            signal.signal(signal.SIGTERM, previous_term)
    if interrupted or terminated:
        raise Interrupted(
            f"Interrupted: {name or os.path.basename(argv[0])} stopped (exit {returncode}); "
            "run the command again when ready."
        )
    if callback_error is not None:
        raise callback_error
    return returncode


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def stdin_is_tty() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, AttributeError):
        return False


def running_in_ci() -> bool:
    """CI=true (GitHub Actions, GitLab, most others): never prompt, never use aws-vault."""
    return os.environ.get("CI", "").strip().lower() == "true"


# Background services started by spawn_detached in this process. Kept referenced so that a
# Popen is never garbage-collected (with a "still running" warning) while its service runs,
# and so that pid_alive can reap one that exited instead of mistaking the zombie for alive.
_DETACHED: list[subprocess.Popen[bytes]] = []


def spawn_detached(
    argv: Sequence[str],
    *,
    log_file: Path,
    env: EnvOverrides | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start a background service that outlives platformctl, and return it.

    It gets its own session (start_new_session), so the terminal's Ctrl-C, which is sent to
    our foreground process group, never reaches it, and closing the terminal does not hang
    it up. stdin is /dev/null; stdout and stderr are appended to `log_file`. The caller
    may poll() the returned process while it waits for the service to answer.
    """
    log.debug("spawn_detached: %s (log=%s, env+=%s)", describe(argv), log_file, redact_env(env))
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log_output:
        try:
            child = subprocess.Popen(
                list(argv),
                env=build_env(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log_output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise _cannot_start(argv, exc) from exc
    _DETACHED.append(child)
    return child


def pid_alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie, waiting to be reaped, does not count)."""
    for child in _DETACHED:
        if child.pid == pid:
            return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    try:  # Linux: a zombie still answers kill(0); its state letter says Z
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return fields[0] != "Z"
    except (OSError, IndexError):
        return True


def stop_detached(pid: int, timeout: float = 10.0, *, group: bool = True) -> bool:
    """SIGTERM a service, SIGKILL it after `timeout` seconds; True once it is gone.

    `group`: signal its whole process group, right for what spawn_detached started (a
    session leader, whose group id is its pid); a process someone else started gets the
    signal alone, since its group may hold the rest of that person's shell job.
    """
    import time

    def send(sig: signal.Signals) -> None:
        try:
            if group:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            return  # gone already, or not ours to stop: the wait below tells which

    if not pid_alive(pid):
        return True
    send(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    send(signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return False
