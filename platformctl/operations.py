"""What each command does, free of Typer and rich: returns values, raises PlatformctlError.

The CLI layer parses arguments, calls one function here and renders its result.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from platformctl import contract, credentials, engine, exit_codes, providers
from platformctl.contract import Environment, Project
from platformctl.errors import PlatformctlError
from platformctl.terraform import ChangeSummary, Terraform, summarize

log = logging.getLogger("platformctl")


@dataclass(frozen=True)
class Options:
    """Global options, as the CLI parsed them."""

    json_output: bool = False
    color: bool = True
    root: Path | None = None
    no_vault: bool = False
    profile: str | None = None


@dataclass
class Context:
    """One invocation: the project, the options, and the engine (resolved on first use)."""

    options: Options = field(default_factory=Options)

    @cached_property
    def project(self) -> Project:
        return contract.load(self.options.root)

    @cached_property
    def engine(self) -> engine.Engine:
        return engine.resolve(self.project.required_version(), self.project.engine_name)

    def provider_env(self) -> dict[str, str | None]:
        return providers.terraform_env(self.project.provider_mirror, self.project.state_dir)

    def terraform(self, workdir: Path, extra_env: dict[str, str | None] | None = None,
                  prefix: tuple[str, ...] = ()) -> Terraform:
        return Terraform(
            engine=self.engine,
            workdir=workdir,
            prefix=prefix,
            env={**self.provider_env(), **(extra_env or {})},
            color=self.options.color,
            human_to_stderr=self.options.json_output,
        )

    def environment(self, name: str) -> Environment:
        return self.project.environment(name)

    def credentials(self, environment: Environment) -> credentials.Credentials:
        return credentials.for_environment(
            environment, no_vault=self.options.no_vault, profile=self.options.profile
        )

    def terraform_for(self, environment: Environment) -> Terraform:
        creds = self.credentials(environment)
        log.info("%s: %s, %s", environment.name, self.engine.describe(), creds.description)
        return self.terraform(environment.directory, creds.env, creds.prefix)


def build_functions(project: Project) -> list[Path]:
    """Build the Lambda packages the roots reference (reproducible zips under build/)."""
    if not (project.root / "functions").is_dir():
        return []
    from platformctl import packaging

    return packaging.build_all(project.root)


def is_initialized(environment: Environment) -> bool:
    return (environment.directory / ".terraform").is_dir()


def init(ctx: Context, environment: Environment, extra: Sequence[str] = (), *, tf: Terraform | None = None) -> None:
    tf = tf or ctx.terraform_for(environment)
    if environment.backend_config is not None and not environment.backend_config.is_file():
        raise PlatformctlError(
            f"Backend config {environment.backend_config} is missing: create it or fix "
            f"environments.{environment.name}.backend_config in platform.toml."
        )
    tf.init(backend_config=environment.backend_config, extra=extra)
    # Terraform creates .terraform/ only when a root has providers or modules; make it
    # always exist after a successful init, so `plan` knows not to init again.
    (environment.directory / ".terraform").mkdir(exist_ok=True)


def ensure_initialized(ctx: Context, environment: Environment, tf: Terraform) -> None:
    """Run init once for a fresh checkout, so `plan ENV` works without a separate `init`."""
    if not is_initialized(environment):
        init(ctx, environment, tf=tf)


@dataclass(frozen=True)
class PlanOutcome:
    environment: str
    exit_code: int
    plan_file: Path | None
    summary: ChangeSummary | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": "plan",
            "environment": self.environment,
            "exit_code": self.exit_code,
            "changes": self.exit_code == exit_codes.CHANGES,
            "plan_file": str(self.plan_file) if self.plan_file else None,
            "summary": self.summary.as_dict() if self.summary else None,
        }


def plan(ctx: Context, environment: Environment, out: Path | None = None, extra: Sequence[str] = ()) -> PlanOutcome:
    if out is not None:
        out = out.resolve()
        if out.is_dir():
            raise PlatformctlError(f"--out {out} is a directory: name a plan file.")
    build_functions(ctx.project)
    tf = ctx.terraform_for(environment)
    ensure_initialized(ctx, environment, tf)
    if ctx.options.json_output and out is None:
        # A summary needs a saved plan; keep it in platformctl's own state folder.
        out = ctx.project.state_dir / "plans" / environment.name / "last.tfplan"
        out.parent.mkdir(parents=True, exist_ok=True)
    returncode = tf.plan(out=out, extra=extra)
    summary = summarize(tf.show_plan(out)) if out is not None and ctx.options.json_output else None
    return PlanOutcome(environment.name, returncode, out, summary)


def apply(ctx: Context, environment: Environment, plan_file: Path | None = None, *,
          auto_approve: bool = False, extra: Sequence[str] = ()) -> None:
    if plan_file is not None:
        plan_file = plan_file.resolve()
        if not plan_file.is_file():
            raise PlatformctlError(f"Plan file {plan_file} not found: run `platformctl plan {environment.name} --out FILE` first.")
    tf = ctx.terraform_for(environment)
    if plan_file is None and not auto_approve and not tf.interactive:
        raise PlatformctlError(
            f"Nothing can confirm this apply without a terminal: pass --yes, or a plan file from `platformctl plan {environment.name} --out FILE`."
        )
    build_functions(ctx.project)
    ensure_initialized(ctx, environment, tf)
    tf.apply(plan_file=plan_file, auto_approve=auto_approve, extra=extra)


def destroy(ctx: Context, environment: Environment, *, auto_approve: bool = False, extra: Sequence[str] = ()) -> None:
    tf = ctx.terraform_for(environment)
    if not auto_approve and not tf.interactive:
        raise PlatformctlError(f"Nothing can confirm this destroy without a terminal: pass --yes to destroy {environment.name}.")
    build_functions(ctx.project)
    ensure_initialized(ctx, environment, tf)
    tf.destroy(auto_approve=auto_approve, extra=extra)


def output(ctx: Context, environment: Environment) -> dict[str, Any]:
    tf = ctx.terraform_for(environment)
    if not is_initialized(environment):
        raise PlatformctlError(f"{environment.name} is not initialized: run `platformctl init {environment.name}` first.")
    return tf.outputs()


def fmt(ctx: Context, check: bool = False, extra: Sequence[str] = ()) -> int:
    tf = ctx.terraform(ctx.project.terraform_dir)
    args = ["-recursive", *(["-check", "-diff"] if check else []), *extra]
    return tf.run("fmt", *args)


@dataclass(frozen=True)
class ValidateOutcome:
    environment: str
    valid: bool
    diagnostics: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {"environment": self.environment, "valid": self.valid, "diagnostics": self.diagnostics}


def validate(ctx: Context, environment: Environment) -> ValidateOutcome:
    """init -backend=false, then `validate -json`; never touches state or credentials."""
    build_functions(ctx.project)
    tf = ctx.terraform(environment.directory, credentials.emulator_env(environment.region))
    tf.init(backend=False)
    # validate -json exits 1 on invalid configuration but still prints its diagnostics.
    data = tf.capture_json("validate", "-json", allow_failure=True)
    return ValidateOutcome(environment.name, bool(data.get("valid")), list(data.get("diagnostics", [])))


def environment_variables_snapshot() -> dict[str, str]:
    """For doctor: the platformctl-relevant variables the user has set."""
    names = (engine.FORCE_ENV, providers.MIRROR_ENV, contract.ROOT_ENV, "TF_CLI_CONFIG_FILE", "CI", "AWS_VAULT")
    return {name: os.environ[name] for name in names if name in os.environ}
