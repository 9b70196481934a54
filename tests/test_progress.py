"""How the CLI shows a Terraform run: plain timestamped lines off a terminal (CI, pipes,
--json), a Live view on one; fed with events captured from real Terraform runs."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from platformctl.commands.progress import LiveView, TerminalProgress
from platformctl.commands.render import Output
from platformctl.terraform.events import RunTracker, parse_line

FIXTURES = Path(__file__).parent / "fixtures" / "terraform_json"
STAMP = re.compile(r"^\d\d:\d\d:\d\d ")


def output_to(buffer: io.StringIO) -> Output:
    output = Output(color=False)
    output.err = Console(file=buffer, no_color=True, highlight=False, soft_wrap=True, width=200)
    return output


def replay(progress: TerminalProgress, name: str, command: str = "apply") -> None:
    with progress.terraform_run(command) as on_event:
        for line in (FIXTURES / name).read_text().splitlines():
            event = parse_line(line)
            if event is not None:
                on_event(event)


def test_off_a_terminal_a_run_is_plain_timestamped_lines() -> None:
    buffer = io.StringIO()
    progress = TerminalProgress(output_to(buffer))
    assert progress.live is False, "a StringIO is no terminal"
    replay(progress, "apply.jsonl")
    lines = buffer.getvalue().splitlines()
    assert all(STAMP.match(line) for line in lines), lines
    texts = [STAMP.sub("", line) for line in lines]
    assert texts[0] == "apply: Plan: 2 to add, 0 to change, 0 to destroy."
    assert "[1/2] created terraform_data.fast (0 s)" in texts
    assert "terraform_data.slow: still creating... (10 s)" in texts
    assert "[2/2] created terraform_data.slow (11 s)" in texts
    assert texts[-1].startswith("terraform apply: 2 added, 0 changed, 0 destroyed in ")
    assert not any("Plan to create" in text for text in texts), "no per-resource plan dump"


def test_a_run_that_changes_nothing_is_one_line() -> None:
    buffer = io.StringIO()
    replay(TerminalProgress(output_to(buffer)), "noop.jsonl")
    (line,) = buffer.getvalue().splitlines()
    assert STAMP.sub("", line).startswith("terraform apply: no changes (")


def test_terraform_errors_are_shown_whole_and_the_summary_says_failed() -> None:
    buffer = io.StringIO()
    progress = TerminalProgress(output_to(buffer))
    with pytest.raises(RuntimeError), progress.terraform_run("apply") as on_event:
        for line in (FIXTURES / "error.jsonl").read_text().splitlines():
            event = parse_line(line)
            if event is not None:
                on_event(event)
        raise RuntimeError("what the runner raises on exit 1")
    text = buffer.getvalue()
    assert "failed: terraform_data.bad (create)" in text
    assert "Error: local-exec provisioner error\n  with terraform_data.bad\n  on main.tf line 6" in text
    assert "Error running command 'echo failing; exit 3': exit status 3. Output: failing" in text
    assert STAMP.sub("", text.splitlines()[-1]).startswith("terraform apply failed after ")


def test_waiting_off_a_terminal_prints_each_new_message_once() -> None:
    buffer = io.StringIO()
    with TerminalProgress(output_to(buffer)).waiting("Waiting for 3 smoke orders") as status:
        status.update("1 of 3 arrived")  # type: ignore[attr-defined]
        status.update("1 of 3 arrived")  # type: ignore[attr-defined]
        status.update("3 of 3 arrived")  # type: ignore[attr-defined]
    texts = [STAMP.sub("", line) for line in buffer.getvalue().splitlines()]
    assert texts == ["Waiting for 3 smoke orders", "1 of 3 arrived", "3 of 3 arrived"]


def test_the_live_view_shows_done_total_in_flight_and_named_waits() -> None:
    now = [0.0]
    tracker = RunTracker("apply", clock=lambda: now[0])
    lines = (FIXTURES / "apply.jsonl").read_text().splitlines()
    for line in lines:
        event = parse_line(line)
        assert event is not None
        tracker.feed(event)
        if event.kind == "apply_start" and event.resource and event.resource.address == "terraform_data.slow":
            break
    # The same hook, as the provider's slow S3 lifecycle configuration would start it.
    lifecycle = next(line for line in lines if '"apply_start"' in line).replace(
        '"addr":"terraform_data.fast"', '"addr":"aws_s3_bucket_lifecycle_configuration.raw"'
    )
    lifecycle = lifecycle.replace(
        '"resource_type":"terraform_data"', '"resource_type":"aws_s3_bucket_lifecycle_configuration"'
    )
    event = parse_line(lifecycle)
    assert event is not None
    tracker.feed(event)
    now[0] = 42.0
    console = Console(file=io.StringIO(), width=200, no_color=True, record=True)
    console.print(LiveView(tracker))
    text = console.export_text()
    assert "terraform apply  1/2 resources  42 s" in text
    assert "terraform_data.slow" in text and "creating 42 s" in text
    assert "aws_s3_bucket_lifecycle_configuration.raw" in text and "S3 lifecycle: provider waits 55 s" in text


def test_the_live_view_on_a_terminal_ends_with_the_summary_line() -> None:
    buffer = io.StringIO()
    output = output_to(buffer)
    output.err = Console(file=buffer, force_terminal=True, no_color=True, width=200)
    progress = TerminalProgress(output, live=True)
    replay(progress, "apply.jsonl")
    last = buffer.getvalue().rstrip().splitlines()[-1]
    assert "terraform apply: 2 added, 0 changed, 0 destroyed in " in last
