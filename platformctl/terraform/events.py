"""Terraform's machine-readable UI (`plan|apply|destroy -json`): one JSON object a line,
parsed into typed events, and a tracker that follows a run (done / total, what is in flight
and since when, the waits the AWS provider is known to make) for whoever shows progress.

The stream's message types (Terraform's "machine-readable UI" docs): version, log,
diagnostic, planned_change, resource_drift, change_summary, outputs, apply_start,
apply_progress, apply_complete, apply_errored, refresh_start, refresh_complete,
provision_start/progress/complete/errored. Unknown types are kept as they are, so a newer
Terraform's additions pass through harmlessly. No Typer or rich here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Planned actions that change something (planned_change's `action`); noop, read, move and
# forget leave the emulator's resources as they are.
CHANGING_ACTIONS = ("create", "update", "delete", "replace")

# Waits the hashicorp/aws provider makes on purpose, whatever the emulator answers: shown
# beside the resource while it is in flight, so a minute on one resource reads as expected.
KNOWN_WAITS = {
    "aws_s3_bucket_lifecycle_configuration": (
        "S3 lifecycle: provider waits 55 s for consistency (10 s, then 10 matching reads 5 s apart)"
    ),
    "aws_sqs_queue": "SQS: provider waits 25 s per queue for its attributes (a main queue after its DLQ)",
    "aws_kinesis_stream": "Kinesis: provider polls the stream until ACTIVE (about 3 x 10 s)",
}

GERUND = {
    "create": "creating",
    "update": "updating",
    "delete": "destroying",
    "replace": "replacing",
    "read": "reading",
}

PAST_TENSE = {
    "create": "created",
    "update": "updated",
    "delete": "destroyed",
    "replace": "replaced",
    "read": "read",
    "noop": "unchanged",
}


@dataclass(frozen=True)
class Resource:
    address: str
    resource_type: str

    @classmethod
    def parse(cls, data: Any) -> Resource | None:
        if not isinstance(data, dict) or not data.get("addr"):
            return None
        return cls(str(data["addr"]), str(data.get("resource_type") or ""))


@dataclass(frozen=True)
class Changes:
    """change_summary's counts; `operation` is plan, apply or destroy."""

    add: int = 0
    change: int = 0
    remove: int = 0
    imported: int = 0
    operation: str = ""

    @property
    def changed(self) -> bool:
        return self.add + self.change + self.remove > 0

    @property
    def total(self) -> int:
        return self.add + self.change + self.remove

    def describe(self) -> str:
        return f"{self.add} added, {self.change} changed, {self.remove} destroyed"

    def as_dict(self) -> dict[str, Any]:
        return {"add": self.add, "change": self.change, "remove": self.remove, "import": self.imported}


@dataclass(frozen=True)
class Diagnostic:
    """An error or warning, with the source snippet Terraform points at."""

    severity: str
    summary: str
    detail: str = ""
    address: str | None = None
    filename: str | None = None
    line: int | None = None
    context: str | None = None
    code: str | None = None
    highlight: tuple[int, int] | None = None

    @classmethod
    def parse(cls, data: Any) -> Diagnostic:
        data = data if isinstance(data, dict) else {}
        where = data.get("range") or {}
        snippet = data.get("snippet") or {}
        start = snippet.get("highlight_start_offset")
        end = snippet.get("highlight_end_offset")
        return cls(
            severity=str(data.get("severity") or "error"),
            summary=str(data.get("summary") or ""),
            detail=str(data.get("detail") or ""),
            address=data.get("address"),
            filename=where.get("filename"),
            line=(where.get("start") or {}).get("line"),
            context=snippet.get("context"),
            code=snippet.get("code"),
            highlight=(int(start), int(end)) if isinstance(start, int) and isinstance(end, int) else None,
        )

    def render(self) -> str:
        """The diagnostic whole, laid out as Terraform's human output does (without the box)."""
        lines = [f"{self.severity.capitalize()}: {self.summary}"]
        if self.address:
            lines.append(f"  with {self.address}")
        if self.filename:
            where = f"  on {self.filename} line {self.line}" if self.line else f"  on {self.filename}"
            lines.append(f"{where}, in {self.context}:" if self.context else f"{where}:")
        if self.code is not None:
            number = f"{self.line}: " if self.line else ""
            lines.append(f"  {number}{self.code}")
            if self.highlight is not None:
                start, end = self.highlight
                lines.append(" " * (2 + len(number) + start) + "^" * max(1, end - start))
        if self.detail:
            lines.append("")
            lines.extend(self.detail.rstrip("\n").splitlines())
        return "\n".join(lines)


@dataclass(frozen=True)
class Event:
    """One line of the stream. `kind` is Terraform's `type` ("text" for a line that is not
    JSON, e.g. a wrapper's own output); the other fields are filled where the type has them."""

    kind: str
    message: str = ""
    level: str = "info"
    resource: Resource | None = None
    action: str | None = None
    elapsed: float | None = None
    changes: Changes | None = None
    diagnostic: Diagnostic | None = None
    version: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def parse_line(line: str) -> Event | None:
    """One line of `-json` output as an Event; None for a blank line."""
    text = line.strip()
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return Event("text", message=line.rstrip())
    if not isinstance(data, dict):
        return Event("text", message=line.rstrip())
    kind = str(data.get("type") or "log")
    event: dict[str, Any] = {
        "kind": kind,
        "message": str(data.get("@message") or ""),
        "level": str(data.get("@level") or "info"),
        "raw": data,
    }
    hook = data.get("hook") if isinstance(data.get("hook"), dict) else None
    change = data.get("change") if isinstance(data.get("change"), dict) else None
    if hook is not None:
        event["resource"] = Resource.parse(hook.get("resource"))
        event["action"] = hook.get("action")
        if isinstance(hook.get("elapsed_seconds"), int | float):
            event["elapsed"] = float(hook["elapsed_seconds"])
    elif change is not None:
        event["resource"] = Resource.parse(change.get("resource"))
        event["action"] = change.get("action")
    if kind == "change_summary" and isinstance(data.get("changes"), dict):
        counts = data["changes"]
        event["changes"] = Changes(
            add=int(counts.get("add") or 0),
            change=int(counts.get("change") or 0),
            remove=int(counts.get("remove") or 0),
            imported=int(counts.get("import") or 0),
            operation=str(counts.get("operation") or ""),
        )
    if kind == "diagnostic":
        event["diagnostic"] = Diagnostic.parse(data.get("diagnostic"))
    if kind == "version":
        event["version"] = data.get("terraform")
    return Event(**event)


@dataclass
class InFlight:
    resource: Resource
    action: str
    started: float

    @property
    def wait(self) -> str | None:
        return KNOWN_WAITS.get(self.resource.resource_type)


@dataclass
class RunResult:
    """What a `-json` run ended with: Terraform's exit code, the final change summary (the
    apply's or destroy's, else the plan's), and the diagnostics it reported."""

    returncode: int
    changes: Changes | None
    diagnostics: list[Diagnostic]
    seconds: float

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


class RunTracker:
    """Follows one run's events: resources done out of the planned total, what is in flight
    (since when, by `clock`), the slowest ones, and the final summary line."""

    def __init__(self, command: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.command = command
        self.clock = clock
        self.started = clock()
        self.planned: dict[str, str] = {}  # address -> planned action
        self.plan_changes: Changes | None = None
        self.final_changes: Changes | None = None
        self.done: dict[str, float] = {}  # address -> seconds it took
        self.failed: list[str] = []
        self.in_flight: dict[str, InFlight] = {}
        self.diagnostics: list[Diagnostic] = []
        self.version: str | None = None

    def feed(self, event: Event) -> None:
        resource = event.resource
        if event.kind == "version":
            self.version = event.version
        elif event.kind == "planned_change" and resource is not None and event.action in CHANGING_ACTIONS:
            self.planned[resource.address] = str(event.action)
        elif event.kind == "change_summary" and event.changes is not None:
            if event.changes.operation == "plan":
                self.plan_changes = event.changes
            else:
                self.final_changes = event.changes
        elif event.kind == "apply_start" and resource is not None:
            self.in_flight[resource.address] = InFlight(resource, str(event.action or ""), self.clock())
        elif event.kind == "apply_complete" and resource is not None:
            flight = self.in_flight.pop(resource.address, None)
            took = event.elapsed if event.elapsed is not None else (self.clock() - flight.started if flight else 0.0)
            self.done[resource.address] = self.done.get(resource.address, 0.0) + took
        elif event.kind == "apply_errored" and resource is not None:
            self.in_flight.pop(resource.address, None)
            self.failed.append(resource.address)
        elif event.kind == "diagnostic" and event.diagnostic is not None:
            self.diagnostics.append(event.diagnostic)

    @property
    def total(self) -> int | None:
        """Resources this run changes: from the planned changes, else the plan's summary."""
        if self.planned:
            return len(self.planned)
        return self.plan_changes.total if self.plan_changes is not None else None

    @property
    def completed(self) -> int:
        if self.planned:
            return sum(1 for address in self.done if address in self.planned and address not in self.in_flight)
        return len(self.done)

    def elapsed(self) -> float:
        return self.clock() - self.started

    def flights(self) -> list[tuple[InFlight, float]]:
        """In-flight resources with their seconds so far, longest first."""
        now = self.clock()
        return sorted(((f, now - f.started) for f in self.in_flight.values()), key=lambda item: -item[1])

    def slowest(self, count: int = 3) -> list[tuple[str, float]]:
        return sorted(self.done.items(), key=lambda item: -item[1])[:count]

    def summary(self, returncode: int | None = None) -> str:
        """One line: what the run did, in how long, and where the time went."""
        seconds = self.elapsed()
        if returncode not in (None, 0) or self.failed or any(d.severity == "error" for d in self.diagnostics):
            errors = sum(1 for d in self.diagnostics if d.severity == "error")
            done = f"{self.completed}/{self.total}" if self.total is not None else str(self.completed)
            return f"terraform {self.command} failed after {seconds:.0f} s: {done} done, {errors or 1} error(s)"
        changes = self.final_changes or self.plan_changes
        if changes is None or not changes.changed:
            return f"terraform {self.command}: no changes ({seconds:.1f} s)"
        line = f"terraform {self.command}: {changes.describe()} in {seconds:.0f} s"
        slow = [f"{address} {took:.0f} s" for address, took in self.slowest() if took >= 5]
        return f"{line}; slowest: {', '.join(slow)}" if slow else line

    def result(self, returncode: int) -> RunResult:
        return RunResult(returncode, self.final_changes or self.plan_changes, list(self.diagnostics), self.elapsed())
