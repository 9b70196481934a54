"""Terraform's `-json` stream: the parser (on output captured from real Terraform 1.11 runs,
tests/fixtures/terraform_json/), the run tracker, and the runner's one-process apply and
destroy against real Terraform (a root of terraform_data resources, no provider needed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from platformctl.errors import TerraformFailed
from platformctl.terraform.engine import resolve
from platformctl.terraform.events import Event, RunTracker, parse_line
from platformctl.terraform.runner import Terraform

FIXTURES = Path(__file__).parent / "fixtures" / "terraform_json"


def events(name: str) -> list[Event]:
    parsed = (parse_line(line) for line in (FIXTURES / name).read_text().splitlines())
    return [event for event in parsed if event is not None]


def tracked(name: str, command: str = "apply") -> RunTracker:
    tracker = RunTracker(command)
    for event in events(name):
        tracker.feed(event)
    return tracker


def test_every_line_of_a_real_apply_is_a_typed_event() -> None:
    """apply.jsonl: two terraform_data resources, the second with an 11 s provisioner, so
    Terraform's own "still creating" tick (apply_progress at 10 s) is in it."""
    stream = events("apply.jsonl")
    kinds = [e.kind for e in stream]
    assert kinds[0] == "version" and stream[0].version == "1.11.4"
    assert kinds.count("planned_change") == 2 and kinds.count("apply_complete") == 2
    assert "text" not in kinds, "every line of Terraform's -json output is JSON"
    start = next(e for e in stream if e.kind == "apply_start")
    assert start.resource is not None and start.resource.address == "terraform_data.fast"
    assert (start.resource.resource_type, start.action) == ("terraform_data", "create")
    tick = next(e for e in stream if e.kind == "apply_progress")
    assert tick.resource is not None and tick.resource.address == "terraform_data.slow" and tick.elapsed == 10.0
    summaries = [e.changes for e in stream if e.kind == "change_summary"]
    assert [(c.operation, c.add, c.changed) for c in summaries if c] == [("plan", 2, True), ("apply", 2, True)]


def test_the_tracker_counts_done_out_of_planned_and_sums_up_in_one_line() -> None:
    tracker = tracked("apply.jsonl")
    assert (tracker.total, tracker.completed, tracker.in_flight) == (2, 2, {})
    assert tracker.done["terraform_data.slow"] == 11.0, "Terraform's own elapsed_seconds"
    assert tracker.final_changes is not None and tracker.final_changes.add == 2
    line = tracker.summary()
    assert line.startswith("terraform apply: 2 added, 0 changed, 0 destroyed in ")
    assert "slowest: terraform_data.slow 11 s" in line


def test_a_run_that_changes_nothing() -> None:
    tracker = tracked("noop.jsonl")
    assert tracker.total == 0 and tracker.final_changes is not None and not tracker.final_changes.changed
    assert tracker.summary().startswith("terraform apply: no changes (")


def test_a_destroy_counts_removals() -> None:
    tracker = tracked("destroy.jsonl", "destroy")
    assert tracker.final_changes is not None
    assert (tracker.final_changes.operation, tracker.final_changes.remove) == ("destroy", 2)
    assert tracker.final_changes.changed and tracker.completed == 2


def test_a_failed_apply_keeps_its_diagnostic_whole() -> None:
    tracker = tracked("error.jsonl")
    assert tracker.failed == ["terraform_data.bad"]
    (diagnostic,) = tracker.diagnostics
    text = diagnostic.render()
    assert text.splitlines()[:4] == [
        "Error: local-exec provisioner error",
        "  with terraform_data.bad",
        '  on main.tf line 6, in resource "terraform_data" "bad":',
        '  6:   provisioner "local-exec" {',
    ]
    assert "Error running command 'echo failing; exit 3': exit status 3. Output: failing" in text
    assert tracker.summary().startswith("terraform apply failed after ")


def test_a_configuration_error_points_at_its_source() -> None:
    (diagnostic,) = tracked("config_error.jsonl").diagnostics
    lines = diagnostic.render().splitlines()
    assert lines[0] == "Error: Reference to undeclared input variable"
    code, carets = lines[2], lines[3]
    assert code == "  2:   input = var.missing"
    assert carets.strip() == "^" * len("var.missing") and code[carets.index("^") :].startswith("var.missing")
    assert 'declared with a variable "missing" {} block' in lines[-1]


def test_blank_and_non_json_lines() -> None:
    assert parse_line("") is None and parse_line("   ") is None
    event = parse_line("Warning: not JSON at all")
    assert event is not None and (event.kind, event.message) == ("text", "Warning: not JSON at all")
    assert parse_line("[1, 2]") == Event("text", message="[1, 2]")


def test_known_waits_are_named_while_in_flight() -> None:
    """The real apply_start line, with the resource type the provider is known to wait on."""
    line = next(line for line in (FIXTURES / "apply.jsonl").read_text().splitlines() if '"apply_start"' in line)
    line = line.replace('"resource_type":"terraform_data"', '"resource_type":"aws_s3_bucket_lifecycle_configuration"')
    now = [100.0]
    tracker = RunTracker("apply", clock=lambda: now[0])
    event = parse_line(line)
    assert event is not None
    tracker.feed(event)
    now[0] = 130.0
    ((flight, seconds),) = tracker.flights()
    assert seconds == 30.0 and flight.wait is not None and "S3 lifecycle: provider waits 55 s" in flight.wait


# Against real Terraform: what the runner returns, and that one process plans and applies.

ROOT = """\
resource "terraform_data" "one" {
  input = var.word
}
variable "word" {
  type    = string
  default = "a"
}
"""


@pytest.fixture
def terraform(tmp_path: Path) -> Terraform:
    if shutil.which("terraform") is None:
        pytest.skip("needs terraform on PATH (install Terraform >= 1.11)")
    (tmp_path / "main.tf").write_text(ROOT)
    tf = Terraform(
        engine=resolve(">= 1.11"),
        workdir=tmp_path,
        interactive=False,
        color=False,
        env={"TF_IN_AUTOMATION": "1", "TF_CLI_CONFIG_FILE": "/dev/null"},
    )
    tf.init()
    return tf


def test_apply_in_one_run_reports_changes_then_none(terraform: Terraform) -> None:
    seen: list[Event] = []
    first = terraform.apply_in_one_run(on_event=seen.append)
    assert first.returncode == 0 and first.changes is not None and first.changes.add == 1
    assert [e.kind for e in seen if e.kind.startswith("apply_")] == ["apply_start", "apply_complete"]
    assert not list(terraform.workdir.glob("*.tfplan")) and not list(terraform.workdir.glob("*plan*"))

    seen.clear()
    again = terraform.apply_in_one_run(refresh=False, on_event=seen.append)
    assert again.changes is not None and not again.changes.changed
    assert "refresh_start" not in {e.kind for e in seen}, "-refresh=false reads nothing back"

    gone = terraform.destroy_in_one_run()
    assert gone.changes is not None and gone.changes.remove == 1


def test_a_failed_apply_raises_one_line_naming_the_error(terraform: Terraform) -> None:
    (terraform.workdir / "main.tf").write_text(ROOT + 'output "x" {\n  value = var.nope\n}\n')
    seen: list[Event] = []
    with pytest.raises(TerraformFailed) as failure:
        terraform.apply_in_one_run(on_event=seen.append)
    assert "terraform apply failed" in str(failure.value) and "Reference to undeclared input variable" in str(
        failure.value
    )
    diagnostics = [e.diagnostic for e in seen if e.diagnostic is not None]
    assert diagnostics and "var.nope" in diagnostics[0].render()
