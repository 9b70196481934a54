"""`platformctl doctor`: what this machine has, and what each environment still needs."""

from __future__ import annotations

import configparser
import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from platformctl import process, providers
from platformctl.errors import PlatformctlError
from platformctl.operations import Context

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | warn | fail
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail}


def _contract(ctx: Context) -> Check:
    try:
        project = ctx.project
    except PlatformctlError as exc:
        return Check("Contract", FAIL, str(exc))
    names = ", ".join(project.environment_names()) or "none"
    return Check("Contract", OK, f"{project.contract_path}: environments {names}")


def _engine(ctx: Context) -> Check:
    try:
        constraint = ctx.project.required_version()
        found = ctx.engine
    except PlatformctlError as exc:
        return Check("Terraform engine", FAIL, str(exc))
    return Check("Terraform engine", OK, f"{found.describe()}; required_version {constraint}")


def _providers(ctx: Context) -> Check:
    try:
        setting = ctx.project.provider_mirror
    except PlatformctlError:  # reported by the Contract check; the environment variable still counts
        setting = None
    mirror = providers.mirror_from(setting)
    cache = providers.plugin_cache_dir()
    if mirror is not None:
        try:
            held = providers.mirrored_providers(mirror)
        except PlatformctlError as exc:
            return Check("Providers", FAIL, str(exc))
        return Check("Providers", OK, f"mirror {mirror} ({', '.join(held)}); cache {cache}")
    cached = sorted({"/".join(p.relative_to(cache).parts[:3]) for p in cache.glob("*/*/*/*")})
    source = f"cache {cache} holds {', '.join(cached)}" if cached else f"cache {cache} is empty"
    return Check("Providers", OK, f"public registry (needs internet); {source}")


def _docker() -> Check:
    if not shutil.which("docker"):
        return Check("Docker engine", WARN, "docker not on PATH: `up local` uses the embedded moto emulator")
    result = process.capture(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=10)
    if result.returncode != 0:
        return Check("Docker engine", WARN, "no Docker engine answers: `up local` uses the embedded moto emulator")
    return Check("Docker engine", OK, f"engine {result.stdout.strip()} answers (LocalStack possible)")


def _moto() -> Check:
    if importlib.util.find_spec("moto") is None:
        return Check(
            "moto", FAIL, "moto is not installed: pip install 'moto[server]' (needed by `up local` without Docker)"
        )
    from importlib.metadata import version

    return Check("moto", OK, f"moto {version('moto')} importable (embedded emulator)")


def _aws_vault(ctx: Context) -> list[Check]:
    try:
        settings = ctx.project.settings
    except PlatformctlError:
        return []
    profiles = {name: env.get("aws_vault_profile") for name, env in settings.items() if env.get("aws_vault_profile")}
    if not profiles:
        return []
    # Where aws-vault is not used (CI's OIDC credentials, --no-vault), its absence is no failure.
    ci = process.running_in_ci() or os.environ.get("PLATFORMCTL_NO_VAULT", "").strip().lower() in ("1", "true", "yes")
    missing_status = WARN if ci or ctx.options.no_vault else FAIL
    checks = []
    path = shutil.which("aws-vault")
    checks.append(
        Check("aws-vault", OK, path)
        if path
        else Check(
            "aws-vault",
            missing_status,
            "not on PATH: install it (brew install aws-vault / github.com/99designs/aws-vault), or use --no-vault",
        )
    )
    config_file = Path(os.environ.get("AWS_CONFIG_FILE", Path.home() / ".aws" / "config"))
    parser = configparser.ConfigParser()
    parser.read(config_file)
    known = {s.removeprefix("profile ").strip() for s in parser.sections()}
    for env_name, profile in sorted(profiles.items()):
        if profile in known:
            checks.append(Check(f"profile {profile}", OK, f"in {config_file} (for {env_name})"))
        else:
            checks.append(
                Check(
                    f"profile {profile}",
                    missing_status,
                    f"not in {config_file}: `aws-vault add {profile}` or add [profile {profile}] (for {env_name})",
                )
            )
    return checks


def _just() -> Check:
    path = shutil.which("just")
    if path:
        return Check("just", OK, path)
    return Check("just", WARN, "not on PATH: pip install rust-just (only the justfile recipes need it)")


def run(ctx: Context) -> list[Check]:
    return [_contract(ctx), _engine(ctx), _providers(ctx), _docker(), _moto(), *_aws_vault(ctx), _just()]


def healthy(checks: list[Check]) -> bool:
    return all(check.status != FAIL for check in checks)
