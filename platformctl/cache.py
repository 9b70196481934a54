"""A small per-user disk cache for results that are slow to compute and cheap to key.

Two things are cached, each keyed by what determines it, so an entry can never go stale:
an engine's version (keyed by the executable's path, mtime and size: probing it costs a
process start on every command) and parsed HCL (keyed by the file's bytes and the parser's
identity: python-hcl2 takes ~100 ms to build its grammar, more than Terraform takes to plan
a small root). Every failure to read or write the cache is silently a miss: the cache only
ever saves time.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

# Bump when the layout of cached values changes.
FORMAT = "1"
# Entries kept per namespace; the oldest are pruned when a write exceeds it.
MAX_ENTRIES = 256


def user_cache_dir() -> Path:
    """platformctl's folder in the user's cache directory, where each OS keeps caches
    (platformdirs: XDG_CACHE_HOME or ~/.cache on Linux, ~/Library/Caches on macOS)."""
    import platformdirs

    return platformdirs.user_cache_path("platformctl", appauthor=False)


def file_identity(path: str | os.PathLike[str]) -> str | None:
    """`realpath:mtime_ns:size` of a file: changes whenever the file is replaced or edited."""
    try:
        real = os.path.realpath(path)
        stat = os.stat(real)
    except OSError:
        return None
    return f"{real}:{stat.st_mtime_ns}:{stat.st_size}"


def key_of(*parts: str | bytes) -> str:
    import hashlib  # here: `platformctl --help` reads the cache without a key_of (OpenSSL's load)

    digest = hashlib.sha256(FORMAT.encode())
    for part in parts:
        digest.update(b"\0")
        digest.update(part.encode() if isinstance(part, str) else part)
    return digest.hexdigest()


def _entry(namespace: str, key: str) -> Path:
    return user_cache_dir() / namespace / f"{key}.json"


def get(namespace: str, key: str) -> Any | None:
    """The cached value, or None on a miss or an unreadable entry."""
    try:
        return json.loads(_entry(namespace, key).read_text())
    except (OSError, ValueError):
        return None


def put(namespace: str, key: str, value: Any) -> None:
    """Store value (JSON-serializable) atomically; concurrent writers of one key agree."""
    path = _entry(namespace, key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        partial.write_text(json.dumps(value))
        partial.replace(path)
        _prune(path.parent)
    except OSError:
        return


def _prune(folder: Path) -> None:
    entries = list(folder.glob("*.json"))
    if len(entries) <= MAX_ENTRIES:
        return
    entries.sort(key=_mtime)
    for stale in entries[: len(entries) - MAX_ENTRIES]:
        stale.unlink(missing_ok=True)


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:  # another process pruned it first
        return 0
