"""`platformctl snapshot save|restore|list|prune`: the explicit use of local/snapshots.py (for
example, a snapshot with seed data in it), under the same root lock as `up` and `down`."""

from __future__ import annotations

from datetime import timedelta

from platformctl.context import Context
from platformctl.emulators import lifecycle as emulator
from platformctl.emulators.lifecycle import LogProgress, Progress
from platformctl.local import snapshots
from platformctl.local.lifecycle import check_writable, emulated_environment, root_lock
from platformctl.local.snapshots import Restored, Snapshot, SnapshotError
from platformctl.local.state import stale, state_resource_count


def _running(ctx: Context, name: str) -> tuple[emulator.Record, snapshots.Fingerprint]:
    environment = emulated_environment(ctx, name)
    record = emulator.load_record(ctx.project)
    if record is None or not emulator.healthy(record):
        raise SnapshotError(f"No emulator runs for {name}: run `platformctl up {name}` first.")
    if record.kind != emulator.MOTO:
        raise SnapshotError(snapshots.MOTO_ONLY)
    return record, snapshots.fingerprint(ctx.project, environment, kind=record.kind, endpoint=record.endpoint)


def save(ctx: Context, name: str, *, label: str = "") -> Snapshot:
    """The running platform and its state, as a snapshot of the current inputs."""
    environment = emulated_environment(ctx, name)
    check_writable(ctx.project, environment)
    with root_lock(ctx.project, environment):
        record, print_ = _running(ctx, name)
        if not state_resource_count(environment) or stale(ctx.project, environment, record):
            raise SnapshotError(
                f"{name}'s state does not describe the running emulator: run `platformctl up {name}` first."
            )
        return snapshots.save(ctx.project, environment, record, print_, label=label)


def restore(ctx: Context, name: str, snapshot_id: str | None = None, progress: Progress | None = None) -> Restored:
    """Replace the platform on the emulator (started if none runs) and its state with a
    snapshot: `snapshot_id`, or the newest of the current inputs."""
    progress = progress or LogProgress()
    environment = emulated_environment(ctx, name)
    check_writable(ctx.project, environment)
    with root_lock(ctx.project, environment):
        running = emulator.ensure_running(ctx.project, environment, requested=emulator.MOTO, progress=progress)
        progress.note(running.message)
        record, print_ = _running(ctx, name)
        if snapshot_id:
            chosen = snapshots.find(ctx.project, snapshot_id)
        else:
            found = snapshots.matching(ctx.project, environment, print_)
            if found is None:
                raise SnapshotError(
                    f"No snapshot of {name}'s current inputs: `platformctl snapshot list` shows them; name one."
                )
            chosen = found
        if chosen.environment != name:
            raise SnapshotError(f"Snapshot {chosen.id} is of {chosen.environment}, not {name}.")
        if chosen.parts.get("endpoint") != record.endpoint:
            raise SnapshotError(
                f"Snapshot {chosen.id} was taken on {chosen.parts.get('endpoint')}, the emulator runs on "
                f"{record.endpoint} (the state's queue URLs carry the port): use --port to match, or `up`."
            )
        if chosen.fingerprint != print_.value:
            changed = sorted(k for k, v in print_.parts.items() if chosen.parts.get(k) != v)
            progress.note(
                f"Snapshot {chosen.id} is of other inputs ({', '.join(changed)} differ): `platformctl plan {name}` "
                "will show the difference."
            )
        try:
            return snapshots.restore(ctx.project, environment, record, chosen)
        except snapshots.RestoreFailed as exc:
            what = "undone (emulator reset, state moved aside)" if exc.undone else "refused, nothing was changed"
            raise SnapshotError(
                f"Restore {what}: {exc}; `platformctl up {name} --no-snapshot` applies for real."
            ) from None


def prune(ctx: Context, *, keep: int | None = None, older_than_days: float | None = None) -> list[Snapshot]:
    older = timedelta(days=older_than_days) if older_than_days is not None else None
    return snapshots.prune(ctx.project, keep=keep, older_than=older)
