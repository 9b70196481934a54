"""The environment contract: platform.toml says what the HCL cannot.

Environments are the folders under `<terraform_dir>/environments/`. Their non-HCL settings
(aws-vault profile, approval, emulator, backend config file, maximum plan age) live in
platform.toml; region and account are read from each root's HCL (the provider's `region`
and `allowed_account_ids`, resolved through terraform.tfvars), never repeated here.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from platformctl import process
from platformctl.errors import ContractError, UnknownEnvironmentError
from platformctl.project import hcl

log = logging.getLogger("platformctl")

CONTRACT_FILE = "platform.toml"
ROOT_ENV = "PLATFORMCTL_ROOT"
EMULATORS = ("auto", "moto", "localstack")
APPROVALS = ("none", "required")
ENGINES = ("terraform", "tofu")
DEFAULT_EMULATOR_PORT = 4566

_BACKEND_SETTING = re.compile(r'^\s*(bucket|key)\s*=\s*"([^"]*)"', re.MULTILINE)
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}

_PLATFORM_KEYS = {"terraform_dir": str, "engine": str, "provider_mirror": str}
_ENVIRONMENT_KEYS: dict[str, type | tuple[type, ...]] = {
    "aws_vault_profile": str,
    "backend_config": str,
    "approval": str,
    "max_plan_age": str,
    "emulator": str,
    "emulator_port": int,
    "localstack_image": str,
    "session_duration": str,
}


@dataclass(frozen=True)
class Environment:
    """One deployable environment: its root folder and its contract settings."""

    name: str
    directory: Path
    contract_path: Path
    approval: str = "none"
    aws_vault_profile: str | None = None
    backend_config: Path | None = None
    max_plan_age: timedelta | None = None
    emulator: str | None = None
    emulator_port: int = DEFAULT_EMULATOR_PORT
    localstack_image: str | None = None
    session_duration: str | None = None
    # platform.toml (the working copy's or HEAD's) has a table for it.
    declared: bool = True
    # Why it is gated when its own table does not say so (another name for a gated root).
    gated_because: str | None = None
    # A gated environment without its folder: the backend HEAD records for it.
    backend_override: dict[str, str] | None = None

    @property
    def approval_required(self) -> bool:
        return self.approval == "required"

    @property
    def is_emulated(self) -> bool:
        """Runs against an AWS emulator (the `local` environment), never real AWS."""
        return self.emulator is not None

    @cached_property
    def provider(self) -> dict[str, Any]:
        return hcl.aws_provider(self.directory)

    @cached_property
    def uses_aws(self) -> bool:
        """False for a root that cannot reach AWS (no aws provider, resource or module)."""
        return hcl.uses_aws(self.directory)

    @cached_property
    def region(self) -> str | None:
        value = hcl.resolve(self.directory, self.provider.get("region"))
        return str(value) if value else None

    @cached_property
    def account_ids(self) -> list[str]:
        """The provider's `allowed_account_ids`, resolved through the root's variables."""
        raw = self.provider.get("allowed_account_ids") or []
        resolved = hcl.resolve(self.directory, raw) if isinstance(raw, str) else raw
        ids: list[str] = []
        for item in resolved if isinstance(resolved, list) else [resolved]:
            value = hcl.resolve(self.directory, item)
            ids.extend(str(v) for v in (value if isinstance(value, list) else [value]) if v)
        return ids

    @property
    def account_id(self) -> str | None:
        ids = self.account_ids
        return ids[0] if len(ids) == 1 else None

    @cached_property
    def backend(self) -> dict[str, str]:
        """The S3 backend's bucket, key (and region, workspace_key_prefix) this root's state
        lives at: the backend block's own settings overlaid with the backend config file."""
        if self.backend_override is not None:
            return dict(self.backend_override)
        return backend_settings(self.directory, self.backend_config)

    def identity(self) -> tuple[str | None, tuple[str, str] | None]:
        """What the root really is: its resolved folder and its state's (bucket, key)."""
        settings = self.backend
        where = (settings["bucket"], settings["key"]) if "bucket" in settings and "key" in settings else None
        real = self.directory.is_dir() and not self.directory.is_symlink()
        return (str(self.directory.resolve()) if real else None), where


@dataclass(frozen=True)
class Project:
    root: Path
    contract_path: Path
    terraform_dir: Path
    engine_name: str
    provider_mirror: str | None
    settings: dict[str, dict[str, Any]]
    # HEAD's platform.toml tables ({} outside git, or when HEAD has none): a gated
    # environment's contract changes take effect once committed.
    committed: dict[str, dict[str, Any]] | None = None

    @property
    def environments_dir(self) -> Path:
        return self.terraform_dir / "environments"

    @property
    def state_dir(self) -> Path:
        """Gitignored working state: emulator records, saved plans, generated configs."""
        return self.root / ".platformctl"

    @property
    def versions_tf(self) -> Path:
        return self.terraform_dir / "versions.tf"

    def required_version(self) -> str:
        if not self.versions_tf.is_file():
            raise ContractError(f"{self.versions_tf} is missing: it holds required_version for every root.")
        return hcl.required_version(self.versions_tf)

    def environment_names(self) -> list[str]:
        if not self.environments_dir.is_dir():
            return []
        return sorted(p.name for p in self.environments_dir.iterdir() if p.is_dir() and not p.name.startswith("."))

    def environment(self, name: str) -> Environment:
        known = self.environment_names()
        if name not in known:
            listing = ", ".join(known) or "none"
            raise UnknownEnvironmentError(
                f"Unknown environment {name!r}: choose one of {listing} (folders under {self.environments_dir})."
            )
        directory = self.environments_dir / name
        if directory.is_symlink():
            raise ContractError(
                f"Environment folder {directory} is a symlink (to {os.readlink(directory)}): an environment is a real "
                "folder with its own name; use the environment it points to."
            )
        if not any(directory.glob("*.tf")):
            raise ContractError(f"Environment {name!r} has no Terraform files in {directory}: add its HCL first.")
        environment = self._contracted(name, directory)
        if environment.approval_required or environment.is_emulated:  # an emulated root never reaches AWS
            return environment
        for other in self.gated_environments():
            if other.name != name and _same_root(environment, other):
                log.warning("%s: gated like %s, whose root or state it is", name, other.name)
                return _with_approval(environment, other)
        return environment

    def _contracted(self, name: str, directory: Path) -> Environment:
        """The environment as the contract says: a table gated in HEAD stays HEAD's until the
        change is committed."""
        working = self.settings.get(name)
        committed = (self.committed or {}).get(name)
        table = working if working is not None else committed or {}
        if committed is not None and committed.get("approval") == "required" and working != committed:
            log.warning(
                "%s: platform.toml's uncommitted changes to environments.%s are ignored until committed "
                "(it is gated in HEAD)",
                name,
                name,
            )
            table = committed
        declared = working is not None or committed is not None
        return _environment(name, directory, self.contract_path, table, declared=declared)

    def gated_names(self) -> list[str]:
        """Environments gated by the working copy's or HEAD's contract, folder or not."""
        names = {n for n, t in self.settings.items() if t.get("approval") == "required"}
        names |= {n for n, t in (self.committed or {}).items() if t.get("approval") == "required"}
        return sorted(names)

    def gated_environments(self) -> list[Environment]:
        """The gated environments, each with the identity to compare other roots with: a real
        folder's own, else (folder removed, renamed or replaced by a link) HEAD's backend."""
        found = []
        for name in self.gated_names():
            directory = self.environments_dir / name
            environment = self._contracted(name, directory)
            if directory.is_symlink() or not directory.is_dir():
                environment = replace(environment, backend_override=self._committed_backend(environment))
            found.append(environment)
        return found

    def _committed_backend(self, environment: Environment) -> dict[str, str]:
        """bucket and key of the environment's backend config file as HEAD holds it."""
        if environment.backend_config is None:
            return {}
        try:
            relative = environment.backend_config.relative_to(self.root).as_posix()
        except ValueError:
            return {}
        shown = process.capture(["git", "show", f"HEAD:./{relative}"], cwd=self.root, timeout=30)
        if shown.returncode != 0:
            return {}
        return {k: v for k, v in _BACKEND_SETTING.findall(shown.stdout) if k in ("bucket", "key")}

    def check_declared(self, environment: Environment) -> None:
        """Fail closed: where any environment is gated, plan/apply/destroy only declared ones."""
        if environment.declared or not self.gated_names():
            return
        raise ContractError(
            f"Environment {environment.name!r} is not declared in {self.contract_path}: add "
            f'[environments.{environment.name}] (with approval = "required" if it is another name for a gated '
            "one) and commit it before planning, applying or destroying it."
        )


def _same_root(environment: Environment, gated: Environment) -> bool:
    folder, state = environment.identity()
    gated_folder, gated_state = gated.identity()
    return (folder is not None and folder == gated_folder) or (state is not None and state == gated_state)


def _with_approval(environment: Environment, gated: Environment) -> Environment:
    return replace(
        environment,
        approval="required",
        max_plan_age=gated.max_plan_age,
        gated_because=f"its root or state is {gated.name}'s",
    )


def backend_settings(directory: Path, backend_config: Path | None) -> dict[str, str]:
    """String settings of the root's `backend "s3"` block, overlaid with its config file."""
    settings: dict[str, str] = {}
    for tf in sorted(directory.glob("*.tf")):
        for block in hcl.load(tf).get("terraform", []):
            for backend in block.get("backend", []) if isinstance(block, dict) else []:
                for kind, values in backend.items() if isinstance(backend, dict) else []:
                    settings["type"] = str(kind)
                    if isinstance(values, dict):
                        settings.update({k: str(v) for k, v in values.items() if isinstance(v, str | int)})
    if backend_config is not None and backend_config.is_file():
        settings.update({k: str(v) for k, v in hcl.load(backend_config).items() if isinstance(v, str | int)})
    return settings


def _environment(
    name: str, directory: Path, contract_path: Path, table: dict[str, Any], declared: bool = True
) -> Environment:
    where = f"{contract_path}: environments.{name}"
    approval = table.get("approval", "none")
    if approval not in APPROVALS:
        raise ContractError(f"{where}.approval = {approval!r}: use one of {', '.join(APPROVALS)}.")
    emulator = table.get("emulator")
    if emulator is not None and emulator not in EMULATORS:
        raise ContractError(f"{where}.emulator = {emulator!r}: use one of {', '.join(EMULATORS)}.")
    port = table.get("emulator_port", DEFAULT_EMULATOR_PORT)
    if not 0 < port < 65536:
        raise ContractError(f"{where}.emulator_port = {port}: use a TCP port between 1 and 65535.")
    backend = table.get("backend_config")
    if "session_duration" in table:
        parse_duration(table["session_duration"], f"{where}.session_duration")
    max_plan_age = parse_duration(table["max_plan_age"], f"{where}.max_plan_age") if "max_plan_age" in table else None
    return Environment(
        name=name,
        directory=directory,
        contract_path=contract_path,
        approval=approval,
        aws_vault_profile=table.get("aws_vault_profile"),
        backend_config=(directory / backend) if backend else None,
        max_plan_age=max_plan_age,
        emulator=emulator,
        emulator_port=port,
        localstack_image=table.get("localstack_image"),
        session_duration=table.get("session_duration"),
        declared=declared,
    )


def parse_duration(text: str, where: str) -> timedelta:
    """A contract duration such as "30m", "24h" or "7d"; `where` names the key in errors."""
    match = _DURATION.match(text)
    if not match:
        raise ContractError(f'{where} = {text!r}: write a duration like "30m", "24h" or "7d".')
    amount, unit = match.groups()
    return timedelta(**{_DURATION_UNITS[unit]: int(amount)})


def find_root(start: Path | None = None) -> Path:
    """The project root: PLATFORMCTL_ROOT, else the nearest folder upwards with platform.toml."""
    forced = os.environ.get(ROOT_ENV)
    if forced:
        root = Path(forced).expanduser().resolve()
        if not (root / CONTRACT_FILE).is_file():
            raise ContractError(f"{ROOT_ENV}={forced} has no {CONTRACT_FILE}: point it at the platform repository.")
        return root
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONTRACT_FILE).is_file():
            return folder
    raise ContractError(
        f"No {CONTRACT_FILE} in {here} or its parents: run platformctl inside the platform repository, or pass --root."
    )


def _check_table(table: Any, where: str, keys: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ContractError(f"{where} must be a table, not {type(table).__name__}.")
    for key, value in table.items():
        if key not in keys:
            raise ContractError(f"{where}.{key} is not a known key: use one of {', '.join(sorted(keys))}.")
        expected = keys[key]
        if not isinstance(value, expected) or isinstance(value, bool):
            kind = expected.__name__ if isinstance(expected, type) else "/".join(t.__name__ for t in expected)
            raise ContractError(f"{where}.{key} = {value!r} must be a {kind}.")
    return table


def _committed_tables(root: Path) -> dict[str, dict[str, Any]]:
    """HEAD's [environments.*] tables, or {} when there is no HEAD version to read."""
    if not (root / ".git").exists() and not any((p / ".git").exists() for p in root.parents):
        return {}
    shown = process.capture(["git", "show", f"HEAD:./{CONTRACT_FILE}"], cwd=root, timeout=30)
    if shown.returncode != 0:
        return {}
    try:
        environments = tomllib.loads(shown.stdout).get("environments", {})
    except tomllib.TOMLDecodeError:
        return {}
    if not isinstance(environments, dict):
        return {}
    return {name: table for name, table in environments.items() if isinstance(table, dict)}


def load(root: Path | None = None) -> Project:
    """Read and check platform.toml. Every problem names the file, the key and the fix."""
    root = root.resolve() if root else find_root()
    path = root / CONTRACT_FILE
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ContractError(
            f"{path} not found: run platformctl inside the platform repository, or pass --root."
        ) from exc
    except OSError as exc:
        raise ContractError(f"Cannot read {path} ({exc.strerror}): check its permissions.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ContractError(f"{path} is not valid TOML ({exc}): fix the syntax.") from exc

    unknown = set(data) - {"platform", "environments"}
    if unknown:
        raise ContractError(f"{path}: unknown table {sorted(unknown)[0]!r}: use [platform] and [environments.NAME].")
    platform = _check_table(data.get("platform", {}), f"{path}: platform", _PLATFORM_KEYS)
    engine = platform.get("engine", "terraform")
    if engine not in ENGINES:
        raise ContractError(f"{path}: platform.engine = {engine!r}: use one of {', '.join(ENGINES)}.")
    environments = data.get("environments", {})
    if not isinstance(environments, dict):
        raise ContractError(f"{path}: environments must be tables like [environments.dev].")
    settings = {
        name: _check_table(table, f"{path}: environments.{name}", _ENVIRONMENT_KEYS)
        for name, table in environments.items()
    }
    terraform_dir = root / platform.get("terraform_dir", "terraform")
    project = Project(
        root=root,
        contract_path=path,
        terraform_dir=terraform_dir,
        engine_name=engine,
        provider_mirror=platform.get("provider_mirror"),
        settings=settings,
        committed=_committed_tables(root),
    )
    missing = sorted(set(settings) - set(project.environment_names()))
    if missing:
        raise ContractError(
            f"{path}: environments.{missing[0]} has no folder {project.environments_dir / missing[0]}: "
            "create it or remove the table."
        )
    for name, table in settings.items():
        _environment(name, project.environments_dir / name, path, table)  # validate values early
    return project
