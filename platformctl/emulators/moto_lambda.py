"""Lambda that runs on platformctl's moto server, without Docker.

moto creates functions, but runs their code only in Docker (or answers with a stub). Here the
server runs the Python functions it hosts itself, as Lambda's Python runtime would:

- the deployed zip is unpacked once per code hash (CodeSha256) into a cache folder;
- invocations run in a child Python process (platformctl.emulators.lambda_bootstrap) in that
  folder, with the function's environment variables, handler and a Lambda-like context,
  AWS credentials of an STS session of the function's role (issued by moto itself), and
  AWS_ENDPOINT_URL pointing back at this server. Like Lambda's execution environments, a
  process stays warm for the next invocation of the same code and configuration (module
  state survives; idle ones stop after 5 minutes, changed ones at once);
- the timeout is enforced (the process is killed, and the invoke reports
  "Task timed out after N seconds" as Lambda does);
- what the function prints lands in CloudWatch Logs, in /aws/lambda/NAME, between START,
  END and REPORT lines;
- runtimes other than python3.x get Lambda's InvalidRuntimeException; a missing module or
  handler gets Runtime.ImportModuleError / Runtime.HandlerNotFound.

`install()` (called by platformctl.emulators.moto_server before moto starts) patches moto's invoke and
starts the Kinesis event-source-mapping poller (platformctl.emulators.moto_esm). Like the
other patches of that server, each checks that what it replaces is still there and steps
aside with a line in the emulator's log when a moto release changed it.

The child is started with subprocess directly rather than platformctl.process: it is the
emulator's sandbox, with an environment built from nothing (never os.environ plus
overrides: the server's own settings must not leak into the function) and a private pipe
for the result.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import binascii
import contextlib
import io
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

BOOTSTRAP_MODULE = "platformctl.emulators.lambda_bootstrap"
CACHE_VARIABLE = "PLATFORMCTL_LAMBDA_CACHE"
# Invocations that run at once; more wait their turn (Lambda would throttle).
MAX_CONCURRENT = 8
# Role sessions are reused until this long before they expire.
SESSION_SECONDS = 3600
SESSION_MARGIN = 300
# Variables from the server's environment a function's process keeps (the rest are Lambda's
# own, or the function's).
_INHERITED = ("PATH", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
_LOG_TAIL_BYTES = 4096
# A warm execution environment nobody used for this long is stopped.
IDLE_SECONDS = 300.0
RESULT_FD_VARIABLE = "PLATFORMCTL_RESULT_FD"
END_MARKER = "\x00platformctl-invocation-end"  # printed by the bootstrap after each invocation


def _note(message: str) -> None:
    print(f"platformctl: {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Endpoint:
    """Where the functions' AWS calls go: this server."""

    url: str


@dataclass
class Invocation:
    """What one run of a function gave back, in Lambda's terms."""

    request_id: str
    payload: bytes
    function_error: str | None  # "Unhandled" when the function failed, as Lambda says
    log_lines: list[str] = field(default_factory=list)
    duration_ms: float = 0.0

    @property
    def log_tail(self) -> str:
        """The last 4 KB of the log, base64, for X-Amz-Log-Result (LogType=Tail)."""
        text = "".join(f"{line}\n" for line in self.log_lines).encode()[-_LOG_TAIL_BYTES:]
        return base64.b64encode(text).decode()

    def result(self) -> Any:
        try:
            return json.loads(self.payload or b"null")
        except ValueError:
            return None


class RuntimeNotSupported(Exception):
    """The function's runtime is not one this server runs (python3.x only)."""


class InvalidRequestContent(Exception):
    """The invoke's payload is not JSON."""


class _State:
    endpoint = Endpoint("http://127.0.0.1:5000")
    slots = threading.BoundedSemaphore(MAX_CONCURRENT)
    children: ClassVar[set[subprocess.Popen[bytes]]] = set()
    children_lock = threading.Lock()
    unpack_lock = threading.Lock()
    sessions: ClassVar[dict[str, tuple[float, dict[str, str], Any]]] = {}
    sessions_lock = threading.Lock()
    pool: ClassVar[dict[tuple[Any, ...], list[Any]]] = {}
    pool_lock = threading.Lock()
    installed = False


# --- code, credentials, environment -------------------------------------------------------


def cache_root() -> Path:
    configured = os.environ.get(CACHE_VARIABLE)
    if configured:
        return Path(configured)
    return Path(tempfile.gettempdir()) / f"platformctl-lambda-{os.getuid() if hasattr(os, 'getuid') else 'user'}"


def _code_hash(fn: Any) -> str:
    sha = str(getattr(fn, "code_sha_256", "") or "")
    try:
        return base64.b64decode(sha, validate=True).hex() if sha else ""
    except (binascii.Error, ValueError):
        return "".join(c for c in sha if c.isalnum())


def code_folder(fn: Any) -> Path:
    """The function's code, unpacked once per code hash (a new deploy is a new folder)."""
    digest = _code_hash(fn)
    code = bytes(getattr(fn, "code_bytes", b"") or b"")
    if not digest:
        import hashlib

        digest = hashlib.sha256(code).hexdigest()
    target = cache_root() / digest
    if target.is_dir():
        return target
    with _State.unpack_lock:
        if target.is_dir():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=f".{digest[:12]}-", dir=target.parent))
        try:
            with zipfile.ZipFile(io.BytesIO(code)) as archive:
                archive.extractall(partial)
            partial.rename(target)
        except FileExistsError:
            pass  # another server unpacked the same code first
        except OSError:
            if not target.is_dir():
                raise
        finally:
            shutil.rmtree(partial, ignore_errors=True)
    return target


def role_credentials(fn: Any) -> dict[str, str]:
    """An STS session of the function's execution role, issued by this moto (reused for an hour)."""
    role = str(fn.role)
    now = time.time()
    from moto.sts.models import sts_backends
    from moto.utilities.utils import get_partition

    backend = sts_backends[fn.account_id][get_partition(fn.region)]
    with _State.sessions_lock:
        cached = _State.sessions.get(role)
        # Reused while valid, and while this moto still knows it (a reset forgets every session).
        if cached and cached[0] - SESSION_MARGIN > now and cached[2] in backend.assumed_roles:
            return cached[1]
        session = backend.assume_role(
            region_name=fn.region,
            role_session_name=str(fn.function_name)[:64],
            role_arn=role,
            policy="",
            duration=SESSION_SECONDS,
            external_id="",
        )
        found = {
            "AWS_ACCESS_KEY_ID": session.access_key_id,
            "AWS_SECRET_ACCESS_KEY": session.secret_access_key,
            "AWS_SESSION_TOKEN": session.session_token,
        }
        _State.sessions[role] = (now + SESSION_SECONDS, found, session)
        return found


def function_environment(fn: Any, task_root: Path, log_stream: str) -> dict[str, str]:
    """What Lambda's Python runtime puts in the environment, then the function's variables."""
    env = {name: os.environ[name] for name in _INHERITED if name in os.environ}
    version = str(getattr(fn, "version", "$LATEST"))
    env.update(
        {
            "_HANDLER": str(fn.handler or ""),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.run_time}",
            "AWS_LAMBDA_FUNCTION_NAME": str(fn.function_name),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST" if version in ("1", "$LATEST") else version,
            "AWS_LAMBDA_LOG_GROUP_NAME": str(fn.logs_group_name),
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
            "AWS_REGION": str(fn.region),
            "AWS_DEFAULT_REGION": str(fn.region),
            "AWS_ENDPOINT_URL": _State.endpoint.url,
            "LAMBDA_TASK_ROOT": str(task_root),
            "LAMBDA_RUNTIME_DIR": str(Path(sys.executable).parent),
            "PLATFORMCTL_FUNCTION_ARN": str(fn.function_arn),
            "TZ": ":UTC",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            # No shared config or credentials file: the role's session only.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
    )
    env.update(role_credentials(fn))
    env.update({str(k): str(v) for k, v in (fn.environment_vars or {}).items()})
    return env


# --- one invocation ------------------------------------------------------------------------


def _log_stream_name(fn: Any) -> str:
    now = datetime.now(UTC)
    return f"{now:%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"


def _timestamp_ms() -> int:
    return int(time.time() * 1000)


class _Lines(threading.Thread):
    """Reads a stream line by line into a queue, each line with the time it arrived."""

    def __init__(self, stream: Any) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.queue: queue.Queue[tuple[int, str] | None] = queue.Queue()

    def run(self) -> None:
        try:
            for raw in iter(self.stream.readline, b""):
                self.queue.put((_timestamp_ms(), raw.decode(errors="replace").rstrip("\n")))
        except (OSError, ValueError):
            pass
        finally:
            self.queue.put(None)  # the stream closed: the process is gone


def _kill(child: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError):
        os.killpg(child.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        child.kill()


def _spawn(task_root: Path, env: dict[str, str], write_fd: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", BOOTSTRAP_MODULE],
        cwd=task_root,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        pass_fds=(write_fd,),
        start_new_session=True,
    )


class ExecutionEnvironment:
    """One warm process of a function, reused for one invocation after another as Lambda
    reuses its execution environments (module-level state survives between invokes). It is
    thrown away when an invocation times out or the process dies."""

    def __init__(self, fn: Any, key: tuple[Any, ...]) -> None:
        self.key = key
        self.log_stream = _log_stream_name(fn)
        self.function_name = str(fn.function_name)
        task_root = code_folder(fn)
        env = function_environment(fn, task_root, self.log_stream)
        read_fd, write_fd = os.pipe()
        env[RESULT_FD_VARIABLE] = str(write_fd)
        try:
            self.process = _spawn(task_root, env, write_fd)
        finally:
            os.close(write_fd)
        self.output = _Lines(self.process.stdout)
        self.results = _Lines(os.fdopen(read_fd, "rb"))
        self.output.start()
        self.results.start()
        self.idle_since = time.monotonic()
        with _State.children_lock:
            _State.children.add(self.process)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        _kill(self.process)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        with _State.children_lock:
            _State.children.discard(self.process)

    def invoke(self, request_id: str, event: Any, timeout: float) -> tuple[dict[str, Any], list[tuple[int, str]]]:
        """(outcome document, the output lines of this invocation). Kills itself at the timeout."""
        deadline = time.monotonic() + timeout
        request = {"request_id": request_id, "deadline_ms": int(time.time() * 1000 + timeout * 1000), "event": event}
        try:
            self.process.stdin.write(json.dumps(request).encode() + b"\n")  # type: ignore[union-attr]
            self.process.stdin.flush()  # type: ignore[union-attr]
        except (BrokenPipeError, OSError, AttributeError):
            self.close()
            return self._exited(request_id), self._drain(0.5)
        try:
            answer = self.results.queue.get(timeout=max(deadline - time.monotonic(), 0.0))
        except queue.Empty:
            self.close()
            return {"timedOut": True}, self._drain(0.5)
        if answer is None:  # the process ended without an answer
            self.close()
            return self._exited(request_id), self._drain(0.5)
        lines = self._until_marker(request_id)
        try:
            outcome = json.loads(answer[1])
        except ValueError:
            outcome = None
        return (outcome if isinstance(outcome, dict) else self._exited(request_id)), lines

    def _until_marker(self, request_id: str) -> list[tuple[int, str]]:
        """The output up to the line the bootstrap prints after each invocation."""
        lines: list[tuple[int, str]] = []
        marker = f"{END_MARKER} {request_id}"
        while True:
            try:
                line = self.output.queue.get(timeout=5)
            except queue.Empty:
                return lines
            if line is None or line[1] == marker:
                return lines
            lines.append(line)

    def _drain(self, wait: float) -> list[tuple[int, str]]:
        lines: list[tuple[int, str]] = []
        while True:
            try:
                line = self.output.queue.get(timeout=wait)
            except queue.Empty:
                return lines
            if line is None:
                return lines
            lines.append(line)

    def _exited(self, request_id: str) -> dict[str, Any]:
        code = self.process.poll()
        return {
            "errorType": "Runtime.ExitError",
            "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: exit status {code}",
        }


def _environment_key(fn: Any) -> tuple[Any, ...]:
    """What a warm environment was made from: a change to any of it needs a new one."""
    return (
        str(fn.function_arn),
        _code_hash(fn),
        str(fn.handler),
        str(fn.run_time),
        str(fn.memory_size),
        json.dumps(fn.environment_vars or {}, sort_keys=True),
        role_credentials(fn)["AWS_ACCESS_KEY_ID"],
        _State.endpoint.url,
    )


def _acquire(fn: Any) -> ExecutionEnvironment:
    key = _environment_key(fn)
    now = time.monotonic()
    stale: list[ExecutionEnvironment] = []
    chosen = None
    with _State.pool_lock:
        for env_key, idle in list(_State.pool.items()):
            keep = []
            for environment in idle:
                if env_key != key and environment.function_name == str(fn.function_name):
                    stale.append(environment)  # an older code or configuration of this function
                elif now - environment.idle_since > IDLE_SECONDS or not environment.alive:
                    stale.append(environment)
                else:
                    keep.append(environment)
            _State.pool[env_key] = keep
        idle = _State.pool.get(key) or []
        if idle:
            chosen = idle.pop()
    for environment in stale:
        environment.close()
    return chosen or ExecutionEnvironment(fn, key)


def _release(environment: ExecutionEnvironment) -> None:
    if not environment.alive:
        environment.close()
        return
    environment.idle_since = time.monotonic()
    with _State.pool_lock:
        idle = _State.pool.setdefault(environment.key, [])
        if len(idle) < MAX_CONCURRENT:
            idle.append(environment)
            return
    environment.close()


def _run(fn: Any, request_id: str, event: Any) -> tuple[dict[str, Any], list[tuple[int, str]], float, str]:
    """(outcome, output lines, seconds, log stream) of one invocation."""
    timeout = float(fn.timeout or 3)
    environment = _acquire(fn)
    started = time.monotonic()
    try:
        outcome, lines = environment.invoke(request_id, event, timeout)
    finally:
        _release(environment)
    return outcome, lines, time.monotonic() - started, environment.log_stream


def invoke_function(fn: Any, event: bytes, request_id: str | None = None) -> Invocation:
    """Run `fn` once on `event` (JSON bytes), as Lambda would; logs go to CloudWatch Logs."""
    runtime = str(fn.run_time or "")
    if not runtime.startswith("python3"):
        raise RuntimeNotSupported(
            f"The runtime {runtime or '(none)'} of {fn.function_name} does not run on platformctl's moto server, "
            "which runs python3.x functions: use LocalStack (Docker) for other runtimes."
        )
    request_id = request_id or str(uuid.uuid4())
    try:
        document = json.loads(event or b"{}")
    except ValueError as exc:
        raise InvalidRequestContent(f"Could not parse request body into json: {exc}") from None
    started_at = _timestamp_ms()
    with _State.slots:
        outcome, lines, seconds, log_stream = _run(fn, request_id, document)
    duration_ms = seconds * 1000
    timeout = float(fn.timeout or 3)
    events = [(started_at, f"START RequestId: {request_id} Version: $LATEST"), *lines]
    timed_out = bool(outcome.pop("timedOut", False))
    if timed_out:
        message = f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds"
        events.append((_timestamp_ms(), f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%S.%f}"[:-3] + f"Z {message}"))
        outcome = {"errorType": "Sandbox.Timedout", "errorMessage": message}
    events.append((_timestamp_ms(), f"END RequestId: {request_id}"))
    memory = int(outcome.pop("maxRssKb", 0) or 0) // 1024
    report = (
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {int(duration_ms) + 1} ms\tMemory Size: {fn.memory_size} MB\t"
        f"Max Memory Used: {memory or '-'} MB"
    )
    if timed_out:
        report += "\tStatus: timeout"
    events.append((_timestamp_ms(), report))
    _save_logs(fn, log_stream, events)
    if "result" in outcome:
        return Invocation(
            request_id, json.dumps(outcome["result"]).encode(), None, [line for _, line in events], duration_ms
        )
    return Invocation(request_id, json.dumps(outcome).encode(), "Unhandled", [line for _, line in events], duration_ms)


def _save_logs(fn: Any, stream: str, events: list[tuple[int, str]]) -> None:
    try:
        logs = fn.logs_backend
        logs.ensure_log_group(fn.logs_group_name)
        group = logs.groups.get(fn.logs_group_name)
        if group is None or stream not in group.streams:  # one stream per execution environment, as on AWS
            logs.create_log_stream(fn.logs_group_name, stream)
        logs.put_log_events(
            fn.logs_group_name, stream, [{"timestamp": ts, "message": message} for ts, message in events if message]
        )
    except Exception as exc:  # logs must never fail the invocation  # noqa: BLE001
        _note(f"could not write the logs of {fn.function_name}: {exc}")


# --- moto's Invoke, replaced ---------------------------------------------------------------


def _client_error(code: str, message: str, status: int) -> Exception:
    from moto.awslambda.exceptions import LambdaClientError

    error = LambdaClientError(code, message)
    error.code = status
    return error


def _invalid_runtime(message: str) -> Exception:
    return _client_error("InvalidRuntimeException", message, 502)


def _event_bytes(body: Any) -> bytes:
    if body is None or body == "":
        return b"{}"
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


def _invoke_in_background(fn: Any, event: bytes) -> None:
    def run() -> None:
        try:
            invoke_function(fn, event)
        except Exception as exc:  # noqa: BLE001 - an async invoke has nobody to report to but the log
            _note(f"asynchronous invoke of {fn.function_name} failed: {exc}")

    threading.Thread(target=run, daemon=True, name=f"invoke-{fn.function_name}").start()


def patched_invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> bytes:
    """LambdaFunction.invoke: run the code. Event invocations return at once (202)."""
    headers = {str(k).lower(): v for k, v in dict(request_headers or {}).items()}
    invocation_type = headers.get("x-amz-invocation-type", "RequestResponse")
    if invocation_type == "DryRun":
        return b""
    if not str(self.run_time or "").startswith("python3"):
        raise _invalid_runtime(
            f"The runtime {self.run_time} does not run on platformctl's moto server (python3.x only): "
            "use LocalStack (Docker) for it."
        )
    event = _event_bytes(body)
    try:
        json.loads(event)
    except ValueError as exc:
        raise _client_error(
            "InvalidRequestContentException", f"Could not parse request body into json: {exc}", 400
        ) from None
    if invocation_type == "Event":
        _invoke_in_background(self, event)
        return b""
    invocation = invoke_function(self, event)
    response_headers["x-amz-executed-version"] = "$LATEST"
    if invocation.function_error:
        response_headers["x-amz-function-error"] = invocation.function_error
    response_headers["x-amz-log-result"] = invocation.log_tail
    return invocation.payload


def _simple_backend_runs_code() -> None:
    """Without Docker, platformctl switches moto to its "simple" Lambda backend, whose invoke
    answers a canned string: let it run the code like the main backend."""
    try:
        from moto.awslambda.models import LambdaBackend
        from moto.awslambda_simple.models import LambdaSimpleBackend
    except ImportError:
        return
    if "invoke" in LambdaSimpleBackend.__dict__:
        LambdaSimpleBackend.invoke = LambdaBackend.invoke  # type: ignore[method-assign]


def _patch_invoke() -> bool:
    try:
        from moto.awslambda.models import LambdaFunction
    except ImportError:
        _note("moto has no awslambda models; functions do not run")
        return False
    if not callable(LambdaFunction.__dict__.get("invoke")):
        _note("moto's LambdaFunction.invoke changed; functions keep moto's own behaviour")
        return False
    LambdaFunction.invoke = patched_invoke  # type: ignore[method-assign]
    _simple_backend_runs_code()
    return True


def _endpoint_from(argv: list[str]) -> Endpoint:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=int(os.environ.get("MOTO_PORT", 5000)))
    parser.add_argument("-s", "--ssl", action="store_true")
    known, _ = parser.parse_known_args(argv)
    host = "127.0.0.1" if known.host in ("0.0.0.0", "::", "") else known.host  # noqa: S104 - a bind-all address
    return Endpoint(f"{'https' if known.ssl else 'http'}://{host}:{known.port}")


def _stop_children() -> None:
    with _State.children_lock:
        children = list(_State.children)
    for child in children:
        _kill(child)


def install(argv: list[str] | None = None) -> bool:
    """Make the moto server about to start run Lambda functions; True when they will (the
    caller then starts the Kinesis mappings, emulators/moto_esm.py, which invoke through here)."""
    if _State.installed:
        return True
    _State.endpoint = _endpoint_from(list(sys.argv[1:] if argv is None else argv))
    if not _patch_invoke():
        return False
    _State.installed = True
    atexit.register(_stop_children)
    return True
