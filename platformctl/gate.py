"""The approval gate of environments whose contract says `approval = "required"`.

`plan ENV` saves the plan under `.platformctl/plans/ENV/<UTC time>-<sha12>.tfplan` (the
folder is gitignored) with a manifest beside it (`.json`): the plan's sha256, environment,
account, git commit and dirtiness, Terraform and provider versions, creation time, the
change summary, and whether an apply has consumed it. `apply ENV` applies only such a plan,
after the checks below, and an approval bound to that plan's hash.

The manifest carries a sha256 of its own canonical JSON. That catches an edited or
corrupted manifest; it is not a signature (whoever can write the folder can recompute it),
and the gate does not pretend otherwise: it stops mistakes (a stale, foreign, altered or
already-applied plan), while who may run `apply prod` is the AWS role's business.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from platformctl import hcl
from platformctl.contract import Environment, Project
from platformctl.errors import ApprovalError, PlatformctlError
from platformctl.git import TreeState
from platformctl.terraform import ChangeSummary

PLAN_SUFFIX = ".tfplan"
MANIFEST_SUFFIX = ".json"
MANIFEST_FORMAT = 1
# Long enough that a prefix cannot be guessed or collide among saved plans; what git users
# are used to reading.
MIN_APPROVAL_PREFIX = 12
# A gated environment without max_plan_age in the contract still refuses day-old plans.
DEFAULT_MAX_PLAN_AGE = timedelta(hours=24)
# Clocks differ a little between the machine that planned and the one that applies.
CLOCK_SKEW = timedelta(minutes=5)
_HEX = re.compile(r"^[0-9a-f]+$")


@dataclass(frozen=True)
class Manifest:
    environment: str
    account: str
    plan_file: str
    plan_sha256: str
    git_commit: str
    git_dirty: bool
    terraform_version: str
    provider_versions: dict[str, str]
    created_at: str
    summary: dict[str, Any]
    # Set when an apply starts: {"at": ISO time, "outcome": started|applied|failed|interrupted}.
    consumed: dict[str, str] | None = None
    format: int = MANIFEST_FORMAT

    def body(self) -> dict[str, Any]:
        return asdict(self)

    def sealed(self) -> dict[str, Any]:
        body = self.body()
        return {**body, "manifest_sha256": canonical_sha256(body)}

    @property
    def created(self) -> datetime:
        return datetime.fromisoformat(self.created_at)


def canonical_sha256(body: Mapping[str, Any]) -> str:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


@dataclass(frozen=True)
class SavedPlan:
    plan_path: Path
    manifest_path: Path
    manifest: Manifest

    @property
    def name(self) -> str:
        return self.plan_path.name

    @property
    def sha256(self) -> str:
        return self.manifest.plan_sha256

    @property
    def summary(self) -> ChangeSummary:
        data = self.manifest.summary
        return ChangeSummary(
            add=int(data.get("add", 0)),
            change=int(data.get("change", 0)),
            destroy=int(data.get("destroy", 0)),
            replace=int(data.get("replace", 0)),
            destroyed=tuple(data.get("destroyed", ())),
            replaced=tuple(data.get("replaced", ())),
        )

    def as_dict(self) -> dict[str, Any]:
        # The manifest's own plan_file is a name (the folder may be carried elsewhere, e.g. a CI
        # artifact); the paths say where this copy is.
        return {**self.manifest.sealed(), "plan_path": str(self.plan_path), "manifest_path": str(self.manifest_path)}


def plans_dir(project: Project, environment: Environment) -> Path:
    return project.state_dir / "plans" / environment.name


def pending_plan_path(project: Project, environment: Environment) -> Path:
    """Where terraform writes the plan before it is hashed and named."""
    folder = plans_dir(project, environment)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f".pending-{os.getpid()}{PLAN_SUFFIX}"


def provider_versions(lock_file: Path) -> dict[str, str]:
    """Provider versions the root is locked to, from its .terraform.lock.hcl."""
    if not lock_file.is_file():
        return {}
    versions: dict[str, str] = {}
    for block in hcl.load(lock_file).get("provider", []):
        for address, settings in block.items():
            if isinstance(settings, dict) and "version" in settings:
                versions[address] = str(settings["version"])
    return versions


def write_manifest(path: Path, manifest: Manifest) -> None:
    """Atomically, so a crash never leaves half a manifest."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest.sealed(), indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


def save(
    project: Project,
    environment: Environment,
    pending: Path,
    *,
    account: str,
    tree: TreeState,
    plan_json: Mapping[str, Any],
    summary: Mapping[str, Any],
    now: datetime | None = None,
) -> SavedPlan:
    """Name the plan after its time and hash, and write its manifest beside it."""
    created = (now or datetime.now(UTC)).replace(microsecond=0)
    sha = file_sha256(pending)
    stem = f"{created.strftime('%Y%m%dT%H%M%SZ')}-{sha[:MIN_APPROVAL_PREFIX]}"
    plan_path = pending.with_name(stem + PLAN_SUFFIX)
    pending.replace(plan_path)
    manifest = Manifest(
        environment=environment.name,
        account=account,
        plan_file=plan_path.name,
        plan_sha256=sha,
        git_commit=tree.commit,
        git_dirty=tree.dirty,
        terraform_version=str(plan_json.get("terraform_version", "")),
        provider_versions=provider_versions(environment.directory / ".terraform.lock.hcl"),
        created_at=created.isoformat(),
        summary=dict(summary),
    )
    manifest_path = plan_path.with_suffix(MANIFEST_SUFFIX)
    write_manifest(manifest_path, manifest)
    return SavedPlan(plan_path, manifest_path, manifest)


def read(manifest_path: Path) -> SavedPlan:
    """Load a manifest and refuse one that was edited since platformctl wrote it."""
    try:
        data = json.loads(manifest_path.read_text())
        stored = data.pop("manifest_sha256")
        manifest = Manifest(**data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ApprovalError(
            f"Manifest {manifest_path} is unreadable or incomplete ({type(exc).__name__}): run plan again."
        ) from exc
    if canonical_sha256(manifest.body()) != stored:
        raise ApprovalError(
            f"Manifest {manifest_path.name} was edited after it was written (its checksum does not match): "
            f"nothing was applied; run `platformctl plan {manifest.environment}` for a new plan."
        )
    return SavedPlan(manifest_path.with_name(manifest.plan_file), manifest_path, manifest)


def select(project: Project, environment: Environment, plan_file: Path | None = None) -> SavedPlan:
    """The plan to apply: the one named, which must be a saved plan, else the newest saved."""
    if plan_file is not None:
        manifest_path = plan_file.resolve().with_suffix(MANIFEST_SUFFIX)
        if plan_file.suffix != PLAN_SUFFIX or not manifest_path.is_file():
            raise ApprovalError(
                f"{plan_file} is not a plan saved by `platformctl plan {environment.name}`: {environment.name} "
                "applies only saved plans with a manifest; run plan, or omit the file to apply the newest."
            )
        return read(manifest_path)
    folder = plans_dir(project, environment)
    manifests = sorted(folder.glob(f"*{MANIFEST_SUFFIX}")) if folder.is_dir() else []
    if not manifests:
        raise ApprovalError(
            f"No saved plan for {environment.name}: run `platformctl plan {environment.name}`, review it, then apply."
        )
    # Names start with the UTC time, so the last one sorted is the newest.
    return read(manifests[-1])


def max_plan_age(environment: Environment) -> timedelta:
    return environment.max_plan_age or DEFAULT_MAX_PLAN_AGE


def _age(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def check(saved: SavedPlan, environment: Environment, tree: TreeState, now: datetime | None = None) -> None:
    """Every refusal that needs no AWS call. Raises ApprovalError naming what to do."""
    manifest = saved.manifest
    again = f"run `platformctl plan {environment.name}` for a new plan"
    if manifest.environment != environment.name:
        raise ApprovalError(f"Plan {saved.name} was made for {manifest.environment}, not {environment.name}: {again}.")
    if not saved.plan_path.is_file():
        raise ApprovalError(f"Plan file {saved.plan_path} is missing (its manifest is there): {again}.")
    actual = file_sha256(saved.plan_path)
    if actual != manifest.plan_sha256:
        raise ApprovalError(
            f"Plan file {saved.name} changed after it was saved (sha256 {actual[:12]}, manifest says "
            f"{manifest.plan_sha256[:12]}): nothing was applied; {again}."
        )
    if manifest.consumed:
        raise ApprovalError(
            f"Plan {saved.name} was already used by an apply at {manifest.consumed.get('at')} "
            f"({manifest.consumed.get('outcome')}): {again}."
        )
    now = now or datetime.now(UTC)
    age = now - manifest.created
    limit = max_plan_age(environment)
    if age > limit:
        raise ApprovalError(
            f"Plan {saved.name} is {_age(age)} old, older than the {_age(limit)} max_plan_age of "
            f"{environment.name}: {again}."
        )
    if age < -CLOCK_SKEW:
        raise ApprovalError(f"Plan {saved.name} claims to be from the future ({manifest.created_at}): {again}.")
    if manifest.git_dirty:
        raise ApprovalError(
            f"Plan {saved.name} was made from a working tree with uncommitted changes: commit them, then {again}."
        )
    if manifest.git_commit != tree.commit:
        raise ApprovalError(
            f"Plan {saved.name} was made from commit {manifest.git_commit[:12]} but the checkout is at "
            f"{tree.commit[:12]}: check out {manifest.git_commit[:12]}, or {again}."
        )
    if tree.dirty:
        listing = ", ".join(tree.changed)
        raise ApprovalError(
            f"The working tree has uncommitted changes ({listing}): commit or remove them before applying "
            f"{environment.name}, or {again}."
        )


def check_account(saved: SavedPlan, account: str) -> None:
    if saved.manifest.account != account:
        raise ApprovalError(
            f"Plan {saved.name} was made in AWS account {saved.manifest.account} but these credentials are for "
            f"{account}: use the credentials the plan was made with, or plan again."
        )


def check_approval(saved: SavedPlan, approve: str) -> None:
    """`--approve PREFIX` must be at least 12 hex characters of the plan's sha256."""
    prefix = approve.strip().lower()
    if len(prefix) < MIN_APPROVAL_PREFIX or not _HEX.match(prefix):
        raise ApprovalError(
            f"--approve {approve!r} is not a sha256 prefix of at least {MIN_APPROVAL_PREFIX} hex characters: pass "
            "the plan hash that `platformctl plan` printed."
        )
    if not saved.sha256.startswith(prefix):
        raise ApprovalError(
            f"--approve {prefix} does not match plan {saved.name}: nothing was applied; approve the hash of the "
            "plan that was reviewed (a newer plan needs a new review)."
        )


def check_confirmation(environment: Environment, typed: str) -> None:
    if typed.strip() != environment.name:
        name = environment.name
        raise ApprovalError(f"Typed {typed.strip()!r}, not {name!r}: nothing was changed in {name}.")


def mark_consumed(saved: SavedPlan, outcome: str, now: datetime | None = None) -> SavedPlan:
    """Record that an apply used this plan (before it starts, then its outcome)."""
    at = (saved.manifest.consumed or {}).get("at") or (now or datetime.now(UTC)).replace(microsecond=0).isoformat()
    manifest = replace(saved.manifest, consumed={"at": at, "outcome": outcome})
    write_manifest(saved.manifest_path, manifest)
    return replace(saved, manifest=manifest)


def discard_pending(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:  # pragma: no cover - only on odd filesystems
        raise PlatformctlError(f"Cannot remove {path}: {exc.strerror}; delete it by hand.") from exc
