"""The platform's data path: order events on a Kinesis stream, read by order_ingest through
an event source mapping, written to the raw bucket, the orders table and the failure queue.

What `smoke` puts events on and looks in (`targets`), how each mapping is doing for
`status` (`mapping_statuses`), and what `up` says about it (`up_notes`). boto3 clients come
from the caller (`Clients`), so the same code serves the emulator and real AWS.
No Typer or rich.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from platformctl import process
from platformctl.errors import PlatformctlError

# The platform's own names for the parts of the data path, in the roots' outputs.
STREAM_KEY, BUCKET_KEY, TABLE_KEY, QUEUE_KEY = "order_events", "raw", "orders", "order_ingest_failures"
STATUS_PATH = "/moto-api/platformctl/event-source-mappings"  # served by platformctl.emulators.moto_esm


class Clients:
    """boto3 clients for one account and region: an emulator's endpoint with its dummy
    credentials, or real AWS with whatever credentials the process has."""

    def __init__(self, region: str, endpoint: str | None = None, env: dict[str, str | None] | None = None) -> None:
        self.region = region
        self.endpoint = endpoint
        self.env = dict(env or {})
        self._clients: dict[str, Any] = {}

    @contextmanager
    def environment(self) -> Iterator[None]:
        """boto3 reads AWS_PROFILE and friends from os.environ when it builds a session:
        for the emulator, the user's real (or unknown) profile must play no part."""
        with process.environ_overridden(self.env):
            yield

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            import boto3
            from botocore.config import Config

            config = Config(
                connect_timeout=3,
                read_timeout=20,
                retries={"max_attempts": 3, "mode": "standard"},
                s3={"addressing_style": "path"} if self.endpoint else {},
            )
            with self.environment():
                session: Any = boto3.session.Session(region_name=self.region)
                self._clients[service] = session.client(service, endpoint_url=self.endpoint, config=config)
        return self._clients[service]


@dataclass(frozen=True)
class Targets:
    """Where a smoke check puts events and where it looks for them."""

    stream: str
    bucket: str
    prefix: str
    table: str
    queue_url: str
    function: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_outputs(environment_dir: Path) -> dict[str, Any]:
    """Every output's value from a local-backend terraform.tfstate ({} when there is none)."""
    try:
        state = json.loads((environment_dir / "terraform.tfstate").read_text())
    except (OSError, ValueError):
        return {}
    outputs = state.get("outputs") if isinstance(state, dict) else None
    return {name: (value or {}).get("value") for name, value in (outputs or {}).items()}


def _named(outputs: dict[str, Any], output: str, key: str) -> str | None:
    value = outputs.get(output)
    if isinstance(value, dict) and value.get(key):
        return str(value[key])
    return None


def targets(outputs: dict[str, Any], clients: Clients, environment: str) -> Targets:
    """The data path from the root's outputs (bucket_names.raw, table_names.orders, ...);
    the raw prefix from the function's RAW_PREFIX. Anything the outputs lack comes from
    the function's configuration (its variables and its Kinesis mapping)."""
    function = outputs.get("function_name") or next(
        iter((outputs.get("platform_resources") or {}).get("functions") or []), None
    )
    variables: dict[str, str] = {}
    stream_from_mapping = None
    if function:
        lambda_client = clients("lambda")
        try:
            config = lambda_client.get_function_configuration(FunctionName=str(function))
            variables = dict((config.get("Environment") or {}).get("Variables") or {})
            mappings = mappings_of(lambda_client, str(function))
            stream_from_mapping = next(
                (
                    m["EventSourceArn"].rsplit("/", 1)[-1]
                    for m in mappings
                    if ":kinesis:" in m.get("EventSourceArn", "")
                ),
                None,
            )
        except Exception as exc:  # noqa: BLE001 - botocore's errors: the outputs may still be enough
            variables = {"_error": str(exc)}
    found = {
        "stream": _named(outputs, "stream_names", STREAM_KEY) or stream_from_mapping,
        "bucket": _named(outputs, "bucket_names", BUCKET_KEY) or variables.get("RAW_BUCKET"),
        "table": _named(outputs, "table_names", TABLE_KEY) or variables.get("ORDERS_TABLE"),
        "queue_url": _named(outputs, "queue_urls", QUEUE_KEY) or variables.get("FAILURE_QUEUE_URL"),
    }
    missing = [name for name, value in found.items() if not value]
    if missing:
        raise PlatformctlError(
            f"{environment}'s outputs name no {', '.join(missing)} of the order pipeline (stream_names.{STREAM_KEY}, "
            f"bucket_names.{BUCKET_KEY}, table_names.{TABLE_KEY}, queue_urls.{QUEUE_KEY}): run "
            f"`platformctl up {environment}` (or apply it) first."
        )
    return Targets(
        str(found["stream"]),
        str(found["bucket"]),
        variables.get("RAW_PREFIX", ""),
        str(found["table"]),
        str(found["queue_url"]),
        str(function) if function else None,
    )


# --- event source mappings, for status ----------------------------------------------------


def mappings_of(lambda_client: Any, function: str) -> list[dict[str, Any]]:
    """The event source mappings of a function (by name or ARN). Every mapping, filtered
    here: moto matches the FunctionName filter only against what the mapping was created
    with (Terraform gives the ARN), where AWS accepts either."""
    found = []
    for page in lambda_client.get_paginator("list_event_source_mappings").paginate():
        for mapping in page.get("EventSourceMappings", []):
            arn = str(mapping.get("FunctionArn", ""))
            if function in (arn, arn.split(":function:", 1)[-1].split(":", 1)[0]):
                found.append(mapping)
    return found


@dataclass(frozen=True)
class MappingStatus:
    function: str
    source: str
    state: str
    last_processing_result: str
    last_batch: dict[str, Any] | None = None
    records: int | None = None
    sent_to_destination: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe_last_batch(self) -> str:
        batch = self.last_batch
        if not batch:
            return "-"
        return (
            f"{batch.get('result')}: {batch.get('size')} record(s) of {batch.get('shard_id')} at {batch.get('at')}"
            f" (attempt {batch.get('attempt', 0) + 1})"
        )


def _server_states(endpoint: str) -> dict[str, dict[str, Any]]:
    """Per mapping UUID, what platformctl's moto server knows (last batch); {} elsewhere."""
    from platformctl.emulators.base import open_url  # no shell proxy between us and the emulator

    try:
        with open_url(f"{endpoint}{STATUS_PATH}", timeout=3) as answer:
            data = json.loads(answer.read())
    except (OSError, ValueError):
        return {}
    return {str(m.get("uuid")): m for m in data.get("mappings", []) if isinstance(m, dict)}


def runs_code(endpoint: str) -> bool:
    """Whether the emulator on `endpoint` is platformctl's moto server that runs functions."""
    from platformctl.emulators.base import open_url  # no shell proxy between us and the emulator

    try:
        with open_url(f"{endpoint}{STATUS_PATH}", timeout=3) as answer:
            return bool(answer.status == 200 and "mappings" in json.loads(answer.read()))
    except (OSError, ValueError):
        return False


def mapping_statuses(clients: Clients, functions: list[str]) -> list[MappingStatus]:
    """Each function's event source mappings: state, last processing result, last batch."""
    server = _server_states(clients.endpoint) if clients.endpoint else {}
    lambda_client = clients("lambda")
    found = []
    for function in functions:
        try:
            mappings = mappings_of(lambda_client, function)
        except Exception as exc:  # noqa: BLE001 - botocore's errors become the row's state
            found.append(MappingStatus(function, "-", "unknown", type(exc).__name__))
            continue
        for mapping in mappings:
            extra = server.get(str(mapping.get("UUID")), {})
            source = str(mapping.get("EventSourceArn", "")).rsplit(":", 1)[-1].split("/", 1)[-1]
            found.append(
                MappingStatus(
                    function,
                    source,
                    str(mapping.get("State", "")),
                    str(mapping.get("LastProcessingResult") or extra.get("last_processing_result") or "-"),
                    extra.get("last_batch"),
                    extra.get("records"),
                    extra.get("sent_to_destination"),
                )
            )
    return found


def up_notes(environment: str, kind: str, endpoint: str, resources: dict[str, Any], fallback: str | None) -> list[str]:
    """What `up` says about the data path: live (and how to try it), or `fallback` when
    the emulator does not run the functions' code."""
    if not resources.get("functions"):
        return []
    if kind == "localstack" or runs_code(endpoint):
        return [
            f"The data path is live: order events put on the stream reach order_ingest through its Kinesis "
            f"mapping, on {endpoint}. Try it: `platformctl smoke {environment}`."
        ]
    return [fallback] if fallback else []


def emulated_mappings(endpoint: str, region: str | None, resources: dict[str, Any]) -> list[MappingStatus]:
    """mapping_statuses of the functions in `platform_resources`, on an emulator (dummy credentials)."""
    from platformctl.aws import credentials

    functions = [str(name) for name in resources.get("functions") or []]
    if not functions:
        return []
    chosen = region or "us-east-1"
    return mapping_statuses(Clients(chosen, endpoint, credentials.emulator_env(chosen)), functions)
