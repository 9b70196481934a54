"""Local isolation, the environment: nothing of the shell (AWS_* variables, legacy names
included, ~/.aws/config, HTTP(S)_PROXY/ALL_PROXY, Terraform's checkpoint) reaches an emulated
run or sends a call anywhere but the emulator.

For real: platformctl starts its own moto server, the real Terraform and provider apply a tiny
root, and a `terraform_data` local-exec writes down the environment Terraform actually ran
with (the provider plugin inherits the same). The hostile values all point at a "foreign
address" (integration/foreign.py), which also stands in as the shell's proxy: it must
receive nothing, not even Terraform's checkpoint call (CONNECT checkpoint-api.hashicorp.com).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from conftest import free_port, make_project

from integration.foreign import Foreign, foreign_server
from integration.test_isolation_endpoint import BUCKET, PROVIDER, VARIABLE, VERSIONS, platformctl, shell
from platformctl import process
from platformctl.aws import credentials
from platformctl.emulators import lifecycle as emulator
from platformctl.project import contract
from platformctl.terraform import engine

pytestmark = pytest.mark.integration

ENV_DUMP = """\
resource "terraform_data" "env" {
  provisioner "local-exec" {
    command = "env > terraform-env.txt"
  }
}
"""


def hostile_shell(home: Path, foreign: str) -> dict[str, str]:
    """What a laptop's shell may hold, every value leading away from the emulator."""
    aws = home / ".aws"
    aws.mkdir(parents=True)
    (aws / "config").write_text(
        f"[default]\nendpoint_url = {foreign}\nregion = eu-west-1\n\n"
        f"[profile production-admin]\nendpoint_url = {foreign}\ncredential_process = /bin/false\n"
        f"[services prod]\ns3 =\n  endpoint_url = {foreign}\n"
    )
    (aws / "credentials").write_text("[default]\naws_access_key_id = AKIAREALREALREAL\naws_secret_access_key = real\n")
    return {
        "AWS_PROFILE": "production-admin",
        "AWS_DEFAULT_PROFILE": "production-admin",
        "AWS_ACCESS_KEY": "AKIALEGACYLEGACY",
        "AWS_SECRET_KEY": "legacy-secret",
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "real-secret",
        "AWS_SESSION_TOKEN": "real-session",
        "AWS_SECURITY_TOKEN": "real-session",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "ap-south-1",
        "AWS_CA_BUNDLE": str(home / "no-such-bundle.pem"),  # a provider that reads it fails to start
        "AWS_ENDPOINT_URL": foreign,
        "AWS_ENDPOINT_URL_STS": foreign,
        "AWS_ENDPOINT_URL_S3": foreign,
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "false",
        "AWS_SDK_LOAD_CONFIG": "1",
        "AWS_STS_REGIONAL_ENDPOINTS": "legacy",
        "AWS_USE_FIPS_ENDPOINT": "true",
        "AWS_USE_DUALSTACK_ENDPOINT": "true",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT": foreign,
        "AWS_EC2_METADATA_DISABLED": "false",
        "AWS_METADATA_SERVICE_TIMEOUT": "30",
        "AWS_METADATA_SERVICE_NUM_ATTEMPTS": "5",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"{foreign}/creds",
        "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/x",
        "AWS_WEB_IDENTITY_TOKEN_FILE": str(home / "token"),
        "HTTP_PROXY": foreign,
        "HTTPS_PROXY": foreign,
        "ALL_PROXY": foreign,
        "http_proxy": foreign,
        "https_proxy": foreign,
        "all_proxy": foreign,
        # Naming the foreign host: were it to win over the provider's own no_proxy, a call
        # would go straight to it (still loopback, and recorded) rather than out to AWS.
        "NO_PROXY": urlsplit(foreign).hostname or "",
        "no_proxy": urlsplit(foreign).hostname or "",
        "TF_CLI_ARGS": "-lock=false",
    }


@pytest.fixture
def foreign() -> Iterator[Foreign]:
    with foreign_server() as server:
        yield server


@pytest.fixture
def stop_emulator(tmp_path: Path) -> Iterator[list[Path]]:
    roots: list[Path] = []
    yield roots
    for root in roots:
        record = emulator.load_record(contract.load(root))
        if record and record.pid and record.started_by_platformctl:
            process.stop_detached(record.pid)


def test_up_status_and_down_run_clean_whatever_the_shell_holds(
    tmp_path: Path, provider_mirror: Path, foreign: Foreign, stop_emulator: list[Path]
) -> None:
    port = free_port()
    root = make_project(
        tmp_path / "repo",
        {"local": VERSIONS + VARIABLE + PROVIDER + BUCKET + ENV_DUMP},
        contract=f'[environments.local]\nemulator = "moto"\nemulator_port = {port}\n',
    )
    stop_emulator.append(root)
    env = shell(tmp_path / "home") | hostile_shell(tmp_path / "home", foreign.url)
    env.pop("CHECKPOINT_DISABLE", None)

    up = platformctl(root, env, "--json", "up")
    assert up.returncode == 0, up.stderr[-5000:]
    assert json.loads(up.stdout)["resources"]["buckets"] == ["isolation-check"]

    status = platformctl(root, env, "--json", "status")
    assert status.returncode == 0, status.stderr[-3000:]
    assert all(r["exists"] for r in json.loads(status.stdout)["resources"]), status.stdout

    assert foreign.requests == [], f"calls left for the foreign address or the shell's proxy: {foreign.requests}"

    seen = dict(
        line.split("=", 1)
        for line in (root / "terraform/environments/local/terraform-env.txt").read_text().splitlines()
        if "=" in line
    )
    aws = {name: value for name, value in seen.items() if name.upper().startswith("AWS_")}
    assert aws == {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }, "only the variables platformctl sets may reach Terraform"
    assert seen.get("CHECKPOINT_DISABLE") == "1"
    assert "TF_CLI_ARGS" not in seen
    assert {"127.0.0.1", "localhost", "::1"} <= set(seen["NO_PROXY"].split(","))
    assert foreign.url not in (seen.get("HTTPS_PROXY"), seen.get("HTTP_PROXY")), "proxied calls lead nowhere"

    down = platformctl(root, env, "down")
    assert down.returncode == 0, down.stderr[-3000:]
    assert emulator.load_record(contract.load(root)) is None
    assert foreign.requests == []


def test_the_engine_probe_runs_scrubbed(foreign: Foreign, monkeypatch: pytest.MonkeyPatch) -> None:
    """`terraform version -json` waits for Terraform's checkpoint call, through the shell's
    proxy when there is one: with the probe's environment it never makes it."""
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("needs terraform on PATH")
    monkeypatch.setenv("HTTPS_PROXY", foreign.url)
    monkeypatch.setenv("AWS_ACCESS_KEY", "AKIALEGACYLEGACY")
    monkeypatch.setenv("AWS_PROFILE", "production-admin")
    monkeypatch.setenv("TF_CLI_ARGS", "-lock=false")  # `version` refuses flags it does not know
    monkeypatch.delenv("CHECKPOINT_DISABLE", raising=False)

    assert engine._run_probe((terraform,))  # a version string, despite TF_CLI_ARGS
    assert foreign.requests == [], f"the probe phoned home: {foreign.requests}"
    overrides = engine.probe_env()
    assert overrides["CHECKPOINT_DISABLE"] == "1"
    names = ("AWS_ACCESS_KEY", "AWS_PROFILE", *credentials.AMBIENT_AWS_VARIABLES)
    assert all(overrides[name] is None for name in names)


def test_no_terraform_run_phones_home(tmp_path: Path, foreign: Foreign, cli: Any) -> None:
    """CHECKPOINT_DISABLE for every environment, not only local: a plain root, plan and
    validate, with the shell's proxy recording."""
    root = make_project(tmp_path / "repo", {"demo": 'resource "terraform_data" "this" {\n  input = "x"\n}\n'})
    env = {"HTTPS_PROXY": foreign.url, "HTTP_PROXY": foreign.url, "COLUMNS": "1000"}
    for args in (("plan", "demo"), ("validate", "demo")):
        result = cli("--root", str(root), *args, env=env)
        assert result.exit_code in (0, 2), result.output
    assert foreign.requests == [], f"Terraform phoned home: {foreign.requests}"


def test_probes_never_go_through_the_shells_proxy(
    foreign: Foreign, monkeypatch: pytest.MonkeyPatch, moto_server: Any
) -> None:
    """urllib sends even 127.0.0.1 to HTTP_PROXY unless told otherwise."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, foreign.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert emulator.probe(moto_server.port).kind == "moto"
    assert foreign.requests == []


def test_a_refusal_names_nothing_secret(tmp_path: Path, cli: Any, foreign: Foreign) -> None:
    """A root the guard refuses, with real-looking credentials in the shell: the one line says
    what to fix and carries none of them."""
    root = make_project(
        tmp_path / "repo",
        {"local": VERSIONS + VARIABLE + PROVIDER.replace('"http://127.0.0.1:1"', f'"{foreign.url}"') + BUCKET},
        contract='[environments.local]\nemulator = "moto"\n',
    )
    result = cli("--root", str(root), "up", env={"AWS_SECRET_ACCESS_KEY": "real-secret", "COLUMNS": "1000"})
    assert result.exit_code == 1 and f"sets http_proxy = {foreign.url}" in result.output
    assert "real-secret" not in result.output
