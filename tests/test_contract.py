"""The environment contract: platform.toml for what the HCL cannot say, the HCL (read with
python-hcl2) for region and account. Every malformed contract names file, key and problem."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import REPO, make_project

from platformctl import cache
from platformctl.errors import ContractError
from platformctl.project import contract, hcl

MAIN_TF = 'resource "terraform_data" "this" {\n  input = "x"\n}\n'

# (platform.toml, what the one-line message must say besides the file's path)
MALFORMED = {
    "toml syntax": ("[platform\n", ["is not valid TOML", "line 1", "fix the syntax"]),
    "unknown table": ("[tools]\nx = 1\n", ["unknown table 'tools'", "use [platform] and [environments.NAME]"]),
    "unknown platform key": (
        '[platform]\nengin = "terraform"\n',
        ["platform.engin is not a known key", "use one of engine, provider_mirror, terraform_dir"],
    ),
    "unknown engine": ('[platform]\nengine = "pulumi"\n', ["platform.engine = 'pulumi'", "use one of terraform, tofu"]),
    "wrong type": ("[platform]\nterraform_dir = 3\n", ["platform.terraform_dir = 3 must be a str"]),
    "environments not tables": ("environments = 3\n", ["environments must be tables like [environments.dev]"]),
    "environment not a table": ("[environments]\ndemo = 1\n", ["environments.demo must be a table, not int"]),
    "unknown environment key": (
        '[environments.demo]\nregion = "eu-west-1"\n',
        ["environments.demo.region is not a known key", "use one of"],
    ),
    "bad approval": (
        '[environments.demo]\napproval = "maybe"\n',
        ["environments.demo.approval = 'maybe'", "use one of none, required"],
    ),
    "bad emulator": (
        '[environments.demo]\nemulator = "docker"\n',
        ["environments.demo.emulator = 'docker'", "use one of auto, moto, localstack"],
    ),
    "port out of range": (
        "[environments.demo]\nemulator_port = 70000\n",
        ["environments.demo.emulator_port = 70000", "TCP port between 1 and 65535"],
    ),
    "boolean port": (
        "[environments.demo]\nemulator_port = true\n",
        ["environments.demo.emulator_port = True must be a int"],
    ),
    "bad duration": (
        '[environments.demo]\nmax_plan_age = "tomorrow"\n',
        ["environments.demo.max_plan_age = 'tomorrow'", 'write a duration like "30m"'],
    ),
    "table without folder": (
        "[environments.staging]\n",
        ["environments.staging has no folder", "terraform/environments/staging", "create it or remove the table"],
    ),
}


@pytest.mark.parametrize(("text", "expected"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_contract_names_file_key_and_problem(cli, isolation: Path, text: str, expected: list[str]) -> None:
    make_project(isolation, {"demo": MAIN_TF}, contract=text)
    result = cli("plan", "demo")
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, result.stderr
    assert str(isolation.resolve() / "platform.toml") in lines[0]
    for fragment in expected:
        assert fragment in lines[0]


@pytest.mark.parametrize(
    ("versions_tf", "expected"),
    [
        ("terraform {\n  required_version = \n", "versions.tf is not valid HCL"),
        ("terraform {\n  required_providers {}\n}\n", "versions.tf has no terraform.required_version: add one"),
        (None, "versions.tf is missing: it holds required_version for every root"),
    ],
    ids=["invalid HCL", "no required_version", "no versions.tf"],
)
def test_versions_tf_problems(cli, isolation: Path, versions_tf: str | None, expected: str) -> None:
    make_project(isolation, {"demo": MAIN_TF})
    path = isolation / "terraform" / "versions.tf"
    if versions_tf is None:
        path.unlink()
    else:
        path.write_text(versions_tf)
    result = cli("plan", "demo")
    assert result.exit_code == 1
    assert f"{path.resolve()}" in result.stderr
    assert expected in result.stderr


def test_valid_contract_settings(isolation: Path) -> None:
    make_project(
        isolation,
        {"local": MAIN_TF, "prod": MAIN_TF},
        contract=(
            '[platform]\nprovider_mirror = "/srv/mirror"\n'
            '[environments.local]\nemulator = "moto"\nemulator_port = 4599\n'
            '[environments.prod]\naws_vault_profile = "p"\nbackend_config = "prod.s3.tfbackend"\n'
            'approval = "required"\nmax_plan_age = "24h"\n'
        ),
    )
    project = contract.load()
    assert project.root == isolation.resolve()
    assert project.provider_mirror == "/srv/mirror"
    local, prod = project.environment("local"), project.environment("prod")
    assert (local.is_emulated, local.emulator, local.emulator_port) == (True, "moto", 4599)
    assert not local.approval_required
    assert (prod.is_emulated, prod.aws_vault_profile, prod.approval_required) == (False, "p", True)
    assert prod.backend_config == project.environments_dir / "prod" / "prod.s3.tfbackend"
    assert prod.max_plan_age is not None and prod.max_plan_age.total_seconds() == 24 * 3600


def test_project_found_from_a_subfolder_and_by_root_variable(isolation: Path, tmp_path: Path, monkeypatch) -> None:
    make_project(isolation, {"demo": MAIN_TF})
    deep = isolation / "terraform" / "environments" / "demo"
    assert contract.find_root(deep) == isolation.resolve()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(contract.ROOT_ENV, str(isolation))
    assert contract.load().root == isolation.resolve()
    monkeypatch.setenv(contract.ROOT_ENV, str(tmp_path))
    with pytest.raises(ContractError, match=r"PLATFORMCTL_ROOT=.* has no platform\.toml"):
        contract.load()


PROVIDER_TF = """\
variable "aws_region" {
  type    = string
  default = "us-east-1"
}

variable "aws_account_id" {
  type = string
}

provider "aws" {
  region              = var.aws_region
  allowed_account_ids = [var.aws_account_id]
}

provider "aws" {
  alias  = "replica"
  region = "us-west-2"
}
"""


def test_region_and_account_come_from_the_hcl(isolation: Path) -> None:
    make_project(isolation, {"dev": PROVIDER_TF})
    env_dir = isolation / "terraform" / "environments" / "dev"
    (env_dir / "terraform.tfvars").write_text('aws_account_id = "111122223333"\n')
    dev = contract.load().environment("dev")
    assert dev.region == "us-east-1"  # the variable's default: the tfvars file does not set it
    assert dev.account_ids == ["111122223333"]
    assert dev.account_id == "111122223333"

    (env_dir / "terraform.tfvars").write_text('aws_account_id = "111122223333"\naws_region = "eu-central-1"\n')
    assert contract.load().environment("dev").region == "eu-central-1"  # tfvars wins over the default


def test_literal_region_and_several_accounts(isolation: Path) -> None:
    make_project(
        isolation,
        {
            "dev": 'provider "aws" {\n  region = "ap-south-1"\n'
            '  allowed_account_ids = ["111111111111", "222222222222"]\n}\n'
        },
    )
    dev = contract.load().environment("dev")
    assert dev.region == "ap-south-1"
    assert dev.account_ids == ["111111111111", "222222222222"]
    assert dev.account_id is None  # ambiguous: no single account to check against


@pytest.mark.skipif(
    not (REPO / "terraform" / "environments" / "local" / "providers.tf").is_file(),
    reason="needs the repository's terraform/environments/local (issue 3)",
)
def test_the_repository_contract() -> None:
    project = contract.load(REPO)
    assert {"local", "dev", "prod"} <= set(project.environment_names())
    local = project.environment("local")
    assert local.is_emulated
    assert local.account_ids == ["000000000000"]
    assert local.region
    prod = project.environment("prod")
    assert prod.approval_required


def test_parsed_hcl_is_cached_by_content_and_never_stale(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    tf = tmp_path / "main.tf"
    tf.write_text("locals {\n  answer = 42\n}\n")
    first = hcl.load(tf)
    assert first["locals"][0]["answer"] == 42
    entries = list((tmp_path / "cache" / "platformctl" / "hcl").glob("*.json"))
    assert len(entries) == 1

    # A hit does not need python-hcl2 at all.
    def no_parser(path: Path, text: str) -> dict:
        raise AssertionError("parsed again")

    with monkeypatch.context() as patched:
        patched.setattr(hcl, "_parse", no_parser)
        assert hcl.load(tf) == first

    tf.write_text("locals {\n  answer = 43\n}\n")  # same size, new content: a new key
    assert hcl.load(tf)["locals"][0]["answer"] == 43

    for entry in (tmp_path / "cache" / "platformctl" / "hcl").glob("*.json"):
        entry.write_text("{not json")
    assert hcl.load(tf)["locals"][0]["answer"] == 43  # a corrupt entry is a miss


def test_invalid_hcl_is_never_cached(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    tf = tmp_path / "broken.tf"
    tf.write_text("locals {\n")
    for _ in range(2):
        with pytest.raises(ContractError, match=f"{tf} is not valid HCL"):
            hcl.load(tf)
    assert not list((tmp_path / "cache").rglob("*.json"))


def test_cache_prunes_the_oldest_entries(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(cache, "MAX_ENTRIES", 3)
    folder = tmp_path / "platformctl" / "t"
    for n in range(5):
        cache.put("t", f"k{n}", {"n": n})
        os.utime(folder / f"k{n}.json", ns=(n * 10**9, n * 10**9))  # a clear age order
    kept = sorted(json.loads(p.read_text())["n"] for p in folder.glob("*.json"))
    assert kept == [2, 3, 4]


@pytest.mark.parametrize(
    ("extra_tf", "expected"),
    [
        (None, False),
        ('data "aws_caller_identity" "me" {}\n', True),
        ('resource "aws_s3_bucket" "lake" {\n  bucket = "lake"\n}\n', True),
        ('provider "aws" {\n  region = "eu-west-1"\n}\n', True),
        ('module "lake" {\n  source = "../../modules/s3_data_lake"\n}\n', True),
        ('resource "null_resource" "x" {}\n', False),
    ],
    ids=["terraform_data only", "aws data source", "aws resource", "aws provider", "module call", "null resource"],
)
def test_whether_a_root_can_reach_aws(isolation: Path, extra_tf: str | None, expected: bool) -> None:
    make_project(isolation, {"demo": MAIN_TF})
    if extra_tf is not None:
        (isolation / "terraform" / "environments" / "demo" / "extra.tf").write_text(extra_tf)
    assert contract.load().environment("demo").uses_aws is expected


# Gating follows the root's identity and HEAD's contract (tests/integration/test_gate_identity.py
# attempts the same against a real plan and state).

GATED = '[environments.prod]\napproval = "required"\nbackend_config = "prod.s3.tfbackend"\n'


def _gated_project(isolation: Path, extra: str = "") -> None:
    make_project(isolation, {"prod": MAIN_TF, "copy": MAIN_TF, "other": MAIN_TF}, contract=GATED + extra)
    for name in ("prod", "copy", "other"):
        folder = isolation / "terraform/environments" / name
        (folder / "prod.s3.tfbackend").write_text(f'bucket = "b"\nkey = "{"prod" if name != "other" else name}/s"\n')


def test_a_root_with_a_gated_roots_state_is_gated(isolation: Path) -> None:
    _gated_project(
        isolation,
        '[environments.copy]\nbackend_config = "prod.s3.tfbackend"\n'
        '[environments.other]\nbackend_config = "prod.s3.tfbackend"\n',
    )
    project = contract.load(isolation)
    assert project.environment("copy").approval_required
    assert project.environment("copy").gated_because == "its root or state is prod's"
    assert not project.environment("other").approval_required


def test_undeclared_folders_fail_closed_only_where_something_is_gated(isolation: Path) -> None:
    _gated_project(isolation)
    project = contract.load(isolation)
    with pytest.raises(ContractError, match="'other' is not declared in"):
        project.check_declared(project.environment("other"))
    project.check_declared(project.environment("prod"))


def test_a_symlinked_environment_folder_is_refused(isolation: Path) -> None:
    _gated_project(isolation)
    (isolation / "terraform/environments/alias").symlink_to("prod")
    with pytest.raises(ContractError, match="is a symlink"):
        contract.load(isolation).environment("alias")


def test_heads_gated_contract_wins_until_the_change_is_committed(isolation: Path) -> None:
    import subprocess

    _gated_project(isolation)
    run = lambda *a: subprocess.run(["git", *a], cwd=isolation, check=True, capture_output=True)  # noqa: E731
    run("init", "-q")
    run("add", "-A")
    run("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-m", "x")
    (isolation / "platform.toml").write_text(GATED.replace('"required"', '"none"'))
    assert contract.load(isolation).environment("prod").approval_required
    run("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qam", "ungate prod, reviewed")
    assert not contract.load(isolation).environment("prod").approval_required
