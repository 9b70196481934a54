"""The first-hour fail-fast: how long `platformctl plan local` takes to say that no emulator
answers (it used to wait 15-20 s for Terraform's "connection refused" on the account lookup).

    python benchmarks/bench_day_two.py     # prints the figure

A new process each time, median of 5, on a root whose emulator port has nothing listening
(target <= 1 s: a cold start plus one refused socket connect).
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from harness import Figure, time_command  # noqa: E402  (needs the path above)

REPEAT = 5
TARGET = 1.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def local_plan_without_an_emulator() -> Figure:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "terraform" / "environments" / "local").mkdir(parents=True)
        (root / "platform.toml").write_text(
            f'[environments.local]\nemulator = "moto"\nemulator_port = {_free_port()}\n'
        )
        (root / "terraform" / "versions.tf").write_text('terraform {\n  required_version = ">= 1.11"\n}\n')
        (root / "terraform" / "environments" / "local" / "main.tf").write_text(
            'resource "terraform_data" "this" {\n  input = 1\n}\n'
        )
        script = Path(sys.executable).with_name("platformctl")
        argv = [str(script)] if script.exists() else [sys.executable, "-m", "platformctl"]
        argv = [*argv, "plan", "local"]
        env = {**os.environ, "PLATFORMCTL_ROOT": str(root)}
        return Figure(
            "plan local, no emulator: time to the one-line error",
            time_command(argv, REPEAT, env=env, ok_codes=(1,)),
            TARGET,
        )


def run() -> list[Figure]:
    return [local_plan_without_an_emulator()]


if __name__ == "__main__":
    for figure in run():
        print(figure)
