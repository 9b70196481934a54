"""Release workflow: `bootstrap ENV`. (The gate's views, used by plan/apply/destroy, are in
platformctl/commands/render.py.)"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from platformctl.commands.shared import EnvArg, NoVault, Profile, state, with_credentials


def bootstrap(
    ctx: typer.Context,
    environment: EnvArg,
    dynamodb_lock: Annotated[
        bool,
        typer.Option(
            "--dynamodb-lock", help="Also create the DynamoDB lock table (for teams migrating from DynamoDB locking)."
        ),
    ] = False,
    no_vault: NoVault = False,
    profile: Profile = None,
) -> None:
    """Create ENV's state bucket (from <env>.s3.tfbackend), idempotently: a second run changes nothing."""
    from platformctl import operations

    context = with_credentials(ctx, no_vault, profile)
    env = context.environment(environment)
    report = operations.bootstrap(context, env, dynamodb_lock)
    from rich.console import Group
    from rich.text import Text

    lines: list[Any] = [Text(f"+ {change}", style="green") for change in report.changes]
    lines += [Text(f"= {kept}", style="dim") for kept in report.unchanged]
    verdict = (
        f"{env.name}: state bucket {report.spec.bucket} ready ({len(report.changes)} changes)"
        if report.changed
        else f"{env.name}: state bucket {report.spec.bucket} already set up: nothing changed"
    )
    lines.append(Text(verdict, style="bold"))
    state(ctx).output.result(report.as_dict(), Group(*lines))


def register(app: typer.Typer) -> None:
    app.command(short_help="Create ENV's S3 state bucket, idempotently.")(bootstrap)
