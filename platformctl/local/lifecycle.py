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
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from platformctl import exit_codes, files, operations
from platformctl.aws import credentials
from platformctl.context import Context
from platformctl.emulators import lifecycle as emulator
from platformctl.emulators.lifecycle import LogProgress, Progress
from platformctl.errors import ContractError, EmulatorError, PlatformctlError, TerraformFailed
from platformctl.operate import data_path
from platformctl.project import hcl
from platformctl.project.contract import Environment, Project
from platformctl.terraform.runner import Terraform

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
    except (OSError, ValueError, AttributeError):
        return {}
    return {m["Key"]: root / m["Dir"] for m in modules if isinstance(m, dict) and m.get("Key") and m.get("Dir")}


@dataclass
class _Scan:
    """What an emulated root and the modules it calls say about where calls go."""

    types: set[str] = field(default_factory=set)
    # (file, config) of every provider "aws" block: the root's, its aliases, override files.
    providers: list[tuple[Path, dict[str, Any]]] = field(default_factory=list)
    module_providers: list[Path] = field(default_factory=list)
    backends: list[tuple[Path, str, dict[str, Any]]] = field(default_factory=list)
    remote_states: list[tuple[Path, str]] = field(default_factory=list)
    declares_endpoint: bool = False


def _configuration_files(folder: Path) -> list[Path]:
    """The .tf files Terraform reads in a folder; JSON configuration is refused, since the
    endpoint guard reads HCL only."""
    json_files = sorted(folder.glob("*.tf.json"))
    if json_files:
        raise ContractError(
            f"{json_files[0]} is JSON configuration, which platformctl cannot check for an emulated "
            "environment: write it as .tf (HCL)."
        )
    return sorted(folder.glob("*.tf"))


def _blocks(parsed: dict[str, Any], kind: str) -> Iterator[tuple[str, Any]]:
    for block in parsed.get(kind, []) or []:
        if isinstance(block, dict):
            yield from block.items()


def _scan(root: Path) -> _Scan:
    installed = _module_dirs(root)
    scan = _Scan()
    seen: set[Path] = set()

    def walk(folder: Path, key: str) -> None:
        folder = folder.resolve()
        if folder in seen:
            return
        seen.add(folder)
        for tf in _configuration_files(folder):
            parsed = hcl.load(tf)
            for kind in ("resource", "data"):
                for name, body in _blocks(parsed, kind):
                    if name.startswith("aws_") and not (kind == "data" and name in _OFFLINE_DATA_SOURCES):
                        scan.types.add(name)
                    if kind == "data" and name == "terraform_remote_state":
                        for config in (body or {}).values() if isinstance(body, dict) else ():
                            backend = str((config or {}).get("backend", "")) if isinstance(config, dict) else ""
                            if backend != "local":
                                scan.remote_states.append((tf, backend))
            for name, config in _blocks(parsed, "provider"):
                if name != "aws":
                    continue
                if key:
                    scan.module_providers.append(tf)
                else:
                    scan.providers.append((tf, config if isinstance(config, dict) else {}))
            if not key:
                for name, _body in _blocks(parsed, "variable"):
                    scan.declares_endpoint |= name == ENDPOINT_VARIABLE
                for terraform_block in parsed.get("terraform", []) or []:
                    if not isinstance(terraform_block, dict):
                        continue
                    if "cloud" in terraform_block:
                        scan.backends.append((tf, "cloud", {}))
                    for backend in terraform_block.get("backend", []) or []:
                        for kind, config in (backend.items() if isinstance(backend, dict) else ()):
                            scan.backends.append((tf, kind, config if isinstance(config, dict) else {}))
            for name, call in _blocks(parsed, "module"):
                source = str((call or {}).get("source", "")) if isinstance(call, dict) else ""
                child_key = f"{key}.{name}" if key else name
                if source.startswith(("./", "../")):
                    walk(folder / source, child_key)
                elif child_key in installed:  # a registry or git module, once init fetched it
                    walk(installed[child_key], child_key)

    walk(root, "")
    return scan


def aws_types_used(root: Path) -> set[str]:
    """Every aws_* resource and data-source type (that calls an API) the root and its modules use."""
    return _scan(root).types


def declares_endpoint_variable(environment: Environment) -> bool:
    """Whether the root declares var.emulator_endpoint (so `-var` may set it)."""
    return _scan(environment.directory).declares_endpoint


def _points_at_emulator(value: Any) -> bool:
    # var.emulator_endpoint of the root is set by platformctl, last on the command line.
    return value == f"${{var.{ENDPOINT_VARIABLE}}}" or emulator.is_loopback_url(value)


# Provider arguments that send calls through another host, or read a profile (and its
# endpoint_url) platformctl does not control.
_REFUSED_PROVIDER_ARGUMENTS = (
    "http_proxy", "https_proxy", "profile", "shared_config_files", "shared_credentials_files",
    "ec2_metadata_service_endpoint", "custom_ca_bundle",
)


def _needed_services(types: set[str], config: dict[str, Any]) -> dict[str, list[str]]:
    needed: dict[str, list[str]] = {"sts": ["the provider's account check"]}
    if config.get("skip_requesting_account_id") is not True:
        # When STS fails, the provider looks its account up with iam:GetUser and iam:ListRoles.
        needed["iam"] = ["the provider's account lookup"]
    for resource_type in sorted(types):
        needed.setdefault(service_of(resource_type), []).append(resource_type)
    return needed


def _check_provider(environment: Environment, tf: Path, config: dict[str, Any],
                    needed: dict[str, list[str]]) -> None:
    alias = config.get("alias")
    where = f'provider "aws"{f" (alias {alias})" if alias else ""} in {environment.directory}'
    refused = [name for name in _REFUSED_PROVIDER_ARGUMENTS if config.get(name) not in (None, "", [])]
    if refused:
        raise ContractError(
            f"{where} sets {', '.join(refused)} ({tf.name}): an emulated environment talks to the emulator "
            f"directly, with its own credentials; remove {'them' if len(refused) > 1 else 'it'}."
        )
    endpoints: dict[str, Any] = {}
    for block in config.get("endpoints", []) or []:
        if isinstance(block, dict):
            endpoints.update(block)
    missing = []
    for service, users in sorted(needed.items()):
        if not any(endpoints.get(k) for k in _ENDPOINT_ALIASES.get(service, (service,))):
            missing.append(f"{service} ({', '.join(users[:2])}{', ...' if len(users) > 2 else ''})")
    if missing:
        raise ContractError(
            f"{where} has no endpoint for {'; '.join(missing)}: add them to its endpoints block "
            f"(= var.{ENDPOINT_VARIABLE}) so {environment.name} can never reach real AWS."
        )
    # Every endpoint it sets, used or not: a resource may pick any of them.
    elsewhere = [f"{key} = {value}" for key, value in sorted(endpoints.items())
                 if value not in (None, "") and not _points_at_emulator(value)]
    if elsewhere:
        raise ContractError(
            f"{where} points {', '.join(elsewhere)} away from the emulator: use var.{ENDPOINT_VARIABLE} "
            f"so {environment.name} can never reach real AWS."
        )


def _check_backends(environment: Environment, scan: _Scan) -> None:
    for tf, kind, config in scan.backends:
        if kind == "local":
            continue
        endpoints: dict[str, Any] = {}
        for block in config.get("endpoints", []) or []:
            if isinstance(block, dict):
                endpoints.update(block)
        if kind == "s3" and all(emulator.is_loopback_url(endpoints.get(k)) for k in ("s3", "sts")) and (
            not config.get("dynamodb_table") or emulator.is_loopback_url(endpoints.get("dynamodb"))
        ):
            continue
        raise ContractError(
            f'{tf} configures backend "{kind}" for {environment.name}, which would keep its state outside the '
            "emulator: remove it (emulated roots keep local state), or point an s3 backend's endpoints "
            "(s3, sts) at the emulator."
        )
    for tf, backend in scan.remote_states:
        raise ContractError(
            f'{tf} reads terraform_remote_state from backend "{backend}" in {environment.name}: an emulated '
            "environment reads only local state; remove it."
        )


def check_endpoints(environment: Environment) -> None:
    """Refuse an emulated root that could send any call anywhere but the emulator: every
    provider "aws" block (aliases and override files included) must give every service the
    platform uses an endpoint that is var.emulator_endpoint or a loopback URL; modules bring
    no provider of their own; no proxy, profile or remote backend of its own."""
    scan = _scan(environment.directory)
    if scan.module_providers:
        raise ContractError(
            f'{scan.module_providers[0]} declares its own provider "aws": for {environment.name} a module '
            "takes its provider from the root (whose endpoints platformctl checks); remove the block."
        )
    _check_backends(environment, scan)
    if not scan.types and not scan.providers:
        return  # nothing here talks to AWS
    if not any("alias" not in config for _, config in scan.providers):
        # The provider's default configuration: no endpoints at all.
        scan.providers.insert(0, (environment.directory / "providers.tf", {}))
    for tf, config in scan.providers:
        _check_provider(environment, tf, config, _needed_services(scan.types, config))


# --- files platformctl keeps for the local environment -----------------------------------


def _applied_path(project: Project, environment: Environment) -> Path:
    """Which emulator start the environment's state belongs to (written before each apply)."""
    return project.state_dir / f"{environment.name}-applied.json"


def _init_path(project: Project, environment: Environment) -> Path:
    return project.state_dir / "init" / f"{environment.name}.json"


def _state_path(environment: Environment) -> Path:
    return environment.directory / STATE_FILE


def _json_kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


def _state_problem(state: Any) -> str | None:
    """What makes parsed JSON something other than a Terraform state platformctl can read."""
    if not isinstance(state, dict):
        return f"it holds {_json_kind(state)}, not an object"
    resources = state.get("resources", [])
    if not isinstance(resources, list):
        return f"`resources` is {_json_kind(resources)}, not a list"
    for index, resource in enumerate(resources):
        if not isinstance(resource, dict):
            return f"resources[{index}] is {_json_kind(resource)}, not an object"
        instances = resource.get("instances", [])
        if not isinstance(instances, list):
            return f"resources[{index}].instances is {_json_kind(instances)}, not a list"
    outputs = state.get("outputs", {})
    if not isinstance(outputs, dict):
        return f"`outputs` is {_json_kind(outputs)}, not an object"
    output = outputs.get(RESOURCES_OUTPUT)
    if output is not None and not (isinstance(output, dict) and isinstance(output.get("value") or {}, dict)):
        return f"outputs.{RESOURCES_OUTPUT} is not an object with a `value` object"
    return None


def _load_state(environment: Environment) -> dict[str, Any] | None:
    """The local terraform.tfstate, None when there is none; a one-line error naming the file
    (which stays as it is) when it is unreadable or not a state."""
    path = _state_path(environment)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise PlatformctlError(f"Cannot read {path} ({reason}): fix it, then run the command again.") from exc
    if not text.strip():
        return None
    try:
        state = json.loads(text)
    except ValueError as exc:
        problem: str | None = f"not JSON: {exc}"
    else:
        problem = _state_problem(state)
    if problem is not None:
        raise PlatformctlError(
            f"{path} is not a Terraform state ({problem}); it was left as it is: restore it from "
            f"{STATE_FILE}.backup or .platformctl/backups, or move it aside, then run the command again."
        )
    return dict(state)


def _state_resource_count(environment: Environment) -> int:
    state = _load_state(environment) or {}
    return sum(len(r.get("instances", [])) for r in state.get("resources", []))


def _read_json(path: Path, what: str) -> dict[str, Any] | None:
    """One of platformctl's own JSON records: None when absent, a one-line error when it is not
    a JSON object."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        data = exc
    if not isinstance(data, dict):
        detail = str(data) if isinstance(data, Exception) else f"it holds {_json_kind(data)}, not an object"
        raise PlatformctlError(f"{path} ({what}) is unreadable ({detail}): delete it, then run the command again.")
    return data


def _write_json(path: Path, data: dict[str, Any]) -> None:
    files.atomic_write(path, json.dumps(data, indent=2) + "\n")


def _stale(project: Project, environment: Environment, record: emulator.Record) -> bool:
    """The state was written against an earlier start of the emulator than the one running.

    Without a note of which start it belongs to (state from `platformctl apply local`), the
    state is trusted: Terraform's refresh drops what no longer exists.
    """
    applied = _read_json(_applied_path(project, environment), "which emulator start the local state belongs to")
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


# Where every proxied request of an emulated Terraform run goes: nowhere (a closed loopback
# port). The emulator is on loopback, which is never proxied (NO_PROXY), so anything that
# would leave this machine for AWS fails to connect instead.
NOWHERE_PROXY = "http://127.0.0.1:1"
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")


def _shell_overrides() -> list[str]:
    """Terraform variables of the shell that could change an emulated run's endpoint, or hide
    the installed modules (TF_DATA_DIR) from the endpoint guard."""
    return sorted(name for name in os.environ
                  if name.startswith("TF_CLI_ARGS") or name == "TF_DATA_DIR"
                  or name.upper() == f"TF_VAR_{ENDPOINT_VARIABLE}".upper())


def isolate(tf: Terraform, environment: Environment, endpoint: str) -> Terraform:
    """Make `tf` an emulated run that can reach nothing but the emulator at `endpoint`.

    The endpoint is a loopback URL, and the last -var of every command that reads variables
    (nothing overrides that); TF_CLI_ARGS* and TF_VAR_emulator_endpoint of the shell are
    dropped; every AWS_* is gone (credentials.emulator_env); HTTP(S)_PROXY point nowhere for
    everything but init, with the loopback hosts in NO_PROXY.
    """
    check_endpoints(environment)
    dropped = _shell_overrides()
    if dropped:
        log.warning("%s: ignoring %s from the shell: %s talks only to its emulator", environment.name,
                    ", ".join(dropped), environment.name)
    tf.env.update(dict.fromkeys(dropped))
    tf.env.update(dict.fromkeys(_PROXY_VARIABLES, NOWHERE_PROXY))
    tf.init_env = {name: os.environ.get(name) for name in _PROXY_VARIABLES}
    # Again before each plan/apply/destroy: init may have fetched modules the first check
    # could not read yet.
    tf.guard = lambda: check_endpoints(environment)
    return point_at(tf, environment, endpoint)


def point_at(tf: Terraform, environment: Environment, endpoint: str) -> Terraform:
    """Pin the root's var.emulator_endpoint to `endpoint`, a loopback URL, kept off any proxy."""
    emulator.require_loopback(endpoint, environment)
    tf.env.update(credentials.no_proxy_for(urlsplit(endpoint).hostname or ""))
    tf.pinned = {ENDPOINT_VARIABLE: endpoint} if declares_endpoint_variable(environment) else {}
    return tf


def _terraform(ctx: Context, environment: Environment, endpoint: str) -> Terraform:
    tf = point_at(ctx.terraform_for(environment), environment, endpoint)  # the emulator this run uses
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
    try:
        known = _read_json(record, "init fingerprint")
    except PlatformctlError:
        known = None  # a cache: init again, which rewrites it
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
    state = _load_state(environment)
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


def root_lock(project: Project, environment: Environment) -> AbstractContextManager[None]:
    """Held by `up` and `down` from the emulator's start to the end of the apply: a second one
    refuses at once instead of racing the first for the emulator and the state."""
    return files.locked(project.state_dir / f"{environment.name}.lock",
                        what=f"{environment.name} (a `platformctl up` or `down` of it is running)")


def check_writable(project: Project, environment: Environment) -> None:
    """Every folder `up` and `down` write in, tried before anything starts or is applied."""
    folders = (project.state_dir, emulator.folder(project), project.state_dir / "plans" / environment.name,
               _init_path(project, environment).parent, project.state_dir / "backups", environment.directory)
    for folder in folders:
        # The folder, or the nearest parent that exists (nothing is created here): a file or a
        # dangling symlink in the way is refused as surely as a folder that refuses writes.
        existing = folder
        while not existing.exists() and not existing.is_symlink() and existing != existing.parent:
            existing = existing.parent
        try:
            if not existing.is_dir():
                what = "a dangling symlink" if existing.is_symlink() and not existing.exists() else "a file"
                raise NotADirectoryError(20, f"{what}, not a folder")
            handle, probe = tempfile.mkstemp(dir=existing, prefix=".platformctl-write-check-")
            os.close(handle)
            os.unlink(probe)
        except OSError as exc:
            raise PlatformctlError(
                f"Cannot write in {folder} ({existing}: {exc.strerror or exc}): nothing was started or applied; "
                "make it a writable folder, then run the command again."
            ) from exc


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
    check_writable(project, environment)
    _load_state(environment)  # a state of the wrong shape is refused before anything starts
    with root_lock(project, environment):
        return _up(ctx, environment, requested=requested, port=port, timeout=timeout, progress=progress, timer=timer)


def _up(ctx: Context, environment: Environment, *, requested: str | None, port: int | None,
        timeout: float | None, progress: Progress, timer: Timer) -> UpOutcome:
    project = ctx.project
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
    environment = emulated_environment(ctx, name)
    check_writable(ctx.project, environment)
    with root_lock(ctx.project, environment):
        return _down(ctx, environment, force=force, destroy=destroy)


def _down(ctx: Context, environment: Environment, *, force: bool, destroy: bool) -> DownOutcome:
    project = ctx.project
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
