"""`platformctl doctor`: what this machine has, and what each environment still needs."""

from __future__ import annotations

import configparser
import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from platformctl import process
from platformctl.aws import credentials
from platformctl.context import Context
from platformctl.errors import PlatformctlError
from platformctl.terraform import providers

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
            "moto",
            WARN,
            "moto is not installed: pip install 'platformctl[local]' (needed by `up local` without Docker)",
        )
    from importlib.metadata import version

    return Check("moto", OK, f"moto {version('moto')} importable (embedded emulator)")


def _vault_not_needed(ctx: Context) -> bool:
    """Where aws-vault is not used (CI's OIDC credentials, --no-vault), its absence is no failure."""
    return (
        process.running_in_ci()
        or ctx.options.no_vault
        or os.environ.get("PLATFORMCTL_NO_VAULT", "").strip().lower() in ("1", "true", "yes")
    )


def _vault_users(ctx: Context) -> dict[str, str]:
    try:
        settings = ctx.project.settings
    except PlatformctlError:
        return {}
    return {name: str(env["aws_vault_profile"]) for name, env in settings.items() if env.get("aws_vault_profile")}


def _aws_vault(ctx: Context) -> list[Check]:
    users = _vault_users(ctx)
    if not users:
        return []
    path = shutil.which("aws-vault")
    if path:
        return [Check("aws-vault", OK, path)]
    needed_by = ", ".join(sorted(users))
    return [
        Check(
            "aws-vault",
            WARN,
            f"not on PATH (needed by {needed_by}): {credentials.INSTALL_VAULT}; or --no-vault for ambient credentials",
        )
    ]


def _known_profiles() -> tuple[Path, set[str]]:
    config_file = Path(os.environ.get("AWS_CONFIG_FILE", Path.home() / ".aws" / "config"))
    parser = configparser.ConfigParser()
    parser.read(config_file)
    return config_file, {s.removeprefix("profile ").strip() for s in parser.sections()}


def _environment_needs(ctx: Context, name: str) -> list[str]:
    """What environment `name` still needs on this machine (empty: ready)."""
    try:
        environment = ctx.environment(name)
    except PlatformctlError as exc:
        return [str(exc)]
    missing = []
    if environment.is_emulated:
        if importlib.util.find_spec("moto") is None and not shutil.which("docker"):
            missing.append("an emulator: pip install 'platformctl[local]' (or a Docker engine for LocalStack)")
        return missing
    if environment.backend_config is not None and not environment.backend_config.is_file():
        missing.append(f"its backend config {environment.backend_config.name}")
    profile = environment.aws_vault_profile
    if profile and not _vault_not_needed(ctx):
        if shutil.which("aws-vault") is None:
            missing.append(f"aws-vault ({credentials.INSTALL_VAULT})")
        config_file, known = _known_profiles()
        if profile not in known:
            missing.append(f"profile {profile} in {config_file} (`aws-vault add {profile}`)")
    return missing


def _environments(ctx: Context, named: list[str] | None) -> list[Check]:
    """One row per environment: ready, or what it needs. A missing need fails only an
    environment named on the command line; listed without names, it is a warning."""
    try:
        names = named or ctx.project.environment_names()
    except PlatformctlError:
        return []
    checks = []
    for name in names:
        missing = _environment_needs(ctx, name)
        if not missing:
            checks.append(Check(f"environment {name}", OK, "ready"))
        else:
            checks.append(Check(f"environment {name}", FAIL if named else WARN, "needs " + "; ".join(missing)))
    return checks


def _just() -> Check:
    path = shutil.which("just")
    if path:
        return Check("just", OK, path)
    return Check("just", WARN, "not on PATH: pip install rust-just (only the justfile recipes need it)")


def run(ctx: Context, environments: list[str] | None = None) -> list[Check]:
    """Machine-wide checks, then one row per environment (only `environments`, if named)."""
    return [
        _contract(ctx),
        _engine(ctx),
        _providers(ctx),
        _docker(),
        _moto(),
        *_aws_vault(ctx),
        _just(),
        *_environments(ctx, environments),
    ]


def healthy(checks: list[Check]) -> bool:
    return all(check.status != FAIL for check in checks)
