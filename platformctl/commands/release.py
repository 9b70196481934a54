"""Release workflow: `bootstrap ENV`, and the gate's rendering (change summaries with
destroys and replacements called out, the typed-name prompt) used by plan/apply/destroy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from platformctl import operations
from platformctl.cli import state
from platformctl.commands.core import EnvArg, NoVault, Profile, _with_credentials
from platformctl.render import Output
from platformctl.terraform import ChangeSummary

if TYPE_CHECKING:
    from platformctl import gate


def summary_renderable(heading: str, summary: ChangeSummary) -> Any:
    """The change summary as rich renders it: counts, then every destroy and replacement."""
    from rich.console import Group
    from rich.text import Text

    counts = Text.assemble(
        (f"{summary.add} to add", "green"), ", ",
        (f"{summary.change} to change", "yellow"), ", ",
        (f"{summary.replace} to replace", "bold yellow" if summary.replace else ""), ", ",
        (f"{summary.destroy} to destroy", "bold red" if summary.destroy else ""),
    )
    lines: list[Any] = [Text(heading, style="bold"), counts]
    lines += [Text(f"  - destroy  {address}", style="red") for address in summary.destroyed]
    lines += [Text(f"  ± replace  {address}", style="yellow") for address in summary.replaced]
    if summary.destroyed or summary.replaced:
        lines.append(Text("Destroys and replacements delete data that cannot be brought back.", style="bold red"))
    return Group(*lines)


def saved_plan_renderable(saved: gate.SavedPlan) -> Any:
    from rich.console import Group
    from rich.text import Text

    manifest = saved.manifest
    heading = f"{manifest.environment}: plan saved as {saved.plan_path}"
    approve = saved.sha256[:12]
    lines: list[Any] = [summary_renderable(heading, saved.summary)]
    lines.append(Text(f"sha256 {saved.sha256}  account {manifest.account}  commit {manifest.git_commit[:12]}"))
    if manifest.git_dirty:
        lines.append(Text("Made from uncommitted changes: for review only, apply will refuse it.", style="bold red"))
    else:
        lines.append(Text(
            f"After review: platformctl apply {manifest.environment}   (CI: --approve {approve})", style="cyan"
        ))
    return Group(*lines)


def make_confirm(output: Output) -> operations.Confirm:
    """The typed-name prompt: summary first, then the environment's name, on stderr."""

    def confirm(confirmation: operations.Confirmation) -> str:
        output.err.print(summary_renderable(confirmation.heading, confirmation.summary))
        what = "apply this plan" if confirmation.action == "apply" else "[bold red]DESTROY[/] everything above"
        try:
            return output.err.input(f"Type the environment's name ([bold]{confirmation.environment}[/]) to {what}: ")
        except (KeyboardInterrupt, EOFError):
            output.err.print()  # end the prompt's line before the error message
            raise

    return confirm


def bootstrap(
    ctx: typer.Context,
    environment: EnvArg,
    dynamodb_lock: Annotated[bool, typer.Option(
        "--dynamodb-lock", help="Also create the DynamoDB lock table (for teams migrating from DynamoDB locking)."
    )] = False,
    no_vault: NoVault = False,
    profile: Profile = None,
) -> None:
    """Create ENV's state bucket (from <env>.s3.tfbackend), idempotently: a second run changes nothing."""
    context = _with_credentials(ctx, no_vault, profile)
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
    app.command()(bootstrap)
