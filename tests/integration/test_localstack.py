"""The LocalStack path: the docker command line, the token kept off it, health, stop, and the
licence failure as one line.

Docker cannot run on our build machines, so these tests put a stand-in `docker` on PATH
(integration/standin_docker.py): it records its argv and serves LocalStack's health
endpoint on the published port. The last test runs the real image and skips without a
Docker engine.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path

import pytest
from conftest import free_port, make_project

from integration import standin_docker
from platformctl.emulators import lifecycle as emulator
from platformctl.project import contract

pytestmark = pytest.mark.integration

IMAGE = "localstack/localstack:4.4.0"
TOKEN = "ls-SECRET-do-not-leak-7f3a9"
CONTRACT = f'[environments.local]\nemulator = "auto"\nlocalstack_image = "{IMAGE}"\n'


def repo(tmp_path: Path) -> Path:
    return make_project(tmp_path / "repo", {"local": 'resource "terraform_data" "x" {}\n'}, contract=CONTRACT)


def test_localstack_runs_the_pinned_image_with_the_token_passed_by_name(
    tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    docker = standin_docker.install(tmp_path, monkeypatch)
    monkeypatch.setenv("LOCALSTACK_AUTH_TOKEN", TOKEN)
    root = repo(tmp_path)
    port = free_port()

    started = cli("--root", str(root), "emulator", "start", "--port", str(port))
    assert started.exit_code == 0, started.output
    # auto chose LocalStack because the (stand-in) engine answers and the tag is pinned, and says so.
    chose = f"Emulator: localstack (Docker engine 27.5.1-standin answers and platform.toml pins {IMAGE})"
    assert chose in started.output

    [run] = docker.runs()
    assert run[:2] == ["run", "--rm"]
    assert run[run.index("--name") + 1] == f"platformctl-localstack-{port}"
    assert run[run.index("-p") + 1] == f"127.0.0.1:{port}:4566", "published on loopback only"
    assert run[run.index("-e") + 1] == "LOCALSTACK_AUTH_TOKEN", "the token goes by name"
    assert run[-1] == IMAGE
    assert [call["token_in_env"] for call in docker.calls() if call["argv"][:1] == ["run"]] == [True]

    record = emulator.load_record(contract.load(root))
    assert record is not None
    assert (record.kind, record.endpoint, record.container_name) == (
        "localstack",
        f"http://127.0.0.1:{port}",
        f"platformctl-localstack-{port}",
    )
    health = json.loads(urllib.request.urlopen(f"{record.endpoint}/_localstack/health", timeout=5).read())
    assert "services" in health

    status = cli("--root", str(root), "--json", "emulator", "status")
    assert status.exit_code == 0 and json.loads(status.stdout)["kind"] == "localstack"

    stopped = cli("--root", str(root), "emulator", "stop")
    assert stopped.exit_code == 0, stopped.output
    assert ["stop", f"platformctl-localstack-{port}"] in [call["argv"] for call in docker.calls()]
    assert emulator.probe(port).listening is False
    assert emulator.load_record(contract.load(root)) is None

    # The token's value is nowhere: not on any command line, not in what platformctl printed,
    # not in its state files.
    everything = json.dumps(docker.calls()) + started.output + status.output + stopped.output
    assert TOKEN not in everything
    for path in (root / ".platformctl").rglob("*"):
        if path.is_file():
            assert TOKEN not in path.read_text(errors="replace"), path


def test_a_licence_refusal_is_one_line_naming_the_token_and_moto(
    tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Mode "licence": the container prints LocalStack's refusal and exits 55, as `latest`
    # does without a token since 2026-03.
    standin_docker.install(tmp_path, monkeypatch, mode="licence")
    root = repo(tmp_path)
    result = cli("--root", str(root), "emulator", "start", "--emulator", "localstack", "--port", str(free_port()))
    assert result.exit_code == 1
    error_lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1, result.output
    assert "LocalStack refused to start without a licence (exit 55" in error_lines[0]
    assert "LOCALSTACK_AUTH_TOKEN" in error_lines[0] and "--emulator moto" in error_lines[0]
    assert emulator.load_record(contract.load(root)) is None


def _docker_engine_answers() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.docker
@pytest.mark.skipif(
    not _docker_engine_answers(), reason="needs a running Docker engine (docker info): start Docker to run it"
)
def test_real_localstack_starts_answers_and_stops(tmp_path: Path, cli) -> None:
    import boto3

    root = repo(tmp_path)
    port = free_port()
    started = cli("--root", str(root), "emulator", "start", "--emulator", "localstack", "--port", str(port))
    try:
        assert started.exit_code == 0, started.output
        s3 = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        s3.create_bucket(Bucket="platformctl-localstack-check")
        assert "platformctl-localstack-check" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    finally:
        stopped = cli("--root", str(root), "emulator", "stop")
    assert stopped.exit_code == 0
    assert emulator.probe(port).listening is False
