"""The justfile: the seed's recipes, each explained by `just --list`, each calling platformctl
or the test runner and nothing more; and `just infra-up`, `just tf-plan local` and
`just infra-down` for real on the embedded emulator."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from conftest import REPO, copy_repository, free_port
from integration.local_platform import small_local_project

JUSTFILE = REPO / "justfile"
BIN = Path(sys.executable).parent
SEED_RECIPES = ("tf-init", "tf-plan", "tf-apply", "tf-destroy", "infra-up", "infra-down")
OUR_RECIPES = ("lint", "fmt", "scan", "test", "doctor")


def just(*args: str, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("just", path=str(BIN)) or shutil.which("just")
    if not executable:
        pytest.skip("just is not installed: pip install -e '.[test]' (it comes from PyPI's rust-just)")
    # platformctl and `python` must resolve to this environment's, as in an activated venv.
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        [executable, "--justfile", str(JUSTFILE), "--working-directory", str(cwd or REPO), *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=timeout,
    )


def test_just_list_explains_every_recipe() -> None:
    result = just("--list")

    assert result.returncode == 0, result.stderr
    listed = {}
    for line in result.stdout.splitlines()[1:]:
        signature, _, doc = line.strip().partition(" # ")
        listed[signature.split()[0]] = (signature, doc.strip())
    for recipe in (*SEED_RECIPES, *OUR_RECIPES):
        assert recipe in listed, f"`just --list` does not show {recipe}"
        assert len(listed[recipe][1]) > 15, f"{recipe} needs a doc comment saying what it does"
    for recipe in ("tf-init", "tf-plan", "tf-apply", "tf-destroy"):
        assert 'env="local"' in listed[recipe][0], f"{recipe} takes an environment, default local"


def test_recipes_call_platformctl_or_the_test_runner_and_nothing_more() -> None:
    result = just("--dump", "--dump-format", "json")
    assert result.returncode == 0, result.stderr
    recipes = json.loads(result.stdout)["recipes"]
    for name, recipe in recipes.items():
        assert not recipe["dependencies"], f"{name}: one recipe, one command line (no hidden dependencies)"
        if name == "default":
            continue  # `just` alone lists the recipes
        for line in recipe["body"]:
            text = line[0] if line and isinstance(line[0], str) else ""
            assert text.startswith(("platformctl ", "python -m pytest")), f"{name}: {line}"


DRY_RUNS = [
    (["tf-init"], ["platformctl init local"]),
    (["tf-plan", "dev"], ["platformctl plan dev --no-detailed-exitcode"]),
    (["tf-plan", "dev", "--detailed-exitcode"], ["platformctl plan dev --detailed-exitcode"]),
    (
        ["tf-plan", "dev", "--", "-target=module.sqs"],
        ["platformctl plan dev --no-detailed-exitcode -- -target=module.sqs"],
    ),
    (["tf-apply", "prod"], ["platformctl apply prod"]),
    (["tf-destroy"], ["platformctl destroy local"]),
    (["infra-up", "--port", "4567"], ["platformctl up local --port 4567"]),
    (["infra-down"], ["platformctl down local"]),
    (["lint"], ["platformctl fmt --check", "platformctl validate --all"]),
    (["fmt"], ["platformctl fmt"]),
    (["scan"], ["python -m pytest tests/terraform -k checkov"]),
    (["test", "-x"], ["python -m pytest -x"]),
    (["doctor"], ["platformctl doctor"]),
]


@pytest.mark.parametrize(("args", "commands"), DRY_RUNS, ids=[" ".join(args) for args, _ in DRY_RUNS])
def test_each_recipe_runs_the_command_it_names(args: list[str], commands: list[str]) -> None:
    result = just("--dry-run", *args)

    assert result.returncode == 0, result.stderr
    assert [line.strip() for line in result.stderr.splitlines() if line.strip()] == commands


def test_a_failing_command_fails_the_recipe_with_its_exit_code(tmp_path: Path) -> None:
    """Exit codes pass through: CI and scripts can tell plan's 2 (changes) from 1 (error)."""
    result = just("tf-plan", "nowhere", cwd=copy_repository(tmp_path / "repo"))

    assert result.returncode == 1
    assert "Unknown environment 'nowhere'" in result.stderr


def test_tf_plan_with_changes_succeeds_unless_detailed_exitcode_is_asked(tmp_path: Path) -> None:
    """`just tf-plan` is not a failed recipe when there are changes: exit 0 and a line saying so;
    `--detailed-exitcode` gives Terraform's 2 back. A real plan of a `terraform_data` root."""
    from conftest import make_project

    if shutil.which("terraform") is None:
        pytest.skip("needs terraform >= 1.11 on PATH")
    root = make_project(tmp_path / "repo", {"demo": 'resource "terraform_data" "this" {\n  input = 1\n}\n'})
    changes = just("tf-plan", "demo", cwd=root)
    assert changes.returncode == 0, changes.stderr
    assert "demo has changes" in changes.stderr
    assert "error" not in changes.stderr.lower()
    detailed = just("tf-plan", "demo", "--detailed-exitcode", cwd=root)
    assert detailed.returncode == 2, detailed.stderr


@pytest.mark.integration
def test_infra_up_plan_and_down_on_the_embedded_emulator(
    tmp_path: Path, provider_mirror: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's laptop flow through just: up, a plan with nothing left to do, down."""
    import boto3

    repo = small_local_project(tmp_path / "repo", "just-flow")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("PLATFORMCTL_ROOT", str(repo))
    try:
        up = just("infra-up", "--emulator", "moto", "--port", str(port), cwd=repo, timeout=600)
        assert up.returncode == 0, up.stdout + up.stderr

        s3 = boto3.client(
            "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
        )
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["just-flow-data"], "infra-up applied the root"

        plan = just("tf-plan", "local", cwd=repo, timeout=600)
        assert plan.returncode == 0, f"a plan right after up should find nothing to do:\n{plan.stdout}{plan.stderr}"
        assert "local has changes" not in plan.stderr, plan.stderr
    finally:
        down = just("infra-down", cwd=repo, timeout=600)
    assert down.returncode == 0, down.stdout + down.stderr
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2)


def test_scan_selects_the_checkov_test() -> None:
    """`just scan` names tests by keyword; make sure the keyword still finds the checkov test."""
    collected = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/terraform",
            "-k",
            "checkov",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        timeout=120,
    )
    tests = [line for line in collected.stdout.splitlines() if "::" in line]
    assert collected.returncode == 0, collected.stdout + collected.stderr
    assert tests and all("checkov" in line for line in tests), collected.stdout
