"""Where Terraform gets hashicorp/aws: the machine's filesystem mirror through the CLI config
platformctl generates, the user's own TF_CLI_CONFIG_FILE when no mirror is set, and one
plugin cache per user. These machines have no internet, so a successful init proves the
provider came from where the test says."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import ENABLE_MIRROR, MIRROR, make_project

from platformctl.project import hcl
from platformctl.terraform import providers

pytestmark = pytest.mark.integration

AWS_ROOT = """\
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }
}
"""
AWS = "registry.terraform.io/hashicorp/aws"


@pytest.fixture
def user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh per-user cache directory, so the test sees what init puts there."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    return tmp_path / "user-cache" / "platformctl" / "plugin-cache"


def cached_aws_links(plugin_cache: Path) -> list[Path]:
    """The platform folders of hashicorp/aws in the plugin cache (links into a mirror)."""
    return sorted((plugin_cache / AWS).glob("*/*"))


def test_init_offline_from_the_machines_mirror(cli, isolation: Path, provider_mirror: Path, user_cache: Path) -> None:
    make_project(isolation, {"demo": AWS_ROOT})
    result = cli("init", "demo")
    assert result.exit_code == 0, result.stderr

    root = isolation / "terraform" / "environments" / "demo"
    held = {p.name for p in (provider_mirror / AWS).iterdir()}
    installed = {p.name for p in (root / ".terraform" / "providers" / AWS).iterdir()}
    assert installed and installed <= held  # a version the mirror holds
    assert f'provider "{AWS}"' in (root / ".terraform.lock.hcl").read_text()

    links = cached_aws_links(user_cache)
    assert links, "the provider did not go through the per-user plugin cache"
    assert all(os.readlink(link).startswith(str(provider_mirror.resolve())) for link in links)
    assert list((isolation / ".platformctl").glob("terraformrc-*.tfrc"))


@pytest.mark.parametrize("setting", ["variable", "contract"])
def test_a_missing_mirror_is_named(cli, isolation: Path, monkeypatch, setting: str) -> None:
    bogus = isolation / "no-such-mirror"
    contract = ""
    if setting == "variable":
        monkeypatch.setenv("PLATFORMCTL_PROVIDER_MIRROR", str(bogus))
    else:
        contract = f'[platform]\nprovider_mirror = "{bogus}"\n'
    make_project(isolation, {"demo": AWS_ROOT}, contract=contract)
    result = cli("init", "demo")
    assert result.exit_code == 1
    assert f"Provider mirror {bogus} does not exist" in result.stderr
    assert "PLATFORMCTL_PROVIDER_MIRROR or provider_mirror in platform.toml" in result.stderr


def test_an_empty_mirror_is_named(cli, isolation: Path, monkeypatch) -> None:
    empty = isolation / "empty-mirror"
    empty.mkdir()
    monkeypatch.setenv("PLATFORMCTL_PROVIDER_MIRROR", str(empty))
    make_project(isolation, {"demo": AWS_ROOT})
    result = cli("--json", "init", "demo")
    assert result.exit_code == 1
    assert f"Provider mirror {empty} holds no providers" in json.loads(result.stdout)["error"]


def fake_mirror(folder: Path, *addresses: str) -> Path:
    for address in addresses:
        platform_dir = folder / address / "1.0.0" / "linux_amd64"
        platform_dir.mkdir(parents=True)
        (platform_dir / f"terraform-provider-{address.rsplit('/', 1)[1]}_v1.0.0").write_text("")
    return folder


def test_generated_cli_config_mirrors_what_the_mirror_holds_and_goes_direct_for_the_rest(tmp_path: Path) -> None:
    mirror = fake_mirror(tmp_path / "mirror", AWS, "example.com/acme/widget")
    (tmp_path / "mirror" / "registry.terraform.io" / "hashicorp" / "emptytype").mkdir()  # holds nothing
    state_dir = tmp_path / "state"
    path = providers.write_cli_config(mirror, state_dir)

    config = hcl.load(path)["provider_installation"][0]
    expected = ["example.com/acme/widget", AWS]
    assert config["filesystem_mirror"][0] == {"path": str(mirror.resolve()), "include": expected}
    assert config["direct"][0] == {"exclude": expected}

    assert providers.write_cli_config(mirror, state_dir) == path  # stable while the mirror is
    fake_mirror(mirror, "registry.terraform.io/hashicorp/random")
    assert providers.write_cli_config(mirror, state_dir) != path  # a new provider: a new config


def test_the_variable_wins_over_the_contract(tmp_path: Path, monkeypatch) -> None:
    assert providers.mirror_from("/from/contract") == Path("/from/contract")
    monkeypatch.setenv("PLATFORMCTL_PROVIDER_MIRROR", "/from/variable")
    assert providers.mirror_from("/from/contract") == Path("/from/variable")


def test_users_own_cli_config_is_used_when_no_mirror_is_set(
    cli, isolation: Path, tmp_path: Path, user_cache: Path, monkeypatch
) -> None:
    if not MIRROR:
        pytest.skip(ENABLE_MIRROR)
    # The user's own mirror: a folder of links into the machine's, at a path only their
    # config names, so the plugin cache's link shows which config Terraform read.
    # Terraform follows a link only at the platform level of a mirror.
    users_mirror = tmp_path / "users-mirror"
    for platform_dir in (Path(MIRROR) / AWS).glob("*/*"):
        link = users_mirror / AWS / platform_dir.parent.name / platform_dir.name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(platform_dir)
    users_config = tmp_path / "user.tfrc"
    users_config.write_text(
        f'provider_installation {{\n  filesystem_mirror {{\n    path = "{users_mirror}"\n  }}\n}}\n'
    )
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(users_config))
    assert "TF_CLI_CONFIG_FILE" not in providers.terraform_env(None, tmp_path / "state")

    make_project(isolation, {"demo": AWS_ROOT})
    result = cli("init", "demo")
    assert result.exit_code == 0, result.stderr
    links = cached_aws_links(user_cache)
    assert links and all(os.readlink(link).startswith(str(users_mirror)) for link in links)
    assert users_config.read_text().startswith("provider_installation")  # untouched
    assert not list((isolation / ".platformctl").glob("terraformrc-*"))


def test_plugin_cache_is_one_per_user(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    first = providers.terraform_env(None, tmp_path / "project-a" / ".platformctl")["TF_PLUGIN_CACHE_DIR"]
    second = providers.terraform_env(None, tmp_path / "project-b" / ".platformctl")["TF_PLUGIN_CACHE_DIR"]
    assert first == second == str(tmp_path / "xdg" / "platformctl" / "plugin-cache")
    assert Path(first).is_dir()  # Terraform ignores a cache folder that does not exist
    monkeypatch.delenv("XDG_CACHE_HOME")
    home_cache = providers.terraform_env(None, tmp_path)["TF_PLUGIN_CACHE_DIR"]
    assert home_cache == str(Path.home() / ".cache" / "platformctl" / "plugin-cache")


def test_doctor_reports_the_mirror(cli, isolation: Path, provider_mirror: Path) -> None:
    make_project(isolation, {"demo": AWS_ROOT})
    checks = {c["name"]: c for c in json.loads(cli("--json", "doctor").stdout)["checks"]}
    assert checks["Providers"]["status"] == "ok"
    assert f"mirror {provider_mirror} ({AWS})" in checks["Providers"]["detail"]


def test_doctor_fails_on_a_missing_mirror(cli, isolation: Path, monkeypatch) -> None:
    monkeypatch.setenv("PLATFORMCTL_PROVIDER_MIRROR", str(isolation / "gone"))
    make_project(isolation, {"demo": AWS_ROOT})
    result = cli("--json", "doctor")
    assert result.exit_code == 1
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["Providers"]["status"] == "fail"
    assert str(isolation / "gone") in checks["Providers"]["detail"]
