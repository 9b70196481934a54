"""`platformctl up local` / `down local` on the embedded moto server, as a laptop runs them,
against raw Terraform on the same root and emulator, and `platformctl --help` against Python.

    python benchmarks/bench_local.py [--runs N]     # N rounds (default 3): median, min, max

On a copy of this repository (platform.toml, terraform/, functions/), with the provider from
the machine's mirror (PLATFORMCTL_PROVIDER_MIRROR, else /opt/tf-plugins) and the plugin cache
warm. A warm-up `up` (init included, its time printed) and `down --destroy` (the path that
runs terraform destroy) come first; then each round, on a fresh moto server each time:

- raw: `terraform apply -auto-approve` of the same root, with exactly the argv and
  environment platformctl would give it (the pinned endpoint, the mirror, the emulator's
  credentials), timed alone, on a moto started by `platformctl emulator start`;
- `up` cold: no emulator, no state (`--no-snapshot` where snapshots exist): moto's start,
  the build, the init check, one apply;
- `up` again with nothing to change; `down` (stopping moto removes everything it holds);
- `up` cold with a matching snapshot, where `platformctl up` has snapshots (`--no-snapshot`
  in its options); else "n/a: snapshots not available";
- `platformctl --help` against `python -c pass`, five pairs a round.

Targets (issue 14): cold up with a snapshot <= 8 s and <= 0.15 x the cold apply; cold up
without one <= 1.05 x raw apply; up again <= 5 s; down <= 1 s; --help <= 2.5 x Python's start.
The machine's core count is printed first: figures from a shared machine are noisy. Where the
time goes: up's own step timings (--json `timings`), and the slowest resources of the cold
apply from up's progress lines (stderr is no terminal here, so they are plain).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from harness import Figure  # noqa: E402  (needs the path above)

ROUNDS = 3
HELP_PAIRS = 5
SNAPSHOT_COLD_TARGET = 8.0
SNAPSHOT_RATIO_TARGET = 0.15
COLD_RATIO_TARGET = 1.05
UP_AGAIN_TARGET = 5.0
DOWN_TARGET = 1.0
HELP_RATIO_TARGET = 2.5
MIRROR = os.environ.get("PLATFORMCTL_PROVIDER_MIRROR") or (
    "/opt/tf-plugins" if Path("/opt/tf-plugins/registry.terraform.io/hashicorp/aws").is_dir() else ""
)
# up's plain progress line for a finished resource: "HH:MM:SS [3/87] created ADDRESS (12 s)".
FINISHED = re.compile(r"\] (?:created|updated|replaced) (\S+) \((\d+) s\)$")


def platformctl() -> list[str]:
    """The console script, as a user runs it; `python -m platformctl` where the script is one
    written before the entry point moved to platformctl/__main__.py (re-install to update it)."""
    script = Path(sys.executable).with_name("platformctl")
    current = script.exists() and "platformctl.__main__" in script.read_text(errors="replace")
    return [str(script)] if current else [sys.executable, "-m", "platformctl"]


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
            if not name.startswith(("AWS_", "TF_CLI_CONFIG_FILE")) and name not in ("PLATFORMCTL_ROOT", "CI")
        }
        self.env.update(PLATFORMCTL_PROVIDER_MIRROR=MIRROR, NO_COLOR="1", TF_IN_AUTOMATION="1")
        self.last_stderr = ""

    def __call__(self, *args: str) -> tuple[float, dict[str, Any]]:
        """Wall-clock seconds of `platformctl --json ARGS`, and its JSON result."""
        argv = [*platformctl(), "--root", str(self.root), "--json", *args]
        start = time.perf_counter()
        result = subprocess.run(
            argv, capture_output=True, text=True, env=self.env, stdin=subprocess.DEVNULL, check=False
        )
        seconds = time.perf_counter() - start
        self.last_stderr = result.stderr
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} exited {result.returncode}: {result.stderr[-3000:]}")
        return seconds, json.loads(result.stdout)

    @property
    def local_root(self) -> Path:
        return self.root / "terraform" / "environments" / "local"

    def raw_apply(self) -> float:
        """Seconds of `terraform apply -auto-approve` alone, with the argv and environment
        platformctl builds for the running emulator (read from its record)."""
        argv, overrides = self._terraform_apply()
        env = dict(self.env)
        for name, value in overrides.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        start = time.perf_counter()
        result = subprocess.run(
            argv, cwd=self.local_root, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False
        )
        seconds = time.perf_counter() - start
        if result.returncode != 0:
            raise RuntimeError(f"raw terraform apply exited {result.returncode}: {result.stdout[-3000:]}")
        return seconds

    def _terraform_apply(self) -> tuple[list[str], dict[str, str | None]]:
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(self.env)
        try:
            from platformctl.context import Context, Options
            from platformctl.emulators import lifecycle as emulator
            from platformctl.local import lifecycle

            ctx = Context(Options(root=self.root, color=False))
            environment = ctx.environment("local")
            record = emulator.load_record(ctx.project)
            if record is None:
                raise RuntimeError("no emulator record: `platformctl emulator start` did not record one")
            tf = lifecycle._terraform(ctx, environment, record)
            tf.interactive = False
            return tf.argv("apply", "-auto-approve"), tf.env_for("apply")
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def forget_state(self) -> None:
        """What a fresh start needs after the raw apply: no state, no note of its emulator."""
        from platformctl.local.state import applied_path
        from platformctl.project import contract

        for leftover in self.local_root.glob("terraform.tfstate*"):
            leftover.unlink()
        project = contract.load(self.root)
        applied_path(project, project.environment("local")).unlink(missing_ok=True)


def _cores() -> str:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{os.cpu_count()} cores ({usable} usable by this process)"


def _snapshots_available(platform: Runner) -> bool:
    result = subprocess.run(
        [*platformctl(), "up", "--help"], capture_output=True, text=True, env=platform.env, check=False
    )
    return "--no-snapshot" in result.stdout


def _steps(timings: list[dict[str, float]]) -> str:
    names = [name for name in timings[0] if name != "total"]
    return ", ".join(f"{name} {statistics.median(t.get(name, 0.0) for t in timings):.1f} s" for name in names)


def _outside(walls: list[float], timings: list[dict[str, float]]) -> str:
    """Wall-clock seconds not spent in up's own steps: Python's start, imports, rendering."""
    rest = [wall - t.get("total", 0.0) for wall, t in zip(walls, timings, strict=True)]
    return f"{statistics.median(rest):.2f} s outside platformctl's steps (Python start, imports, output)"


def _slowest(logs: list[str], count: int = 8) -> str:
    """The resources that took longest in the cold applies (median seconds over the rounds)."""
    seconds: dict[str, list[int]] = defaultdict(list)
    for log in logs:
        for line in log.splitlines():
            found = FINISHED.search(line.strip())
            if found:
                seconds[found.group(1)].append(int(found.group(2)))
    ranked = sorted(((statistics.median(v), k) for k, v in seconds.items()), reverse=True)[:count]
    return ", ".join(f"{address} {took:.0f} s" for took, address in ranked) or "(no progress lines)"


def _help_pairs(platform: Runner, pairs: int) -> tuple[list[float], list[float]]:
    python: list[float] = []
    helped: list[float] = []
    for _ in range(pairs):
        for argv, into in (([sys.executable, "-c", "pass"], python), ([*platformctl(), "--help"], helped)):
            start = time.perf_counter()
            subprocess.run(argv, capture_output=True, env=platform.env, check=True)
            into.append(time.perf_counter() - start)
    return python, helped


def _spread(name: str, samples: list[float]) -> str:
    return f"{name}: median {statistics.median(samples):.2f} s (min {min(samples):.2f}, max {max(samples):.2f})"


def run(runs: int = ROUNDS) -> list[Figure]:
    if not MIRROR:
        raise RuntimeError(
            "needs the hashicorp/aws provider: set PLATFORMCTL_PROVIDER_MIRROR to a Terraform filesystem mirror "
            "(e.g. /opt/tf-plugins), or give the machine internet access"
        )
    if shutil.which("terraform") is None:
        raise RuntimeError("needs terraform on PATH")
    print(f"machine: {_cores()}; a shared machine makes every figure noisy", file=sys.stderr)
    samples: dict[str, list[float]] = defaultdict(list)
    cold_steps: list[dict[str, float]] = []
    again_steps: list[dict[str, float]] = []
    snapshot_steps: list[dict[str, float]] = []
    down_steps: list[dict[str, float]] = []
    cold_logs: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-local-") as tmp:
        platform = Runner(_copy_repository(Path(tmp) / "repo"), _free_port())
        snapshots = _snapshots_available(platform)
        no_snapshot = ["--no-snapshot"] if snapshots else []
        port = ["--port", str(platform.port)]
        try:
            first, outcome = platform("up", *port)
            print(f"warm-up: first up in a fresh copy {first:.1f} s ({_steps([outcome['timings']])})", file=sys.stderr)
            destroy, outcome = platform("down", "--destroy")
            print(f"warm-up: down --destroy {destroy:.1f} s ({_steps([outcome['timings']])})", file=sys.stderr)
            for _ in range(runs):
                platform("emulator", "start", *port)
                samples["raw"].append(platform.raw_apply())
                platform("emulator", "stop")
                platform.forget_state()

                seconds, outcome = platform("up", *port, *no_snapshot)
                assert outcome["changed"] is True, "a cold up must create the platform"
                samples["cold"].append(seconds)
                cold_steps.append(outcome["timings"])
                cold_logs.append(platform.last_stderr)
                seconds, outcome = platform("up")
                assert outcome["changed"] is False, f"up again changed something: {outcome}"
                samples["again"].append(seconds)
                again_steps.append(outcome["timings"])
                seconds, outcome = platform("down")
                samples["down"].append(seconds)
                down_steps.append(outcome["timings"])

                if snapshots:
                    seconds, outcome = platform("up", *port)
                    assert outcome.get("restored_from"), (
                        f"a cold up with a matching snapshot must restore it: {outcome}"
                    )
                    samples["snapshot"].append(seconds)
                    snapshot_steps.append(outcome["timings"])
                    platform("down")

                python, helped = _help_pairs(platform, HELP_PAIRS)
                samples["python"] += python
                samples["help"] += helped
        finally:
            subprocess.run(
                [*platformctl(), "--root", str(platform.root), "down", "--force"],
                env=platform.env,
                capture_output=True,
                check=False,
            )
    for name, label in (
        ("raw", "raw terraform apply"),
        ("cold", "up local cold, no snapshot"),
        ("python", "python -c pass"),
        ("help", "platformctl --help"),
    ):
        print(_spread(label, samples[name]), file=sys.stderr)
    print(f"up cold, median per step: {_steps(cold_steps)}", file=sys.stderr)
    print(f"up cold, slowest resources (the provider's own waits): {_slowest(cold_logs)}", file=sys.stderr)
    print(f"up cold: {_outside(samples['cold'], cold_steps)}", file=sys.stderr)
    print(
        f"up again, median per step: {_steps(again_steps)}; {_outside(samples['again'], again_steps)}", file=sys.stderr
    )
    print(f"down, median per step: {_steps(down_steps)}; {_outside(samples['down'], down_steps)}", file=sys.stderr)
    pairs = zip(samples["help"], samples["python"], strict=True)
    figures = [
        Figure(
            "up local cold, no snapshot / raw terraform apply",
            tuple(c / r for c, r in zip(samples["cold"], samples["raw"], strict=True)),
            COLD_RATIO_TARGET,
            unit="x",
        ),
        Figure("up local again, nothing to change", tuple(samples["again"]), UP_AGAIN_TARGET),
        Figure("down local (stop moto, state aside)", tuple(samples["down"]), DOWN_TARGET),
        Figure("platformctl --help / python -c pass", tuple(h / p for h, p in pairs), HELP_RATIO_TARGET, unit="x"),
        Figure("down local --destroy (terraform destroy first), warm-up", (destroy,), 30.0),
    ]
    if snapshots:
        print(f"up cold with a snapshot, median per step: {_steps(snapshot_steps)}", file=sys.stderr)
        figures.append(Figure("up local cold, matching snapshot", tuple(samples["snapshot"]), SNAPSHOT_COLD_TARGET))
        figures.append(
            Figure(
                "up local cold with a snapshot / cold apply",
                tuple(s / step["apply"] for s, step in zip(samples["snapshot"], cold_steps, strict=True)),
                SNAPSHOT_RATIO_TARGET,
                unit="x",
            )
        )
    else:
        print("up local cold, matching snapshot: n/a: snapshots not available", file=sys.stderr)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=ROUNDS, help=f"measured rounds (default {ROUNDS})")
    args = parser.parse_args(argv)
    figures = run(max(1, args.runs))
    for figure in figures:
        status = "ok" if figure.passed else "MISSED"
        unit = figure.unit
        print(
            f"{figure.name}: median {figure.median:.2f} {unit} (min {min(figure.samples):.2f}, "
            f"max {max(figure.samples):.2f}; {len(figure.samples)} samples; target <= {figure.target}) {status}"
        )
    return 0 if all(figure.passed for figure in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
