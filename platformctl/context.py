"""The root object every command receives: one invocation's options, its project, and the
Terraform it runs (engine, credentials and environment), built on first use.

It imports no feature module at import time, so everything else can depend on it and it on
nothing above it (HOUSE_STYLE 17); the local environment's isolation is looked up only when an
emulated environment's Terraform is built.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from platformctl.aws import account, credentials
from platformctl.project import contract
from platformctl.project.contract import Environment, Project
from platformctl.terraform import engine, providers
from platformctl.terraform.runner import Terraform, automation_env

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

    def terraform(
        self, workdir: Path, extra_env: dict[str, str | None] | None = None, prefix: tuple[str, ...] = ()
    ) -> Terraform:
        return Terraform(
            engine=self.engine,
            workdir=workdir,
            prefix=prefix,
            env={**automation_env(), **self.provider_env(), **(extra_env or {})},
            color=self.options.color,
            human_to_stderr=self.options.json_output,
        )

    def environment(self, name: str) -> Environment:
        return self.project.environment(name)

    def credentials(self, environment: Environment) -> credentials.Credentials:
        return credentials.for_environment(environment, no_vault=self.options.no_vault, profile=self.options.profile)

    def terraform_for(self, environment: Environment) -> Terraform:
        creds = self.credentials(environment)
        log.info("%s: %s, %s", environment.name, self.engine.describe(), creds.description)
        tf = self.terraform(environment.directory, dict(creds.env), creds.prefix)
        if environment.is_emulated:
            # Local never reaches AWS: the endpoint is the emulator platformctl recorded (`up
            # --port` may have moved it), pinned with -var; see emulators/isolation.py.
            from platformctl.emulators import isolation
            from platformctl.emulators import lifecycle as emulator

            isolation.isolate(tf, environment, emulator.current_endpoint(self.project, environment))
        return tf

    def account_guard(self, environment: Environment) -> str | None:
        """STS check that the caller is the environment's account: real environments with an
        AWS provider (a root without one has no account to be wrong about)."""
        if environment.is_emulated or not environment.provider:
            return None
        return account.verify(environment, self.credentials(environment)).account
