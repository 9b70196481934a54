"""benchmarks/run.py: one table for every benchmark, and an exit status that says whether all
targets were met. Run against small benchmark modules written here (real imports, real timing)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

RUNNER = REPO / "benchmarks" / "run.py"

BENCHMARKS = {
    "bench_quick.py": """
from harness import Figure, timed

def run():
    samples = tuple(timed(lambda: sum(range(1000))) for _ in range(3))
    return [Figure("sum of 1000 ints", samples, target=5.0)]
""",
    "bench_ratio.py": """
from harness import Figure

def run():
    return [Figure("cold over warm", (3.0, 4.0, 5.0), target=2.0, unit="x")]
""",
    "bench_broken.py": """
def run():
    raise RuntimeError("emulator did not start")
""",
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name, source in BENCHMARKS.items():
        (tmp_path / name).write_text(source)
    return tmp_path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(RUNNER), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
    )


def test_one_table_for_every_benchmark_and_exit_1_when_any_misses(folder: Path) -> None:
    result = run("--folder", str(folder))

    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    header = next(line for line in lines if "median" in line)
    for column in ("benchmark", "min", "max", "target", "result"):
        assert column in header
    quick = next(line for line in lines if "quick: sum of 1000 ints" in line)
    assert "pass" in quick and "3 runs" in quick
    ratio = next(line for line in lines if "ratio: cold over warm" in line)
    assert "4.00x" in ratio and "3.00x" in ratio and "5.00x" in ratio and "<= 2.00x" in ratio and "fail" in ratio
    broken = next(line for line in lines if line.strip("│ ").startswith("broken"))
    assert "error" in broken and "emulator did not start" in broken
    assert "RuntimeError" in result.stderr  # the traceback, for whoever debugs it


def test_only_runs_the_named_benchmark(folder: Path) -> None:
    result = run("--folder", str(folder), "--only", "quick")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "quick: sum of 1000 ints" in result.stdout
    assert "ratio" not in result.stdout and "broken" not in result.stdout


def test_an_unknown_name_lists_the_benchmarks(folder: Path) -> None:
    result = run("--folder", str(folder), "--only", "nope")

    assert result.returncode == 1
    assert "No benchmark named nope: choose from broken, quick, ratio." in result.stderr
