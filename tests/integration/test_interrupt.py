"""Ctrl-C and SIGTERM during a real apply, with each engine: Terraform gets the interrupt once,
stops gracefully, leaves a valid state and no lock; platformctl exits 130.

platformctl runs as a real process in its own session, so that it and Terraform form one
process group as a terminal's foreground job does; the "Ctrl-C" is SIGINT to that group."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import as_terminal_job, make_project

from integration import engines
from integration.engines import EngineUnderTest

pytestmark = pytest.mark.integration

# The provisioner touches a marker, then sleeps: once the marker exists, Terraform is
# mid-apply, holding the state lock, with a child process of its own running.
SLOW = """\
resource "terraform_data" "slow" {
  input = "x"

  provisioner "local-exec" {
    command = "touch ${path.module}/started && sleep 10"
  }
}
"""
SLEEP_SECONDS = 10


@pytest.fixture(params=engines.KINDS)
def engine_under_test(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> EngineUnderTest:
    return engines.select(request.param, monkeypatch)


def start_apply(project: Path) -> tuple[subprocess.Popen[str], Path]:
    root = project / "terraform" / "environments" / "demo"
    child = subprocess.Popen(
        [sys.executable, "-m", "platformctl", "--no-color", "apply", "demo", "--yes"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=as_terminal_job,
    )
    marker = root / "started"
    deadline = time.monotonic() + 120
    while not marker.exists():
        if child.poll() is not None or time.monotonic() > deadline:
            child.kill()
            pytest.fail(f"terraform never reached the provisioner:\n{child.communicate()[0]}")
        time.sleep(0.05)
    time.sleep(0.3)  # inside the sleep, not between touch and sleep
    return child, root


def assert_stopped_gracefully(child: subprocess.Popen[str], root: Path, started: float) -> str:
    try:
        output, _ = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
    assert child.returncode == 130, output
    assert "Interrupt received" in output and "Gracefully shutting down" in output, output
    assert "Two interrupts received" not in output  # nobody sent a second one
    assert "Interrupted: terraform stopped" in output
    assert time.monotonic() - started < SLEEP_SECONDS, "terraform waited out the provisioner instead of stopping"
    state = json.loads((root / "terraform.tfstate").read_text())  # valid JSON, or this raises
    assert state["version"] == 4
    assert not (root / ".terraform.tfstate.lock.info").exists(), "the state lock was left behind"
    return output


def test_ctrl_c_stops_terraform_gracefully(isolation: Path, engine_under_test: EngineUnderTest) -> None:
    make_project(isolation, {"demo": SLOW})
    started = time.monotonic()
    child, root = start_apply(isolation)
    os.killpg(child.pid, signal.SIGINT)  # the terminal's Ctrl-C: the whole foreground group
    assert_stopped_gracefully(child, root, started)


def test_sigterm_to_platformctl_alone_is_forwarded(isolation: Path, engine_under_test: EngineUnderTest) -> None:
    make_project(isolation, {"demo": SLOW})
    started = time.monotonic()
    child, root = start_apply(isolation)
    os.kill(child.pid, signal.SIGTERM)  # e.g. a CI runner cancelling the job: platformctl only
    assert_stopped_gracefully(child, root, started)


# `up local` runs Terraform with -json, its stdout read line by line (process.stream_lines):
# the same rule holds there, with the events passed on until Terraform has stopped.
JSON_APPLY = """\
import sys
from pathlib import Path
from platformctl.errors import Interrupted
from platformctl.terraform.engine import resolve
from platformctl.terraform.runner import Terraform

tf = Terraform(engine=resolve(">= 1.11"), workdir=Path(sys.argv[1]), interactive=False, color=False)
tf.init()
try:
    tf.apply_in_one_run(on_event=lambda event: print(event.kind, event.message, flush=True))
except Interrupted as exc:
    print(exc, flush=True)
    sys.exit(130)
"""


def test_ctrl_c_stops_a_json_apply_gracefully(isolation: Path, engine_under_test: EngineUnderTest) -> None:
    make_project(isolation, {"demo": SLOW})
    root = isolation / "terraform" / "environments" / "demo"
    (isolation / "json_apply.py").write_text(JSON_APPLY)
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, str(isolation / "json_apply.py"), str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=as_terminal_job,
    )
    deadline = time.monotonic() + 120
    while not (root / "started").exists():
        if child.poll() is not None or time.monotonic() > deadline:
            child.kill()
            pytest.fail(f"terraform never reached the provisioner:\n{child.communicate()[0]}")
        time.sleep(0.05)
    time.sleep(0.3)  # inside the sleep, not between touch and sleep
    os.killpg(child.pid, signal.SIGINT)
    output = assert_stopped_gracefully(child, root, started)
    assert "apply_errored terraform_data.slow" in output, "events kept coming until Terraform stopped"
