"""`up`, `down` and `status` of an emulated environment (local): the whole platform on an
AWS emulator in one command, and gone again in another.

up:     start or reuse the emulator, refuse a provider block that would let any service reach
        real AWS, init only when needed, then one `apply -auto-approve -json` (its change
        summary says whether anything changed; no refresh when the state belongs to the
        running emulator start; no Terraform at all when, besides, nothing it reads changed
        since the last apply), and return what exists (output `platform_resources`).
        When the emulator restarted since the state was written (moto keeps everything in
        memory), the stale state is moved aside first, so the apply recreates everything
        instead of failing on "not found".
down:   destroy, stop the emulator platformctl started, clean its state folder; idempotent.
status: in local/status.py; isolation in emulators/isolation.py; the state files in local/state.py.

No Typer or rich: progress goes through emulator.Progress, results are returned.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from platformctl import files, operations
from platformctl.context import Context
from platformctl.emulators import lifecycle as emulator
from platformctl.emulators.isolation import check_endpoints, point_at
from platformctl.emulators.lifecycle import LogProgress, Progress
from platformctl.errors import EmulatorError, PlatformctlError, TerraformFailed
from platformctl.local import snapshots
from platformctl.local.state import (
    applied_path,
    init_path,
    load_state,
    move_state_aside,
    platform_resources,
    read_json,
    stale,
    state_path,
    state_resource_count,
    write_json,
)
from platformctl.operate import data_path
from platformctl.project import hcl
from platformctl.project.contract import Environment, Project
from platformctl.terraform.runner import Terraform

log = logging.getLogger("platformctl")

LAMBDA_NOTE = (
    "Lambda functions exist on moto, but their code does not run there without Docker: "
    "an invoke returns moto's stub answer."
)

# --- terraform, fast when nothing changed ------------------------------------------------


def _terraform(ctx: Context, environment: Environment, record: emulator.Record) -> Terraform:
    tf = point_at(ctx.terraform_for(environment), environment, record.endpoint)  # the emulator this run uses
    kind = emulator.KINDS.get(record.kind)
    for name, value in (kind.root_variables if kind else {}).items():
        if hcl.declares_variable(environment.directory, name):
            tf.pinned[name] = value  # what this emulator cannot emulate stays off
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
    record = init_path(ctx.project, environment)
    fingerprint = _init_fingerprint(ctx, environment)
    try:
        known = read_json(record, "init fingerprint")
    except PlatformctlError:
        known = None  # a cache: init again, which rewrites it
    initialized = (environment.directory / ".terraform").is_dir()
    if initialized and known is not None and known.get("fingerprint") == fingerprint:
        return False
    operations.init(ctx, environment, tf=tf)
    # Init may have written the lock file: fingerprint what it left.
    write_json(record, {"fingerprint": _init_fingerprint(ctx, environment)})
    return True


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
    return files.locked(
        project.state_dir / f"{environment.name}.lock",
        what=f"{environment.name} (a `platformctl up` or `down` of it is running)",
    )


def check_writable(project: Project, environment: Environment) -> None:
    """Every folder `up` and `down` write in, tried before anything starts or is applied."""
    folders = (
        project.state_dir,
        emulator.folder(project),
        project.state_dir / "plans" / environment.name,
        init_path(project, environment).parent,
        project.state_dir / "backups",
        environment.directory,
    )
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
    restored_from: str | None = None  # the snapshot restored instead of an apply (local/snapshots.py)
    snapshot_saved: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": "up",
            "restored_from": self.restored_from,
            "snapshot_saved": self.snapshot_saved,
            "environment": self.environment,
            "emulator": self.emulator.as_dict(),
            "recovered": self.recovered,
            "changed": self.changed,
            "resources": self.resources,
            "timings": self.timings,
            "notes": list(self.notes),
        }


def up(
    ctx: Context,
    name: str,
    *,
    requested: str | None = None,
    port: int | None = None,
    timeout: float | None = None,
    progress: Progress | None = None,
    refresh: bool = False,
    no_snapshot: bool = False,
) -> UpOutcome:
    """`refresh`: have Terraform read every resource even when the state was applied against
    the running emulator start (see _state_matches_emulator)."""
    progress = progress or LogProgress()
    project = ctx.project
    environment = emulated_environment(ctx, name)
    timer = Timer()
    check_endpoints(environment)
    check_writable(project, environment)
    load_state(environment)  # a state of the wrong shape is refused before anything starts
    with root_lock(project, environment):
        return _up(
            ctx,
            environment,
            requested=requested,
            port=port,
            timeout=timeout,
            progress=progress,
            timer=timer,
            refresh=refresh,
            no_snapshot=no_snapshot,
        )


def _up(
    ctx: Context,
    environment: Environment,
    *,
    requested: str | None,
    port: int | None,
    timeout: float | None,
    progress: Progress,
    timer: Timer,
    refresh: bool = False,
    no_snapshot: bool = False,
) -> UpOutcome:
    project = ctx.project
    with timer.step("emulator"):
        running = emulator.ensure_running(
            project, environment, requested=requested, port=port, progress=progress, timeout=timeout
        )
    record = running.record
    progress.note(running.message)

    recovered = False
    if state_resource_count(environment) and stale(project, environment, record):
        progress.note("The emulator restarted since the last apply: its resources are gone; recreating them.")
        moved = move_state_aside(project, environment)
        log.debug("stale state moved to %s", moved)
        recovered = True

    tf = _terraform(ctx, environment, record)
    with timer.step("build"):
        operations.build_functions(project)
    with timer.step("init"):
        ensure_initialized(ctx, environment, tf)
    snapshot_failed = False
    if running.started and not no_snapshot and not state_resource_count(environment):
        with timer.step("restore"):
            restored, snapshot_failed = snapshots.restore_for_up(project, environment, record, progress)
        if restored is not None:
            resources = platform_resources(environment)
            lambda_note = LAMBDA_NOTE if record.kind == emulator.MOTO and not record.lambda_code_runs else None
            notes = data_path.up_notes(environment.name, record.kind, record.endpoint, resources, lambda_note)
            return UpOutcome(
                environment.name, record, running.message, recovered, False, resources, timer.total(),
                tuple(notes), restored_from=restored.snapshot.id,
            )  # fmt: skip
    same_start = _state_matches_emulator(project, environment, record, recovered)
    inputs = _apply_inputs(project, environment, tf)
    if same_start and not refresh and _applied_inputs(project, environment) == inputs:
        # Nothing Terraform would read differs from the last successful apply on this very
        # emulator start, and the state is the one it left: its plan could only be empty.
        progress.note(
            f"No changes: {environment.name} is up to date (nothing changed since the last apply on this "
            "emulator; `up --refresh` asks Terraform)."
        )
        changed = False
    else:
        # From here on the state names resources of this emulator start, even if apply fails.
        write_json(
            applied_path(project, environment),
            {"start_id": record.start_id, "endpoint": record.endpoint, "at": emulator.timestamp()},
        )
        changed = _apply(tf, record, refresh=refresh or not same_start, progress=progress, timer=timer)
        _record_applied_inputs(project, environment, record, inputs)
        if not changed:
            progress.note(f"No changes: {environment.name} is up to date.")
    with timer.step("snapshot"):  # the platform equals its configuration now
        saved = snapshots.save_after_up(project, environment, record, progress, replace=no_snapshot or snapshot_failed)
    with timer.step("outputs"):
        resources = platform_resources(environment, tf)
    stub = record.kind == emulator.MOTO and not record.lambda_code_runs
    notes = data_path.up_notes(environment.name, record.kind, record.endpoint, resources, LAMBDA_NOTE if stub else None)
    return UpOutcome(
        environment.name,
        record,
        running.message,
        recovered,
        changed,
        resources,
        timer.total(),
        tuple(notes),
        snapshot_saved=saved.id if saved else None,
    )


def _state_matches_emulator(
    project: Project, environment: Environment, record: emulator.Record, recovered: bool
) -> bool:
    """Whether the state was applied against this very start of the emulator, so Terraform's
    refresh (a read of every resource, a few seconds on the whole platform) can be skipped.

    Safe because the emulator keeps its resources only while this start runs (a restart has a
    new start_id, and its stale state is moved aside above), and between two `up`s only
    Terraform, through platformctl, changes them. Not safe against changes made beside
    Terraform on the same running emulator (an `aws` CLI delete, moto's reset API): `up
    --refresh` reads everything again for those.
    """
    if recovered or not state_resource_count(environment):
        return False
    applied = read_json(applied_path(project, environment), "which emulator start the local state belongs to")
    return applied is not None and applied.get("start_id") == record.start_id


def _apply_inputs(project: Project, environment: Environment, tf: Terraform) -> str:
    """One digest of everything an apply of the root depends on besides its state: every file
    Terraform reads (the gate's list: root, modules, contract, functions and their packages),
    the variables platformctl pins, its environment for Terraform and the caller's TF_*
    variables (TF_VAR_*, TF_CLI_ARGS*), and the engine."""
    from platformctl.release import inputs

    digest = hashlib.sha256()
    digest.update(json.dumps(inputs.digest(project, environment), sort_keys=True).encode())
    digest.update(json.dumps(tf.pinned, sort_keys=True).encode())
    digest.update(json.dumps(tf.env_for("apply"), sort_keys=True).encode())
    digest.update(json.dumps(sorted((k, v) for k, v in os.environ.items() if k.startswith("TF_"))).encode())
    digest.update(" ".join(tf.engine.argv).encode())
    return digest.hexdigest()


def _state_digest(environment: Environment) -> str | None:
    try:
        return hashlib.sha256(state_path(environment).read_bytes()).hexdigest()
    except OSError:
        return None


def _applied_inputs(project: Project, environment: Environment) -> str | None:
    """The inputs digest of the last successful apply, if the state is still the one it left."""
    applied = read_json(applied_path(project, environment), "which emulator start the local state belongs to") or {}
    state = _state_digest(environment)
    if state is None or applied.get("state_sha256") != state:
        return None
    found = applied.get("inputs_sha256")
    return found if isinstance(found, str) else None


def _record_applied_inputs(project: Project, environment: Environment, record: emulator.Record, inputs: str) -> None:
    """After a successful apply: what it applied, and the state it left (compared next time)."""
    write_json(
        applied_path(project, environment),
        {
            "start_id": record.start_id,
            "endpoint": record.endpoint,
            "at": emulator.timestamp(),
            "inputs_sha256": inputs,
            "state_sha256": _state_digest(environment),
        },
    )


def _apply(
    tf: Terraform,
    record: emulator.Record,
    *,
    refresh: bool,
    progress: Progress,
    timer: Timer,
) -> bool:
    """One Terraform run that plans and applies (no plan file, no second Terraform start);
    True when it changed something (its change summary counts an add, change or remove)."""
    try:
        with timer.step("apply"), progress.terraform_run("apply") as on_event:
            result = tf.apply_in_one_run(refresh=refresh, on_event=on_event)
    except TerraformFailed:
        if not emulator.healthy(record):
            raise _emulator_died(record, "apply") from None
        raise
    return result.changes is not None and result.changes.changed


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
    return emulator.Record(
        found.kind,
        found.port,
        emulator.endpoint_for(found.port),
        False,
        f"external-{found.kind}-{found.port}",
        emulator.timestamp(),
    )


def down(
    ctx: Context, name: str, *, force: bool = False, destroy: bool = False, progress: Progress | None = None
) -> DownOutcome:
    """Remove the environment's resources, stop the emulator platformctl started (any with
    `force`), forget it. A moto server that is about to stop takes every resource with it
    (it keeps them in memory), so Terraform's destroy runs only when `destroy` asks, or
    when the emulator stays (not ours) or may persist (LocalStack)."""
    progress = progress or LogProgress()
    environment = emulated_environment(ctx, name)
    check_writable(ctx.project, environment)
    with root_lock(ctx.project, environment):
        return _down(ctx, environment, force=force, destroy=destroy, progress=progress)


def _down(ctx: Context, environment: Environment, *, force: bool, destroy: bool, progress: Progress) -> DownOutcome:
    project = ctx.project
    timer = Timer()
    messages: list[str] = []
    destroyed = False
    resource_count = state_resource_count(environment)
    goes_with_emulator = False
    if resource_count:
        running = _answering_emulator(project, environment)
        if running is None or stale(project, environment, running):
            why = "is not running" if running is None else "restarted since the last apply"
            moved = move_state_aside(project, environment)
            messages.append(f"The emulator {why}, so its resources went with it; moved the local state to {moved}.")
        elif running.kind == emulator.MOTO and (running.started_by_platformctl or force) and not destroy:
            goes_with_emulator = True
        else:
            check_endpoints(environment)
            tf = _terraform(ctx, environment, running)
            with timer.step("init"):
                ensure_initialized(ctx, environment, tf)
            try:
                with timer.step("destroy"), progress.terraform_run("destroy") as on_event:
                    tf.destroy_in_one_run(on_event=on_event)
            except TerraformFailed:
                if not emulator.healthy(running):
                    raise _emulator_died(running, "destroy") from None
                raise
            destroyed = True
            messages.append(f"Destroyed {environment.name} on {running.endpoint}.")
    with timer.step("stop"):
        stopped = emulator.stop(project, environment, force=force)
    if goes_with_emulator:
        moved = move_state_aside(project, environment)
        destroyed = True
        messages.append(
            f"moto keeps everything in memory: stopping it removed all {resource_count} "
            f"resource{'s' if resource_count != 1 else ''} at once "
            f"(--destroy runs terraform destroy first); moved the local state to {moved}."
        )
    applied_path(project, environment).unlink(missing_ok=True)
    nothing = not resource_count and not stopped.found
    messages.append(
        f"Nothing to do: {environment.name} has no resources and no emulator runs." if nothing else stopped.message
    )
    return DownOutcome(environment.name, destroyed, stopped.stopped, nothing, tuple(messages), timer.total())
