"""Snapshots of an emulated environment: the moto server's state and Terraform's local state,
saved together after an `up` that left nothing to change, restored by a cold `up` instead of
a real apply when nothing that decides the result has changed.

A snapshot is a folder `.platformctl/snapshots/<id>/`:
  emulator.pickle   every moto backend, pickled by the server (emulators/moto_snapshot.py)
  terraform.tfstate the root's local state that describes exactly those resources
  meta.json         when, the fingerprint and its parts, the resource count, a label

The fingerprint is a sha256 of everything that decides what an apply would create: the root's
*.tf and *.tfvars, every file of every local module it calls (recursively), the lock file (and
the provider version in it), the built Lambda zips, the moto, Python and platformctl versions,
the sources of platformctl's emulator (its patches decide what moto answers), the emulator kind
and endpoint (queue URLs in the state carry the port). `up` restores only a snapshot of the same
fingerprint, then checks it (snapshot_checks.py); any mismatch or failed check undoes the
restore and falls back to a real apply.

Snapshots are moto-only: LocalStack's own persistence (PERSISTENCE=1) is a Pro feature that
needs LOCALSTACK_AUTH_TOKEN, and the pinned community image has none.

No Typer or rich: results are returned, warnings go through emulator.Progress.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import platformctl
from platformctl import files
from platformctl.emulators import lifecycle as emulator
from platformctl.emulators.base import open_url
from platformctl.errors import PlatformctlError
from platformctl.local.state import (
    applied_path,
    load_state,
    move_state_aside,
    state_path,
    state_resource_count,
    write_json,
)
from platformctl.project import hcl
from platformctl.project.contract import Environment, Project

log = logging.getLogger("platformctl")

FOLDER = "snapshots"
EMULATOR_FILE = "emulator.pickle"
STATE_FILE = "terraform.tfstate"
META_FILE = "meta.json"
SNAPSHOT_ROUTE = "/moto-api/platformctl/snapshot"  # emulators/moto_snapshot.py
RESTORE_ROUTE = "/moto-api/platformctl/restore"
RESET_ROUTE = "/moto-api/reset"
MOTO_ONLY = (
    "Snapshots are moto-only: LocalStack's persistence is a Pro feature (LOCALSTACK_AUTH_TOKEN), "
    "which the pinned community image lacks; use --emulator moto."
)
# Big enough for a platform with data in it; a restore of ~60 resources takes about a second.
ROUTE_TIMEOUT = 300.0
# What Terraform never reads in a module: its docs and `terraform test` files.
_SKIPPED_PARTS = (".terraform", "__pycache__", ".git", "tests")
_SKIPPED_NAMES = ("README.md",)


class SnapshotError(PlatformctlError):
    """A snapshot cannot be saved, found or restored."""


# --- the fingerprint -----------------------------------------------------------------------------


def _files_of(folder: Path) -> list[Path]:
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file()
        and not any(part in _SKIPPED_PARTS for part in path.relative_to(folder).parts)
        and path.name not in _SKIPPED_NAMES
        and not path.name.endswith((".tfstate", ".tfstate.backup", ".tfplan", ".tftest.hcl"))
    )


def _local_modules(directory: Path, seen: set[Path]) -> None:
    """Every local module folder `directory` calls, and theirs."""
    for tf in sorted(directory.glob("*.tf")):
        for block in hcl.load(tf).get("module", []):
            for call in block.values():
                source = str(call.get("source") or "")
                if source.startswith(("./", "../")):
                    folder = (directory / source).resolve()
                    if folder.is_dir() and folder not in seen:
                        seen.add(folder)
                        _local_modules(folder, seen)


def provider_versions(lock_file: Path) -> dict[str, str]:
    """provider address -> version, from .terraform.lock.hcl."""
    if not lock_file.is_file():
        return {}
    text = lock_file.read_text()
    pattern = r'provider\s+"([^"]+)"\s*\{[^}]*?version\s*=\s*"([^"]+)"'
    return dict(re.findall(pattern, text, flags=re.S))


def _emulator_sources() -> str:
    """The code of platformctl's moto server (patches, Lambda runtime, snapshots): it decides
    what moto answers and how the pickle is made."""
    from platformctl import emulators

    digest = hashlib.sha256()
    package = Path(emulators.__file__).parent
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def moto_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("moto")
    except PackageNotFoundError:
        return "not installed"


@dataclass(frozen=True)
class Fingerprint:
    value: str
    parts: dict[str, str]

    @property
    def short(self) -> str:
        return self.value[:16]


def fingerprint(
    project: Project,
    environment: Environment,
    *,
    kind: str,
    endpoint: str,
    packages: list[Path] | None = None,
    overrides: dict[str, str] | None = None,
) -> Fingerprint:
    """The fingerprint of what an apply of `environment` on this emulator would give.

    `packages`: the built Lambda zips (operations.build_functions); default build/lambda/*.zip.
    `overrides` replaces named parts (the tests stand in another moto version with it).
    """
    root = environment.directory
    sources = hashlib.sha256()
    for path in sorted([*root.glob("*.tf"), *root.glob("*.tfvars"), *root.glob("*.tfvars.json")]):
        sources.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    modules: set[Path] = set()
    _local_modules(root, modules)
    module_digest = hashlib.sha256()
    for folder in sorted(modules):
        for path in _files_of(folder):
            name = f"{folder.relative_to(project.root) if folder.is_relative_to(project.root) else folder}/"
            module_digest.update(f"{name}{path.relative_to(folder)}".encode() + b"\0" + path.read_bytes() + b"\0")
    lock = root / ".terraform.lock.hcl"
    zips = packages if packages is not None else sorted((project.root / "build" / "lambda").glob("*.zip"))
    package_digest = hashlib.sha256()
    for package in sorted(zips):
        package_digest.update(package.name.encode() + b"\0" + package.read_bytes() + b"\0")
    providers = provider_versions(lock)
    parts = {
        "root": sources.hexdigest(),
        "modules": module_digest.hexdigest(),
        "lock_file": hashlib.sha256(lock.read_bytes() if lock.is_file() else b"").hexdigest(),
        "lambda_packages": package_digest.hexdigest(),
        "provider": ",".join(f"{name}={version}" for name, version in sorted(providers.items())) or "none",
        "moto": moto_version(),
        "python": ".".join(str(part) for part in sys.version_info[:2]),
        "platformctl": platformctl.__version__,
        "emulator_sources": _emulator_sources(),
        "emulator": kind,
        "endpoint": endpoint,
        **(overrides or {}),
    }
    value = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
    return Fingerprint(value, parts)


# --- the store -------------------------------------------------------------------------------------


def folder(project: Project) -> Path:
    return project.state_dir / FOLDER


@dataclass(frozen=True)
class Snapshot:
    id: str
    path: Path
    environment: str
    fingerprint: str
    created: str
    resources: int
    label: str
    bytes: int
    parts: dict[str, str]

    @property
    def created_at(self) -> datetime:
        return datetime.fromisoformat(self.created)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "environment": self.environment,
            "fingerprint": self.fingerprint,
            "created": self.created,
            "resources": self.resources,
            "label": self.label,
            "bytes": self.bytes,
            "path": str(self.path),
            "parts": self.parts,
        }


def _read(path: Path) -> Snapshot | None:
    try:
        meta = json.loads((path / META_FILE).read_text())
        size = sum(p.stat().st_size for p in path.iterdir() if p.is_file())
        return Snapshot(
            id=path.name,
            path=path,
            environment=str(meta["environment"]),
            fingerprint=str(meta["fingerprint"]),
            created=str(meta["created"]),
            resources=int(meta["resources"]),
            label=str(meta.get("label") or ""),
            bytes=size,
            parts=dict(meta.get("parts") or {}),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None  # a partial or foreign folder: not a snapshot


def list_snapshots(project: Project, environment: str | None = None) -> list[Snapshot]:
    """Every snapshot, newest first."""
    base = folder(project)
    found = [_read(path) for path in sorted(base.iterdir())] if base.is_dir() else []
    snapshots = [s for s in found if s is not None and (environment is None or s.environment == environment)]
    return sorted(snapshots, key=lambda s: s.created, reverse=True)


def find(project: Project, snapshot_id: str) -> Snapshot:
    matches = [s for s in list_snapshots(project) if s.id == snapshot_id or s.id.startswith(snapshot_id)]
    if len(matches) != 1:
        what = "no snapshot" if not matches else f"{len(matches)} snapshots"
        raise SnapshotError(f"{what} matches {snapshot_id!r}: `platformctl snapshot list` shows their ids.")
    return matches[0]


def matching(project: Project, environment: Environment, print_: Fingerprint) -> Snapshot | None:
    """The newest snapshot of this environment with this fingerprint."""
    return next(
        (s for s in list_snapshots(project, environment.name) if s.fingerprint == print_.value),
        None,
    )


def _snapshot_id(print_: Fingerprint, label: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", label).strip("-")[:40]
    return f"{print_.short}-{slug}" if slug else print_.short


# --- talking to the emulator -------------------------------------------------------------------------


def _post(endpoint: str, route: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(  # noqa: S310 - the recorded loopback emulator
        f"{endpoint}{route}",
        data=json.dumps(body or {}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with open_url(request, ROUTE_TIMEOUT) as answer:
            data = json.loads(answer.read() or b"{}")
            return int(answer.status), data if isinstance(data, dict) else {}
    except urllib.error.HTTPError as exc:
        try:
            data = json.loads(exc.read() or b"{}")
        except ValueError:
            data = {}
        return int(exc.code), data if isinstance(data, dict) else {"error": str(data)}
    except (OSError, ValueError) as exc:
        return 0, {"error": f"{type(exc).__name__}: {exc}"}


def reset_emulator(record: emulator.Record) -> bool:
    status, _ = _post(record.endpoint, RESET_ROUTE)
    return status == 200


def _require_moto(record: emulator.Record) -> None:
    if record.kind != emulator.MOTO:
        raise SnapshotError(MOTO_ONLY)


# --- save -------------------------------------------------------------------------------------------


def save(
    project: Project,
    environment: Environment,
    record: emulator.Record,
    print_: Fingerprint,
    *,
    label: str = "",
) -> Snapshot:
    """Save the running emulator and the root's state as the snapshot of `print_` (replacing
    one of the same id). The caller holds the root's lock, so the two belong together."""
    _require_moto(record)
    state = load_state(environment)
    if not state_resource_count(environment) or state is None:
        raise SnapshotError(f"{environment.name} has no resources to snapshot: run `platformctl up` first.")
    base = folder(project)
    base.mkdir(parents=True, exist_ok=True)
    snapshot_id = _snapshot_id(print_, label)
    partial = base / f".{snapshot_id}.partial-{time.time_ns()}"
    partial.mkdir()
    try:
        status, answer = _post(record.endpoint, SNAPSHOT_ROUTE, {"path": str((partial / EMULATOR_FILE).resolve())})
        if status != 200:
            raise SnapshotError(
                f"The emulator did not save its state ({status or 'no answer'}: {answer.get('error', answer)}); "
                f"see {record.log_file or 'its log'}."
            )
        state_bytes = state_path(environment).read_bytes()
        files.atomic_write(partial / STATE_FILE, state_bytes, mode=0o600)
        meta = {
            "environment": environment.name,
            "fingerprint": print_.value,
            "parts": print_.parts,
            "created": datetime.now(UTC).isoformat(timespec="microseconds"),
            "resources": state_resource_count(environment),
            "label": label,
            "state_sha256": hashlib.sha256(state_bytes).hexdigest(),
            "emulator_services": answer.get("services", []),
        }
        write_json(partial / META_FILE, meta)
        target = base / snapshot_id
        if target.exists():
            trash = base / f".{snapshot_id}.old-{time.time_ns()}"
            target.rename(trash)
            partial.rename(target)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            partial.rename(target)
    finally:
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)
    saved = _read(target)
    if saved is None:  # pragma: no cover - written just above
        raise SnapshotError(f"{target} was written but does not read back: delete it and save again.")
    return saved


# --- restore ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Restored:
    snapshot: Snapshot
    checked: int
    seconds: dict[str, float]
    checks: tuple[str, ...]


class RestoreFailed(SnapshotError):
    """The snapshot was not restored: refused before anything changed, or (`undone`) undone
    after a failed check (state moved aside, emulator reset). The caller applies for real."""

    def __init__(self, message: str, *, undone: bool = False) -> None:
        super().__init__(message)
        self.undone = undone


def restore(
    project: Project,
    environment: Environment,
    record: emulator.Record,
    snapshot: Snapshot,
) -> Restored:
    """Load `snapshot` into the running emulator, put its state in place and check both; on any
    failure undo it all (RestoreFailed) so neither the emulator nor the state is half-restored."""
    from platformctl.local import snapshot_checks

    _require_moto(record)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    meta = json.loads((snapshot.path / META_FILE).read_text())
    state_bytes = (snapshot.path / STATE_FILE).read_bytes()
    if hashlib.sha256(state_bytes).hexdigest() != meta.get("state_sha256"):
        raise RestoreFailed(f"snapshot {snapshot.id}: its state file does not match its checksum")
    try:
        state = json.loads(state_bytes)
    except ValueError as exc:
        raise RestoreFailed(f"snapshot {snapshot.id}: its state file is not JSON ({exc})") from exc
    status, answer = _post(record.endpoint, RESTORE_ROUTE, {"path": str((snapshot.path / EMULATOR_FILE).resolve())})
    seconds["emulator"] = round(time.perf_counter() - started, 3)
    if status in (400, 409):  # refused before anything was swapped in: emulator and state as they were
        raise RestoreFailed(f"snapshot {snapshot.id}: the emulator refused it ({answer.get('error', status)})")
    if status != 200:  # no answer, or a failure mid-way: nothing is trusted
        undo(project, environment, record)
        raise RestoreFailed(f"snapshot {snapshot.id}: the restore failed ({answer.get('error', status)})", undone=True)
    if state_path(environment).exists():
        move_state_aside(project, environment)
    files.atomic_write(state_path(environment), state_bytes, mode=0o600)
    write_json(
        applied_path(project, environment),
        {"start_id": record.start_id, "endpoint": record.endpoint, "at": emulator.timestamp(), "snapshot": snapshot.id},
    )
    checking = time.perf_counter()
    try:
        report = snapshot_checks.verify(state, record.endpoint, environment.region or "us-east-1")
    except Exception as exc:  # noqa: BLE001 - any failed check means: undo, apply for real
        report = snapshot_checks.Report(0, (f"the checks failed: {type(exc).__name__}: {exc}",), ())
    seconds["checks"] = round(time.perf_counter() - checking, 3)
    if report.problems:
        undo(project, environment, record)
        more = f" (+{len(report.problems) - 1} more)" if len(report.problems) > 1 else ""
        raise RestoreFailed(f"snapshot {snapshot.id}: {report.problems[0]}{more}", undone=True)
    seconds["total"] = round(time.perf_counter() - started, 3)
    return Restored(snapshot, report.checked, seconds, report.checks)


def undo(project: Project, environment: Environment, record: emulator.Record) -> None:
    """Back to an empty emulator and no state: what a real apply starts from."""
    if state_path(environment).exists():
        moved = move_state_aside(project, environment)
        log.debug("restored state moved to %s", moved)
    applied_path(project, environment).unlink(missing_ok=True)
    if not reset_emulator(record):
        raise SnapshotError(
            f"The restore failed and the emulator on {record.endpoint} did not reset: run "
            f"`platformctl down {environment.name}`, then `platformctl up {environment.name} --no-snapshot`."
        )


def restore_matching(
    project: Project, environment: Environment, record: emulator.Record, print_: Fingerprint
) -> tuple[Restored | None, str | None]:
    """(what was restored, None), or (None, why not: a one-line warning, or None when there is
    simply no snapshot of this fingerprint). Never leaves a half-restored emulator."""
    if record.kind != emulator.MOTO:
        return None, None
    candidate = matching(project, environment, print_)
    if candidate is None:
        return None, None
    try:
        return restore(project, environment, record, candidate), None
    except RestoreFailed as exc:
        return None, f"Snapshot not used, applying for real: {exc}."


# --- prune --------------------------------------------------------------------------------------------


def prune(project: Project, *, keep: int | None = None, older_than: timedelta | None = None) -> list[Snapshot]:
    """Delete all but the `keep` newest snapshots of each environment, and (or) those older
    than `older_than`; the deleted ones are returned."""
    if keep is None and older_than is None:
        raise SnapshotError("Say what to prune: --keep N (newest kept) or --older-than DAYS.")
    now = datetime.now(UTC)
    removed: list[Snapshot] = []
    by_environment: dict[str, list[Snapshot]] = {}
    for snapshot in list_snapshots(project):
        by_environment.setdefault(snapshot.environment, []).append(snapshot)
    for snapshots in by_environment.values():
        for index, snapshot in enumerate(snapshots):
            too_many = keep is not None and index >= keep
            too_old = older_than is not None and now - snapshot.created_at > older_than
            if too_many or too_old:
                shutil.rmtree(snapshot.path)
                removed.append(snapshot)
    return removed


# --- what `up` calls --------------------------------------------------------------------------------


def restore_for_up(
    project: Project, environment: Environment, record: emulator.Record, progress: emulator.Progress
) -> tuple[Restored | None, bool]:
    """On a cold `up`: restore the snapshot of this fingerprint, if there is one and it checks
    out. (restored, tried): `tried` with nothing restored means a snapshot failed (the warning
    was given, everything undone) and the real apply should replace it."""
    if record.kind != emulator.MOTO:
        progress.note(MOTO_ONLY)
        return None, False
    print_ = fingerprint(project, environment, kind=record.kind, endpoint=record.endpoint)
    restored, warning = restore_matching(project, environment, record, print_)
    if warning:
        progress.note(warning)
    if restored is not None:
        progress.note(
            f"Restored snapshot {restored.snapshot.id} of {restored.snapshot.created[:19]}Z instead of applying: "
            f"{restored.checked} resources checked in {restored.seconds.get('checks', 0):.1f} s "
            f"(`up --no-snapshot` applies for real)."
        )
    return restored, warning is not None


def save_after_up(
    project: Project,
    environment: Environment,
    record: emulator.Record,
    progress: emulator.Progress,
    *,
    replace: bool = False,
) -> Snapshot | None:
    """After an `up` that left nothing to change: save a snapshot unless one of this
    fingerprint exists (`replace` saves anyway). A failure is a note, never a failed `up`."""
    if record.kind != emulator.MOTO or not state_resource_count(environment):
        return None
    try:
        print_ = fingerprint(project, environment, kind=record.kind, endpoint=record.endpoint)
        if not replace and matching(project, environment, print_) is not None:
            return None
        saved = save(project, environment, record, print_)
    except PlatformctlError as exc:
        progress.note(f"Snapshot not saved: {exc}")
        return None
    progress.note(f"Saved snapshot {saved.id} ({saved.bytes / 1e6:.1f} MB): the next cold `up` restores it in seconds.")
    return saved
