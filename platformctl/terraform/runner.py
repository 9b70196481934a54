"""Terraform commands for one root folder, run through the one subprocess helper.

Long commands (init, plan, apply, destroy) stream to the terminal; with `--json` their
human output goes to stderr so stdout stays a single machine-readable object. Or they run
with Terraform's own `-json` (`run_json`): each event goes to a callback as it arrives (a live
view, terraform/events.py) and the run's change summary and diagnostics come back. Short
probes (output, show, version) are captured and parsed as JSON.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from platformctl import process
from platformctl.errors import PlatformctlError, TerraformFailed
from platformctl.terraform.engine import Engine

if TYPE_CHECKING:
    from platformctl.terraform.events import Event, RunResult

EventCallback = Callable[["Event"], None]

STDERR_FD = 2
# Commands that read root variables from the command line (-var). init, output, show and
# validate do not; `apply PLANFILE` may not (the plan carries its variables).
_VARIABLE_COMMANDS = ("plan", "apply", "destroy", "refresh")
# apply's flags that take no value of their own (`-flag` alone, or `-flag=value`).
_APPLY_FLAGS_WITHOUT_VALUE = (
    "-auto-approve",
    "-compact-warnings",
    "-json",
    "-no-color",
    "-destroy",
    "-refresh-only",
    "-lock",
    "-input",
    "-refresh",
)


def automation_env() -> dict[str, str | None]:
    """Terraform's automation variables for every run platformctl makes.

    TF_IN_AUTOMATION: platformctl is the wrapper, so Terraform's "run terraform apply" hints
    (after a plan, after init) name a command the user should not run; this drops them.
    TF_INPUT=0 under CI, where nothing can answer a prompt. A value the caller set is kept.
    """
    import os

    overrides: dict[str, str | None] = {}
    if "TF_IN_AUTOMATION" not in os.environ:
        overrides["TF_IN_AUTOMATION"] = "1"
    if process.running_in_ci() and "TF_INPUT" not in os.environ:
        overrides["TF_INPUT"] = "0"
    return overrides


@dataclass
class Terraform:
    engine: Engine
    workdir: Path
    # argv that wraps terraform, e.g. ("aws-vault", "exec", "dev", "--").
    prefix: tuple[str, ...] = ()
    env: dict[str, str | None] = field(default_factory=dict)
    color: bool = True
    # Send Terraform's human output to stderr (when stdout carries --json results).
    human_to_stderr: bool = False
    interactive: bool = field(default_factory=process.stdin_is_tty)
    # Root variables platformctl decides (the emulated root's endpoint): passed as the last
    # -var of every command that reads variables, Terraform's highest precedence, so no
    # tfvars, auto.tfvars, -var-file, TF_VAR_ or TF_CLI_ARGS can change them; a saved plan
    # is applied only when `show -json` says it was made with the same values.
    pinned: dict[str, str] = field(default_factory=dict)
    # Overrides of `env` for `init` alone (which may download providers and modules).
    init_env: dict[str, str | None] = field(default_factory=dict)
    # Run before every command that reads variables (after init fetched any module): raises
    # to refuse, e.g. the emulated root's endpoint guard.
    guard: Callable[[], None] | None = None

    def env_for(self, command: str) -> dict[str, str | None]:
        return {**self.env, **self.init_env} if command == "init" else self.env

    def argv(self, command: str, *args: str) -> list[str]:
        flags: list[str] = []
        if not self.color and command not in ("version", "fmt", "output", "show"):
            flags.append("-no-color")
        if not self.interactive and command in ("init", "plan", "apply", "destroy", "import", "refresh"):
            flags.append("-input=false")
        pinned: list[str] = []
        if self.guard is not None and command in _VARIABLE_COMMANDS:
            self.guard()
        if self.pinned and command in _VARIABLE_COMMANDS:
            saved = _saved_plan_arg(args, self.workdir) if command == "apply" else None
            if saved is not None:
                self.verify_saved_plan(saved)
            else:
                pinned = [f"-var={name}={value}" for name, value in self.pinned.items()]
        return [*self.prefix, *self.engine.argv, command, *flags, *args, *pinned]

    def verify_saved_plan(self, plan_file: Path) -> None:
        """Refuse a saved plan made with other values of the pinned variables."""
        if not self.pinned:
            return
        variables = self.show_plan(plan_file).get("variables") or {}
        for name, wanted in self.pinned.items():
            found = (variables.get(name) or {}).get("value") if isinstance(variables, dict) else None
            if found != wanted:
                raise PlatformctlError(
                    f"Plan {plan_file} was made with {name} = {found!r}, not {wanted!r}: platformctl applies "
                    f"nothing it did not point at the emulator; plan again with platformctl."
                )

    def run(self, command: str, *args: str) -> int:
        """Run attached to the terminal; returns Terraform's exit code."""
        stdout = None
        if self.human_to_stderr:
            # File descriptor 2 itself, not sys.stderr: that may be a Python-level stream
            # without a descriptor (CliRunner's), and the child writes to a descriptor.
            sys.stderr.flush()
            stdout = STDERR_FD
        return process.stream(
            self.argv(command, *args),
            env=self.env_for(command),
            cwd=self.workdir,
            stdout=stdout,
            name=self.engine.name,
        )

    def run_json(self, command: str, *args: str, on_event: EventCallback | None = None) -> RunResult:
        """Run with `-json`, each event handed to `on_event` as Terraform prints it; returns the
        exit code, the final change summary and the diagnostics. stderr stays attached (the
        few things Terraform prints there, e.g. CLI config warnings, are not JSON)."""
        from platformctl.terraform.events import RunTracker, parse_line

        tracker = RunTracker(command)

        def on_line(line: str) -> None:
            event = parse_line(line)
            if event is None:
                return
            tracker.feed(event)
            if on_event is not None:
                on_event(event)

        if self.human_to_stderr:
            sys.stderr.flush()
        returncode = process.stream_lines(
            self.argv(command, "-json", *args),
            on_line,
            env=self.env_for(command),
            cwd=self.workdir,
            name=self.engine.name,
        )
        return tracker.result(returncode)

    def check_json(self, command: str, *args: str, on_event: EventCallback | None = None) -> RunResult:
        """`run_json`, raising TerraformFailed (one line, naming the first error) on failure;
        the diagnostics themselves went to `on_event`, whole."""
        result = self.run_json(command, *args, on_event=on_event)
        if result.returncode != 0:
            first = result.errors[0].summary if result.errors else "see Terraform's message above"
            raise TerraformFailed(
                f"terraform {command} failed in {self.workdir} (exit {result.returncode}): {first}.",
                result.returncode,
            )
        return result

    def apply_in_one_run(
        self, *, refresh: bool = True, extra: Sequence[str] = (), on_event: EventCallback | None = None
    ) -> RunResult:
        """Plan and apply in one Terraform process (`apply -auto-approve -json`): no plan file,
        no second start of Terraform and its provider; the change summary says what changed."""
        args = ["-auto-approve", *([] if refresh else ["-refresh=false"]), *extra]
        return self.check_json("apply", *args, on_event=on_event)

    def destroy_in_one_run(self, *, extra: Sequence[str] = (), on_event: EventCallback | None = None) -> RunResult:
        return self.check_json("destroy", "-auto-approve", *extra, on_event=on_event)

    def check(self, command: str, *args: str) -> None:
        """Run, and raise TerraformFailed (one line; Terraform already explained) on failure."""
        returncode = self.run(command, *args)
        if returncode != 0:
            raise TerraformFailed(
                f"terraform {command} failed in {self.workdir} (exit {returncode}): see Terraform's message above.",
                returncode,
            )

    def capture_json(self, command: str, *args: str, allow_failure: bool = False) -> Any:
        result = process.capture(self.argv(command, *args), env=self.env_for(command), cwd=self.workdir)
        if result.returncode != 0 and not (allow_failure and result.stdout.strip()):
            detail = _error_line(result.stderr or result.stdout)
            raise TerraformFailed(f"terraform {command} failed in {self.workdir}: {detail}", result.returncode)
        try:
            return json.loads(result.stdout)
        except ValueError as exc:
            raise TerraformFailed(f"terraform {command} printed unreadable JSON: {exc}", 1) from exc

    # The commands platformctl composes.
    def init(self, *, backend_config: Path | None = None, backend: bool = True, extra: Sequence[str] = ()) -> None:
        args = []
        if not backend:
            args.append("-backend=false")
        elif backend_config is not None:
            args.append(f"-backend-config={backend_config}")
        self.check("init", *args, *extra)

    def plan(self, *, out: Path | None = None, destroy: bool = False, extra: Sequence[str] = ()) -> int:
        """Returns 0 (no changes) or 2 (changes); raises on error."""
        args = ["-detailed-exitcode"]
        if out is not None:
            args.append(f"-out={out}")
        if destroy:
            args.append("-destroy")
        returncode = self.run("plan", *args, *extra)
        if returncode not in (0, 2):
            raise TerraformFailed(
                f"terraform plan failed in {self.workdir} (exit {returncode}): see Terraform's message above.",
                returncode,
            )
        return returncode

    def apply(self, *, plan_file: Path | None = None, auto_approve: bool = False, extra: Sequence[str] = ()) -> None:
        args = [*extra]
        if plan_file is not None:
            args.append(str(plan_file))
        elif auto_approve:
            args.insert(0, "-auto-approve")
        self.check("apply", *args)

    def destroy(self, *, auto_approve: bool = False, extra: Sequence[str] = ()) -> None:
        self.check("destroy", *(["-auto-approve"] if auto_approve else []), *extra)

    def outputs(self) -> dict[str, Any]:
        """`terraform output -json` flattened to {name: value}."""
        raw = self.capture_json("output", "-json")
        return {name: item.get("value") for name, item in (raw or {}).items()}

    def show_plan(self, plan_file: Path) -> dict[str, Any]:
        return dict(self.capture_json("show", "-json", str(plan_file)))


def _saved_plan_arg(args: Sequence[str], workdir: Path) -> Path | None:
    """The saved plan an `apply` is given, or None for an apply that plans itself.

    A saved plan is apply's one positional argument, last, after flags that carry their value
    inline; anything else (`-var-file FILE`, `-var NAME=VALUE` as two arguments) is not one.
    """
    if not args or args[-1].startswith("-"):
        return None
    for flag in args[:-1]:
        if not flag.startswith("-"):
            return None
        if "=" not in flag and flag not in _APPLY_FLAGS_WITHOUT_VALUE:
            return None
    path = Path(args[-1])
    path = path if path.is_absolute() else workdir / path
    return path if path.is_file() else None


def _error_line(text: str) -> str:
    for line in text.splitlines():
        cleaned = line.strip("│╷╵ ").strip()
        if cleaned.startswith("Error:"):
            return cleaned
    stripped = [line.strip("│╷╵ ").strip() for line in text.splitlines()]
    return next((line for line in stripped if line), "no output")
