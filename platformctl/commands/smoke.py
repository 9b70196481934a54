"""`platformctl smoke ENV`: put test orders on the order stream and check that they arrive.

Thin: parse, call platformctl.operate.smoke, render the checks as a table. The live spinner (with
what has arrived so far) is commands.progress.TerminalProgress.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from platformctl import exit_codes
from platformctl.commands.render import table
from platformctl.commands.shared import EnvArg, NoVault, Profile, state, with_credentials

if TYPE_CHECKING:
    from platformctl.operate.smoke import SmokeOutcome

Count = Annotated[
    int,
    typer.Option(
        "--count",
        "-n",
        min=1,
        max=499,
        help="How many valid orders to put (one PutRecords: these and the invalid one).",
    ),
]
Timeout = Annotated[float, typer.Option("--timeout", min=1, help="Seconds to wait for the orders to arrive.")]
AllowGated = Annotated[
    bool,
    typer.Option(
        "--allow-gated",
        help="Allow test orders on a gated environment (you still type its name).",
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print the outcome as one JSON object on stdout.")]


def _typed_name(environment: str) -> str:
    return str(typer.prompt(f"Type {environment!r} to put test orders on its stream", err=True))


def _rows(outcome: SmokeOutcome) -> list[list[str]]:
    return [
        [
            check.name,
            check.target,
            "ok" if check.ok else "fail",
            "-" if check.seconds is None else f"{check.seconds:.2f} s",
            check.detail,
        ]
        for check in outcome.checks
    ]


def smoke(
    ctx: typer.Context,
    environment: EnvArg,
    count: Count = 10,
    timeout: Timeout = 60.0,
    allow_gated: AllowGated = False,
    json_output: Json = False,
    no_vault: NoVault = False,
    profile: Profile = None,
) -> None:
    """Put COUNT test orders (and one invalid event) on ENV's order stream; exit 0 only if each reaches
    the raw bucket and the orders table, and the invalid one the failure queue. Test data is removed."""
    # Imported here, not at the top: `platformctl --help` stays fast.
    from platformctl import process
    from platformctl.commands.progress import TerminalProgress
    from platformctl.operate import smoke as core

    current = state(ctx)
    if json_output:
        current.output.json_output = True
    context = with_credentials(ctx, no_vault, profile)
    typed = (lambda: _typed_name(environment)) if process.stdin_is_tty() else None
    outcome = core.run(
        context,
        environment,
        count=count,
        timeout=timeout,
        allow_gated=allow_gated,
        typed_name=typed,
        progress=TerminalProgress(current.output),
    )
    verdict = "all orders arrived" if outcome.passed else f"FAILED: {', '.join(outcome.failed)}"
    title = f"smoke {outcome.environment} (run {outcome.run_id}): {verdict} in {outcome.seconds:.2f} s"
    current.output.result(
        outcome.as_dict(),
        table(title, ["check", "target", "result", "after", "detail"], _rows(outcome), status_column=2),
    )
    cleanup = outcome.cleanup
    if not current.output.json_output:
        current.output.note(
            f"Removed {cleanup.get('objects', 0)} object(s), {cleanup.get('items', 0)} item(s), "
            f"{cleanup.get('messages', 0)} message(s) of the run."
            + (
                f" Kept {len(cleanup['objects_kept'])} object(s) that also hold other events."
                if cleanup.get("objects_kept")
                else ""
            )
            + (f" Could not remove: {'; '.join(cleanup['errors'][:3])}." if cleanup.get("errors") else "")
        )
    raise typer.Exit(exit_codes.OK if outcome.passed else exit_codes.ERROR)


def register(app: typer.Typer) -> None:
    app.command(short_help="Put test orders through ENV's data path and check they arrive.")(smoke)
