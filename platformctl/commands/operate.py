"""Day-two commands: `lock status|release` and `drift`. Thin: parse, call
platformctl.operate.state_lock / platformctl.operate.drift, render."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from platformctl import exit_codes
from platformctl.commands.render import Output, table
from platformctl.commands.shared import (
    DEFAULT_ENVIRONMENT,
    EnvArg,
    NoVault,
    Profile,
    passthrough,
    state,
    with_credentials,
)

if TYPE_CHECKING:
    from platformctl.operate import state_lock

lock_app = typer.Typer(
    name="lock",
    help="The state lock of an environment: who holds it, and releasing a stale one.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _lock_rows(status: state_lock.LockStatus) -> list[list[str]]:
    rows = [["environment", status.environment], ["backend", status.backend], ["where", status.location]]
    lock = status.lock
    if lock is None:
        return [*rows, ["held", "no"]]
    age = lock.age()
    rows += [
        ["held", "no (a stale info file: no process holds the lock)" if status.stale_file else "yes"],
        ["id", lock.id],
        ["operation", lock.operation or "-"],
        ["who", lock.who or "-"],
        ["this machine", "yes" if lock.is_this_machine else "no"],
        [
            "since",
            f"{lock.created.isoformat(timespec='seconds') if lock.created else '?'}"
            f" ({int(age.total_seconds() // 60)} min ago)"
            if age is not None
            else "?",
        ],
        ["terraform", lock.version or "-"],
    ]
    return rows


def _key_values(rows: list[list[str]]) -> object:
    result = table(None, ["", ""], rows)
    result.show_header = False
    return result


@lock_app.command("status", short_help="Who holds ENV's lock, since when; exit 2 if held.")
def lock_status(
    ctx: typer.Context, environment: EnvArg = DEFAULT_ENVIRONMENT, no_vault: NoVault = False, profile: Profile = None
) -> None:
    """Who holds ENV's state lock, since when, for which operation, and whether it is this machine. Exit 0 free,
    2 held."""
    from platformctl.operate import state_lock

    context = with_credentials(ctx, no_vault, profile)
    result = state_lock.status(context, context.environment(environment))
    state(ctx).output.result(result.as_dict(), _key_values(_lock_rows(result)))
    raise typer.Exit(exit_codes.CHANGES if result.held else exit_codes.OK)


def _confirm_release(output: Output) -> state_lock.ConfirmRelease:
    def confirm(status: state_lock.LockStatus, word: str) -> str:
        output.err.print(_key_values(_lock_rows(status)))
        output.err.print("Releasing a lock that a running Terraform still holds can corrupt the state.")
        try:
            return output.err.input(f"Type {word!r} to release the lock on {status.environment}: ", markup=False)
        except (KeyboardInterrupt, EOFError):
            output.err.print()
            raise

    return confirm


@lock_app.command("release", short_help="force-unlock LOCK_ID after a typed confirmation.")
def lock_release(
    ctx: typer.Context,
    environment: Annotated[str, typer.Argument(help="Environment whose lock to release.", show_default=False)],
    lock_id: Annotated[
        str, typer.Argument(help="The lock's ID, from `platformctl lock status ENV`.", show_default=False)
    ],
    force: Annotated[bool, typer.Option("--force", help="Release a lock younger than 15 minutes too.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask (refused for gated environments).")] = False,
    no_vault: NoVault = False,
    profile: Profile = None,
) -> None:
    """terraform force-unlock of ENV's lock LOCK_ID, after a typed confirmation (gated environments: the name)."""
    from platformctl.operate import state_lock

    context = with_credentials(ctx, no_vault, profile)
    output = state(ctx).output
    released = state_lock.release(
        context, context.environment(environment), lock_id, force=force, yes=yes, confirm=_confirm_release(output)
    )
    output.result(
        {
            "command": "lock release",
            "environment": environment,
            "released": lock_id,
            "lock": released.lock.as_dict() if released.lock else None,
        },
        f"Released lock {lock_id} on {environment}.",
    )


def drift(
    ctx: typer.Context,
    environment: Annotated[
        str | None, typer.Argument(help="Environment to check (default: local).", show_default=False)
    ] = None,
    all_environments: Annotated[bool, typer.Option("--all", help="Check every environment.")] = False,
    no_vault: NoVault = False,
    profile: Profile = None,
) -> None:
    """Refresh-only plan of ENV (or --all): resources changed outside Terraform. Exit 0 none, 2 drift, 1 error."""
    from platformctl.errors import PlatformctlError
    from platformctl.operate import drift as drift_core

    context = with_credentials(ctx, no_vault, profile)
    if all_environments and environment is not None:
        raise PlatformctlError("Name one environment, or pass --all, not both.")
    if all_environments:
        reports = drift_core.check_all(context, context.project.environment_names(), passthrough(ctx))
    else:
        reports = [drift_core.check(context, context.environment(environment or DEFAULT_ENVIRONMENT), passthrough(ctx))]
    code = drift_core.exit_code(reports)
    state(ctx).output.result(
        {
            "command": "drift",
            "drift": code == exit_codes.CHANGES,
            "exit_code": code,
            "environments": [r.as_dict() for r in reports],
        },
        table("drift", ["environment", "resource", "drift", "attributes"], drift_core.rows(reports)),
    )
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.add_typer(lock_app, short_help="Who holds ENV's state lock; release a stale one.")
    app.command(short_help="Resources changed outside Terraform (exit 2).")(drift)
