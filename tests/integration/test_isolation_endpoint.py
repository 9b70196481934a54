"""Local isolation, the endpoint: whatever sets `emulator_endpoint`, an emulated run talks to
the emulator platformctl recorded, and to nothing else.

Each attack is made for real: a tiny emulated root (one bucket) with the real Terraform and
the hashicorp/aws provider from the machine's mirror, a real moto server as the emulator, and
a "foreign address" (integration/foreign.py: a real server on loopback, named as a remote host
would be, that records every request) that the attack points the endpoint at. The foreign address must
receive nothing, and the run must either succeed on the emulator or refuse with one line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import MIRROR, TEST_CACHE, MotoServer, free_port, make_project, start_moto

from integration.foreign import Foreign, foreign_server
from platformctl.emulators import isolation
from platformctl.emulators import lifecycle as emulator
from platformctl.errors import ContractError, TerraformFailed
from platformctl.project import contract

pytestmark = pytest.mark.integration

VERSIONS = 'terraform {\n  required_providers {\n    aws = {\n      source = "hashicorp/aws"\n    }\n  }\n}\n'
VARIABLE = """\
variable "emulator_endpoint" {
  type    = string
  default = "http://127.0.0.1:4566"
}
"""
PROVIDER = """\
provider "aws" {
  region                      = "us-east-1"
  allowed_account_ids         = ["000000000000"]
  access_key                  = "test"
  secret_key                  = "test"
  s3_use_path_style           = true
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  max_retries                 = 1
  http_proxy                  = "http://127.0.0.1:1"
  https_proxy                 = "http://127.0.0.1:1"
  no_proxy                    = "127.0.0.1,localhost,::1"
}
"""
# The same provider with an endpoints block (allowed, not needed): the side doors below edit it.
WITH_ENDPOINTS = PROVIDER.replace(
    "}\n",
    "  endpoints {\n    iam = var.emulator_endpoint\n    s3  = var.emulator_endpoint\n  }\n}\n",
)
BUCKET = """\
resource "aws_s3_bucket" "data" {
  bucket = "isolation-check"
}

output "platform_resources" {
  value = {
    endpoint = var.emulator_endpoint
    buckets  = [aws_s3_bucket.data.bucket]
  }
}
"""


def tiny_root(destination: Path, port: int, main_tf: str = VARIABLE + PROVIDER + BUCKET) -> Path:
    contract_text = f'[environments.local]\nemulator = "moto"\nemulator_port = {port}\n'
    return make_project(destination, {"local": VERSIONS + main_tf}, contract=contract_text)


def env_dir(root: Path) -> Path:
    return root / "terraform" / "environments" / "local"


def shell(home: Path) -> dict[str, str]:
    """The caller's environment without AWS_*, PLATFORMCTL_*, TF_*; the machine's mirror and cache."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "PLATFORMCTL_", "TF_")) and name not in ("CI", "NO_COLOR")
    }
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        XDG_CACHE_HOME=str(TEST_CACHE),
        PLATFORMCTL_PROVIDER_MIRROR=MIRROR,
        TF_IN_AUTOMATION="1",
        COLUMNS="1000",
    )
    return env


def platformctl(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "platformctl", "--root", str(root), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line.removeprefix("Error: ") for line in result.stderr.splitlines() if line.startswith("Error: ")]


def buckets(server: MotoServer) -> set[str]:
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    return {b["Name"] for b in s3.list_buckets()["Buckets"]}


@pytest.fixture
def foreign() -> Iterator[Foreign]:
    with foreign_server() as server:
        yield server


# Each attack: files it writes into the root (or beside it) and the shell variables it sets.
Attack = Callable[[Path, Path, str], dict[str, str]]


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _tfvars(root: Path, outside: Path, url: str) -> dict[str, str]:
    _write(env_dir(root) / "terraform.tfvars", f'emulator_endpoint = "{url}"\n')
    return {}


def _auto_tfvars(root: Path, outside: Path, url: str) -> dict[str, str]:
    _write(env_dir(root) / "zz-override.auto.tfvars", f'emulator_endpoint = "{url}"\n')
    return {}


def _tf_var(root: Path, outside: Path, url: str) -> dict[str, str]:
    return {"TF_VAR_emulator_endpoint": url}


def _cli_args_var(root: Path, outside: Path, url: str) -> dict[str, str]:
    return {"TF_CLI_ARGS_plan": f"-var=emulator_endpoint={url}", "TF_CLI_ARGS_apply": f"-var=emulator_endpoint={url}"}


def _cli_args_var_file(root: Path, outside: Path, url: str) -> dict[str, str]:
    _write(outside / "evil.tfvars", f'emulator_endpoint = "{url}"\n')
    return {"TF_CLI_ARGS": f"-var-file={outside / 'evil.tfvars'}"}


def _sdk_endpoint(root: Path, outside: Path, url: str) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL": url, "AWS_ENDPOINT_URL_S3": url, "AWS_ENDPOINT_URL_STS": url}


ATTACKS: dict[str, Attack] = {
    "terraform.tfvars": _tfvars,
    "auto.tfvars": _auto_tfvars,
    "TF_VAR_emulator_endpoint": _tf_var,
    "TF_CLI_ARGS_plan -var": _cli_args_var,
    "TF_CLI_ARGS -var-file": _cli_args_var_file,
    "AWS_ENDPOINT_URL_*": _sdk_endpoint,
}


@pytest.mark.parametrize("attack", list(ATTACKS.values()), ids=list(ATTACKS))
def test_plan_talks_to_the_emulator_whatever_sets_the_endpoint(
    tmp_path: Path, provider_mirror: Path, moto_server: MotoServer, foreign: Foreign, attack: Attack
) -> None:
    root = tiny_root(tmp_path / "repo", moto_server.port)
    env = shell(tmp_path / "home") | attack(root, tmp_path, foreign.url)
    result = platformctl(root, env, "plan", "local")
    # 2: changes planned, which needs the provider's account check (STS) to have answered:
    # only the emulator can have answered it.
    assert result.returncode == 2, result.stderr[-4000:]
    assert "aws_s3_bucket.data will be created" in result.stdout + result.stderr
    assert foreign.requests == [], f"calls reached the foreign address: {foreign.requests}"


def test_up_applies_on_the_emulator_despite_every_override_at_once(
    tmp_path: Path, provider_mirror: Path, moto_server: MotoServer, foreign: Foreign
) -> None:
    root = tiny_root(tmp_path / "repo", moto_server.port)
    env = shell(tmp_path / "home")
    for attack in ATTACKS.values():
        env |= attack(root, tmp_path, foreign.url)
    result = platformctl(root, env, "--json", "up")
    assert result.returncode == 0, result.stderr[-4000:]
    up = json.loads(result.stdout)
    assert up["resources"]["endpoint"] == moto_server.endpoint, "the state names the emulator, not the override"
    assert buckets(moto_server) == {"isolation-check"}
    assert foreign.requests == [], f"calls reached the foreign address: {foreign.requests}"
    assert "ignoring TF_CLI_ARGS, TF_CLI_ARGS_apply, TF_CLI_ARGS_plan, TF_VAR_emulator_endpoint" in result.stderr


def test_a_saved_plan_made_for_another_endpoint_is_refused(
    tmp_path: Path, provider_mirror: Path, moto_server: MotoServer
) -> None:
    """A plan carries its variables: one made by hand against a second (foreign) moto server
    must not be applied by `platformctl apply local PLAN`."""
    other = start_moto(tmp_path / "foreign-moto.log")
    try:
        root = tiny_root(tmp_path / "repo", moto_server.port)
        env = shell(tmp_path / "home")
        assert platformctl(root, env, "plan", "local").returncode == 2  # init, the platformctl way
        plan = tmp_path / "foreign.tfplan"
        terraform = shutil.which("terraform")
        if terraform is None:
            pytest.skip("needs terraform on PATH to make a plan by hand")
        made = subprocess.run(
            [terraform, "plan", "-input=false", f"-var=emulator_endpoint={other.endpoint}", f"-out={plan}"],
            cwd=env_dir(root),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            env=env
            | {
                "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_ENDPOINT_URL": other.endpoint,  # the documented way to aim plain terraform
                "CHECKPOINT_DISABLE": "1",
            },
        )
        assert made.returncode == 0, made.stderr[-3000:]

        result = platformctl(root, env, "apply", "local", str(plan))
        assert result.returncode == 1, result.stderr[-3000:]
        (line,) = error_lines(result)
        assert f"was made with emulator_endpoint = '{other.endpoint}'" in line
        assert buckets(other) == set(), "nothing may be created on the foreign server"
        assert buckets(moto_server) == set()
    finally:
        other.stop()


def test_a_recorded_endpoint_that_is_not_loopback_is_refused(
    tmp_path: Path, foreign: Foreign, moto_server: MotoServer, cli: Callable[..., Any]
) -> None:
    """The emulator record is a file in the repository: an endpoint edited into it is refused."""
    root = tiny_root(tmp_path / "repo", moto_server.port)
    project = contract.load(root)
    emulator.save_record(project, emulator.Record("moto", foreign.port, foreign.url, False, "x", "now"))
    result = cli("--root", str(root), "plan", "local", env={"COLUMNS": "1000"})
    assert result.exit_code == 1
    assert f"The emulator endpoint '{foreign.url}' is not a loopback URL" in result.output
    assert foreign.requests == []


# --- side doors the static guard closes before any Terraform runs -------------------------

ALIAS = PROVIDER + 'provider "aws" {\n  alias  = "real"\n  region = "us-east-1"\n}\n'
ALIAS_USER = 'resource "aws_s3_bucket" "real" {\n  provider = aws.real\n  bucket   = "x"\n}\n'
S3_BACKEND = 'terraform {\n  backend "s3" {\n    bucket = "state"\n    key    = "k"\n  }\n}\n'
MODULE_CALL = 'module "m" {\n  source = "../../modules/m"\n}\n'


def provider_to(url: str, *services: str) -> str:
    endpoints = "".join(f'    {service} = "{url}"\n' for service in services)
    return f'provider "aws" {{\n  endpoints {{\n{endpoints}  }}\n}}\n'


OTHER_VARIABLE = VARIABLE + 'variable "s3_endpoint" {\n  type    = string\n  default = "http://127.0.0.1:4566"\n}\n'


def _root_with(tmp_path: Path, main_tf: str, files: dict[str, str] | None = None) -> Path:
    root = tiny_root(tmp_path / "repo", free_port(), main_tf)
    for name, text in (files or {}).items():
        _write(root / name, text)
    return root


CLOSED = '  https_proxy                 = "http://127.0.0.1:1"'
UNCLOSED = "".join(line + "\n" for line in PROVIDER.splitlines() if "proxy" not in line)

SIDE_DOORS: dict[str, tuple[Callable[[str], tuple[str, dict[str, str]]], str]] = {
    "a provider without the closing proxy": (
        lambda url: (VARIABLE + UNCLOSED + BUCKET, {}),
        "has no http_proxy, has no https_proxy, has no no_proxy",
    ),
    "a second provider alias without the closing proxy": (
        lambda url: (VARIABLE + ALIAS + BUCKET + ALIAS_USER, {}),
        "(alias real) in",
    ),
    "a module with its own provider": (
        lambda url: (
            VARIABLE + PROVIDER + BUCKET + MODULE_CALL,
            {"terraform/modules/m/main.tf": provider_to(url, "s3")},
        ),
        'declares its own provider "aws"',
    ),
    "an endpoint from another variable": (
        lambda url: (
            OTHER_VARIABLE + WITH_ENDPOINTS.replace("s3  = var.emulator_endpoint", "s3  = var.s3_endpoint") + BUCKET,
            {"terraform/environments/local/terraform.tfvars": f's3_endpoint = "{url}"\n'},
        ),
        "points s3 = ${var.s3_endpoint} away from the emulator",
    ),
    "a foreign literal": (
        lambda url: (VARIABLE + WITH_ENDPOINTS.replace("s3  = var.emulator_endpoint", f's3  = "{url}"') + BUCKET, {}),
        "away from the emulator",
    ),
    "a loopback-looking URL with a user part": (
        lambda url: (
            VARIABLE
            + WITH_ENDPOINTS.replace("s3  = var.emulator_endpoint", f's3  = "http://127.0.0.1@{url.split("//")[1]}"')
            + BUCKET,
            {},
        ),
        "away from the emulator",
    ),
    "an override file": (
        lambda url: (
            VARIABLE + PROVIDER + BUCKET,
            {"terraform/environments/local/evil_override.tf": provider_to(url, "iam", "s3", "sts")},
        ),
        "away from the emulator",
    ),
    "an override file that reopens the proxy": (
        lambda url: (
            VARIABLE + PROVIDER + BUCKET,
            {"terraform/environments/local/evil_override.tf": 'provider "aws" {\n  https_proxy = ""\n}\n'},
        ),
        "sets https_proxy =  (evil_override.tf)",
    ),
    "JSON configuration": (
        lambda url: (
            VARIABLE + PROVIDER + BUCKET,
            {
                "terraform/environments/local/evil.tf.json": json.dumps(
                    {"provider": {"aws": {"alias": "j", "endpoints": {"s3": url}}}}
                )
            },
        ),
        "is JSON configuration",
    ),
    "a provider-level proxy": (
        lambda url: (VARIABLE + PROVIDER.replace(CLOSED, f'  https_proxy = "{url}"') + BUCKET, {}),
        "sets https_proxy = http://",
    ),
    "a no_proxy that lets everything past": (
        lambda url: (
            VARIABLE + PROVIDER.replace('"127.0.0.1,localhost,::1"', '"127.0.0.1,*"') + BUCKET,
            {},
        ),
        "sets no_proxy = 127.0.0.1,*",
    ),
    "a profile of ~/.aws/config": (
        lambda url: (VARIABLE + PROVIDER.replace("max_retries                 = 1", 'profile = "prod"') + BUCKET, {}),
        "sets profile",
    ),
    "an s3 backend on AWS": (
        lambda url: (VARIABLE + PROVIDER + BUCKET + S3_BACKEND, {}),
        'configures backend "s3"',
    ),
}


@pytest.mark.parametrize("door", list(SIDE_DOORS), ids=list(SIDE_DOORS))
def test_a_side_door_is_refused_before_anything_starts(
    tmp_path: Path, foreign: Foreign, cli: Callable[..., Any], door: str
) -> None:
    build, expected = SIDE_DOORS[door]
    main_tf, extra = build(foreign.url)
    root = _root_with(tmp_path, main_tf, extra)
    with pytest.raises(ContractError) as refused:
        isolation.check_endpoints(contract.load(root).environment("local"))
    assert expected in str(refused.value) and "\n" not in str(refused.value)

    result = cli("--root", str(root), "up", env={"COLUMNS": "1000"})
    assert result.exit_code == 1 and expected in result.output
    assert emulator.load_record(contract.load(root)) is None, "no emulator may start for a refused root"
    assert not (env_dir(root) / ".terraform").exists(), "Terraform must not have run"
    assert foreign.requests == []


def test_terraform_itself_cannot_leave_the_machine(
    tmp_path: Path, provider_mirror: Path, moto_server: MotoServer, foreign: Foreign
) -> None:
    """Below the guard: even with the pin removed, AWS_ENDPOINT_URL pointed at a host by name
    and the run's own proxy variables opened (HTTPS_PROXY and NO_PROXY foreign), the provider
    block's own proxy arguments send every call to the closed port."""
    if foreign.host.startswith("127."):
        pytest.skip(
            "needs a host name that /etc/hosts maps to loopback (Go never proxies a loopback IP): "
            "add one, e.g. `127.0.0.1 $(hostname)`"
        )
    from platformctl.context import Context, Options

    root = tiny_root(tmp_path / "repo", moto_server.port)
    ctx = Context(Options(root=root, color=False))
    tf = ctx.terraform_for(ctx.environment("local"))
    tf.interactive = False
    tf.init()
    tf.pinned = {}  # as if the environment lock had a hole
    tf.env["TF_VAR_emulator_endpoint"] = foreign.url
    tf.env["AWS_ENDPOINT_URL"] = foreign.url
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        tf.env[name] = foreign.url
    # NO_PROXY naming the foreign host: if it won over the provider's own no_proxy, the call
    # would reach the (loopback, recording) foreign address, never AWS.
    tf.env.update(NO_PROXY=foreign.host, no_proxy=foreign.host)
    with pytest.raises(TerraformFailed, match="terraform plan failed"):
        tf.plan()
    assert foreign.requests == [], f"calls reached the foreign address: {foreign.requests}"


def test_a_fetched_module_with_its_own_provider_is_refused_before_the_plan(
    tmp_path: Path, provider_mirror: Path, moto_server: MotoServer, foreign: Foreign
) -> None:
    """A module from a git source cannot be read before init fetches it: the guard runs again
    before every plan, apply and destroy."""
    git = shutil.which("git")
    if git is None:
        pytest.skip("needs git on PATH to serve a module from a git source")
    module = tmp_path / "module-repo"
    module.mkdir()
    (module / "main.tf").write_text(
        provider_to(foreign.url, "iam", "s3", "sts")
        + 'resource "aws_s3_bucket" "this" {\n  bucket = "from-the-module"\n}\n'
    )
    for args in (
        ["init", "-q"],
        ["add", "main.tf"],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "module"],
    ):
        subprocess.run([git, *args], cwd=module, check=True, capture_output=True)
    call = f'module "fetched" {{\n  source = "git::file://{module}"\n}}\n'
    root = tiny_root(tmp_path / "repo", moto_server.port, VARIABLE + PROVIDER + BUCKET + call)

    result = platformctl(root, shell(tmp_path / "home"), "up")
    assert result.returncode == 1, result.stderr[-3000:]
    (line,) = error_lines(result)
    assert 'declares its own provider "aws"' in line
    assert not (env_dir(root) / "terraform.tfstate").exists(), "nothing may be planned or applied"
    assert buckets(moto_server) == set()
    assert foreign.requests == []
