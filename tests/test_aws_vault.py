"""Which credentials a real environment's terraform runs with: aws-vault prefix, profile
override, nested sessions, --no-vault / PLATFORMCTL_NO_VAULT / CI, aws-vault missing, and
the session mode that keeps long applies alive. No AWS here: aws-vault is looked up on PATH,
and where it must exist a stand-in file sits there (aws-vault cannot be installed here)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from conftest import make_project

from platformctl.aws import credentials
from platformctl.errors import ContractError, CredentialsError, PlatformctlError
from platformctl.project import contract

ROOT = 'provider "aws" {\n  region = "eu-west-1"\n}\n'


def environment(isolation: Path, table: str = "") -> contract.Environment:
    make_project(isolation, {"dev": ROOT}, contract=f'[environments.dev]\naws_vault_profile = "team-dev"\n{table}')
    return contract.load(isolation).environment("dev")


@pytest.fixture
def vault_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in aws-vault executable (never run by these tests: only found on PATH)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stand_in = bin_dir / "aws-vault"
    stand_in.write_text("#!/bin/sh\nexit 99\n")
    stand_in.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    return stand_in


def test_contract_profile_runs_under_the_credential_server(isolation: Path, vault_on_path: Path) -> None:
    creds = credentials.for_environment(environment(isolation))
    assert creds.prefix == ("aws-vault", "exec", "--ecs-server", "team-dev", "--")
    assert creds.env == {}
    assert "--ecs-server" in creds.description and "refresh" in creds.description


def test_profile_option_overrides_the_contract(isolation: Path, vault_on_path: Path) -> None:
    creds = credentials.for_environment(environment(isolation), profile="break-glass")
    assert creds.prefix[-2:] == ("break-glass", "--")


@pytest.mark.parametrize(("duration", "flag"), [("4h", "4h"), ("90m", "90m"), ("1d", "24h"), ("15m", "15m")])
def test_session_duration_asks_for_one_long_session(
    isolation: Path, vault_on_path: Path, duration: str, flag: str
) -> None:
    creds = credentials.for_environment(environment(isolation, f'session_duration = "{duration}"\n'))
    assert creds.prefix == ("aws-vault", "exec", "--duration", flag, "team-dev", "--")
    assert f"one {flag} aws-vault session" in creds.description


@pytest.mark.parametrize("duration", ["10m", "2d"])
def test_session_duration_outside_what_sts_allows(isolation: Path, vault_on_path: Path, duration: str) -> None:
    with pytest.raises(CredentialsError, match="AWS sessions last 15m to 36h"):
        credentials.for_environment(environment(isolation, f'session_duration = "{duration}"\n'))


def test_malformed_session_duration_fails_when_the_contract_loads(isolation: Path) -> None:
    with pytest.raises(ContractError, match=re.escape("environments.dev.session_duration = 'forever'")):
        environment(isolation, 'session_duration = "forever"\n')


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("PLATFORMCTL_NO_VAULT", "1", "PLATFORMCTL_NO_VAULT=1"),
        ("CI", "true", "CI=true"),
    ],
)
def test_ambient_credentials_without_aws_vault(
    isolation: Path, monkeypatch, variable: str, value: str, reason: str
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")  # aws-vault absent: not needed, so no error
    monkeypatch.setenv(variable, value)
    creds = credentials.for_environment(environment(isolation))
    assert creds.prefix == () and creds.env == {}
    assert creds.description == f"ambient AWS credentials ({reason})"


def test_no_vault_flag(isolation: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    creds = credentials.for_environment(environment(isolation), no_vault=True)
    assert creds.prefix == () and "(--no-vault)" in creds.description


def test_aws_vault_missing_is_one_line_naming_the_install_and_no_vault(isolation: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(CredentialsError) as missing:
        credentials.for_environment(environment(isolation))
    message = str(missing.value)
    assert "\n" not in message
    assert "aws-vault not found on PATH" in message and "'team-dev'" in message
    assert "brew install aws-vault" in message and "--no-vault" in message


def test_inside_a_session_of_the_same_profile_it_is_used_as_is(isolation: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")  # no second aws-vault: nesting is never attempted
    monkeypatch.setenv("AWS_VAULT", "team-dev")
    creds = credentials.for_environment(environment(isolation))
    assert creds.prefix == ()
    assert "current aws-vault session of profile team-dev" in creds.description


def test_inside_a_session_of_another_profile_it_is_refused_naming_both(
    isolation: Path, vault_on_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("AWS_VAULT", "team-prod")
    with pytest.raises(CredentialsError) as nested:
        credentials.for_environment(environment(isolation))
    assert "inside aws-vault session 'team-prod' but dev uses profile 'team-dev'" in str(nested.value)


def test_emulated_environments_never_use_aws_vault(isolation: Path, monkeypatch) -> None:
    make_project(isolation, {"local": ROOT}, contract='[environments.local]\nemulator = "moto"\n')
    monkeypatch.setenv("AWS_VAULT", "team-prod")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREAL")
    creds = credentials.for_environment(contract.load(isolation).environment("local"))
    assert creds.prefix == ()
    assert creds.env["AWS_VAULT"] is None and creds.env["AWS_ACCESS_KEY_ID"] == "test"


def test_run_python_reports_the_childs_error_line(monkeypatch) -> None:
    # The probe protocol: one JSON object on stdout; {"error": ...} becomes the one-line error.
    creds = credentials.Credentials(
        env={
            "AWS_ACCESS_KEY_ID": None,
            "AWS_SECRET_ACCESS_KEY": None,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    with pytest.raises(PlatformctlError, match="No AWS credentials found"):
        credentials.run_python(creds, "platformctl.aws.account", "--region", "eu-west-1")
