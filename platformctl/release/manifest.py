"""The manifest of a saved plan: its fields and their JSON types, the checksum of its own
canonical JSON, and writing and reading it (release/gate.py decides what a manifest allows).

read() refuses a manifest of another format, with an unknown or missing field, a field of the
wrong type, or a checksum that does not match: platformctl wrote none of those, so nothing of
it is guessed at. The checksum catches an edit or corruption; it is not a signature.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from platformctl.errors import ApprovalError
from platformctl.files import atomic_write
from platformctl.terraform.plan import ChangeSummary

# 2: engine binding, inputs, backend, passthrough and destroy approval. A manifest of any
# other format is refused (plan again), never guessed at.
MANIFEST_FORMAT = 2


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
    # `plan ENV --allow-destroy`: deletions and replacements in this plan were asked for.
    destroy_approved: bool = False
    # Terraform options given after `--` at plan time (an allowed few: see PASSTHROUGH).
    passthrough: list[str] = field(default_factory=list)
    # {path relative to the project root: sha256} of every input (platformctl/release/inputs.py).
    inputs: dict[str, str] = field(default_factory=dict)
    # Inputs whose bytes differed from HEAD at plan time (whatever git status said).
    uncommitted: list[str] = field(default_factory=list)
    # engine.binding(): path, sha256, version, name of the engine that planned.
    engine: dict[str, str] = field(default_factory=dict)
    # The backend the plan file records: type, bucket, key, workspace.
    backend: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return asdict(self)

    def sealed(self) -> dict[str, Any]:
        body = self.body()
        return {**body, "manifest_sha256": canonical_sha256(body)}

    @property
    def created(self) -> datetime:
        return datetime.fromisoformat(self.created_at)


_STR_MAP = "dict[str, str]"
# Every field's JSON type; read() refuses a manifest with any other field or type.
SCHEMA: dict[str, str] = {
    "environment": "str",
    "account": "str",
    "plan_file": "str",
    "plan_sha256": "str",
    "git_commit": "str",
    "git_dirty": "bool",
    "terraform_version": "str",
    "provider_versions": _STR_MAP,
    "created_at": "str",
    "summary": "summary",
    "consumed": "consumed",
    "format": "int",
    "destroy_approved": "bool",
    "passthrough": "list[str]",
    "inputs": _STR_MAP,
    "uncommitted": "list[str]",
    "engine": _STR_MAP,
    "backend": _STR_MAP,
}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_PLAN_NAME = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{12}[A-Za-z0-9._-]*\.tfplan$")


def _is_str_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _is_summary(value: Any) -> bool:
    if not isinstance(value, dict) or set(value) != {"add", "change", "destroy", "replace", "destroyed", "replaced"}:
        return False
    counts = all(type(value[k]) is int and value[k] >= 0 for k in ("add", "change", "destroy", "replace"))
    return counts and _is_str_list(value["destroyed"]) and _is_str_list(value["replaced"])


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_bool(value: Any) -> bool:
    return type(value) is bool


def _is_int(value: Any) -> bool:
    return type(value) is int


def _is_consumed(value: Any) -> bool:
    return value is None or _is_str_map(value)


_CHECKS: dict[str, Callable[[Any], bool]] = {
    "str": _is_str,
    "bool": _is_bool,
    "int": _is_int,
    _STR_MAP: _is_str_map,
    "list[str]": _is_str_list,
    "summary": _is_summary,
    "consumed": _is_consumed,
}


def _schema_problem(data: Any) -> str | None:
    """What makes `data` not a manifest of this format, or None."""
    if not isinstance(data, dict):
        return f"a JSON {type(data).__name__}, not an object"
    if data.get("format") != MANIFEST_FORMAT:
        return f"format {data.get('format')!r}, this platformctl reads format {MANIFEST_FORMAT}"
    if not isinstance(data.get("manifest_sha256"), str):
        return "no manifest_sha256"
    extra = sorted(set(data) - set(SCHEMA) - {"manifest_sha256"})
    missing = sorted(set(SCHEMA) - set(data))
    if extra or missing:
        return f"unknown field {extra[0]!r}" if extra else f"no field {missing[0]!r}"
    for name, kind in SCHEMA.items():
        if not _CHECKS[kind](data[name]):
            return f"field {name!r} is not a {kind}"
    if not _SHA256.match(data["plan_sha256"]):
        return "plan_sha256 is not a sha256"
    if not _PLAN_NAME.match(data["plan_file"]):
        return f"plan_file {data['plan_file']!r} is not a saved plan's name"
    try:
        created = datetime.fromisoformat(data["created_at"])
    except ValueError:
        return f"created_at {data['created_at']!r} is not an ISO time"
    if created.tzinfo is None:
        return f"created_at {data['created_at']!r} has no time zone"
    return None


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


def write_manifest(path: Path, manifest: Manifest) -> None:
    """Atomically, so a crash never leaves half a manifest."""
    atomic_write(path, json.dumps(manifest.sealed(), indent=2, sort_keys=True) + "\n")


_FIELD_NAMES = frozenset(f.name for f in fields(Manifest))


def read(manifest_path: Path) -> SavedPlan:
    """Load a manifest, check its schema, and refuse one edited since platformctl wrote it."""
    try:
        data = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as exc:
        raise ApprovalError(
            f"Manifest {manifest_path} is unreadable or incomplete ({type(exc).__name__}): run plan again."
        ) from exc
    problem = _schema_problem(data)
    if problem is not None:
        raise ApprovalError(
            f"Manifest {manifest_path.name} is unreadable or incomplete ({problem}): nothing was applied; "
            "run plan again."
        )
    stored = data.pop("manifest_sha256")
    manifest = Manifest(**{k: v for k, v in data.items() if k in _FIELD_NAMES})
    if canonical_sha256(manifest.body()) != stored:
        raise ApprovalError(
            f"Manifest {manifest_path.name} was edited after it was written (its checksum does not match): "
            f"nothing was applied; run `platformctl plan {manifest.environment}` for a new plan."
        )
    return SavedPlan(manifest_path.with_name(manifest.plan_file), manifest_path, manifest)
