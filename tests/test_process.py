"""The one subprocess helper and the Terraform runner built on it: argv and environment,
redaction, start failures, and the signal policy (SIGINT never re-sent, SIGTERM forwarded once).

The signal tests run `process.stream` in a real parent process with a real child that records
every signal it receives. The child stands in for Terraform only to count signals exactly;
tests/integration/test_interrupt.py does the same with the real engines.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import as_terminal_job

from platformctl import process
from platformctl.errors import PlatformctlError
from platformctl.terraform.engine import Engine
from platformctl.terraform.plan import summarize
from platformctl.terraform.runner import Terraform

CHILD = """\
import pathlib, signal, sys, time
log, stop, ready = map(pathlib.Path, sys.argv[1:4])
def record(signum, frame):
    with log.open("a") as f:
        f.write(signal.Signals(signum).name + "\\n")
signal.signal(signal.SIGINT, record)
signal.signal(signal.SIGTERM, record)
ready.touch()
deadline = time.monotonic() + 30
while not stop.exists() and time.monotonic() < deadline:
    time.sleep(0.02)
sys.exit(7)
"""

PARENT = """\
import os, signal, sys
from platformctl import process
from platformctl.errors import Interrupted
argv = [sys.executable, *sys.argv[1:]]
try:
    if os.environ.get("STREAM_HOW") == "stream_lines":
        code = process.stream_lines(argv, lambda line: None, name="recorder")
    else:
        code = process.stream(argv, name="recorder")
except Interrupted as exc:
    print(exc, flush=True)
    sys.exit(130)
restored = signal.getsignal(signal.SIGINT) is signal.default_int_handler
restored = restored and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
print(f"returned {code}, handlers restored: {restored}", flush=True)
"""


@dataclass
class Run:
    parent: subprocess.Popen[str]
    log: Path
    stop: Path

    def signals(self) -> list[str]:
        return self.log.read_text().split() if self.log.exists() else []

    def finish(self) -> tuple[int, str]:
        self.stop.touch()
        out, _ = self.parent.communicate(timeout=30)
        return self.parent.returncode, out


@pytest.fixture(params=["stream", "stream_lines"])
def recorder(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Run]:
    """A parent running process.stream (or stream_lines, which reads the child's stdout) on a
    signal-recording child, in its own session (as a terminal's foreground job is its own
    process group)."""
    (tmp_path / "child.py").write_text(CHILD)
    (tmp_path / "parent.py").write_text(PARENT)
    log, stop, ready = tmp_path / "signals.log", tmp_path / "stop", tmp_path / "ready"
    parent = subprocess.Popen(
        [sys.executable, str(tmp_path / "parent.py"), str(tmp_path / "child.py"), str(log), str(stop), str(ready)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=as_terminal_job,
        env={**os.environ, "STREAM_HOW": request.param},
    )
    deadline = time.monotonic() + 30
    while not ready.exists():
        assert parent.poll() is None, parent.communicate()
        assert time.monotonic() < deadline, "the child never started"
        time.sleep(0.02)
    run = Run(parent, log, stop)
    yield run
    if parent.poll() is None:
        os.killpg(parent.pid, signal.SIGKILL)
        parent.wait()


def settle() -> None:
    time.sleep(0.3)  # let signal handlers run in both processes


def test_ctrl_c_reaches_the_child_once_and_is_never_resent(recorder: Run) -> None:
    os.killpg(recorder.parent.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
    settle()
    assert recorder.parent.poll() is None  # the parent waits for the child to stop by itself
    code, out = recorder.finish()
    assert recorder.signals() == ["SIGINT"]
    assert code == 130
    assert out.strip() == "Interrupted: recorder stopped (exit 7); run the command again when ready."


def test_sigint_to_the_parent_alone_is_not_forwarded(recorder: Run) -> None:
    os.kill(recorder.parent.pid, signal.SIGINT)
    os.kill(recorder.parent.pid, signal.SIGINT)
    settle()
    code, _ = recorder.finish()
    assert recorder.signals() == []
    assert code == 130


def test_sigterm_to_the_parent_alone_is_forwarded_once(recorder: Run) -> None:
    for _ in range(3):
        os.kill(recorder.parent.pid, signal.SIGTERM)
        settle()
    assert recorder.signals() == ["SIGTERM"]
    code, _ = recorder.finish()
    assert code == 130


def test_exit_code_passes_through_and_handlers_are_restored(recorder: Run) -> None:
    code, out = recorder.finish()
    assert (code, out.strip()) == (0, "returned 7, handlers restored: True")


def test_stream_lines_hands_over_each_line_as_it_is_written(tmp_path: Path) -> None:
    """The child writes a line, then waits until the callback has seen it: only a helper
    that passes lines on as they arrive (not at exit) lets it finish."""
    seen = tmp_path / "seen"
    child = (
        "import pathlib, sys, time\n"
        "print('first', flush=True)\n"
        "deadline = time.monotonic() + 20\n"
        f"while not pathlib.Path({str(seen)!r}).exists() and time.monotonic() < deadline:\n"
        "    time.sleep(0.01)\n"
        "print('second' if pathlib.Path(" + repr(str(seen)) + ").exists() else 'timed out')\n"
        "sys.exit(3)\n"
    )
    lines: list[str] = []

    def on_line(line: str) -> None:
        lines.append(line)
        seen.touch()

    assert process.stream_lines([sys.executable, "-c", child], on_line) == 3
    assert lines == ["first", "second"]


def test_stream_lines_reads_to_the_end_then_raises_what_the_callback_raised() -> None:
    child = "import sys\nfor i in range(20000): print('x' * 50)\nsys.exit(0)\n"  # more than a pipe holds
    calls: list[str] = []

    def on_line(line: str) -> None:
        calls.append(line)
        raise ValueError("renderer broke")

    with pytest.raises(ValueError, match="renderer broke"):
        process.stream_lines([sys.executable, "-c", child], on_line)
    assert len(calls) == 1, "after a failure the rest is drained, not passed on"


def test_environment_is_os_environ_plus_overrides(monkeypatch) -> None:
    monkeypatch.setenv("KEPT", "kept")
    monkeypatch.setenv("DROPPED", "dropped")
    script = "import os; print(os.environ.get('KEPT'), os.environ.get('DROPPED'), os.environ.get('ADDED'))"
    result = process.capture([sys.executable, "-c", script], env={"DROPPED": None, "ADDED": "added"})
    assert result.stdout.split() == ["kept", "None", "added"]


def test_capture_reads_no_terminal_unless_given_input() -> None:
    script = "import sys; print(repr(sys.stdin.read()))"
    assert process.capture([sys.executable, "-c", script]).stdout.strip() == "''"
    assert process.capture([sys.executable, "-c", script], input_text="yes\n").stdout.strip() == "'yes\\n'"


def test_missing_and_unrunnable_executables_are_plain_errors(tmp_path: Path) -> None:
    with pytest.raises(PlatformctlError, match=r"^no-such-tool not found: install it or put it on PATH\.$"):
        process.capture(["no-such-tool", "--version"])
    with pytest.raises(PlatformctlError, match="not found"):
        process.stream(["no-such-tool"])
    not_a_program = tmp_path / "tool"
    not_a_program.write_text("data")
    with pytest.raises(PlatformctlError, match=r"Cannot run .*tool \(Permission denied\)"):
        process.capture([str(not_a_program)])


def test_secrets_are_redacted_from_logs(caplog) -> None:
    logger = logging.getLogger("platformctl")
    handler = logging.Handler()
    records: list[str] = []
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    previous_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        process.capture(
            [sys.executable, "-c", "pass", "-var=db_password=hunter2", "token=abc123"],
            env={"AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI", "AWS_SESSION_TOKEN": "FwoGZX", "AWS_REGION": "eu-west-1"},
        )
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
    logged = "\n".join(records)
    for secret in ("hunter2", "abc123", "wJalrXUtnFEMI", "FwoGZX"):
        assert secret not in logged
    assert "eu-west-1" in logged and "-var=db_password=***" in logged


FAKE_ENGINE = Engine(("/opt/terraform",), "1.11.4", "PATH", "terraform")


def test_runner_flags_for_ci_and_colour() -> None:
    ci = Terraform(FAKE_ENGINE, Path("."), color=False, interactive=False)
    assert ci.argv("plan", "-detailed-exitcode") == [
        "/opt/terraform",
        "plan",
        "-no-color",
        "-input=false",
        "-detailed-exitcode",
    ]
    assert ci.argv("output", "-json") == ["/opt/terraform", "output", "-json"]
    human = Terraform(FAKE_ENGINE, Path("."), prefix=("aws-vault", "exec", "dev", "--"), interactive=True)
    assert human.argv("apply") == ["aws-vault", "exec", "dev", "--", "/opt/terraform", "apply"]


def test_summarize_counts_each_kind_of_change() -> None:
    plan = {
        "resource_changes": [
            {"address": "a.new", "change": {"actions": ["create"]}},
            {"address": "a.edit", "change": {"actions": ["update"]}},
            {"address": "a.gone", "change": {"actions": ["delete"]}},
            {"address": "a.swap", "change": {"actions": ["delete", "create"]}},
            {"address": "a.swap2", "change": {"actions": ["create", "delete"]}},
            {"address": "a.same", "change": {"actions": ["no-op"]}},
            {"address": "a.read", "change": {"actions": ["read"]}},
        ]
    }
    summary = summarize(plan)
    assert summary.as_dict() == {
        "add": 1,
        "change": 1,
        "destroy": 1,
        "replace": 2,
        "destroyed": ["a.gone"],
        "replaced": ["a.swap", "a.swap2"],
    }
    assert summary.has_changes
    assert not summarize({"resource_changes": []}).has_changes


def test_environ_overridden_applies_then_restores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "production-admin")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    with process.environ_overridden({"AWS_PROFILE": None, "AWS_ACCESS_KEY_ID": "test"}):
        assert "AWS_PROFILE" not in os.environ
        assert os.environ["AWS_ACCESS_KEY_ID"] == "test"
    assert os.environ["AWS_PROFILE"] == "production-admin"
    assert "AWS_ACCESS_KEY_ID" not in os.environ
