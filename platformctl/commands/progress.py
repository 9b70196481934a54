"""How the CLI shows what the core reports (the core's Progress: notes, waits, Terraform runs).

A Terraform run (`-json` events, followed by terraform/events.RunTracker) is shown
- on a terminal: a rich Live view, redrawn four times a second: resources done / total, what
  is in flight and for how long, beside each the provider's known wait if it makes one; and,
  once it ends, one summary line;
- anywhere else (CI, pipes, --json): plain timestamped lines on stderr, one per finished
  resource, per named wait and per Terraform "still creating" tick, then the summary line.
Terraform's diagnostics are printed whole in both. The plan's per-resource lines are not.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

from platformctl import process
from platformctl.terraform.events import GERUND, PAST_TENSE, Event, RunTracker

if TYPE_CHECKING:
    from rich.console import Console

    from platformctl.commands.render import Output

# How many in-flight resources the live view lists (the rest are counted).
LIVE_ROWS = 8


class TerminalProgress:
    """The core's Progress on the command line: notes on stderr, a spinner while waiting, and
    Terraform runs live on a terminal or as plain lines elsewhere (`live` forces one)."""

    def __init__(self, output: Output, *, live: bool | None = None) -> None:
        self.output = output
        if live is None:
            live = output.err.is_terminal and not output.json_output and not process.running_in_ci()
        self.live = live

    def note(self, message: str) -> None:
        self.output.note(message)

    def waiting(self, message: str) -> AbstractContextManager[object]:
        if not self.live:
            from contextlib import nullcontext

            return nullcontext(PlainStatus(self.output.err, message))
        return self.output.err.status(message, spinner="dots")

    @contextmanager
    def terraform_run(self, command: str) -> Iterator[Callable[[Event], None]]:
        tracker = RunTracker(command)
        console = self.output.err
        failed = False
        try:
            if self.live:
                with _live(console, tracker) as on_event:
                    yield on_event
            else:
                yield PlainLines(console, tracker)
        except BaseException:
            failed = True
            raise
        finally:
            line = tracker.summary(returncode=1 if failed else None)
            if self.live:
                console.print(line, style="red" if failed else "bold", markup=False, highlight=False)
            else:
                plain_line(console, line)


def plain_line(console: Console, message: str, style: str = "") -> None:
    stamp = time.strftime("%H:%M:%S")
    console.print(f"{stamp} {message}", style=style, markup=False, highlight=False, soft_wrap=True)


class PlainStatus:
    """What `waiting` gives off a terminal: the message as a timestamped line, and one more
    line each time the core updates it with something new (e.g. smoke's orders arriving)."""

    def __init__(self, console: Console, message: str) -> None:
        self.console = console
        self.last = message
        plain_line(console, message)

    def update(self, message: str) -> None:
        if message != self.last:
            self.last = message
            plain_line(self.console, message)


def _diagnostic_style(event: Event) -> str:
    return "red" if event.diagnostic is not None and event.diagnostic.severity == "error" else "yellow"


class PlainLines:
    """A Terraform run as timestamped lines (a log reads it; nothing is redrawn)."""

    def __init__(self, console: Console, tracker: RunTracker) -> None:
        self.console = console
        self.tracker = tracker

    def __call__(self, event: Event) -> None:
        tracker = self.tracker
        tracker.feed(event)
        resource = event.resource
        if event.kind == "diagnostic" and event.diagnostic is not None:
            plain_line(self.console, event.diagnostic.render(), _diagnostic_style(event))
        elif event.kind == "text":
            self.console.print(event.message, markup=False, highlight=False, soft_wrap=True)
        elif event.kind == "log" and event.message.strip():  # e.g. "Stopping operation..." after Ctrl-C
            plain_line(self.console, event.message.strip())
        elif event.kind == "change_summary" and event.changes is not None and event.changes.operation == "plan":
            if event.changes.changed:
                plain_line(self.console, f"{tracker.command}: {event.message}")
        elif resource is None:
            return
        elif event.kind == "apply_start":
            flight = tracker.in_flight.get(resource.address)
            if flight is not None and flight.wait:
                plain_line(self.console, f"{resource.address}: {flight.wait}")
        elif event.kind == "apply_progress":
            doing = GERUND.get(str(event.action), "working")
            plain_line(self.console, f"{resource.address}: still {doing}... ({event.elapsed or 0:.0f} s)")
        elif event.kind == "apply_complete":
            done = PAST_TENSE.get(str(event.action), str(event.action))
            took = tracker.done.get(resource.address, 0.0)
            plain_line(self.console, f"[{_counts(tracker)}] {done} {resource.address} ({took:.0f} s)")
        elif event.kind == "apply_errored":
            plain_line(self.console, f"failed: {resource.address} ({event.action})", "red")


def _counts(tracker: RunTracker) -> str:
    total = tracker.total
    return f"{tracker.completed}/{total}" if total is not None else str(tracker.completed)


class LiveView:
    """What the Live display draws, computed at each refresh (so in-flight seconds tick)."""

    def __init__(self, tracker: RunTracker) -> None:
        self.tracker = tracker

    def __rich__(self) -> Any:
        from rich.console import Group
        from rich.spinner import Spinner
        from rich.table import Table
        from rich.text import Text

        tracker = self.tracker
        total = tracker.total
        if tracker.plan_changes is None and not tracker.in_flight and not tracker.done:
            phase = "planning"  # Terraform reads the configuration and the state, and plans
        elif total == 0:
            phase = "nothing to change"
        else:
            phase = f"{_counts(tracker)} resources"
        head = Text.assemble((f"terraform {tracker.command}", "bold"), f"  {phase}", f"  {tracker.elapsed():.0f} s")
        if tracker.failed:
            head.append(f"  {len(tracker.failed)} failed", style="red")
        rows = Table.grid(padding=(0, 1))
        flights = tracker.flights()
        for flight, seconds in flights[:LIVE_ROWS]:
            rows.add_row(
                Spinner("dots", style="cyan"),
                Text(flight.resource.address, overflow="ellipsis", no_wrap=True),
                Text(f"{GERUND.get(flight.action, flight.action)} {seconds:.0f} s", style="dim"),
                Text(flight.wait or "", style="yellow"),
            )
        parts: list[Any] = [head, rows]
        if len(flights) > LIVE_ROWS:
            parts.append(Text(f"  and {len(flights) - LIVE_ROWS} more in flight", style="dim"))
        return Group(*parts)


@contextmanager
def _live(console: Console, tracker: RunTracker) -> Iterator[Callable[[Event], None]]:
    from rich.live import Live

    with Live(LiveView(tracker), console=console, refresh_per_second=4, transient=True) as live:

        def on_event(event: Event) -> None:
            tracker.feed(event)
            if event.kind == "diagnostic" and event.diagnostic is not None:
                live.console.print(
                    event.diagnostic.render(), style=_diagnostic_style(event), markup=False, highlight=False
                )
            elif event.kind == "text" or (event.kind == "log" and event.message.strip()):
                live.console.print(event.message.strip(), markup=False, highlight=False)

        yield on_event
