"""`platformctl snapshot save|restore|list|prune`: the emulator's state and Terraform's, together.

Thin: parse, call platformctl.local.snapshot_ops / platformctl.local.snapshots, render.
"""

from __future__ import annotations

from typing import Annotated

import typer

from platformctl.commands.local import LocalEnv
from platformctl.commands.render import table
from platformctl.commands.shared import DEFAULT_ENVIRONMENT, state, terminal_progress

snapshot_app = typer.Typer(
    name="snapshot",
    help=(
        "Snapshots of the local platform (moto only): the emulator's state, data included, with Terraform's "
        "state. A cold `up` restores the one of the same inputs instead of applying."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


@snapshot_app.command("save", short_help="Save the running platform (data included) as a snapshot.")
def save(
    ctx: typer.Context,
    environment: LocalEnv = DEFAULT_ENVIRONMENT,
    label: Annotated[str, typer.Option("--label", "-l", help="A name for it (a labelled one is kept apart).")] = "",
) -> None:
    """Save the running emulator's state (resources and data) with ENV's Terraform state."""
    # Imported here, not at the top: `platformctl --help` stays fast.
    from platformctl.local import snapshot_ops

    current = state(ctx)
    saved = snapshot_ops.save(current.context, environment, label=label)
    current.output.result(
        {"command": "snapshot save", **saved.as_dict()},
        f"Saved snapshot {saved.id} of {saved.environment}: {saved.resources} resources, {_megabytes(saved.bytes)}.",
    )


@snapshot_app.command("restore", short_help="Restore a snapshot onto the emulator (started if needed).")
def restore(
    ctx: typer.Context,
    environment: LocalEnv = DEFAULT_ENVIRONMENT,
    snapshot_id: Annotated[
        str | None, typer.Argument(help="Its id (or a prefix); default: the newest of the current inputs.")
    ] = None,
) -> None:
    """Replace ENV on the emulator, and its state, with a snapshot; checked, undone on any failure."""
    # Imported here, not at the top: `platformctl --help` stays fast.
    from platformctl.local import snapshot_ops

    current = state(ctx)
    restored = snapshot_ops.restore(
        current.context, environment, snapshot_id, progress=terminal_progress(current.output)
    )
    current.output.result(
        {
            "command": "snapshot restore",
            "snapshot": restored.snapshot.as_dict(),
            "checked": restored.checked,
            "checks": list(restored.checks),
            "timings": restored.seconds,
        },
        f"Restored snapshot {restored.snapshot.id}: {'; '.join(restored.checks)} "
        f"({restored.seconds.get('total', 0):.1f} s).",
    )


@snapshot_app.command("list", short_help="Every snapshot, newest first.")
def list_(ctx: typer.Context) -> None:
    """Every snapshot, newest first: id, environment, when, resources, size, label."""
    # Imported here, not at the top: `platformctl --help` stays fast.
    from platformctl.local import snapshots

    current = state(ctx)
    found = snapshots.list_snapshots(current.context.project)
    rows = [
        [
            s.id,
            s.environment,
            s.created[:19] + "Z",
            str(s.resources),
            _megabytes(s.bytes),
            s.parts.get("moto", ""),
            s.label,
        ]
        for s in found
    ]
    current.output.result(
        {"command": "snapshot list", "snapshots": [s.as_dict() for s in found]},
        table("snapshots", ["id", "env", "created", "resources", "size", "moto", "label"], rows)
        if rows
        else "No snapshots yet: a successful `platformctl up local` saves one.",
    )


@snapshot_app.command("prune", short_help="Delete old snapshots (--keep N newest, --older-than DAYS).")
def prune(
    ctx: typer.Context,
    keep: Annotated[int | None, typer.Option("--keep", min=0, help="Keep the N newest of each environment.")] = None,
    older_than: Annotated[
        float | None, typer.Option("--older-than", min=0, help="Delete those older than DAYS.")
    ] = None,
) -> None:
    """Delete snapshots: all but the N newest of each environment, and (or) those older than DAYS."""
    # Imported here, not at the top: `platformctl --help` stays fast.
    from platformctl.local import snapshot_ops

    current = state(ctx)
    removed = snapshot_ops.prune(current.context, keep=keep, older_than_days=older_than)
    current.output.result(
        {"command": "snapshot prune", "removed": [s.id for s in removed]},
        f"Removed {len(removed)} snapshot{'s' if len(removed) != 1 else ''}"
        + (f": {', '.join(s.id for s in removed)}." if removed else "."),
    )


def register(app: typer.Typer) -> None:
    app.add_typer(snapshot_app, short_help="Save, restore, list, prune snapshots of the local platform.")
