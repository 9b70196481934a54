"""The workflows' glue around platformctl, kept here so tests/test_workflow.py can run it.

python .github/scripts/platform_ci.py region ENV
    prints `region=<aws region>` (for $GITHUB_OUTPUT), read from ENV's HCL by platformctl's
    own contract loader, so no workflow repeats a region.
python .github/scripts/platform_ci.py plan-report RESULT_JSON EXIT_CODE
    RESULT_JSON is what `platformctl --json plan ENV` printed, EXIT_CODE its exit status.
    Appends a Markdown summary to $GITHUB_STEP_SUMMARY, and writes `changes`, `plan_file`
    and `sha256` (of the saved plan, what `apply --approve` names) to $GITHUB_OUTPUT.
    Exits with EXIT_CODE unless it is 0 or 2 (Terraform's "no changes" and "changes").
python .github/scripts/platform_ci.py drift-issue RESULT_JSON EXIT_CODE BODY_FILE
    RESULT_JSON is what `platformctl --json drift ENV` printed, EXIT_CODE its exit status.
    Writes the issue body (Markdown: resources and attribute names, never values) to
    BODY_FILE and `state=drift|clean|error` to $GITHUB_OUTPUT; drift.yml then opens or
    updates the environment's issue on drift, and closes it when clean.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

NO_CHANGES, ERROR, CHANGES = 0, 1, 2


def region(environment: str) -> str:
    from platformctl.project import contract

    value = contract.load().environment(environment).region
    if not value:
        raise SystemExit(f"{environment}: its provider block names no region; set aws_region in terraform.tfvars.")
    return value


def markdown(result: dict[str, Any], exit_code: int, digest: str | None) -> str:
    environment = result.get("environment", "?")
    if exit_code not in (NO_CHANGES, CHANGES):
        error = result.get("error") or "see the job log"
        return f"### Plan `{environment}`: failed (exit {exit_code})\n\n{error}\n"
    summary = result.get("summary") or {}
    if exit_code == NO_CHANGES:
        lines = [f"### Plan `{environment}`: no changes"]
    else:
        lines = [
            f"### Plan `{environment}`: changes",
            "",
            "| add | change | replace | destroy |",
            "|---:|---:|---:|---:|",
            f"| {summary.get('add', '?')} | {summary.get('change', '?')} | "
            f"{summary.get('replace', '?')} | {summary.get('destroy', '?')} |",
        ]
        # Destroys and replacements are what a reviewer must not miss: name each one.
        for label, key in (("Destroyed", "destroyed"), ("Replaced", "replaced")):
            addresses = summary.get(key) or []
            if addresses:
                lines += ["", f"**{label}:**", *(f"- `{address}`" for address in addresses)]
    if digest:
        lines += ["", f"Saved plan sha256: `{digest}`"]
    return "\n".join(lines) + "\n"


def plan_report(result_path: Path, exit_code: int) -> int:
    # The same digest the gate records in the manifest and checks for --approve.
    from platformctl.release.gate import file_sha256

    text = result_path.read_text() if result_path.is_file() else ""
    try:
        result = json.loads(text) if text.strip() else {}
    except ValueError:
        result = {"error": "platformctl printed no JSON result"}
    plan_file = result.get("plan_file")
    saved = Path(plan_file) if plan_file and exit_code in (NO_CHANGES, CHANGES) else None
    digest = file_sha256(saved) if saved and saved.is_file() else None
    _append("GITHUB_STEP_SUMMARY", markdown(result, exit_code, digest))
    outputs = {
        "changes": "true" if exit_code == CHANGES else "false",
        "plan_file": str(saved or ""),
        "sha256": digest or "",
    }
    _append("GITHUB_OUTPUT", "".join(f"{key}={value}\n" for key, value in outputs.items()))
    return NO_CHANGES if exit_code in (NO_CHANGES, CHANGES) else exit_code


def drift_issue(result_path: Path, exit_code: int, body_file: Path) -> int:
    text = result_path.read_text() if result_path.is_file() else ""
    try:
        result = json.loads(text) if text.strip() else {}
    except ValueError:
        result = {}
    reports = result.get("environments") or []
    if exit_code == CHANGES:
        state = "drift"
    elif exit_code == NO_CHANGES and reports:
        state = "clean"
    else:
        state = "error"
    lines = [
        "Resources changed outside Terraform, found by the scheduled `platformctl drift` "
        "(a refresh-only plan; attribute names only, never values).",
        "",
        "| environment | resource | drift | attributes |",
        "|---|---|---|---|",
    ]
    for report in reports:
        if report.get("error"):
            lines.append(f"| {report.get('environment')} | - | error | {_cell(report['error'])} |")
        for resource in report.get("resources", []):
            attributes = ", ".join(resource.get("attributes", [])) or "-"
            lines.append(
                f"| {report.get('environment')} | `{resource.get('address')}` | {resource.get('action')} "
                f"| {_cell(attributes)} |"
            )
    if state == "error" and not reports:
        lines.append(f"| - | - | error | {_cell(result.get('error') or f'exit {exit_code}')} |")
    lines += [
        "",
        "Bring reality back to the code with `platformctl apply ENV`, or the code to reality in a "
        "reviewed change. This issue closes itself once a scheduled run finds no drift.",
    ]
    body_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _append("GITHUB_OUTPUT", f"state={state}\n")
    return 0


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _append(variable: str, text: str) -> None:
    """Append to the file GitHub names in `variable`; print instead when run by hand."""
    target = os.environ.get(variable)
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "region":
        print(f"region={region(argv[1])}")
        return 0
    if len(argv) == 3 and argv[0] == "plan-report":
        return plan_report(Path(argv[1]), int(argv[2]))
    if len(argv) == 4 and argv[0] == "drift-issue":
        return drift_issue(Path(argv[1]), int(argv[2]), Path(argv[3]))
    sys.stderr.write(__doc__ or "")
    return 64  # EX_USAGE


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
