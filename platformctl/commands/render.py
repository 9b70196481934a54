"""rich output for the CLI layer: human text on stderr, results on stdout.

rich is imported when output is first made, not when this module is: `platformctl --help`
never renders through it, and importing rich.console costs a fifth of a cold start.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from platformctl import operations
    from platformctl.release import gate
    from platformctl.terraform.plan import ChangeSummary

STATUS_STYLE = {"ok": "green", "warn": "yellow", "fail": "red", "missing": "red", "present": "green"}


class Output:
    """The consoles of one invocation."""

    def __init__(self, *, json_output: bool = False, color: bool = True) -> None:
        from rich.console import Console

        self.json_output = json_output
        no_color = not color
        self.out = Console(no_color=no_color, highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, no_color=no_color, highlight=False, soft_wrap=True)

    def note(self, message: str) -> None:
        self.err.print(message)

    def warn(self, message: str) -> None:
        self.err.print(f"Warning: {message}", style="yellow", markup=False, highlight=False)

    def error(self, message: str) -> None:
        from rich.markup import escape

        # Escaped: messages quote things like `platformctl[engine]` that are not markup.
        self.err.print(f"[bold red]Error:[/] {escape(message)}", markup=True, highlight=False)

    def result(self, data: dict[str, Any], human: Any = None) -> None:
        """With --json, `data` as one JSON object on stdout; else the human rendering."""
        if self.json_output:
            # Plain print: rich would wrap long lines and break the JSON for parsers.
            print(json.dumps(data, indent=2, default=str), flush=True)
        elif human is not None:
            self.out.print(human)

    def setup_logging(self, debug: bool) -> None:
        handler = _ConsoleHandler(self.err)
        handler.setFormatter(logging.Formatter("%(levelname)s %(message)s" if debug else "%(message)s"))
        logger = logging.getLogger("platformctl")
        logger.handlers[:] = [handler]
        logger.setLevel(logging.DEBUG if debug else logging.INFO)
        logger.propagate = False


def table(title: str | None, columns: list[str], rows: list[list[str]], status_column: int | None = None) -> Table:
    from rich.markup import escape
    from rich.table import Table

    # Cells are text, never markup: a detail such as `pip install 'platformctl[engine]'`
    # must not lose its square brackets to rich.
    result = Table(title=escape(title) if title else None, title_justify="left", show_lines=False)
    for column in columns:
        result.add_column(escape(column), overflow="fold")
    for row in rows:
        cells = [escape(cell) for cell in row]
        if status_column is not None:
            status = row[status_column]
            cells[status_column] = f"[{STATUS_STYLE.get(status, 'white')}]{escape(status)}[/]"
        result.add_row(*cells)
    return result


class _ConsoleHandler(logging.Handler):
    """Log records as plain dim lines on stderr, never wrapped or padded."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        style = "yellow" if record.levelno >= logging.WARNING else "dim"
        self.console.print(self.format(record), style=style, markup=False, highlight=False, soft_wrap=True)


# The approval gate's views: change summaries with destroys and replacements called out, the
# saved plan's identity, and the typed-name prompt.


def summary_renderable(heading: str, summary: ChangeSummary) -> Any:
    """The change summary as rich renders it: counts, then every destroy and replacement."""
    from rich.console import Group
    from rich.text import Text

    counts = Text.assemble(
        (f"{summary.add} to add", "green"),
        ", ",
        (f"{summary.change} to change", "yellow"),
        ", ",
        (f"{summary.replace} to replace", "bold yellow" if summary.replace else ""),
        ", ",
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
    engine = manifest.engine
    backend = manifest.backend
    where = f"{backend.get('bucket', backend.get('type', '?'))}/{backend.get('key', '')}"
    lines.append(
        Text(
            f"engine {engine.get('name', 'terraform')} {engine.get('version', '?')} at "
            f"{engine.get('path', '?')}  backend {where}  {len(manifest.inputs)} inputs hashed",
            style="dim",
        )
    )
    if manifest.passthrough:
        lines.append(Text(f"Terraform options: {' '.join(manifest.passthrough)}", style="yellow"))
    deletions = saved.summary.destroy + saved.summary.replace
    if manifest.git_dirty:
        lines.append(Text("Made from uncommitted changes: for review only, apply will refuse it.", style="bold red"))
    else:
        also = f" --approve-destroy {deletions}" if deletions else ""
        lines.append(
            Text(
                f"After review: platformctl apply {manifest.environment}   (CI: --approve {approve}{also})",
                style="cyan",
            )
        )
    return Group(*lines)


def make_confirm(output: Output) -> operations.Confirm:
    """The typed-name prompt: summary first, then the environment's name, on stderr."""

    def confirm(confirmation: operations.Confirmation) -> str:
        summary = confirmation.summary
        if confirmation.action == "delete":
            from rich.text import Text

            count = summary.destroy + summary.replace
            output.err.print(Text(confirmation.heading, style="bold red"))
            for address in summary.destroyed:
                output.err.print(Text(f"  - destroy  {address}", style="red"))
            for address in summary.replaced:
                output.err.print(Text(f"  ± replace  {address}", style="yellow"))
            prompt = f"Type the number of resources this plan deletes or replaces ([bold]{count}[/]) to allow it: "
        else:
            output.err.print(summary_renderable(confirmation.heading, summary))
            what = "apply this plan" if confirmation.action == "apply" else "[bold red]DESTROY[/] everything above"
            prompt = f"Type the environment's name ([bold]{confirmation.environment}[/]) to {what}: "
        try:
            return output.err.input(prompt)
        except (KeyboardInterrupt, EOFError):
            output.err.print()  # end the prompt's line before the error message
            raise

    return confirm
