"""Files platformctl writes once or shares between processes.

- `atomic_write`: every write-once file (plans, manifests, records, generated configs) goes
  through a temp file in the same folder, fsync, then rename, so a crash or a full disk never
  leaves half a file where a reader looks, and a read-only folder fails before anything else.
- `locked`: files that two platformctl processes share (the emulator record, the local root,
  the plugin cache) are guarded by one inter-process lock (the `filelock` package), with a
  bounded wait and a one-line error naming what holds it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from platformctl.errors import PlatformctlError

LOCK_SUFFIX = ".lock"


def atomic_write(path: Path, data: bytes | str, *, mode: int = 0o644) -> None:
    """Write `data` to `path` atomically: temp file beside it, fsync, rename over it.

    Raises PlatformctlError (one line, naming the folder) when the folder cannot be written;
    the previous content of `path`, if any, is then untouched.
    """
    payload = data.encode() if isinstance(data, str) else data
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    except OSError as exc:
        raise PlatformctlError(
            f"Cannot write in {path.parent} ({exc.strerror or exc}): make it writable, then run the command again."
        ) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise PlatformctlError(
            f"Cannot write {path} ({exc.strerror or exc}): make {path.parent} writable, then run the command again."
        ) from exc


@contextmanager
def locked(path: Path, *, what: str, timeout: float = 0.0) -> Iterator[None]:
    """Hold the inter-process lock `path` (+ .lock) while the block runs.

    `timeout` 0 refuses at once when another process holds it; a positive value waits that
    many seconds first. `what` names the shared thing in the refusal ("the local emulator").
    """
    from filelock import FileLock, Timeout

    lock_path = path if path.name.endswith(LOCK_SUFFIX) else path.with_name(path.name + LOCK_SUFFIX)
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PlatformctlError(
            f"Cannot create {lock_path.parent} ({exc.strerror or exc}): make it writable, then run the command again."
        ) from exc
    lock = FileLock(str(lock_path), timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        waited = f" after waiting {timeout:g} s" if timeout > 0 else ""
        raise PlatformctlError(
            f"Another platformctl process is using {what} (lock {lock_path}){waited}: wait for it to finish, "
            "then run the command again."
        ) from None
    except OSError as exc:
        raise PlatformctlError(
            f"Cannot lock {lock_path} ({exc.strerror or exc}): make {lock_path.parent} writable, then retry."
        ) from exc
    try:
        yield
    finally:
        lock.release()
