"""The local emulator's choice and lifecycle, and the guard that keeps `local` off real AWS.

Real moto servers throughout (started by platformctl, or by the test as an emulator
"someone else started"); Docker is played by the stand-in of integration/standin_docker.py
because no Docker engine runs on our build machines.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import MotoServer, free_port, make_project
from integration import standin_docker

from platformctl import process
from platformctl.emulators import isolation
from platformctl.emulators import lifecycle as emulator
from platformctl.emulators.kinds import KINDS
from platformctl.emulators.lifecycle import LogProgress
from platformctl.errors import ContractError, EmulatorError
from platformctl.project import contract

LOCAL_CONTRACT = '[environments.local]\nemulator = "{kind}"\nlocalstack_image = "{image}"\n'

ENDPOINT_VARIABLE = """\
variable "emulator_endpoint" {
  type    = string
  default = "http://127.0.0.1:4566"
}
"""


CLOSING_PROXY = (
    'http_proxy = "http://127.0.0.1:1"\nhttps_proxy = "http://127.0.0.1:1"\nno_proxy = "127.0.0.1,localhost,::1"\n'
)


def provider(*services: str, extra: str = "", proxy: str = CLOSING_PROXY) -> str:
    # Endpoints are optional (platformctl sets AWS_ENDPOINT_URL); the closing proxy is not.
    endpoints = "".join(f"    {service} = var.emulator_endpoint\n" for service in services)
    block = f"  endpoints {{\n{endpoints}{extra}  }}\n" if endpoints or extra else ""
    return (
        f'{ENDPOINT_VARIABLE}provider "aws" {{\n  region = "us-east-1"\n  allowed_account_ids = ["000000000000"]\n'
        f"{proxy}{block}}}\n"
    )


BUCKET = 'resource "aws_s3_bucket" "data" {\n  bucket = "demo-data"\n}\n'
STREAM = 'resource "aws_kinesis_stream" "events" {\n  name = "demo-events"\n}\n'
LOG_GROUP = 'resource "aws_cloudwatch_log_group" "fn" {\n  name = "/aws/lambda/demo"\n}\n'
POLICY_DOC = 'data "aws_iam_policy_document" "trust" {\n  statement {\n    actions = ["sts:AssumeRole"]\n  }\n}\n'


def project(root: Path, main_tf: str, kind: str = "moto", image: str = "localstack/localstack:4.4.0") -> Path:
    return make_project(root, {"local": main_tf}, contract=LOCAL_CONTRACT.format(kind=kind, image=image))


def environment(root: Path) -> contract.Environment:
    return contract.load(root).environment("local")


def invoke(cli: Callable[..., object], root: Path, *args: str):  # type: ignore[no-untyped-def]
    return cli("--root", str(root), *args)


@pytest.fixture
def stop_after(tmp_path: Path) -> Iterator[list[Path]]:
    """Roots whose platformctl-started emulator must not outlive the test."""
    roots: list[Path] = []
    yield roots
    for root in roots:
        record = emulator.load_record(contract.load(root))
        if record and record.pid and record.started_by_platformctl:
            process.stop_detached(record.pid)


# --- the endpoint guard ------------------------------------------------------------------


def test_a_provider_with_the_closing_proxy_passes_with_or_without_endpoints(tmp_path: Path) -> None:
    for main_tf in (provider(), provider("s3", "kinesis", "cloudwatchlogs", "sts")):
        root = project(tmp_path / f"repo{len(main_tf)}", main_tf + BUCKET + STREAM + LOG_GROUP + POLICY_DOC)
        isolation.check_endpoints(environment(root))


@pytest.mark.parametrize(
    ("proxy", "expected"),
    [
        pytest.param("", "has no http_proxy, has no https_proxy, has no no_proxy", id="no proxy at all"),
        pytest.param(CLOSING_PROXY.split("\n", 1)[1], "has no http_proxy", id="http_proxy missing"),
        pytest.param(
            CLOSING_PROXY.replace('no_proxy = "127.0.0.1,localhost,::1"', 'no_proxy = "*"'),
            "sets no_proxy = *",
            id="no_proxy lets everything past",
        ),
        pytest.param(
            CLOSING_PROXY.replace('https_proxy = "http://127.0.0.1:1"', 'https_proxy = "http://proxy.corp:3128"'),
            "sets https_proxy = http://proxy.corp:3128",
            id="a real proxy",
        ),
    ],
)
def test_a_provider_that_does_not_close_the_proxy_is_refused(tmp_path: Path, proxy: str, expected: str) -> None:
    root = project(tmp_path / "repo", provider(proxy=proxy) + BUCKET)
    with pytest.raises(ContractError) as refused:
        isolation.check_endpoints(environment(root))
    message = str(refused.value)
    assert expected in message
    assert "can never reach real AWS" in message and "\n" not in message


def test_an_endpoint_pointing_away_from_the_emulator_is_refused(tmp_path: Path) -> None:
    root = project(tmp_path / "repo", provider("sts", extra='    s3 = "https://s3.amazonaws.com"\n') + BUCKET)
    with pytest.raises(ContractError, match=r"points s3 = https://s3.amazonaws.com away from the emulator"):
        isolation.check_endpoints(environment(root))


def test_up_refuses_an_open_proxy_before_starting_anything(tmp_path: Path, cli) -> None:
    root = project(tmp_path / "repo", provider(proxy="") + BUCKET + STREAM)
    result = invoke(cli, root, "up", "--port", str(free_port()))
    assert result.exit_code == 1
    assert "has no http_proxy" in result.output
    assert emulator.load_record(contract.load(root)) is None, "no emulator may start for a refused root"


def test_up_is_only_for_emulated_environments(tmp_path: Path, cli) -> None:
    root = make_project(tmp_path / "repo", {"dev": BUCKET})
    result = invoke(cli, root, "up", "dev")
    assert result.exit_code == 1
    assert "dev is not an emulated environment" in result.output and "platformctl apply dev" in result.output


# --- which emulator ----------------------------------------------------------------------


def test_auto_picks_moto_when_docker_is_not_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = project(tmp_path / "repo", BUCKET, kind="auto")
    monkeypatch.setenv("PATH", standin_docker.path_without_docker(tmp_path))
    choice = emulator.choose(environment(root))
    assert choice.kind == "moto"
    assert "docker is not on PATH" in choice.reason


@pytest.mark.parametrize(
    ("mode", "image", "token", "kind", "why"),
    [
        ("no-engine", "localstack/localstack:4.4.0", None, "moto", "no Docker engine answers"),
        ("ok", "localstack/localstack:4.4.0", None, "localstack", "pins localstack/localstack:4.4.0"),
        ("ok", "localstack/localstack:latest", None, "moto", "LOCALSTACK_AUTH_TOKEN is not set"),
        ("ok", "localstack/localstack:latest", "ls-token-for-test", "localstack", "pins localstack/localstack:latest"),
    ],
    ids=["no engine", "pinned tag", "latest without token", "latest with token"],
)
def test_auto_choice_and_its_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, image: str, token: str | None, kind: str, why: str
) -> None:
    # Stand-in docker: `docker info` answers (or fails like a machine without an engine).
    standin_docker.install(tmp_path, monkeypatch, mode)
    if token:
        monkeypatch.setenv("LOCALSTACK_AUTH_TOKEN", token)
    root = project(tmp_path / "repo", BUCKET, kind="auto", image=image)
    choice = emulator.choose(environment(root))
    assert (choice.kind, why in choice.reason) == (kind, True), choice.reason
    if token:
        assert token not in choice.reason


@pytest.mark.parametrize(
    "how",
    [
        "docker not on PATH",
        "stand-in docker without engine",
        pytest.param("real docker client", marks=pytest.mark.docker),
    ],
)
def test_localstack_without_a_docker_engine_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli, how: str
) -> None:
    if how == "docker not on PATH":
        monkeypatch.setenv("PATH", standin_docker.path_without_docker(tmp_path))
        fix = "install Docker"
    elif how == "stand-in docker without engine":
        standin_docker.install(tmp_path, monkeypatch, "no-engine")
        fix = "start Docker"
    else:
        real = subprocess.run(["docker", "info"], capture_output=True, check=False) if _has_docker() else None
        if real is None:
            pytest.skip("needs the docker client on PATH (without a running engine) to run")
        if real.returncode == 0:
            pytest.skip("a Docker engine answers here: the stand-in case covers the missing engine")
        fix = "start Docker"
    root = project(tmp_path / "repo", provider("s3", "sts") + BUCKET, kind="auto")
    result = invoke(cli, root, "up", "--emulator", "localstack", "--port", str(free_port()))
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "--emulator localstack needs a Docker engine" in lines[0]
    assert fix in lines[0] and "--emulator moto" in lines[0]
    assert emulator.load_record(contract.load(root)) is None


def _has_docker() -> bool:
    import shutil

    return shutil.which("docker") is not None


# --- what answers on a port --------------------------------------------------------------


def test_probe_tells_nothing_moto_and_another_program_apart(moto_server: MotoServer) -> None:
    free = free_port()
    assert emulator.probe(free) == emulator.Probe(free, listening=False)
    assert emulator.probe(moto_server.port).kind == "moto"
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        found = emulator.probe(port, timeout=0.5)
    assert found.other_program


# --- the lifecycle through the CLI, with real moto servers -------------------------------


def test_emulator_start_status_logs_stop(tmp_path: Path, cli, stop_after: list[Path]) -> None:
    root = project(tmp_path / "repo", BUCKET)
    stop_after.append(root)
    port = free_port()

    started = invoke(cli, root, "--json", "emulator", "start", "--port", str(port))
    assert started.exit_code == 0, started.output
    record = emulator.load_record(contract.load(root))
    assert record is not None and record.kind == "moto" and record.started_by_platformctl
    assert record.endpoint == f"http://127.0.0.1:{port}" and process.pid_alive(record.pid or 0)
    # moto answers as the emulator account that the local provider allows.
    import boto3

    sts = boto3.client(
        "sts",
        endpoint_url=record.endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    assert sts.get_caller_identity()["Account"] == "000000000000"
    # No Docker engine here: moto's Lambda is switched to its no-Docker stub.
    config = json.loads(urllib.request.urlopen(f"{record.endpoint}/moto-api/config", timeout=5).read())
    assert config["lambda"] == {"use_docker": False}

    status = invoke(cli, root, "--json", "emulator", "status")
    assert status.exit_code == 0
    assert json.loads(status.stdout) | {"command": "x"} == {
        "command": "x",
        "kind": "moto",
        "endpoint": record.endpoint,
        "pid": record.pid,
        "healthy": True,
        "started_by_platformctl": True,
        "log_file": record.log_file,
        "container_name": None,
        "detail": "answers",
    }

    logs = invoke(cli, root, "emulator", "logs", "--lines", "200")
    assert logs.exit_code == 0 and "moto-api/config" in logs.output

    again = invoke(cli, root, "emulator", "start")
    assert again.exit_code == 0 and "Reusing moto" in again.output
    assert emulator.load_record(contract.load(root)) == record

    stopped = invoke(cli, root, "emulator", "stop")
    assert stopped.exit_code == 0 and "Stopped moto" in stopped.output
    assert not process.pid_alive(record.pid or 0)
    assert not (root / ".platformctl" / "emulator").exists()
    assert emulator.probe(port).listening is False

    gone = invoke(cli, root, "emulator", "status")
    assert gone.exit_code == 1 and "not running" in gone.output


def test_the_emulator_outlives_a_ctrl_c_of_platformctl(tmp_path: Path, stop_after: list[Path]) -> None:
    """spawn_detached puts moto in its own session: SIGINT to platformctl's group misses it."""
    root = project(tmp_path / "repo", BUCKET)
    stop_after.append(root)
    record = emulator.start(contract.load(root), environment(root), "moto", free_port(), progress=LogProgress())
    assert record.pid is not None
    # Its own session and process group: the terminal's SIGINT goes to platformctl's group only.
    assert os.getsid(record.pid) == record.pid and os.getpgid(record.pid) == record.pid
    assert os.getpgid(record.pid) != os.getpgid(0)
    assert emulator.healthy(record)


def test_a_dead_emulator_is_reported_and_replaced(tmp_path: Path, cli, stop_after: list[Path]) -> None:
    root = project(tmp_path / "repo", BUCKET)
    stop_after.append(root)
    port = free_port()
    assert invoke(cli, root, "emulator", "start", "--port", str(port)).exit_code == 0
    first = emulator.load_record(contract.load(root))
    assert first is not None and first.pid
    os.kill(first.pid, signal.SIGKILL)
    _wait(lambda: not process.pid_alive(first.pid or 0))

    status = invoke(cli, root, "--json", "emulator", "status")
    assert status.exit_code == 1
    assert json.loads(status.stdout)["detail"] == "process gone"

    restarted = invoke(cli, root, "emulator", "start")
    assert restarted.exit_code == 0, restarted.output
    assert "is gone; starting a new one" in restarted.output
    second = emulator.load_record(contract.load(root))
    assert second is not None and second.port == port
    assert second.pid != first.pid and second.start_id != first.start_id
    previous = root / ".platformctl" / "emulator" / "moto.previous.log"
    assert "moto-api/config" in previous.read_text(), "the dead emulator's log is kept"


@pytest.mark.parametrize("listening", [True, False], ids=["listening", "bound only"])
def test_a_port_taken_by_another_program_names_the_port_and_port_option(tmp_path: Path, cli, listening: bool) -> None:
    root = project(tmp_path / "repo", provider("s3", "sts") + BUCKET)
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        if listening:
            other.listen()
        port = other.getsockname()[1]
        result = invoke(cli, root, "up", "--port", str(port))
    assert result.exit_code == 1
    assert f"Port {port} is taken by another program (not an AWS emulator): stop it, or pass --port" in result.output
    assert emulator.load_record(contract.load(root)) is None


def test_an_emulator_platformctl_did_not_start_is_reused_and_left_running(
    tmp_path: Path, cli, moto_server: MotoServer
) -> None:
    root = project(tmp_path / "repo", BUCKET)
    reused = invoke(cli, root, "emulator", "start", "--port", str(moto_server.port))
    assert reused.exit_code == 0
    assert "that platformctl did not start" in reused.output
    record = emulator.load_record(contract.load(root))
    assert record is not None and not record.started_by_platformctl and record.pid is None

    left = invoke(cli, root, "emulator", "stop")
    assert left.exit_code == 0 and "platformctl did not start it (--force stops it)" in left.output
    assert emulator.probe(moto_server.port).kind == "moto", "stop without --force must leave it running"

    # Known again through the port, then stopped because the user insists.
    assert invoke(cli, root, "emulator", "start", "--port", str(moto_server.port)).exit_code == 0
    forced = invoke(cli, root, "emulator", "stop", "--force")
    assert forced.exit_code == 0 and "--force" in forced.output
    _wait(lambda: moto_server.process.poll() is not None)


def test_a_health_timeout_stops_what_was_started(tmp_path: Path) -> None:
    root = project(tmp_path / "repo", BUCKET)
    port = free_port()
    log_file = tmp_path / "never.log"
    never_answers = process.spawn_detached(["sleep", "60"], log_file=log_file)
    with pytest.raises(EmulatorError, match=rf"moto did not answer on http://127.0.0.1:{port} within 1 s"):
        emulator._wait_healthy(KINDS["moto"], port, never_answers, log_file, 1.0, LogProgress())
    assert not process.pid_alive(never_answers.pid)
    assert root.exists()


def test_moto_not_installed_is_one_line(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def without_moto(name: str, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        return None if name == "moto" else real_find_spec(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", without_moto)
    root = project(tmp_path / "repo", BUCKET)
    result = invoke(cli, root, "emulator", "start", "--emulator", "moto", "--port", str(free_port()))
    assert result.exit_code == 1
    assert "moto is not installed" in result.output and "pip install 'platformctl[local]'" in result.output
    assert emulator.load_record(contract.load(root)) is None


def test_down_with_nothing_there_says_so_twice(tmp_path: Path, cli) -> None:
    root = project(tmp_path / "repo", provider("s3", "sts") + BUCKET)
    for _ in range(2):
        result = invoke(cli, root, "--json", "down")
        assert result.exit_code == 0
        outcome = json.loads(result.stdout)
        assert outcome["nothing_to_do"] is True
        assert outcome["messages"] == ["Nothing to do: local has no resources and no emulator runs."]


def test_status_without_anything_up_exits_1(tmp_path: Path, cli) -> None:
    root = project(tmp_path / "repo", provider("s3", "sts") + BUCKET)
    result = invoke(cli, root, "--json", "status")
    assert result.exit_code == 1
    outcome = json.loads(result.stdout)
    assert outcome["healthy"] is False and outcome["applied"] is False
    assert outcome["emulator"]["detail"] == "not running"


def test_moto_server_answers_redrive_policies_as_compact_json(tmp_path: Path) -> None:
    """platformctl's moto (platformctl.emulators.moto_server) writes RedrivePolicy as AWS does: compact."""
    import boto3

    root = project(tmp_path / "repo", BUCKET)
    record = emulator.start(contract.load(root), environment(root), "moto", free_port(), progress=LogProgress())
    try:
        sqs = boto3.client(
            "sqs",
            endpoint_url=record.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        dlq = sqs.create_queue(QueueName="demo-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}, separators=(",", ":"))
        queue = sqs.create_queue(QueueName="demo", Attributes={"RedrivePolicy": policy})["QueueUrl"]
        returned = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["RedrivePolicy"])["Attributes"]
        assert returned["RedrivePolicy"] == policy
    finally:
        process.stop_detached(record.pid or 0)


def test_moto_server_keeps_kinesis_tags_given_at_creation(tmp_path: Path) -> None:
    import boto3

    root = project(tmp_path / "repo", BUCKET)
    record = emulator.start(contract.load(root), environment(root), "moto", free_port(), progress=LogProgress())
    try:
        kinesis = boto3.client(
            "kinesis",
            endpoint_url=record.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        kinesis.create_stream(
            StreamName="demo", StreamModeDetails={"StreamMode": "ON_DEMAND"}, Tags={"Environment": "local"}
        )
        tags = kinesis.list_tags_for_stream(StreamName="demo")["Tags"]
        assert tags == [{"Key": "Environment", "Value": "local"}]
    finally:
        process.stop_detached(record.pid or 0)


def test_moto_ignores_the_users_aws_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A profile moto's own boto3 session cannot find made every call a 500: it gets none."""
    import boto3

    monkeypatch.setenv("AWS_PROFILE", "production-admin")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    root = project(tmp_path / "repo", BUCKET)
    record = emulator.start(contract.load(root), environment(root), "moto", free_port(), progress=LogProgress())
    try:
        monkeypatch.delenv("AWS_PROFILE")
        sqs = boto3.client(
            "sqs",
            endpoint_url=record.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        assert sqs.create_queue(QueueName="demo")["QueueUrl"].endswith("/000000000000/demo")
    finally:
        process.stop_detached(record.pid or 0)


def _wait(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("localstack", {"enable_budgets": "false", "enable_autoscaling": "false"}),
        ("moto", {}),
    ],
)
def test_the_local_root_turns_off_what_the_emulator_cannot_emulate(
    tmp_path: Path, kind: str, expected: dict[str, str]
) -> None:
    """LocalStack's community image has no Budgets or Application Auto Scaling: the local root's
    switches for them are pinned off (as -var, last) on LocalStack, and left alone on moto."""
    from conftest import copy_repository

    from platformctl.context import Context, Options
    from platformctl.local import lifecycle as local

    root = copy_repository(tmp_path / "repo")
    ctx = Context(Options(root=root, color=False))
    record = emulator.Record(kind, 4566, "http://127.0.0.1:4566", True, "start", "now")
    tf = local._terraform(ctx, ctx.environment("local"), record)
    argv = tf.argv("plan")
    for name, value in expected.items():
        assert f"-var={name}={value}" in argv
    assert not any(arg.startswith(("-var=enable_budgets", "-var=enable_autoscaling")) for arg in argv) or expected
    assert argv[-1].startswith("-var=")  # pins come last, where nothing overrides them
