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
    from rich.table import Table

    result = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        result.add_column(column, overflow="fold")
    for row in rows:
        cells = list(row)
        if status_column is not None:
            status = cells[status_column]
            cells[status_column] = f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]"
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
