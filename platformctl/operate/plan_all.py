"""`plan --all`: every environment planned, one summary across them.

Each environment is planned through operations.plan, so a gated one saves its reviewed plan
exactly as `plan prod` does; the others save theirs under .platformctl/plans/<env>/ so the
summary is read from `terraform show -json` of the plan itself. One environment failing
(no emulator, no credentials) is a row saying why; the others are still planned.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platformctl import exit_codes, operations
from platformctl.context import Context
from platformctl.errors import Interrupted, PlatformctlError
from platformctl.terraform.plan import ChangeSummary

# Destroys first: what deletes data is what a reader must not miss.
COLUMNS = ("destroy", "replace", "change", "add")
SUMMARY_ENV = "GITHUB_STEP_SUMMARY"


@dataclass(frozen=True)
class EnvironmentPlan:
    environment: str
    exit_code: int
    summary: ChangeSummary | None
    plan_file: Path | None = None
    gated: bool = False
    error: str | None = None

    @property
    def status(self) -> str:
        if self.error is not None:
            return "error"
        return "changes" if self.exit_code == exit_codes.CHANGES else "no changes"

    def counts(self) -> dict[str, int]:
        summary = self.summary or ChangeSummary()
        return {column: int(getattr(summary, column)) for column in COLUMNS}

    def as_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "status": self.status,
            "exit_code": self.exit_code,
            "gated": self.gated,
            **self.counts(),
            "plan_file": str(self.plan_file) if self.plan_file else None,
            "summary": self.summary.as_dict() if self.summary else None,
            "error": self.error,
        }


def plan_file_for(ctx: Context, name: str) -> Path:
    path = ctx.project.state_dir / "plans" / name / "last.tfplan"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def plan_one(ctx: Context, name: str, extra: Sequence[str] = ()) -> EnvironmentPlan:
    try:
        environment = ctx.environment(name)
        out = None if environment.approval_required else plan_file_for(ctx, name)
        outcome = operations.plan(ctx, environment, out, extra)
        summary = outcome.summary
        if summary is None and outcome.plan_file is not None:
            from platformctl.terraform.plan import summarize

            summary = summarize(ctx.terraform_for(environment).show_plan(outcome.plan_file))
    except Interrupted:
        raise
    except PlatformctlError as exc:
        return EnvironmentPlan(name, exit_codes.ERROR, None, error=str(exc))
    return EnvironmentPlan(name, outcome.exit_code, summary, outcome.plan_file, outcome.gated)


def plan_all(ctx: Context, names: Sequence[str] | None = None, extra: Sequence[str] = ()) -> list[EnvironmentPlan]:
    """Plan every environment (contract order); rows with destroys or replacements first."""
    chosen = list(names) if names is not None else ctx.project.environment_names()
    results = [plan_one(ctx, name, extra) for name in chosen]
    return sorted(results, key=lambda r: (-r.counts()["destroy"], -r.counts()["replace"]))


def exit_code(results: Sequence[EnvironmentPlan]) -> int:
    if any(r.error is not None for r in results):
        return exit_codes.ERROR
    return exit_codes.CHANGES if any(r.exit_code == exit_codes.CHANGES for r in results) else exit_codes.OK


def rows(results: Sequence[EnvironmentPlan]) -> list[list[str]]:
    return [
        [
            r.environment,
            *(str(r.counts()[c]) if r.summary is not None else "-" for c in COLUMNS),
            r.status if r.error is None else f"error: {r.error}",
        ]
        for r in results
    ]


def markdown(results: Sequence[EnvironmentPlan]) -> str:
    """The same table as GitHub-flavoured Markdown, for $GITHUB_STEP_SUMMARY."""
    header = ["environment", *COLUMNS, "status"]
    lines = [
        "### platformctl plan --all",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * len(COLUMNS) + ["---"]) + "|",
    ]
    for row in rows(results):
        cells = [cell.replace("|", "\\|").replace("\n", " ") for cell in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def append_step_summary(results: Sequence[EnvironmentPlan]) -> Path | None:
    """Under CI, append the table to $GITHUB_STEP_SUMMARY; returns the file written, if any."""
    target = os.environ.get(SUMMARY_ENV)
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(markdown(results) + "\n")
    return path
