"""`status` of an emulated environment: the emulator, whether each resource in the outputs
exists (asked with boto3), and the data path's event source mappings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from platformctl import process
from platformctl.aws import credentials
from platformctl.context import Context
from platformctl.emulators import lifecycle as emulator
from platformctl.local.lifecycle import emulated_environment
from platformctl.local.state import platform_resources, state_path, state_resource_count
from platformctl.operate import data_path


@dataclass(frozen=True)
class ResourceStatus:
    kind: str  # bucket | table | stream | queue | function
    name: str
    exists: bool | None  # None: could not ask (emulator down)
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "exists": self.exists, "detail": self.detail}


@dataclass(frozen=True)
class StatusOutcome:
    environment: str
    emulator: emulator.Status
    resources: tuple[ResourceStatus, ...]
    applied: bool
    mappings: tuple[data_path.MappingStatus, ...] = ()

    @property
    def healthy(self) -> bool:
        return self.emulator.healthy and self.applied and all(r.exists for r in self.resources)

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": "status",
            "environment": self.environment,
            "healthy": self.healthy,
            "applied": self.applied,
            "emulator": self.emulator.as_dict(),
            "resources": [r.as_dict() for r in self.resources],
            "event_source_mappings": [m.as_dict() for m in self.mappings],
        }


_PLURAL_TO_KIND = {
    "buckets": "bucket",
    "tables": "table",
    "streams": "stream",
    "queues": "queue",
    "functions": "function",
}


def _checker(kind: str, session: Any, endpoint: str, region: str) -> Callable[[str], str]:
    """A call that raises when the resource does not exist, returning a short detail."""
    from botocore.config import Config

    config = Config(  # proxies={}: the shell's HTTP(S)_PROXY never sits between us and the emulator
        connect_timeout=2, read_timeout=10, retries={"max_attempts": 1}, s3={"addressing_style": "path"}, proxies={}
    )

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=endpoint, region_name=region, config=config)

    if kind == "bucket":
        s3 = client("s3")
        return lambda name: (s3.head_bucket(Bucket=name), "exists")[1]
    if kind == "table":
        dynamodb = client("dynamodb")
        return lambda name: str(dynamodb.describe_table(TableName=name)["Table"]["TableStatus"]).lower()
    if kind == "stream":
        kinesis = client("kinesis")
        return lambda name: str(
            kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"]
        ).lower()
    if kind == "queue":
        sqs = client("sqs")
        return lambda url: (sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"]), "exists")[1]
    lambda_client = client("lambda")
    return lambda name: str(
        lambda_client.get_function(FunctionName=name)["Configuration"].get("State") or "exists"
    ).lower()


def check_resources(resources: dict[str, Any], endpoint: str, region: str) -> list[ResourceStatus]:
    """Ask the emulator, with boto3 and the emulator's dummy credentials, for each resource."""
    # boto3 reads AWS_PROFILE and friends from os.environ when it builds a session and its
    # clients: for the emulator, the user's real (or unknown) profile must play no part.
    with process.environ_overridden(credentials.emulator_env(region)):
        return _check_resources(resources, endpoint, region)


def _check_resources(resources: dict[str, Any], endpoint: str, region: str) -> list[ResourceStatus]:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

    session = boto3.session.Session(
        aws_access_key_id=credentials.EMULATOR_ACCESS_KEY,
        aws_secret_access_key=credentials.EMULATOR_ACCESS_KEY,
        region_name=region,
    )
    results = []
    for plural, kind in _PLURAL_TO_KIND.items():
        names = resources.get(plural) or []
        if not names:
            continue
        check = _checker(kind, session, endpoint, region)
        for name in names:
            try:
                results.append(ResourceStatus(kind, name, True, check(name)))
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "error")
                results.append(ResourceStatus(kind, name, False, f"missing ({code})"))
            except EndpointConnectionError:
                results.append(ResourceStatus(kind, name, None, "emulator unreachable"))
            except BotoCoreError as exc:
                results.append(ResourceStatus(kind, name, None, type(exc).__name__))
    return results


def status(ctx: Context, name: str) -> StatusOutcome:
    project = ctx.project
    environment = emulated_environment(ctx, name)
    emulator_status = emulator.status(project, environment)
    if not state_path(environment).is_file() or not state_resource_count(environment):
        return StatusOutcome(environment.name, emulator_status, (), applied=False)
    resources = platform_resources(environment)
    if emulator_status.healthy:
        checked = check_resources(resources, emulator_status.endpoint, environment.region or "us-east-1")
        mappings = data_path.emulated_mappings(emulator_status.endpoint, environment.region, resources)
    else:
        mappings = []
        checked = [
            ResourceStatus(kind, item, None, "emulator not running")
            for plural, kind in _PLURAL_TO_KIND.items()
            for item in resources.get(plural) or []
        ]
    return StatusOutcome(environment.name, emulator_status, tuple(checked), applied=True, mappings=tuple(mappings))
