"""The approval gate of environments whose contract says `approval = "required"`.

`plan ENV` saves the plan under `.platformctl/plans/ENV/<UTC time>-<sha12>.tfplan` (the
folder is gitignored) with a manifest beside it (`.json`): the plan's sha256, environment,
account, git commit and dirtiness, the engine (resolved path, sha256, version), provider
versions, the sha256 of every input Terraform read (platformctl/release/inputs.py), the backend and
workspace, the Terraform options passed after `--`, creation time, the change summary with
every deleted or replaced address, whether deletions were allowed (`--allow-destroy`), and
whether an apply has consumed it. `apply ENV` applies only such a plan, after the checks
below, and an approval bound to that plan's hash (and, when it deletes, a destroy approval).

The binding rule (DESIGN.md): the plan's bytes are read once, through O_NOFOLLOW, from a
file with one link, into a private 0700 folder; the copy is hashed, given to Terraform, and
hashed again right before Terraform starts (`stage`).

The manifest (its fields, reading and writing: release/manifest.py) carries a sha256 of its
own canonical JSON. That catches an edited or
corrupted manifest; it is not a signature (whoever can write the folder can recompute it),
and the gate does not pretend otherwise: it stops mistakes (a stale, foreign, altered or
already-applied plan), while who may run `apply prod` is the AWS role's business.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from platformctl.errors import ApprovalError, PlatformctlError
from platformctl.files import atomic_write
from platformctl.project import hcl
from platformctl.project.contract import Environment, Project
from platformctl.release.git import TreeState

# The manifest's names stay reachable as gate.* too (explicit re-exports, `X as X`): callers keep one import.
from platformctl.release.manifest import Manifest as Manifest
from platformctl.release.manifest import SavedPlan as SavedPlan
from platformctl.release.manifest import canonical_sha256 as canonical_sha256
from platformctl.release.manifest import file_sha256 as file_sha256
from platformctl.release.manifest import read as read
from platformctl.release.manifest import write_manifest as write_manifest
from platformctl.terraform.plan import ChangeSummary

PLAN_SUFFIX = ".tfplan"
MANIFEST_SUFFIX = ".json"
# Long enough that a prefix cannot be guessed or collide among saved plans; what git users
# are used to reading.
MIN_APPROVAL_PREFIX = 12
# A gated environment without max_plan_age in the contract still refuses day-old plans.
DEFAULT_MAX_PLAN_AGE = timedelta(hours=24)
# Clocks differ a little between the machine that planned and the one that applies.
CLOCK_SKEW = timedelta(minutes=5)
_HEX = re.compile(r"^[0-9a-f]+$")


def deletions(summary: ChangeSummary) -> int:
    """How many resources a plan deletes: destroys plus replacements (each deletes one)."""
    return summary.destroy + summary.replace


def plans_dir(project: Project, environment: Environment) -> Path:
    return project.state_dir / "plans" / environment.name


def pending_plan_path(project: Project, environment: Environment) -> Path:
    """Where terraform writes a plan before it is hashed and named (tests write one here;
    platformctl's own plans go to a private_dir())."""
    folder = plans_dir(project, environment)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f".pending-{os.getpid()}{PLAN_SUFFIX}"


@contextmanager
def private_dir() -> Iterator[Path]:
    """A folder only this user can enter (0700, made by mkdtemp), removed afterwards."""
    try:
        folder = Path(tempfile.mkdtemp(prefix="platformctl-plan-"))
    except OSError as exc:
        raise PlatformctlError(
            f"Cannot make a private folder in {tempfile.gettempdir()} ({exc.strerror or exc}): set TMPDIR to a "
            "writable folder, then run again."
        ) from exc
    try:
        os.chmod(folder, 0o700)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def read_plan_bytes(path: Path) -> bytes:
    """The bytes of a plan file, read once: no symlink (O_NOFOLLOW), a regular file with one
    link (a hard link elsewhere could be rewritten under another name)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ApprovalError(f"Plan file {path} is missing: run `platformctl plan` for a new plan.") from None
    except OSError as exc:
        raise ApprovalError(
            f"Plan file {path} cannot be opened safely ({exc.strerror or exc}; a symlink is refused): nothing was "
            "applied; run plan again."
        ) from exc
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ApprovalError(f"Plan file {path} is not a regular file: nothing was applied; run plan again.")
        if info.st_nlink != 1:
            raise ApprovalError(
                f"Plan file {path} has {info.st_nlink} hard links (another name could change it): nothing was "
                "applied; run plan again."
            )
        return handle.read()


@dataclass(frozen=True)
class StagedPlan:
    """The private copy of an approved plan: the only file Terraform is given."""

    path: Path
    sha256: str
    data: bytes

    def verify(self) -> None:
        """Right before Terraform starts: the copy is still exactly the approved bytes."""
        actual = hashlib.sha256(read_plan_bytes(self.path)).hexdigest()
        if actual != self.sha256:
            raise ApprovalError(
                f"The private copy of the plan changed before apply (sha256 {actual[:12]}, approved "
                f"{self.sha256[:12]}): nothing was applied; run plan again."
            )


@contextmanager
def stage(saved: SavedPlan) -> Iterator[StagedPlan]:
    """Copy the saved plan's bytes once into a private folder, check them against the
    manifest, and yield the copy; it is removed afterwards."""
    data = read_plan_bytes(saved.plan_path)
    sha = hashlib.sha256(data).hexdigest()
    if sha != saved.manifest.plan_sha256:
        raise ApprovalError(
            f"Plan file {saved.name} changed after it was saved (sha256 {sha[:12]}, manifest says "
            f"{saved.manifest.plan_sha256[:12]}): nothing was applied; run plan again."
        )
    with private_dir() as folder:
        copy = folder / saved.name
        try:
            fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o400)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise PlatformctlError(
                f"Cannot copy plan {saved.name} into {folder} ({exc.strerror or exc}): nothing was applied; free "
                "space in the temporary folder (TMPDIR), then run again."
            ) from exc
        staged = StagedPlan(copy, sha, data)
        staged.verify()
        yield staged


# Terraform options a gated plan takes after `--`: they narrow or steer what is planned, and
# the result is what is reviewed; each is recorded in the manifest and shown at approval.
# Anything else (-var, -var-file, -lock=false, -state*, -out, -chdir...) changes inputs,
# locking or where the plan goes, and is refused.
PASSTHROUGH_VALUED = ("-target=", "-replace=", "-parallelism=", "-lock-timeout=")
PASSTHROUGH_FLAGS = ("-destroy", "-refresh=false", "-refresh=true", "-refresh-only", "-compact-warnings")


def check_passthrough(args: Sequence[str], name: str) -> list[str]:
    for arg in args:
        if arg in PASSTHROUGH_FLAGS or (arg.startswith(PASSTHROUGH_VALUED) and arg.partition("=")[2]):
            continue
        allowed = ", ".join([*(v + "..." for v in PASSTHROUGH_VALUED), *PASSTHROUGH_FLAGS])
        raise ApprovalError(
            f"{arg!r} is not allowed after -- for {name} (gated): its plans take only {allowed} "
            "(variables belong in committed tfvars; locking always stays on)."
        )
    return list(args)


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
    data: bytes | None = None,
    **binding: Any,
) -> SavedPlan:
    """Name the plan after its time and hash, write its bytes and its manifest (with
    `binding`: destroy_approved, passthrough, inputs, uncommitted, engine, backend)."""
    created = (now or datetime.now(UTC)).replace(microsecond=0)
    payload = data if data is not None else read_plan_bytes(pending)
    sha = hashlib.sha256(payload).hexdigest()
    stem = f"{created.strftime('%Y%m%dT%H%M%SZ')}-{sha[:MIN_APPROVAL_PREFIX]}"
    plan_path = plans_dir(project, environment) / (stem + PLAN_SUFFIX)
    atomic_write(plan_path, payload)
    if pending.parent == plan_path.parent:
        discard_pending(pending)
    uncommitted = list(binding.pop("uncommitted", ()))
    manifest = Manifest(
        environment=environment.name,
        account=account,
        plan_file=plan_path.name,
        plan_sha256=sha,
        git_commit=tree.commit,
        git_dirty=tree.dirty or bool(uncommitted),
        terraform_version=str(plan_json.get("terraform_version", "")),
        provider_versions=provider_versions(environment.directory / ".terraform.lock.hcl"),
        created_at=created.isoformat(),
        summary={**ChangeSummary().as_dict(), **summary},
        uncommitted=uncommitted,
        **binding,
    )
    manifest_path = plan_path.with_suffix(MANIFEST_SUFFIX)
    write_manifest(manifest_path, manifest)
    return SavedPlan(plan_path, manifest_path, manifest)


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
    if not saved.plan_path.is_file() and not saved.plan_path.is_symlink():
        raise ApprovalError(f"Plan file {saved.plan_path} is missing (its manifest is there): {again}.")
    actual = hashlib.sha256(read_plan_bytes(saved.plan_path)).hexdigest()
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
        listing = f" ({', '.join(manifest.uncommitted[:5])})" if manifest.uncommitted else ""
        raise ApprovalError(
            f"Plan {saved.name} was made from a working tree with uncommitted changes{listing}: commit them, "
            f"then {again}."
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


def check_inputs(saved: SavedPlan, current: Mapping[str, str], uncommitted: Sequence[str]) -> None:
    """The inputs Terraform would read now are the ones planned from, and all committed."""
    from platformctl.release.inputs import differences

    again = f"run `platformctl plan {saved.manifest.environment}` for a new plan"
    changed = differences(saved.manifest.inputs, current)
    if not saved.manifest.inputs:
        raise ApprovalError(f"Plan {saved.name} records no inputs: {again}.")
    if changed:
        listing = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        raise ApprovalError(
            f"The inputs of plan {saved.name} changed since it was made ({listing}): nothing was applied; "
            f"restore them, or {again}."
        )
    if uncommitted:
        listing = ", ".join(uncommitted[:5])
        raise ApprovalError(
            f"Inputs of plan {saved.name} differ from commit {saved.manifest.git_commit[:12]} ({listing}), whatever "
            f"git status says: commit them, then {again}."
        )


def check_engine(saved: SavedPlan, current: Mapping[str, str]) -> None:
    """The engine about to apply is the one that planned: same file, same bytes, same version."""
    recorded = saved.manifest.engine
    for key in ("path", "sha256", "version"):
        if recorded.get(key) != current.get(key):
            raise ApprovalError(
                f"Plan {saved.name} was made by {recorded.get('name', 'terraform')} {recorded.get('version', '?')} at "
                f"{recorded.get('path', '?')} (sha256 {recorded.get('sha256', '?')[:12]}), but this apply would run "
                f"{current.get('version')} at {current.get('path')} (sha256 {current.get('sha256', '')[:12]}): "
                "apply with the engine that planned (check PLATFORMCTL_TERRAFORM and PATH), or plan again."
            )


def check_plan_backend(subject: str, name: str, recorded: Mapping[str, str], expected: Mapping[str, str]) -> None:
    """The backend recorded in a plan's bytes (`subject`: "Plan NAME") is environment `name`'s
    own, in the default workspace."""
    if recorded.get("workspace", "default") != "default":
        raise ApprovalError(
            f"{subject} was made in workspace {recorded.get('workspace')!r}; {name} uses only the default "
            f"workspace: nothing was applied; run `platformctl plan {name}` without TF_WORKSPACE."
        )
    for key in ("type", "bucket", "key"):
        if key in expected and recorded.get(key) != expected.get(key):
            raise ApprovalError(
                f"{subject} writes to backend {recorded.get('type')} {recorded.get('bucket')}/"
                f"{recorded.get('key')}, not {name}'s {expected.get('type')} {expected.get('bucket')}/"
                f"{expected.get('key')}: it was made for another root; nothing was applied; run "
                f"`platformctl plan {name}`."
            )


def check_backend(saved: SavedPlan, recorded: Mapping[str, str], expected: Mapping[str, str]) -> None:
    """The backend inside the plan's bytes is the environment's own state, default workspace,
    and the one its manifest names."""
    name = saved.manifest.environment
    check_plan_backend(f"Plan {saved.name}", name, recorded, expected)
    if saved.manifest.backend != dict(recorded):
        raise ApprovalError(
            f"Plan {saved.name}'s manifest names another backend than its plan file: nothing was applied; run "
            f"`platformctl plan {name}`."
        )


def check_summary(saved: SavedPlan, actual: ChangeSummary) -> None:
    """The change summary of the bytes themselves is the one the manifest (and the reviewer) saw."""
    if actual != saved.summary:
        raise ApprovalError(
            f"Plan {saved.name} does not do what its manifest says ({_counts(actual)} in the plan file, "
            f"{_counts(saved.summary)} in the manifest): nothing was applied; run plan again."
        )


def _counts(summary: ChangeSummary) -> str:
    return f"{summary.add} add, {summary.change} change, {summary.replace} replace, {summary.destroy} destroy"


def check_destroy_allowed(saved: SavedPlan) -> None:
    """A plan that deletes needs `plan --allow-destroy` (recorded at plan time)."""
    count = deletions(saved.summary)
    if count and not saved.manifest.destroy_approved:
        name = saved.manifest.environment
        listing = ", ".join(deleted_addresses(saved.summary)[:5])
        raise ApprovalError(
            f"Plan {saved.name} deletes or replaces {count} resources ({listing}) "
            f"but was made without --allow-destroy: nothing was applied; if the deletions are intended, run "
            f"`platformctl plan {name} --allow-destroy` and review again."
        )


def deleted_addresses(summary: ChangeSummary) -> list[str]:
    return [*summary.destroyed, *summary.replaced]


def check_destroy_approval(saved: SavedPlan, approve_destroy: str | None) -> None:
    """CI's destroy approval: `--approve-destroy N` (the number of deletions) or a sha256
    prefix of the plan, given in addition to --approve."""
    count = deletions(saved.summary)
    if approve_destroy is None:
        if count:
            raise ApprovalError(
                f"Plan {saved.name} deletes or replaces {count} resources: approve that separately with "
                f"--approve-destroy {count} (in addition to --approve), after reviewing the deletions."
            )
        return
    value = approve_destroy.strip().lower()
    if not count:
        raise ApprovalError(f"--approve-destroy {value} given, but plan {saved.name} deletes nothing: drop it.")
    if value == str(count):
        return
    if len(value) >= MIN_APPROVAL_PREFIX and _HEX.match(value) and saved.sha256.startswith(value):
        return
    raise ApprovalError(
        f"--approve-destroy {value} does not match plan {saved.name}, which deletes or replaces {count} resources: "
        "nothing was applied; pass the number of deletions the reviewed plan showed."
    )


def check_deletion_count(saved: SavedPlan, typed: str) -> None:
    count = deletions(saved.summary)
    if typed.strip() != str(count):
        raise ApprovalError(
            f"Typed {typed.strip()!r}, not {count} (the number of deletions): nothing was changed in "
            f"{saved.manifest.environment}."
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
