"""Snapshot and restore of platformctl's moto server: every loaded moto backend, pickled.

Two routes on the server's own moto-api (loopback callers only), installed by
platformctl.emulators.moto_server:

- POST /moto-api/platformctl/snapshot  {"path": FILE}: pickle every loaded backend (each
  BackendDict with its accounts and regions: resources and data, S3 objects and DynamoDB items
  included) to FILE atomically; answers {"bytes", "moto_version", "services"}.
- POST /moto-api/platformctl/restore   {"path": FILE}: replace this server's backends with
  FILE's. Refused (409, nothing changed) for a file of another moto or Python version, a file
  whose checksum does not match, or one that does not unpickle: everything is unpickled before
  anything is swapped in, so a bad file leaves the emulator as it was.

The file is one JSON header line (format, moto and Python versions, services, the body's
sha256 and size) and the pickle. The pickle is moto's own object graph, so it is tied to the
moto version (and to Python's, for the code of the few lambdas it holds); LocalStack's
persistence does the same. What plain pickle refuses gets a reducer here: cryptography's keys
(every KMS key holds one) as PEM, locks as new locks, WeakValueDictionary and weak references
by what they point at, and module-level lambdas (a defaultdict's factory) by their code.

After a restore, the Lambda runtime (emulators/moto_lambda.py) runs the restored functions
from their restored code, asking STS for new role sessions (the cached ones are not in the
restored STS); the Kinesis mapping poller (emulators/moto_esm.py) finds the restored mappings
on its next pass and starts their shard workers, as it does for new ones.
"""

from __future__ import annotations

import copyreg
import hashlib
import io
import json
import marshal
import os
import pickle
import sys
import tempfile
import threading
import types
import weakref
from pathlib import Path
from typing import Any

SNAPSHOT_PATH = "/moto-api/platformctl/snapshot"
RESTORE_PATH = "/moto-api/platformctl/restore"
FORMAT = 1
LOOPBACK = ("127.0.0.1", "::1", "localhost")


class SnapshotRefused(Exception):
    """The file is not a snapshot this server can load; the server was left as it was."""


def moto_version() -> str:
    import moto

    return str(moto.__version__)


def python_version() -> str:
    return ".".join(str(part) for part in sys.version_info[:2])


# --- what plain pickle refuses ---------------------------------------------------------------


def _function_from_code(code: bytes, module: str, name: str, defaults: tuple[Any, ...] | None) -> Any:
    import importlib

    namespace = importlib.import_module(module).__dict__
    return types.FunctionType(marshal.loads(code), namespace, name, defaults)  # noqa: S302 - our own file


def _lambda_reduction(function: types.FunctionType) -> tuple[Any, ...] | None:
    """A function pickle cannot find by name (a lambda), rebuilt from its code in its module."""
    module = sys.modules.get(function.__module__ or "")
    target: Any = module
    for part in function.__qualname__.split("."):
        target = getattr(target, part, None)
    if target is function:
        return None  # importable by name: pickle's own way
    if function.__closure__:
        raise pickle.PicklingError(f"cannot snapshot {function.__qualname__} of {function.__module__}: a closure")
    return (
        _function_from_code,
        (marshal.dumps(function.__code__), function.__module__, function.__name__, function.__defaults__),
    )


def _private_key_from_pem(pem: bytes) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    return load_pem_private_key(pem, password=None)


def _public_key_from_pem(pem: bytes) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    return load_pem_public_key(pem)


def _key_reduction(obj: Any) -> tuple[Any, ...] | None:
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import types as key_types
    except ImportError:
        return None
    if isinstance(obj, key_types.PrivateKeyTypes.__args__):  # type: ignore[attr-defined]
        pem = obj.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return (_private_key_from_pem, (pem,))
    if isinstance(obj, key_types.PublicKeyTypes.__args__):  # type: ignore[attr-defined]
        pem = obj.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        return (_public_key_from_pem, (pem,))
    return None


def _weak_values(items: dict[Any, Any]) -> weakref.WeakValueDictionary[Any, Any]:
    return weakref.WeakValueDictionary(items)


class _Gone:
    """What a weak reference that had died points at after a restore (dead again at once)."""


def _weak_ref(referent: Any) -> Any:
    return weakref.ref(referent if referent is not None else _Gone())


def _none() -> None:
    return None


_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


def _dispatch_table() -> dict[Any, Any]:
    return {
        **copyreg.dispatch_table,
        _LOCK_TYPES[0]: lambda _lock: (threading.Lock, ()),
        _LOCK_TYPES[1]: lambda _lock: (threading.RLock, ()),
        weakref.WeakValueDictionary: lambda mapping: (_weak_values, (dict(mapping.items()),)),
        weakref.ReferenceType: lambda ref: (_weak_ref, (ref(),)),
    }


class _Pickler(pickle.Pickler):
    def __init__(self, file: Any, protocol: int) -> None:
        super().__init__(file, protocol)
        self.dispatch_table = _dispatch_table()

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, types.FunctionType):
            return _lambda_reduction(obj) or NotImplemented
        if isinstance(obj, threading.Thread):
            return (_none, ())  # a thread (a moto Docker helper's) is not state: no restart keeps it
        if type(obj).__module__.startswith("cryptography"):
            return _key_reduction(obj) or NotImplemented
        return NotImplemented


# --- moto's backends ---------------------------------------------------------------------------


def _instances(backend_dict_class: Any) -> list[Any]:
    """moto's own list of the loaded BackendDicts (what its reset walks too)."""
    found: list[Any] = vars(backend_dict_class)["_instances"]
    return found


def _backend_dicts() -> list[Any]:
    from moto.core.base_backend import BackendDict

    return list(_instances(BackendDict))


def _where(backend_dict: Any) -> tuple[str, str]:
    """(module, attribute) of a BackendDict, where a fresh server imports it from."""
    candidates = [backend_dict.backend.__module__]
    candidates += [name for name in list(sys.modules) if name.startswith("moto.") and name not in candidates]
    for name in candidates:
        module = sys.modules.get(name)
        for attribute, value in list(vars(module).items()) if module else ():
            if value is backend_dict:
                return name, attribute
    raise pickle.PicklingError(f"cannot find where moto keeps the {backend_dict.service_name} backends")


def _import_backend_dict(module: str, attribute: str) -> Any:
    import importlib

    from moto.core.base_backend import BackendDict

    found = getattr(importlib.import_module(module), attribute, None)
    if not isinstance(found, BackendDict):
        raise SnapshotRefused(f"{module}.{attribute} is not a moto backend in this moto")
    return found


def snapshot(path: Path) -> dict[str, Any]:
    """Pickle every loaded backend to `path` (temp file beside it, fsync, rename)."""
    from moto.core.base_backend import backend_lock

    with backend_lock:  # no backend is created or dropped while the graph is written
        backends = {_where(bd): dict(dict.items(bd)) for bd in _backend_dicts() if len(dict.keys(bd))}
        buffer = io.BytesIO()
        _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(backends)
    body = buffer.getvalue()
    services = sorted(f"{module}.{attribute}" for module, attribute in backends)
    header = {
        "format": FORMAT,
        "moto_version": moto_version(),
        "python": python_version(),
        "services": services,
        "sha256": hashlib.sha256(body).hexdigest(),
        "size": len(body),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(json.dumps(header).encode() + b"\n")
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return {"bytes": path.stat().st_size, "moto_version": header["moto_version"], "services": services}


def read_header(path: Path) -> dict[str, Any]:
    """The snapshot's header line, without unpickling anything."""
    try:
        with path.open("rb") as handle:
            line = handle.readline(64 * 1024)
        header = json.loads(line)
    except (OSError, ValueError) as exc:
        raise SnapshotRefused(f"{path} is not a snapshot ({exc})") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise SnapshotRefused(f"{path} is not a snapshot of format {FORMAT}")
    return header


def load(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """The backends in `path`, fully unpickled (nothing swapped in yet)."""
    header = read_header(path)
    if header.get("moto_version") != moto_version() or header.get("python") != python_version():
        raise SnapshotRefused(
            f"the snapshot was taken with moto {header.get('moto_version')} on Python {header.get('python')}, "
            f"this server runs moto {moto_version()} on Python {python_version()}"
        )
    data = path.read_bytes()
    body = data[data.index(b"\n") + 1 :]
    if len(body) != header.get("size") or hashlib.sha256(body).hexdigest() != header.get("sha256"):
        raise SnapshotRefused(f"{path} is damaged: its checksum does not match")
    try:
        backends = pickle.loads(body)  # noqa: S301 - a file this server wrote, checksum verified
    except Exception as exc:
        raise SnapshotRefused(f"{path} does not load: {type(exc).__name__}: {exc}") from exc
    if not isinstance(backends, dict):
        raise SnapshotRefused(f"{path} holds no backends")
    return backends


def restore(path: Path) -> dict[str, Any]:
    """Replace every backend of this server with the snapshot's: all, or (on a refusal) none."""
    from moto.core.base_backend import BackendDict, backend_lock

    backends = load(path)
    targets = {where: _import_backend_dict(*where) for where in backends}  # may refuse: nothing swapped yet
    with backend_lock:
        for loaded in _backend_dicts():
            dict.clear(loaded)
        _instances(BackendDict).clear()
        for where, accounts in backends.items():
            target = targets[where]
            dict.update(target, accounts)
            _instances(BackendDict).append(target)
    return {"moto_version": moto_version(), "services": sorted(f"{m}.{a}" for m, a in backends)}


# --- the routes ----------------------------------------------------------------------------------


def _answer(status: int, body: dict[str, Any]) -> tuple[int, dict[str, str], str]:
    return status, {"Content-Type": "application/json"}, json.dumps(body)


def _requested_path(request: Any) -> Path:
    data = request.data if hasattr(request, "data") else b""
    body = json.loads(data or b"{}")
    if not isinstance(body, dict) or not isinstance(body.get("path"), str) or not body["path"]:
        raise ValueError('the body must be {"path": "/absolute/file"}')
    path = Path(body["path"])
    if not path.is_absolute():
        raise ValueError(f"{path} is not an absolute path")
    return path


def _route(action: Any) -> Any:
    def respond(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
        if getattr(request, "method", "POST") != "POST":
            return _answer(405, {"error": "POST only"})
        if getattr(request, "remote_addr", "127.0.0.1") not in LOOPBACK:
            return _answer(403, {"error": "snapshots are for loopback callers only"})
        try:
            return _answer(200, action(_requested_path(request)))
        except ValueError as exc:
            return _answer(400, {"error": str(exc)})
        except SnapshotRefused as exc:
            return _answer(409, {"error": str(exc)})
        except (OSError, pickle.PicklingError, TypeError, AttributeError) as exc:
            return _answer(500, {"error": f"{type(exc).__name__}: {exc}"})

    return respond


def install() -> None:
    try:
        from moto.moto_api._internal import urls
    except ImportError:
        print("platformctl: moto's moto-api urls moved; snapshots are off", file=sys.stderr, flush=True)
        return
    if isinstance(getattr(urls, "url_paths", None), dict):
        urls.url_paths["{0}" + SNAPSHOT_PATH + "$"] = _route(snapshot)
        urls.url_paths["{0}" + RESTORE_PATH + "$"] = _route(restore)
