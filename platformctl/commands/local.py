"""The emulated environment: `up`, `down`, `status`, and `emulator start|stop|status|logs`.

Thin: parse, call platformctl.local.lifecycle / platformctl.emulators.lifecycle, render. What the core
reports while it works (the emulator's spinner, Terraform's live view) is commands/progress.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from platformctl import exit_codes
from platformctl.commands.render import table
from platformctl.commands.shared import DEFAULT_ENVIRONMENT, state, terminal_progress

if TYPE_CHECKING:
    from rich.table import Table

    from platformctl.emulators import lifecycle as emulator

LocalEnv = Annotated[
    str,
    typer.Argument(help="An emulated environment: a folder under terraform/environments with `emulator` set."),
]
EmulatorOption = Annotated[
    str | None,
    typer.Option(
        "--emulator",
        "-e",
        help="auto | moto | localstack (default: the contract's `emulator`, else auto).",
        show_default=False,
    ),
]
PortOption = Annotated[
    int | None,
    typer.Option(
        "--port",
        min=1,
        max=65535,
        show_default=False,
        help="Emulator port on 127.0.0.1 (default: the contract's emulator_port, 4566).",
    ),
]
TimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        min=1,
        help="Seconds to wait for the emulator to answer (moto 60, LocalStack 300).",
        show_default=False,
    ),
]
ForceOption = Annotated[bool, typer.Option("--force", help="Also stop an emulator that platformctl did not start.")]
EnvOption = Annotated[str, typer.Option("--env", help="The emulated environment whose emulator this is.")]


RefreshOption = Annotated[
    bool,
    typer.Option(
        "--refresh",
        help="Have Terraform read every resource back, even when the state belongs to the running emulator "
        "(after changes made beside platformctl, e.g. with the aws CLI).",
    ),
]


def _resource_rows(resources: dict[str, object]) -> list[list[str]]:
    rows = [["endpoint", str(resources.get("endpoint", ""))]]
    for plural, kind in (
        ("buckets", "bucket"),
        ("tables", "table"),
        ("streams", "stream"),
        ("queues", "queue"),
        ("functions", "function"),
    ):
        items = resources.get(plural) or []
        rows.extend([kind, str(item)] for item in (items if isinstance(items, list) else [items]))
    return rows


def up(
    ctx: typer.Context,
    environment: LocalEnv = DEFAULT_ENVIRONMENT,
    emulator_kind: EmulatorOption = None,
    port: PortOption = None,
    timeout: TimeoutOption = None,
    refresh: RefreshOption = False,
    no_snapshot: Annotated[
        bool,
        typer.Option("--no-snapshot", help="Apply for real even when a matching snapshot could be restored."),
    ] = False,
) -> None:
    """Bring ENV up on an AWS emulator: start or reuse it, init, apply (no prompt), list what exists.

    A cold `up` on moto restores the snapshot saved by an earlier `up` of the same inputs
    instead of applying (see `platformctl snapshot`)."""
    # Imported here, not at the top: `platformctl --help` stays fast.
    from platformctl.local import lifecycle as local

    current = state(ctx)
    outcome = local.up(
        current.context,
        environment,
        requested=emulator_kind,
        port=port,
        timeout=timeout,
        progress=terminal_progress(current.output),
        refresh=refresh,
        no_snapshot=no_snapshot,
    )
    for note in outcome.notes:
        current.output.note(note)
    done = f"restored {outcome.restored_from}" if outcome.restored_from else None
    title = (
        f"{outcome.environment} on {outcome.emulator.kind} ({done or ('changed' if outcome.changed else 'no changes')})"
    )
    current.output.result(outcome.as_dict(), table(title, ["resource", "name"], _resource_rows(outcome.resources)))


def down(
    ctx: typer.Context,
    environment: LocalEnv = DEFAULT_ENVIRONMENT,
    force: ForceOption = False,
    destroy: Annotated[
        bool,
        typer.Option(
            "--destroy",
            help="Run terraform destroy even when stopping moto would remove everything anyway.",
        ),
    ] = False,
) -> None:
    """Remove ENV's resources (no prompt: emulated only), stop the emulator platformctl started, clean up."""
    # Imported here, not at the top: `platformctl --help` stays fast.
    from platformctl.local import lifecycle as local

    current = state(ctx)
    outcome = local.down(
        current.context, environment, force=force, destroy=destroy, progress=terminal_progress(current.output)
    )
    current.output.result(outcome.as_dict(), "\n".join(outcome.messages))


def _emulator_rows(status: emulator.Status) -> list[list[str]]:
    return [
        ["emulator", status.kind or "-"],
        ["endpoint", status.endpoint],
        ["pid", str(status.pid) if status.pid else "-"],
        ["started by platformctl", {None: "-", True: "yes", False: "no"}[status.started_by_platformctl]],
        ["healthy", "ok" if status.healthy else "fail"],
        ["detail", status.detail or "-"],
    ]


def _key_values(title: str | None, rows: list[list[str]]) -> Table:
    result = table(title, ["", ""], rows)
    result.show_header = False
    return result


def status(ctx: typer.Context, environment: LocalEnv = DEFAULT_ENVIRONMENT) -> None:
    """The emulator and every resource of ENV: exit 1 when the emulator is down or something is missing."""
    # Imported here, not at the top: `platformctl --help` stays fast.
    from platformctl.local import status as local_status

    current = state(ctx)
    outcome = local_status.status(current.context, environment)
    rows = [[key, value] for key, value in _emulator_rows(outcome.emulator)]
    resource_rows = [
        [r.kind, r.name, "present" if r.exists else ("missing" if r.exists is False else "fail"), r.detail]
        for r in outcome.resources
    ]
    from rich.console import Group

    parts: list[object] = [_key_values(f"{outcome.environment}: emulator", rows)]
    if outcome.applied:
        parts.append(
            table(
                f"{outcome.environment}: resources",
                ["kind", "name", "status", "detail"],
                resource_rows,
                status_column=2,
            )
        )
    else:
        parts.append(f"{outcome.environment} has no resources: run `platformctl up {outcome.environment}`.")
    if outcome.mappings:
        parts.append(
            table(
                f"{outcome.environment}: event source mappings",
                ["function", "source", "state", "last result", "last batch"],
                [
                    [m.function, m.source, m.state, m.last_processing_result, m.describe_last_batch()]
                    for m in outcome.mappings
                ],
            )
        )
    current.output.result(outcome.as_dict(), Group(*parts))  # type: ignore[arg-type]
    raise typer.Exit(exit_codes.OK if outcome.healthy else exit_codes.ERROR)


emulator_app = typer.Typer(
    name="emulator",
    help="Start, stop, inspect the local AWS emulator directly (moto server or LocalStack).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@emulator_app.command("start", short_help="Start the emulator (or reuse one) and wait for it.")
def emulator_start(
    ctx: typer.Context,
    emulator_kind: EmulatorOption = None,
    port: PortOption = None,
    timeout: TimeoutOption = None,
    environment: EnvOption = DEFAULT_ENVIRONMENT,
) -> None:
    """Start the emulator (or reuse the one that answers) and wait until it is healthy."""
    # Imported here, not at the top: `platformctl --help` stays fast.
    from platformctl.emulators import lifecycle as emulator
    from platformctl.local import lifecycle as local

    current = state(ctx)
    context = current.context
    env = local.emulated_environment(context, environment)
    running = emulator.ensure_running(
        context.project,
        env,
        requested=emulator_kind,
        port=port,
        timeout=timeout,
        progress=terminal_progress(current.output),
    )
    current.output.result(
        {"command": "emulator start", "started": running.started, **running.record.as_dict()}, running.message
    )


@emulator_app.command("stop", short_help="Stop the emulator platformctl started.")
def emulator_stop(ctx: typer.Context, force: ForceOption = False, environment: EnvOption = DEFAULT_ENVIRONMENT) -> None:
    """Stop the emulator platformctl started (another only with --force). Resources on it are lost."""
    # Imported here, not at the top: `platformctl --help` stays fast.
    from platformctl.emulators import lifecycle as emulator
    from platformctl.local import lifecycle as local

    current = state(ctx)
    context = current.context
    stopped = emulator.stop(context.project, local.emulated_environment(context, environment), force=force)
    current.output.result(
        {"command": "emulator stop", "stopped": stopped.stopped, "message": stopped.message}, stopped.message
    )


@emulator_app.command("status", short_help="Kind, pid, endpoint, health: exit 1 unless up.")
def emulator_status(ctx: typer.Context, environment: EnvOption = DEFAULT_ENVIRONMENT) -> None:
    """Kind, pid, endpoint and health of the emulator: exit 1 unless it answers."""
    # Imported here, not at the top: `platformctl --help` stays fast.
    from platformctl.emulators import lifecycle as emulator
    from platformctl.local import lifecycle as local

    current = state(ctx)
    context = current.context
    result = emulator.status(context.project, local.emulated_environment(context, environment))
    current.output.result({"command": "emulator status", **result.as_dict()}, _key_values(None, _emulator_rows(result)))
    raise typer.Exit(exit_codes.OK if result.healthy else exit_codes.ERROR)


@emulator_app.command("logs", short_help="The log of the emulator platformctl started.")
def emulator_logs(
    ctx: typer.Context,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines until Ctrl-C.")] = False,
    lines: Annotated[int, typer.Option("--lines", "-n", min=0, help="How many of the last lines to print.")] = 50,
) -> None:
    """The log of the emulator platformctl started."""
    # Imported here, not at the top: `platformctl --help` stays fast.
    from platformctl.emulators import lifecycle as emulator

    current = state(ctx)
    path = emulator.log_file(current.context.project)
    last = emulator.tail(path, lines)
    if current.output.json_output:
        current.output.result({"command": "emulator logs", "log_file": str(path), "lines": last})
        return
    for line in last:
        print(line)
    if follow:
        try:
            for line in emulator.follow(path):
                print(line, flush=True)
        except KeyboardInterrupt:
            raise typer.Exit(exit_codes.OK) from None


def register(app: typer.Typer) -> None:
    app.command(short_help="Start the emulator and create ENV on it (default local).")(up)
    app.command(short_help="Remove ENV's resources, stop the emulator it started.")(down)
    app.command(short_help="The emulator and every resource of ENV, checked.")(status)
    app.add_typer(emulator_app, short_help="Start, stop, inspect the AWS emulator itself.")
