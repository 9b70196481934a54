"""LocalStack: a pinned image run with Docker, where a Docker engine answers."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from platformctl import process
from platformctl.emulators import docker
from platformctl.emulators.base import Spawned, get_json
from platformctl.emulators.records import HOST
from platformctl.errors import EmulatorError
from platformctl.project.contract import Environment, Project

NAME = "localstack"
PORT = 4566  # inside the container
TOKEN_ENV = "LOCALSTACK_AUTH_TOKEN"  # noqa: S105 - a variable name, not its value
# LocalStack exits with 55 when its licence check fails (e.g. `latest` without a token).
LICENCE_EXIT = 55
LICENCE_TEXT = "requires an account"


def container(port: int) -> str:
    return f"platformctl-localstack-{port}"


def argv(image: str, port: int) -> list[str]:
    """`docker run` of LocalStack. Not `-d`: the client stays attached (itself detached from
    the terminal by spawn_detached) so the container's output lands in our log file even
    after --rm removes it, and a licence failure's exit code 55 reaches us while we wait."""
    return [
        "docker",
        "run",
        "--rm",
        "--name",
        container(port),
        "-p",
        f"{HOST}:{port}:{PORT}",
        # By name only: docker copies the value from its own environment, so the token is
        # never on a command line, in a log or in a file.
        "-e",
        TOKEN_ENV,
        # LocalStack runs Lambda code in sibling containers through the host's engine.
        "-v",
        "/var/run/docker.sock:/var/run/docker.sock",
        image,
    ]


def licence_failure(returncode: int | None, log_text: str) -> bool:
    return returncode == LICENCE_EXIT or LICENCE_TEXT in log_text.lower()


def image_usable(image: str) -> tuple[bool, str]:
    """A pinned community tag starts without a token; `latest` needs one since 2026-03."""
    name, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "")
    if tag in ("", "latest") and not os.environ.get(TOKEN_ENV):
        return False, (f"{image} is not a pinned tag and {TOKEN_ENV} is not set ({name or image}:latest needs a token)")
    return True, f"image {image}"


class LocalStack:
    name = NAME
    health_timeout = 300.0  # it may pull its image first
    # The community image has no Budgets and no Application Auto Scaling (the local root's
    # switches for them; see terraform/environments/local/variables.tf).
    root_variables: Mapping[str, str] = MappingProxyType({"enable_budgets": "false", "enable_autoscaling": "false"})

    def identify(self, endpoint: str, timeout: float) -> str | None:
        with contextlib.suppress(OSError, ValueError):
            health = get_json(f"{endpoint}/_localstack/health", timeout)
            if isinstance(health, dict) and "services" in health:
                return f"LocalStack {health.get('version', '')}".strip()
        return None

    def spawn(self, project: Project, environment: Environment, port: int, log_file: Path) -> Spawned:
        image = environment.localstack_image
        if not image:
            raise EmulatorError(
                f"No LocalStack image configured: set environments.{environment.name}.localstack_image in "
                f"{environment.contract_path.name}, or use --emulator moto."
            )
        return Spawned(process.spawn_detached(argv(image, port), log_file=log_file), container(port))

    def start_failure(self, returncode: int | None, log_text: str) -> EmulatorError | None:
        if licence_failure(returncode, log_text):
            return EmulatorError(
                f'LocalStack refused to start without a licence (exit {returncode}, "{LICENCE_TEXT}"): set '
                f"{TOKEN_ENV} in your environment, pin a community image tag, or use --emulator moto."
            )
        return None

    def after_start(self, endpoint: str) -> bool:
        return True  # it runs Lambda code in sibling containers

    def cleanup(self, spawned_container: str | None) -> None:
        if spawned_container:
            docker.stop_container(spawned_container)


KIND = LocalStack()
