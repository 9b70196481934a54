"""`drift ENV|--all`: what changed in the real infrastructure behind Terraform's back.

A refresh-only plan (`terraform plan -refresh-only`) reads every resource and compares it
with the state, changing nothing; `terraform show -json` of that plan lists each drifted
resource under `resource_drift`, with its attributes before (state) and after (reality).
Only attribute names are reported, never values, so a report is safe to post in an issue.
A difference between null and an empty collection is not drift (APIs return `tags = {}` for
a resource created without tags), although Terraform lists it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from platformctl import exit_codes, operations
from platformctl.context import Context
from platformctl.errors import Interrupted, PlatformctlError
from platformctl.project.contract import Environment


@dataclass(frozen=True)
class DriftedResource:
    address: str
    action: str  # "update": changed outside Terraform; "delete": gone
    attributes: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"address": self.address, "action": self.action, "attributes": list(self.attributes)}


@dataclass(frozen=True)
class DriftReport:
    environment: str
    drifted: tuple[DriftedResource, ...] = ()
    error: str | None = None

    @property
    def has_drift(self) -> bool:
        return bool(self.drifted)

    @property
    def exit_code(self) -> int:
        if self.error is not None:
            return exit_codes.ERROR
        return exit_codes.CHANGES if self.has_drift else exit_codes.OK

    def as_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "drift": self.has_drift,
            "exit_code": self.exit_code,
            "resources": [r.as_dict() for r in self.drifted],
            "error": self.error,
        }


def _normal(value: Any) -> Any:
    """null and an empty collection mean the same to a provider (an API that returns `tags =
    {}` for a resource created without tags is no drift)."""
    return None if value in ({}, []) else value


def changed_attributes(before: Any, after: Any) -> tuple[str, ...]:
    """Top-level attribute names whose values differ between two resource objects."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        return ()
    return tuple(sorted(key for key in set(before) | set(after) if _normal(before.get(key)) != _normal(after.get(key))))


def drifted_resources(plan_json: dict[str, Any]) -> tuple[DriftedResource, ...]:
    """The `resource_drift` of `terraform show -json` of a refresh-only plan."""
    found = []
    for item in plan_json.get("resource_drift", []) or []:
        change = item.get("change", {})
        actions = change.get("actions", [])
        if actions == ["no-op"] or not actions:
            continue
        action = "delete" if "delete" in actions else "update"
        attributes = () if action == "delete" else changed_attributes(change.get("before"), change.get("after"))
        if action == "update" and not attributes:
            continue  # only null-versus-empty differences: nothing changed
        found.append(DriftedResource(str(item.get("address", "?")), action, attributes))
    return tuple(sorted(found, key=lambda r: r.address))


def check(ctx: Context, environment: Environment, extra: Sequence[str] = ()) -> DriftReport:
    """A refresh-only plan of `environment`; raises PlatformctlError when it cannot run."""
    operations.require_emulator(ctx, environment)
    operations.build_functions(ctx.project)
    tf = ctx.terraform_for(environment)
    ctx.account_guard(environment)
    operations.ensure_initialized(ctx, environment, tf)
    plan_file = ctx.project.state_dir / "drift" / f"{environment.name}.tfplan"
    plan_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        tf.plan(out=plan_file, extra=["-refresh-only", *extra])
        plan_json = tf.show_plan(plan_file)
    finally:
        plan_file.unlink(missing_ok=True)  # a plan file holds values in plaintext
    return DriftReport(environment.name, drifted_resources(plan_json))


def check_all(ctx: Context, names: Sequence[str], extra: Sequence[str] = ()) -> list[DriftReport]:
    """Every named environment; one that cannot be checked is a report with its error."""
    reports = []
    for name in names:
        try:
            reports.append(check(ctx, ctx.environment(name), extra))
        except Interrupted:
            raise
        except PlatformctlError as exc:
            reports.append(DriftReport(name, error=str(exc)))
    return reports


def exit_code(reports: Sequence[DriftReport]) -> int:
    codes = {r.exit_code for r in reports}
    if exit_codes.ERROR in codes:
        return exit_codes.ERROR
    return exit_codes.CHANGES if exit_codes.CHANGES in codes else exit_codes.OK


def rows(reports: Sequence[DriftReport]) -> list[list[str]]:
    table: list[list[str]] = []
    for report in reports:
        if report.error is not None:
            table.append([report.environment, "-", "error", report.error])
        elif not report.drifted:
            table.append([report.environment, "-", "no drift", "-"])
        for resource in report.drifted:
            detail = ", ".join(resource.attributes) if resource.action == "update" else "deleted outside Terraform"
            table.append([report.environment, resource.address, resource.action, detail or "-"])
    return table
