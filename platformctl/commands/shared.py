"""What every command shares: the invocation's State (ctx.obj), arguments after `--`, and
the options that several commands take. Kept apart from cli.py so that command modules and
the app that registers them do not import each other."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    # Only for the annotations: importing context pulls in the core (`--help` needs none of it).
    from platformctl.commands.progress import TerminalProgress
    from platformctl.commands.render import Output
    from platformctl.context import Context


@dataclass
class State:
    """What every command receives through ctx.obj. The Context is made on first use, so a
    `--help` (which runs the app's callback too) never imports the core behind it."""

    make_context: Callable[[], Context]
    output: Output
    debug: bool = False

    @cached_property
    def context(self) -> Context:
        return self.make_context()


def passthrough(ctx: typer.Context) -> tuple[str, ...]:
    """Arguments after `--`, handed to terraform unchanged."""
    root = ctx.find_root()
    return tuple(root.meta.get("passthrough", ()))


def state(ctx: typer.Context) -> State:
    obj = ctx.find_object(State)
    if obj is None:  # only if a command were invoked without the app's callback
        raise RuntimeError("platformctl's app callback did not run: invoke commands through `app`.")
    return obj


def with_credentials(ctx: typer.Context, no_vault: bool, profile: str | None) -> Context:
    """The invocation's Context, with this command's --no-vault / --profile applied."""
    current = state(ctx).context
    if no_vault or profile:
        current.options = replace(current.options, no_vault=no_vault, profile=profile)
    return current


# One rule for every command that takes an environment: it defaults to the emulated one,
# as `up` and `status` do, so `platformctl plan` on a laptop never reaches a real account.
DEFAULT_ENVIRONMENT = "local"

EnvArg = Annotated[
    str,
    typer.Argument(help="Environment: a folder under terraform/environments (local, dev, prod)."),
]
NoVault = Annotated[
    bool,
    typer.Option(
        "--no-vault",
        envvar="PLATFORMCTL_NO_VAULT",
        help="Use ambient AWS credentials (CI's OIDC) instead of aws-vault. Default when CI=true.",
    ),
]
Profile = Annotated[str | None, typer.Option("--profile", help="aws-vault profile to use instead of the contract's.")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (refused for gated environments).")]


def terminal_progress(output: Output) -> TerminalProgress:
    """The core's Progress on the command line (commands/progress.py), imported on first use."""
    from platformctl.commands.progress import TerminalProgress

    return TerminalProgress(output)
