"""Faults, two `platformctl up local` at once: the second refuses at once with one line, never
touches the first one's emulator record, and `down` afterwards stops the right process.

For real: two platformctl processes, a real moto server, the real Terraform. The first `up`
is held in the middle of its apply by its own root: a `terraform_data` whose local-exec
provisioner announces itself on one FIFO and waits on another, so the test knows (without
sleeping) that the first `up` is between the emulator's start and the end of its apply.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import free_port, make_project

from integration.test_isolation_endpoint import error_lines, shell
from platformctl import process
from platformctl.emulators import lifecycle as emulator
from platformctl.project import contract

pytestmark = pytest.mark.integration

HELD = """\
resource "terraform_data" "held" {{
  provisioner "local-exec" {{
    command = "printf started > {started} && cat {release} > /dev/null"
  }}
}}

output "platform_resources" {{
  value = {{}}
}}
"""


def _release(fifo: Path) -> None:
    """Open the FIFO the held apply reads (blocks until it does), then close it: EOF lets it go."""
    errors: list[BaseException] = []

    def let_go() -> None:
        try:
            with fifo.open("w") as writer:
                writer.write("go\n")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=let_go, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive() and not errors, f"the held apply never read {fifo}: {errors}"


def test_a_second_up_refuses_at_once_and_down_stops_the_winner(tmp_path: Path) -> None:
    started, release = tmp_path / "started.fifo", tmp_path / "release.fifo"
    os.mkfifo(started)
    os.mkfifo(release)
    port, other_port = free_port(), free_port()
    root = make_project(
        tmp_path / "repo",
        {"local": HELD.format(started=started, release=release)},
        contract=f'[environments.local]\nemulator = "moto"\nemulator_port = {port}\n',
    )
    env = shell(tmp_path / "home")
    argv = [sys.executable, "-m", "platformctl", "--root", str(root)]

    # Opened before the winner starts, without blocking: its printf then finds a reader.
    announce = os.open(started, os.O_RDONLY | os.O_NONBLOCK)
    winner = subprocess.Popen([*argv, "up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([announce], [], [], 180)
        assert ready and os.read(announce, 64) == b"started", "the first up never reached its apply"
        record = emulator.load_record(contract.load(root))
        assert record is not None and record.pid and process.pid_alive(record.pid) and record.port == port

        loser = subprocess.run(
            [*argv, "up", "--port", str(other_port)], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert loser.returncode == 1, loser.stderr[-3000:]
        (line,) = error_lines(loser)
        assert "Another platformctl process is using local" in line and "wait for it to finish" in line
        assert emulator.load_record(contract.load(root)) == record, "the loser must not touch the winner's record"
        assert emulator.probe(other_port).listening is False, "the loser must not start an emulator"

        early_down = subprocess.run([*argv, "down"], env=env, capture_output=True, text=True, timeout=60, check=False)
        assert early_down.returncode == 1 and "Another platformctl process is using local" in early_down.stderr
        assert process.pid_alive(record.pid), "a refused down must not stop the emulator under a running up"

        _release(release)
        _, err = winner.communicate(timeout=300)
        assert winner.returncode == 0, err[-4000:]
    finally:
        os.close(announce)
        if winner.poll() is None:
            winner.kill()
            winner.wait()

    assert emulator.load_record(contract.load(root)) == record, "the winner's record stands"
    down = subprocess.run([*argv, "down"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert down.returncode == 0, down.stderr[-3000:]
    assert not process.pid_alive(record.pid), "down stops the emulator the winner started"
    assert emulator.probe(port).listening is False
    assert emulator.load_record(contract.load(root)) is None
