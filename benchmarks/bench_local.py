"""`platformctl up local` / `down local` on the embedded moto server, as a laptop runs them.

    python benchmarks/bench_local.py     # prints the figures and where the time goes

On a copy of this repository (platform.toml, terraform/, functions/), with the provider from
the machine's mirror (PLATFORMCTL_PROVIDER_MIRROR, else /opt/tf-plugins) and the plugin
cache warm. A warm-up round in the fresh copy (init included, its time printed) ends with
`down --destroy`, the path that runs terraform destroy; then three measured rounds of:

- `up` cold: no emulator running, no state; platformctl starts moto, plans, applies.
- `up` again with nothing to change: moto reused, init skipped, a plan, no apply.
- `down`: platformctl's moto keeps everything in memory, so stopping it removes it all.
- `up` cold with a matching snapshot (the one the first `up` saved): moto start, restore,
  checks, no apply (target: <= 8 s and <= 0.15 x the cold apply); then `down` again.

The cold apply runs with `--no-snapshot`, so it measures a real apply.

Figures are medians of the three rounds; each `up` reports its own step timings (--json),
printed so the provider's own waits (SQS attribute propagation, S3 lifecycle consistency,
Kinesis ACTIVE) show where they are: inside `apply`.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from harness import Figure  # noqa: E402  (needs the path above)

ROUNDS = 3
UP_COLD_TARGET = 40.0
UP_AGAIN_TARGET = 8.0
UP_RESTORED_TARGET = 8.0  # and at most RESTORED_SHARE of the cold apply
RESTORED_SHARE = 0.15
DOWN_TARGET = 30.0
MIRROR = os.environ.get("PLATFORMCTL_PROVIDER_MIRROR") or (
    "/opt/tf-plugins" if Path("/opt/tf-plugins/registry.terraform.io/hashicorp/aws").is_dir() else ""
)


def platformctl() -> list[str]:
    script = Path(sys.executable).with_name("platformctl")
    return [str(script)] if script.exists() else [sys.executable, "-m", "platformctl"]


def _copy_repository(destination: Path) -> Path:
    ignore = shutil.ignore_patterns(".terraform", "*.tfstate*", "*.tfplan", "__pycache__")
    destination.mkdir(parents=True)
    shutil.copy2(REPO / "platform.toml", destination / "platform.toml")
    shutil.copytree(REPO / "terraform", destination / "terraform", symlinks=True, ignore=ignore)
    if (REPO / "functions").is_dir():
        shutil.copytree(REPO / "functions", destination / "functions", ignore=ignore)
    return destination


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Runner:
    def __init__(self, root: Path, port: int) -> None:
        self.root, self.port = root, port
        self.env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("AWS_", "TF_CLI_CONFIG_FILE")) and name != "PLATFORMCTL_ROOT"
        }
        self.env.update(PLATFORMCTL_PROVIDER_MIRROR=MIRROR, NO_COLOR="1", TF_IN_AUTOMATION="1")

    def __call__(self, *args: str) -> tuple[float, dict[str, Any]]:
        """Wall-clock seconds of `platformctl --json ARGS`, and its JSON result."""
        argv = [*platformctl(), "--root", str(self.root), "--json", *args]
        start = time.perf_counter()
        result = subprocess.run(
            argv, capture_output=True, text=True, env=self.env, stdin=subprocess.DEVNULL, check=False
        )
        seconds = time.perf_counter() - start
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} exited {result.returncode}: {result.stderr[-3000:]}")
        return seconds, json.loads(result.stdout)


def _steps(timings: list[dict[str, float]]) -> str:
    names = [name for name in timings[0] if name != "total"]
    return ", ".join(f"{name} {statistics.median(t.get(name, 0.0) for t in timings):.1f} s" for name in names)


def run() -> list[Figure]:
    if not MIRROR:
        raise RuntimeError(
            "needs the hashicorp/aws provider: set PLATFORMCTL_PROVIDER_MIRROR to a Terraform filesystem mirror "
            "(e.g. /opt/tf-plugins), or give the machine internet access"
        )
    if shutil.which("terraform") is None:
        raise RuntimeError("needs terraform on PATH")
    with tempfile.TemporaryDirectory(prefix="bench-local-") as tmp:
        platform = Runner(_copy_repository(Path(tmp) / "repo"), _free_port())
        try:
            first, outcome = platform("up", "--port", str(platform.port))
            print(f"warm-up: first up in a fresh copy {first:.1f} s ({_steps([outcome['timings']])})", file=sys.stderr)
            platform("up")
            destroy, outcome = platform("down", "--destroy")
            print(f"warm-up: down --destroy {destroy:.1f} s ({_steps([outcome['timings']])})", file=sys.stderr)

            cold: list[float] = []
            again: list[float] = []
            down: list[float] = []
            restored: list[float] = []
            cold_steps: list[dict[str, float]] = []
            again_steps: list[dict[str, float]] = []
            restored_steps: list[dict[str, float]] = []
            for _ in range(ROUNDS):
                seconds, outcome = platform("up", "--port", str(platform.port), "--no-snapshot")
                assert outcome["changed"] is True, "a cold up must create the platform"
                cold.append(seconds)
                cold_steps.append(outcome["timings"])
                seconds, outcome = platform("up")
                assert outcome["changed"] is False, f"up again changed something: {outcome}"
                again.append(seconds)
                again_steps.append(outcome["timings"])
                seconds, outcome = platform("down")
                down.append(seconds)
                seconds, outcome = platform("up", "--port", str(platform.port))
                assert outcome["restored_from"], f"a cold up with a matching snapshot must restore it: {outcome}"
                restored.append(seconds)
                restored_steps.append(outcome["timings"])
                platform("down")
        finally:
            subprocess.run(
                [*platformctl(), "--root", str(platform.root), "down", "--force"],
                env=platform.env,
                capture_output=True,
                check=False,
            )
    print(f"up cold, median per step: {_steps(cold_steps)}", file=sys.stderr)
    print(f"up again, median per step: {_steps(again_steps)}", file=sys.stderr)
    print(f"up restored, median per step: {_steps(restored_steps)}", file=sys.stderr)
    restored_target = min(UP_RESTORED_TARGET, RESTORED_SHARE * statistics.median(cold))
    return [
        Figure("up local, cold (moto start, plan, apply)", tuple(cold), UP_COLD_TARGET),
        Figure("up local again, nothing to change", tuple(again), UP_AGAIN_TARGET),
        Figure("up local, cold with a matching snapshot (restore)", tuple(restored), round(restored_target, 2)),
        Figure("down local (stop moto, state aside)", tuple(down), DOWN_TARGET),
        Figure("down local --destroy (terraform destroy first)", (destroy,), DOWN_TARGET),
    ]


if __name__ == "__main__":
    for figure in run():
        status = "ok" if figure.passed else "MISSED"
        print(
            f"{figure.name}: median {figure.median:.2f} {figure.unit} "
            f"(samples {', '.join(f'{s:.2f}' for s in figure.samples)}; target <= {figure.target}) {status}"
        )
