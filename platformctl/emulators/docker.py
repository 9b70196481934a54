"""Docker, as the LocalStack emulator needs it: whether an engine answers, and its containers."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from dataclasses import dataclass

from platformctl import process
from platformctl.errors import PlatformctlError


@dataclass(frozen=True)
class DockerEngine:
    answers: bool
    summary: str  # short, for the line that says which emulator was chosen
    detail: str  # with what docker said, for the error when LocalStack was asked for


def docker_engine() -> DockerEngine:
    """Whether a Docker engine answers `docker info`."""
    if shutil.which("docker") is None:
        return DockerEngine(False, "docker is not on PATH", "docker is not on PATH")
    try:
        result = process.capture(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=15)
    except PlatformctlError as exc:
        return DockerEngine(False, "docker cannot run", str(exc))
    except subprocess.TimeoutExpired:  # a hung daemon socket
        return DockerEngine(False, "no Docker engine answers", "docker info did not answer within 15 s")
    if result.returncode != 0:
        first = next((line.strip() for line in (result.stderr or result.stdout).splitlines() if line.strip()), "")
        said = first or f"exit {result.returncode}"
        return DockerEngine(False, "no Docker engine answers", f"no Docker engine answers (docker info: {said})")
    version = f"Docker engine {result.stdout.strip()} answers"
    return DockerEngine(True, version, version)


def container_id(name: str) -> str | None:
    result = process.capture(["docker", "inspect", "--format", "{{.Id}}", name], timeout=15)
    if result.returncode != 0:
        return None
    return result.stdout.strip()[:12] or None


def stop_container(name: str) -> None:
    with contextlib.suppress(PlatformctlError):
        process.capture(["docker", "stop", name], timeout=60)
