"""`platformctl --help` imports nothing it does not need: no core module, no rich.table, no
boto3, moto or pydantic. Checked in a fresh interpreter, as a user's first run would be."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO

PROBE = """\
import json, runpy, sys
sys.argv = ["platformctl", *sys.argv[1:]]
try:
    runpy.run_module("platformctl", run_name="__main__")
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""
NOT_NEEDED = ("platformctl.operations", "platformctl.context", "rich.table", "pydantic", "boto3", "botocore", "moto")


@pytest.mark.parametrize("args", [["--help"], ["up", "--help"], ["plan", "--help"]])
def test_help_imports_nothing_it_does_not_need(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )
    report = json.loads(result.stderr.strip().splitlines()[-1])
    assert report["code"] in (0, None), result.stderr
    assert "Usage: platformctl" in result.stdout
    loaded = [name for name in report["modules"] if name.split(".")[0] in {n.split(".")[0] for n in NOT_NEEDED}]
    unwanted = [name for name in loaded if any(name == n or name.startswith(n + ".") for n in NOT_NEEDED)]
    assert unwanted == [], f"`platformctl {' '.join(args)}` imported {unwanted}"
