"""The embedded emulator: platformctl's moto server (emulators/moto_server.py), started as a
detached background process. moto is a pip dependency (the `local` extra), no Docker needed;
it keeps everything in memory, so a restart loses it all."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from platformctl import process
from platformctl.aws.credentials import EMULATOR_ACCOUNT_ID, emulator_env
from platformctl.emulators import docker
from platformctl.emulators.base import PROBE_TIMEOUT, Spawned, get_json, open_url
from platformctl.emulators.records import HOST
from platformctl.errors import EmulatorError
from platformctl.project.contract import Environment, Project

NAME = "moto"


def check_installed() -> None:
    if importlib.util.find_spec("moto") is None:
        raise EmulatorError(
            f"moto is not installed in {sys.executable}: pip install 'platformctl[local]', "
            "or use --emulator localstack with Docker."
        )
    if importlib.util.find_spec("flask") is None or importlib.util.find_spec("werkzeug") is None:
        raise EmulatorError(
            "moto is installed without its server (flask, werkzeug): pip install 'platformctl[local]', "
            "or use --emulator localstack with Docker."
        )


def argv(port: int) -> list[str]:
    # moto.server, with platformctl's AWS-fidelity fixes (see platformctl/emulators/moto_server.py).
    return [sys.executable, "-m", "platformctl.emulators.moto_server", "-H", HOST, "-p", str(port)]


class Moto:
    name = NAME
    health_timeout = 60.0  # it answers in about a second
    root_variables: Mapping[str, str] = MappingProxyType({})  # platformctl's moto server answers what roots use

    def identify(self, endpoint: str, timeout: float) -> str | None:
        with contextlib.suppress(OSError, ValueError):
            config = get_json(f"{endpoint}/moto-api/config", timeout)
            if isinstance(config, dict) and "lambda" in config:
                return "moto server"
        return None

    def spawn(self, project: Project, environment: Environment, port: int, log_file: Path) -> Spawned:
        check_installed()
        child = process.spawn_detached(
            argv(port),
            log_file=log_file,
            env={
                # The user's AWS_PROFILE and friends break moto's own boto3 session (a
                # profile it cannot find is a 500 on every call), and mean nothing to it.
                **emulator_env(environment.region),
                # moto answers as the account the local provider allows (allowed_account_ids).
                "MOTO_ACCOUNT_ID": EMULATOR_ACCOUNT_ID,
                "MOTO_PORT": str(port),
            },
        )
        return Spawned(child)

    def start_failure(self, returncode: int | None, log_text: str) -> EmulatorError | None:
        return None

    def after_start(self, endpoint: str) -> bool:
        answers = docker.docker_engine().answers
        configure(endpoint, docker_answers=answers)
        return answers

    def cleanup(self, spawned_container: str | None) -> None:
        return None


def configure(endpoint: str, docker_answers: bool) -> None:
    """Without a Docker engine, moto creates functions but cannot run their code: switch its
    Lambda to the no-Docker stub, so an invoke answers instead of failing on Docker."""
    if docker_answers:
        return
    import urllib.request

    body = json.dumps({"lambda": {"use_docker": False}, "batch": {"use_docker": False}}).encode()
    request = urllib.request.Request(  # noqa: S310 - our own loopback URL
        f"{endpoint}/moto-api/config", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with contextlib.suppress(OSError):
        open_url(request, PROBE_TIMEOUT).close()


KIND = Moto()
