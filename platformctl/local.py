"""`up`, `down` and `status` of an emulated environment (local): the whole platform on an
AWS emulator in one command, and gone again in another.

up:     start or reuse the emulator, refuse a provider block that would let any service reach
        real AWS, init only when needed, plan, apply only when the plan has changes, and
        return what exists (output `platform_resources`). When the emulator restarted since
        the state was written (moto keeps everything in memory), the stale state is moved
        aside first, so the apply recreates everything instead of failing on "not found".
down:   destroy, stop the emulator platformctl started, clean its state folder; idempotent.
status: the emulator, and whether each resource in the outputs exists (boto3).

No Typer or rich: progress goes through emulator.Progress, results are returned.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from platformctl import credentials, data_path, emulator, exit_codes, hcl, operations
from platformctl.contract import Environment, Project
from platformctl.emulator import LogProgress, Progress
from platformctl.errors import ContractError, EmulatorError, PlatformctlError, TerraformFailed
from platformctl.operations import Context
from platformctl.terraform import Terraform

log = logging.getLogger("platformctl")

ENDPOINT_VARIABLE = "emulator_endpoint"
RESOURCES_OUTPUT = "platform_resources"
STATE_FILE = "terraform.tfstate"
LAMBDA_NOTE = (
    "Lambda functions exist on moto, but their code does not run there without Docker: "
    "an invoke returns moto's stub answer."
)

# --- every service the platform uses has an emulator endpoint --------------------------

# Resource-type prefixes whose service's endpoint key is not simply the second word of the
# type (aws_<service>_...). Longest prefixes first.
_SERVICE_BY_PREFIX = (
    ("aws_cloudwatch_log_", "logs"),
    ("aws_cloudwatch_event_", "events"),
    ("aws_cloudwatch_", "cloudwatch"),
    ("aws_appautoscaling_", "applicationautoscaling"),
    ("aws_kinesis_firehose_", "firehose"),
    ("aws_kinesis_video_", "kinesisvideo"),
    ("aws_caller_identity", "sts"),
    ("aws_s3_", "s3"),
    ("aws_s3control_", "s3control"),
    ("aws_db_", "rds"),
    ("aws_security_group", "ec2"),
    ("aws_vpc", "ec2"),
    ("aws_subnet", "ec2"),
    ("aws_instance", "ec2"),
)
# Data sources computed by the provider itself, without an API call.
_OFFLINE_DATA_SOURCES = frozenset(
    {"aws_iam_policy_document", "aws_region", "aws_partition", "aws_arn", "aws_default_tags"}
)
# The provider's other names for an endpoint key.
_ENDPOINT_ALIASES = {
    "logs": ("logs", "cloudwatchlogs", "cloudwatchlog"),
    "applicationautoscaling": ("applicationautoscaling", "appautoscaling"),
    "events": ("events", "eventbridge", "cloudwatchevents"),
    "s3": ("s3", "s3api"),
    "firehose": ("firehose",),
    "rds": ("rds",),
}
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]", "localhost.localstack.cloud")


def service_of(resource_type: str) -> str:
    """The provider endpoint key a resource type talks to (aws_sqs_queue -> sqs)."""
    for prefix, service in _SERVICE_BY_PREFIX:
        if resource_type.startswith(prefix):
            return service
    return resource_type.split("_")[1]


def _module_dirs(root: Path) -> dict[str, Path]:
    """Folders of installed registry/git modules by key (after init), from modules.json."""
    manifest = root / ".terraform" / "modules" / "modules.json"
    try:
        modules = json.loads(manifest.read_text()).get("Modules", [])
    except (OSError, ValueError):
        return {}
    return {m["Key"]: root / m["Dir"] for m in modules if m.get("Key") and m.get("Dir")}


def aws_types_used(root: Path) -> set[str]:
    """Every aws_* resource and data-source type (that calls an API) the root and its modules use."""
    installed = _module_dirs(root)
    found: set[str] = set()
    seen: set[Path] = set()

    def walk(folder: Path, key: str) -> None:
        folder = folder.resolve()
        if folder in seen:
            return
        seen.add(folder)
        for tf in sorted(folder.glob("*.tf")):
            parsed = hcl.load(tf)
            for kind in ("resource", "data"):
                for block in parsed.get(kind, []):
                    found.update(
                        t for t in block
                        if t.startswith("aws_") and not (kind == "data" and t in _OFFLINE_DATA_SOURCES)
                    )
            for block in parsed.get("module", []):
                for name, call in block.items():
                    source = str(call.get("source", ""))
                    child_key = f"{key}.{name}" if key else name
                    if source.startswith(("./", "../")):
                        walk(folder / source, child_key)
                    elif child_key in installed:  # a registry or git module, once init fetched it
                        walk(installed[child_key], child_key)

    walk(root, "")
    return found


def _points_at_emulator(environment: Environment, value: Any) -> bool:
    if value == f"${{var.{ENDPOINT_VARIABLE}}}":
        return True  # platformctl sets it to the emulator's endpoint (TF_VAR_emulator_endpoint)
    resolved = hcl.resolve(environment.directory, value)
    if not isinstance(resolved, str) or "://" not in resolved:
        return False
    host = resolved.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[0]
    return host in _LOOPBACK


def check_endpoints(environment: Environment) -> None:
    """Refuse a local provider block that leaves a service the platform uses without an
    emulator endpoint: the provider would send those calls to real AWS."""
    types = aws_types_used(environment.directory)
    provider = environment.provider
    if not types and not provider:
        return  # nothing here talks to AWS
    needed: dict[str, list[str]] = {"sts": ["the provider's account check"]}
    for resource_type in sorted(types):
        needed.setdefault(service_of(resource_type), []).append(resource_type)
    endpoints: dict[str, Any] = {}
    for block in provider.get("endpoints", []) or []:
        if isinstance(block, dict):
            endpoints.update(block)
    missing, elsewhere = [], []
    for service, users in sorted(needed.items()):
        keys = [k for k in _ENDPOINT_ALIASES.get(service, (service,)) if endpoints.get(k)]
        if not keys:
            missing.append(f"{service} ({', '.join(users[:2])}{', ...' if len(users) > 2 else ''})")
        elif not _points_at_emulator(environment, endpoints[keys[0]]):
            elsewhere.append(f"{keys[0]} = {endpoints[keys[0]]}")
    where = f'provider "aws" in {environment.directory}'
    if missing:
        raise ContractError(
            f"{where} has no endpoint for {'; '.join(missing)}: add them to its endpoints block "
            f"(= var.{ENDPOINT_VARIABLE}) so {environment.name} can never reach real AWS."
        )
    if elsewhere:
        raise ContractError(
            f"{where} points {', '.join(elsewhere)} away from the emulator: use var.{ENDPOINT_VARIABLE} "
            f"so {environment.name} can never reach real AWS."
        )


# --- files platformctl keeps for the local environment -----------------------------------


def _applied_path(project: Project, environment: Environment) -> Path:
    """Which emulator start the environment's state belongs to (written before each apply)."""
    return project.state_dir / f"{environment.name}-applied.json"


def _init_path(project: Project, environment: Environment) -> Path:
    return project.state_dir / "init" / f"{environment.name}.json"


def _state_path(environment: Environment) -> Path:
    return environment.directory / STATE_FILE


def _state_resource_count(environment: Environment) -> int:
    try:
        state = json.loads(_state_path(environment).read_text())
    except (OSError, ValueError):
        return 0
    return sum(len(r.get("instances", [])) for r in state.get("resources", []))


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(data, indent=2) + "\n")
    partial.replace(path)


def _stale(project: Project, environment: Environment, record: emulator.Record) -> bool:
    """The state was written against an earlier start of the emulator than the one running.

    Without a note of which start it belongs to (state from `platformctl apply local`), the
    state is trusted: Terraform's refresh drops what no longer exists.
    """
    applied = _read_json(_applied_path(project, environment))
    return applied is not None and applied.get("start_id") != record.start_id


def _move_state_aside(project: Project, environment: Environment) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = project.state_dir / "backups" / f"{STATE_FILE}.{stamp}"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(_state_path(environment)), target)
    backup = environment.directory / f"{STATE_FILE}.backup"
    if backup.is_file():  # Terraform's own previous copy names the same lost resources
        shutil.move(str(backup), target.with_name(f"{STATE_FILE}.backup.{stamp}"))
    return target


# --- terraform, fast when nothing changed ------------------------------------------------


def _terraform(ctx: Context, environment: Environment, endpoint: str) -> Terraform:
    tf = ctx.terraform_for(environment)  # fake credentials, endpoints checked
    tf.env[f"TF_VAR_{ENDPOINT_VARIABLE}"] = endpoint  # the emulator this run uses, recorded or not
    # stdout carries the resource table (or --json); Terraform's progress goes to stderr.
    tf.human_to_stderr = True
    return tf


def _init_fingerprint(ctx: Context, environment: Environment) -> str:
    """What a new `init` would depend on: the lock file, the module calls, the provider
    installation settings and the engine."""
    digest = hashlib.sha256()
    lock = environment.directory / ".terraform.lock.hcl"
    digest.update(lock.read_bytes() if lock.is_file() else b"no lock file")
    for tf in sorted(environment.directory.glob("*.tf")):
        for block in hcl.load(tf).get("module", []):
            for name, call in sorted(block.items()):
                digest.update(f"{name}={call.get('source')}@{call.get('version')}\n".encode())
    digest.update(json.dumps(ctx.provider_env(), sort_keys=True).encode())
    digest.update(" ".join(ctx.engine.argv).encode())
    return digest.hexdigest()


def ensure_initialized(ctx: Context, environment: Environment, tf: Terraform) -> bool:
    """`init` unless .terraform is initialized for the same lock file and modules; True if run."""
    record = _init_path(ctx.project, environment)
    fingerprint = _init_fingerprint(ctx, environment)
    known = _read_json(record)
    initialized = (environment.directory / ".terraform").is_dir()
    if initialized and known is not None and known.get("fingerprint") == fingerprint:
        return False
    operations.init(ctx, environment, tf=tf)
    # Init may have written the lock file: fingerprint what it left.
    _write_json(record, {"fingerprint": _init_fingerprint(ctx, environment)})
    return True


def platform_resources(environment: Environment, tf: Terraform | None = None) -> dict[str, Any]:
    """Output `platform_resources`. With the default local backend it is read straight from
    terraform.tfstate, saving a Terraform start (half a second) on every `up` and `status`;
    with any other backend (.terraform/terraform.tfstate records it), `terraform output`."""
    state = _read_json(_state_path(environment))
    if tf is None or (state is not None and not (environment.directory / ".terraform" / STATE_FILE).exists()):
        output = ((state or {}).get("outputs") or {}).get(RESOURCES_OUTPUT) or {}
        return dict(output.get("value") or {})
    return dict(tf.outputs().get(RESOURCES_OUTPUT) or {})


class Timer:
    """Seconds spent per step, for the result and the benchmark."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._start = time.perf_counter()

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - start, 3)

    def total(self) -> dict[str, float]:
        return {**self.seconds, "total": round(time.perf_counter() - self._start, 3)}


def emulated_environment(ctx: Context, name: str) -> Environment:
    environment = ctx.environment(name)
    if not environment.is_emulated:
        raise PlatformctlError(
            f"{name} is not an emulated environment (no `emulator` in platform.toml): "
            f"use `platformctl plan {name}` and `platformctl apply {name}`."
        )
    return environment


def _emulator_died(record: emulator.Record, action: str) -> EmulatorError:
    where = f" (pid {record.pid})" if record.pid else ""
    log_hint = f": see {record.log_file}" if record.log_file else ""
    return EmulatorError(
        f"The {record.kind} emulator{where} stopped while Terraform ran {action}{log_hint}; run `platformctl up` "
        "again: it starts a new one and recreates everything."
    )


# --- up ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UpOutcome:
    environment: str
    emulator: emulator.Record
    emulator_message: str
    recovered: bool
    changed: bool
    resources: dict[str, Any]
    timings: dict[str, float]
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": "up",
            "environment": self.environment,
            "emulator": self.emulator.as_dict(),
            "recovered": self.recovered,
            "changed": self.changed,
            "resources": self.resources,
            "timings": self.timings,
            "notes": list(self.notes),
        }


def up(ctx: Context, name: str, *, requested: str | None = None, port: int | None = None,
       timeout: float | None = None, progress: Progress | None = None) -> UpOutcome:
    progress = progress or LogProgress()
    project = ctx.project
    environment = emulated_environment(ctx, name)
    timer = Timer()
    check_endpoints(environment)

    with timer.step("emulator"):
        running = emulator.ensure_running(
            project, environment, requested=requested, port=port, progress=progress, timeout=timeout
        )
    record = running.record
    progress.note(running.message)

    recovered = False
    if _state_resource_count(environment) and _stale(project, environment, record):
        progress.note("The emulator restarted since the last apply: its resources are gone; recreating them.")
        moved = _move_state_aside(project, environment)
        log.debug("stale state moved to %s", moved)
        recovered = True

    tf = _terraform(ctx, environment, record.endpoint)
    with timer.step("build"):
        operations.build_functions(project)
    with timer.step("init"):
        ensure_initialized(ctx, environment, tf)
    # From here on the state names resources of this emulator start, even if apply fails.
    _write_json(_applied_path(project, environment),
                {"start_id": record.start_id, "endpoint": record.endpoint, "at": emulator.timestamp()})
    plan_file = project.state_dir / "plans" / environment.name / "up.tfplan"
    plan_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        with timer.step("plan"):
            changed = tf.plan(out=plan_file) == exit_codes.CHANGES
        if changed:
            with timer.step("apply"):
                tf.apply(plan_file=plan_file)
    except TerraformFailed:
        if not emulator.healthy(record):
            raise _emulator_died(record, "plan/apply") from None
        raise
    finally:
        plan_file.unlink(missing_ok=True)
    if not changed:
        progress.note(f"No changes: {environment.name} is up to date.")
    with timer.step("outputs"):
        resources = platform_resources(environment, tf)
    stub = record.kind == emulator.MOTO and not record.lambda_code_runs
    notes = data_path.up_notes(environment.name, record.kind, record.endpoint, resources, LAMBDA_NOTE if stub else None)
    return UpOutcome(environment.name, record, running.message, recovered, changed, resources, timer.total(),
                     tuple(notes))


# --- down --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DownOutcome:
    environment: str
    destroyed: bool
    stopped: bool
    nothing_to_do: bool
    messages: tuple[str, ...]
    timings: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": "down",
            "environment": self.environment,
            "destroyed": self.destroyed,
            "stopped": self.stopped,
            "nothing_to_do": self.nothing_to_do,
            "messages": list(self.messages),
            "timings": self.timings,
        }


def _answering_emulator(project: Project, environment: Environment) -> emulator.Record | None:
    """The emulator terraform would talk to now: the recorded one if it answers, else one
    that answers on the contract's port."""
    record = emulator.load_record(project)
    if record is not None:
        return record if emulator.healthy(record) else None
    found = emulator.probe(environment.emulator_port)
    if found.kind is None:
        return None
    return emulator.Record(found.kind, found.port, emulator.endpoint_for(found.port), False,
                           f"external-{found.kind}-{found.port}", emulator.timestamp())


def down(ctx: Context, name: str, *, force: bool = False, destroy: bool = False,
         progress: Progress | None = None) -> DownOutcome:
    """Remove the environment's resources, stop the emulator platformctl started (any with
    `force`), forget it. A moto server that is about to stop takes every resource with it
    (it keeps them in memory), so Terraform's destroy runs only when `destroy` asks, or
    when the emulator stays (not ours) or may persist (LocalStack)."""
    progress = progress or LogProgress()
    project = ctx.project
    environment = emulated_environment(ctx, name)
    timer = Timer()
    messages: list[str] = []
    destroyed = False
    resource_count = _state_resource_count(environment)
    goes_with_emulator = False
    if resource_count:
        running = _answering_emulator(project, environment)
        if running is None or _stale(project, environment, running):
            why = "is not running" if running is None else "restarted since the last apply"
            moved = _move_state_aside(project, environment)
            messages.append(f"The emulator {why}, so its resources went with it; moved the local state to {moved}.")
        elif running.kind == emulator.MOTO and (running.started_by_platformctl or force) and not destroy:
            goes_with_emulator = True
        else:
            check_endpoints(environment)
            tf = _terraform(ctx, environment, running.endpoint)
            with timer.step("init"):
                ensure_initialized(ctx, environment, tf)
            try:
                with timer.step("destroy"):
                    tf.destroy(auto_approve=True)
            except TerraformFailed:
                if not emulator.healthy(running):
                    raise _emulator_died(running, "destroy") from None
                raise
            destroyed = True
            messages.append(f"Destroyed {environment.name} on {running.endpoint}.")
    with timer.step("stop"):
        stopped = emulator.stop(project, environment, force=force)
    if goes_with_emulator:
        moved = _move_state_aside(project, environment)
        destroyed = True
        messages.append(
            f"moto keeps everything in memory: stopping it removed all {resource_count} "
            f"resource{'s' if resource_count != 1 else ''} at once "
            f"(--destroy runs terraform destroy first); moved the local state to {moved}."
        )
    _applied_path(project, environment).unlink(missing_ok=True)
    nothing = not resource_count and not stopped.found
    messages.append(f"Nothing to do: {environment.name} has no resources and no emulator runs." if nothing
                    else stopped.message)
    return DownOutcome(environment.name, destroyed, stopped.stopped, nothing, tuple(messages), timer.total())


# --- status ------------------------------------------------------------------------------


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
    "buckets": "bucket", "tables": "table", "streams": "stream", "queues": "queue", "functions": "function",
}


def _checker(kind: str, session: Any, endpoint: str, region: str) -> Callable[[str], str]:
    """A call that raises when the resource does not exist, returning a short detail."""
    from botocore.config import Config

    config = Config(
        connect_timeout=2, read_timeout=10, retries={"max_attempts": 1}, s3={"addressing_style": "path"}
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


@contextmanager
def _emulator_environment(region: str) -> Iterator[None]:
    """boto3 reads AWS_PROFILE and friends from os.environ when it builds a session and its
    clients: for the emulator, the user's real (or unknown) profile must play no part."""
    saved = dict(os.environ)
    try:
        for name, value in credentials.emulator_env(region).items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def check_resources(resources: dict[str, Any], endpoint: str, region: str) -> list[ResourceStatus]:
    """Ask the emulator, with boto3 and the emulator's dummy credentials, for each resource."""
    with _emulator_environment(region):
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
    if not _state_path(environment).is_file() or not _state_resource_count(environment):
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
    return StatusOutcome(environment.name, emulator_status, tuple(checked), applied=True,
                         mappings=tuple(mappings))
