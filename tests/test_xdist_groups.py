"""The suite's time rests on xdist keeping each file (and the shared local platform's tests) on
one worker: module fixtures such as dev and prod applied whole are built once, not once per
worker. A pytest/pytest-xdist pair where `--dist loadgroup` quietly falls back to `load` (pytest
9.2 with xdist 3.8) must fail here, not just make the run slower."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO

FILE_TEST = """\
import os
import pytest

@pytest.mark.parametrize("n", range(12))
def test_records_its_worker(n):
    with open({out!r}, "a") as f:
        f.write(f"{{__name__}} {{os.environ['PYTEST_XDIST_WORKER']}}\\n")
"""


def test_each_file_runs_whole_on_one_worker(tmp_path: Path) -> None:
    out = tmp_path / "workers.txt"
    suite = tmp_path / "suite"
    suite.mkdir()
    # The repository's own conftest (the hook that sets the groups), and files that stand for test files.
    (suite / "conftest.py").write_text((REPO / "tests" / "conftest.py").read_text())
    for name in ("test_first", "test_second", "test_third"):
        (suite / f"{name}.py").write_text(FILE_TEST.format(out=str(out)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "3", "--dist", "loadgroup", str(suite)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    workers: dict[str, set[str]] = {}
    for line in out.read_text().splitlines():
        module, worker = line.split()
        workers.setdefault(module, set()).add(worker)
    assert set(workers) == {"test_first", "test_second", "test_third"}
    spread = {module: sorted(found) for module, found in workers.items() if len(found) > 1}
    assert not spread, f"files spread over several workers (loadgroup not held): {spread}"
