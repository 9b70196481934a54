"""The Typer application: global options, the one error boundary, command registration.

Commands live in platformctl/commands/; they parse, call platformctl.operations (or another
core module) and render. Nothing below this layer imports Typer or rich.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from platformctl import exit_codes
from platformctl.commands.render import Output
from platformctl.commands.shared import State
from platformctl.errors import PlatformctlError

if TYPE_CHECKING:
    # Typer vendors its own click; the `click` package (when some other package installs
    # it) is a different class hierarchy, and importing it would only slow `--help` down.
    from typer import _click as click

    from platformctl.context import Context


class PlatformctlGroup(TyperGroup):
    """Adds `--` pass-through and the single boundary where errors become exit codes."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            split = args.index("--")
            ctx.meta["passthrough"] = tuple(args[split + 1 :])
            args = args[:split]
        return super().parse_args(ctx, hoist_global_flags(args))

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PlatformctlError as exc:
            self._report(ctx, str(exc), exc.exit_code)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            self._report(ctx, "Interrupted.", exit_codes.INTERRUPTED)
            raise typer.Exit(exit_codes.INTERRUPTED) from None

    @staticmethod
    def _report(ctx: click.Context, message: str, code: int) -> None:
        state = ctx.obj if isinstance(ctx.obj, State) else None
        output = state.output if state else Output()
        if state and state.debug:
            output.err.print_exception(show_locals=False)
        output.error(message)
        if output.json_output:
            output.result({"error": message, "exit_code": code})


# Flags of the whole invocation, accepted before or after the subcommand (`platformctl
# status local --json`, as gh, kubectl and Terraform's own -json put them). They take no
# value, so moving them in front of the subcommand cannot change what another option means.
GLOBAL_FLAGS = ("--json", "--debug", "--no-color")


def hoist_global_flags(args: list[str]) -> list[str]:
    """`args` with every global flag moved to the front, where the app's callback reads it."""
    flags = [arg for arg in args if arg in GLOBAL_FLAGS]
    return [*dict.fromkeys(flags), *(arg for arg in args if arg not in GLOBAL_FLAGS)]


app = typer.Typer(
    cls=PlatformctlGroup,
    name="platformctl",
    help=(
        "Run the e-commerce data platform's Terraform: `up local` on an emulator, plan/apply dev, a gated prod. "
        "ENV defaults to local wherever a command takes one. --json, --debug and --no-color also work after "
        "the subcommand."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one machine-readable JSON object on stdout; human text goes to stderr.")
]
DebugOption = Annotated[
    bool, typer.Option("--debug", help="Log every command run (secrets redacted) and show tracebacks.")
]
NoColorOption = Annotated[bool, typer.Option("--no-color", help="No colour, here and in Terraform's output.")]
RootOption = Annotated[
    Path | None,
    typer.Option(
        "--root",
        help="The platform repository (default: the nearest folder with platform.toml).",
        envvar="PLATFORMCTL_ROOT",
    ),
]


@app.callback()
def configure(
    ctx: typer.Context,
    json_output: JsonOption = False,
    debug: DebugOption = False,
    no_color: NoColorOption = False,
    root: RootOption = None,
) -> None:
    color = not no_color and "NO_COLOR" not in os.environ
    output = Output(json_output=json_output, color=color)
    output.setup_logging(debug)
    # Terraform colours its output even into a pipe or a CI log; colour it only on a terminal,
    # or where FORCE_COLOR asks for it (the convention rich follows too).
    terraform_stream = sys.stderr if json_output else sys.stdout
    terraform_color = color and (_isatty(terraform_stream) or bool(os.environ.get("FORCE_COLOR")))

    def make_context() -> Context:
        # Here, not at the top: the core it pulls in is not needed to print `--help`.
        from platformctl.context import Context, Options

        return Context(Options(json_output=json_output, color=terraform_color, root=root))

    ctx.obj = State(make_context, output, debug)


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False


def _register() -> None:
    from platformctl.commands import core, local, operate, release, smoke, snapshot

    for module in (core, local, release, operate, smoke, snapshot):
        module.register(app)


_register()


def help_text() -> str:
    """The top-level help exactly as `platformctl --help` prints it (platformctl/__main__.py
    caches it)."""
    command = typer.main.get_command(app)
    with command.context_class(command, info_name="platformctl", **command.context_settings) as ctx:
        return command.get_help(ctx)


def main() -> None:
    """The Typer app (platformctl/__main__.py answers a bare `--help` from its cache first)."""
    try:
        app(prog_name="platformctl")
    except KeyboardInterrupt:  # pragma: no cover - Ctrl-C outside any command
        sys.exit(exit_codes.INTERRUPTED)
