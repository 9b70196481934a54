"""`platformctl --help` imports nothing it does not need: no core module, no rich.table, no
boto3, moto or pydantic; a bare `--help` is answered from the cached text, without Typer, and
that text is Typer's own. Checked in fresh interpreters, as a user's runs would be."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

PROBE = """\
import json, runpy, sys
sys.argv = ["platformctl", *sys.argv[1:]]
code = 0
try:
    runpy.run_module("platformctl", run_name="__main__")
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""
NOT_NEEDED = ("platformctl.operations", "platformctl.context", "rich.table", "pydantic", "boto3", "botocore", "moto")


def probe(args: list[str], cache: Path, columns: int = 100) -> tuple[subprocess.CompletedProcess[str], dict]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "COLUMNS": str(columns)}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=REPO, capture_output=True, text=True, timeout=60, check=False, env=env
    )
    return result, json.loads(result.stderr.strip().splitlines()[-1])


def typer_help(columns: int) -> str:
    """What the Typer app itself prints, the cache aside."""
    env = {**os.environ, "COLUMNS": str(columns)}
    code = "from platformctl.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, "--help"], capture_output=True, text=True, timeout=60, check=True, env=env
    ).stdout


@pytest.mark.parametrize("args", [["--help"], ["up", "--help"], ["plan", "--help"]])
def test_help_imports_nothing_it_does_not_need(args: list[str], tmp_path: Path) -> None:
    result, report = probe(args, tmp_path)
    assert report["code"] in (0, None), result.stderr
    assert "Usage: platformctl" in result.stdout
    loaded = [name for name in report["modules"] if name.split(".")[0] in {n.split(".")[0] for n in NOT_NEEDED}]
    unwanted = [name for name in loaded if any(name == n or name.startswith(n + ".") for n in NOT_NEEDED)]
    assert unwanted == [], f"`platformctl {' '.join(args)}` imported {unwanted}"


def test_a_bare_help_comes_from_the_cache_without_typer_and_is_typers_text(tmp_path: Path) -> None:
    first, loaded = probe(["--help"], tmp_path)
    assert "typer" in loaded["modules"], "a miss renders the text with Typer"
    again, loaded = probe(["--help"], tmp_path)
    assert loaded["code"] in (0, None)
    assert not [name for name in loaded["modules"] if name.split(".")[0] in ("typer", "rich", "click")]
    assert first.stdout == again.stdout == typer_help(100)

    narrow, loaded = probe(["--help"], tmp_path, columns=60)
    assert "typer" in loaded["modules"], "another width is another text"
    assert narrow.stdout == typer_help(60) != first.stdout
