"""Local isolation, every request: the local root (terraform/environments/local, the real one)
sends every call of a real plan and apply to the emulator, and none anywhere else.

For real: a copy of this repository, platformctl's moto server behind a recording forwarder
on loopback (integration/foreign.py: it records each request that reached the emulator, and
the SigV4 service it was for), and a "foreign address" that stands for real AWS and is the
shell's HTTP(S)_PROXY (so a call that escaped the root's own closed proxy would land there,
on loopback, instead of leaving the machine). Three ways to run the root:
- `platformctl up local` (init, plan, apply), with a hostile shell;
- plain `terraform plan` in the folder, with only the documented AWS_ENDPOINT_URL exported;
- plain `terraform plan` without it: every call fails to connect, nothing reaches anyone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ENABLE_MIRROR, MIRROR, MotoServer, copy_repository, start_moto

from integration.foreign import Foreign, Forwarder, foreign_server, recording_forwarder
from integration.local_platform import Platform, clean_env

pytestmark = pytest.mark.integration

# Every service the local root's resources call (the provider's account check is answered by
# iam:GetUser): what its `endpoints` block used to list, less sts and ssm, which the root does
# not call. AWS_ENDPOINT_URL covers them all, and any other, without one.
SERVICES = {
    "application-autoscaling",
    "budgets",
    "monitoring",  # CloudWatch
    "dynamodb",
    "iam",
    "kinesis",
    "kms",
    "lambda",
    "logs",
    "s3",
    "secretsmanager",
    "sqs",
}
CLOSED_PROXY_REFUSED = "proxyconnect tcp: dial tcp 127.0.0.1:1: connect: connection refused"


@dataclass
class Recorded:
    platform: Platform
    emulator: Forwarder
    foreign: Foreign
    moto: MotoServer
    up_requests: int

    @property
    def folder(self) -> Path:
        return self.platform.root / "terraform" / "environments" / "local"


def hostile(env: dict[str, str], foreign: Foreign) -> dict[str, str]:
    """A shell whose every way out leads to the foreign address: its proxies, and a NO_PROXY
    naming it (were the provider to honour the shell's NO_PROXY over its own no_proxy, calls
    would go straight to it, still on loopback, and be recorded)."""
    proxies = dict.fromkeys(("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"), foreign.url)
    return env | proxies | {"NO_PROXY": foreign.host, "no_proxy": foreign.host}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    if not MIRROR:
        pytest.skip(ENABLE_MIRROR)
    base = tmp_path_factory.mktemp("requests")
    moto = start_moto(base / "moto.log")
    try:
        with foreign_server() as foreign, recording_forwarder(moto.endpoint) as forwarder:
            root = copy_repository(base / "repo")
            # platformctl drops every AWS_* of the shell, a per-service endpoint included.
            shell = hostile(clean_env(base / "home"), foreign) | {"AWS_ENDPOINT_URL_S3": foreign.url}
            platform = Platform(root, forwarder.port, shell, {}, "")
            up = platform.run("--json", "up", "--port", str(forwarder.port))
            assert up.returncode == 0, f"up failed (exit {up.returncode}):\n{up.stderr[-8000:]}"
            yield Recorded(platform, forwarder, foreign, moto, len(forwarder.requests))
    finally:
        moto.stop()


def plain_terraform(recorded: Recorded, tmp_path: Path, **exported: str) -> subprocess.CompletedProcess[str]:
    """`terraform plan` in the folder, as a user types it: a shell with no AWS_* but `exported`,
    no ~/.aws, its proxies pointing at the foreign address."""
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("needs terraform on PATH (the plain run a user makes in the folder)")
    home = tmp_path / "plain-home"  # empty: no ~/.aws
    home.mkdir()
    shell = {"PATH": os.environ["PATH"], "HOME": str(home), "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}
    return subprocess.run(
        [terraform, "plan", "-input=false", "-lock=false", "-no-color"],
        cwd=recorded.folder,
        env=hostile(shell, recorded.foreign) | exported,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_up_sends_every_call_to_the_emulator(recorded: Recorded) -> None:
    calls = recorded.emulator.requests[: recorded.up_requests]
    services = {r.service for r in calls if r.service}
    assert services >= SERVICES, f"services the emulator never saw: {sorted(SERVICES - services)}"
    assert all(r.status < 500 for r in calls), [r for r in calls if r.status >= 500][:5]
    assert recorded.foreign.requests == [], f"calls left for the foreign address: {recorded.foreign.requests}"


def test_plain_terraform_with_the_documented_variable_talks_to_the_emulator(recorded: Recorded, tmp_path: Path) -> None:
    before = len(recorded.emulator.requests)
    result = plain_terraform(recorded, tmp_path, AWS_ENDPOINT_URL=recorded.emulator.url)
    assert result.returncode == 0, result.stderr[-4000:]
    services = {r.service for r in recorded.emulator.requests[before:] if r.service}
    assert services >= SERVICES, f"services the emulator never saw: {sorted(SERVICES - services)}"
    assert recorded.foreign.requests == [], f"calls left for the foreign address: {recorded.foreign.requests}"


@pytest.mark.parametrize(
    "stray",
    [pytest.param(False, id="nothing exported"), pytest.param(True, id="a stray AWS_ENDPOINT_URL_S3")],
)
def test_plain_terraform_without_it_fails_to_connect_and_nothing_leaves(
    recorded: Recorded, tmp_path: Path, stray: bool
) -> None:
    """Without the variable, the provider's default endpoints (real AWS) are not loopback, so
    the root's own proxy sends them to the closed port; a per-service endpoint left in the
    shell (AWS_ENDPOINT_URL_S3 = the foreign address) fares the same."""
    before = len(recorded.emulator.requests)
    exported = {"AWS_ENDPOINT_URL": recorded.emulator.url, "AWS_ENDPOINT_URL_S3": recorded.foreign.url} if stray else {}
    result = plain_terraform(recorded, tmp_path, **exported)
    assert result.returncode == 1, result.stdout[-2000:]
    assert CLOSED_PROXY_REFUSED in result.stderr, result.stderr[-3000:]
    if stray:
        assert f'Get "{recorded.foreign.url}/' in result.stderr  # S3, sent to the closed port
    else:
        assert "sts.us-east-1.amazonaws.com" in result.stderr  # where it would have gone
        assert len(recorded.emulator.requests) == before, "the emulator is not the default"
    assert recorded.foreign.requests == [], f"calls left for the foreign address: {recorded.foreign.requests}"
