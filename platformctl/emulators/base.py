"""What every emulator kind shares: how the core reports progress, how it asks an emulator
on loopback anything (never through a proxy), and the small interface each kind implements
(emulators/moto.py, emulators/localstack.py), registered in emulators/kinds.py.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from platformctl.errors import EmulatorError
from platformctl.project.contract import Environment, Project

if TYPE_CHECKING:
    from platformctl.terraform.events import Event

log = logging.getLogger("platformctl")

PROBE_TIMEOUT = 2.0


class Progress(Protocol):
    """How the core reports to whoever runs it: one-line notes, waits (a spinner), and a
    Terraform `-json` run (a live view): `terraform_run` gives the callback for its events."""

    def note(self, message: str) -> None: ...

    def waiting(self, message: str) -> AbstractContextManager[object]: ...

    def terraform_run(self, command: str) -> AbstractContextManager[Callable[[Event], None]]: ...


class LogProgress:
    """The default Progress: notes to the log, waits silent, Terraform's diagnostics logged
    whole and its run summed up in one line."""

    def note(self, message: str) -> None:
        log.info("%s", message)

    def waiting(self, message: str) -> AbstractContextManager[object]:
        log.debug("%s", message)
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def terraform_run(self, command: str) -> Iterator[Callable[[Event], None]]:
        from platformctl.terraform.events import RunTracker

        tracker = RunTracker(command)

        def on_event(event: Event) -> None:
            tracker.feed(event)
            if event.diagnostic is not None:
                level = logging.ERROR if event.diagnostic.severity == "error" else logging.WARNING
                log.log(level, "%s", event.diagnostic.render())
            elif event.kind in ("text", "log") and event.message.strip():
                log.info("%s", event.message.strip())

        yield on_event
        log.info("%s", tracker.summary())


def open_url(request: Any, timeout: float) -> Any:
    """urlopen without any proxy: HTTP(S)_PROXY or ALL_PROXY of the shell must not route a
    call to the loopback emulator (urllib would, without NO_PROXY)."""
    import urllib.request  # here, not at the top: `platformctl --help` never needs it

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return opener.open(request, timeout=timeout)


def get_json(url: str, timeout: float) -> Any:
    with open_url(url, timeout) as response:
        return json.loads(response.read() or b"null")


@dataclass(frozen=True)
class Spawned:
    """A started emulator process, and the container it runs, if any."""

    child: Any  # subprocess.Popen of the detached process
    container: str | None = None


class Kind(Protocol):
    """One emulator kind. Adding a kind is one module implementing this and one line in kinds.py."""

    name: str
    # Seconds to wait for health after a start.
    health_timeout: float
    # Root variables set for every run against this kind (where the root declares them), to
    # turn off what it cannot emulate.
    root_variables: Mapping[str, str]

    def identify(self, endpoint: str, timeout: float) -> str | None:
        """A short description when the emulator answering on `endpoint` is of this kind, else None."""

    def spawn(self, project: Project, environment: Environment, port: int, log_file: Path) -> Spawned:
        """Start it in the background on `port`, its output appended to `log_file`."""

    def start_failure(self, returncode: int | None, log_text: str) -> EmulatorError | None:
        """This kind's own reading of a failed start (e.g. a licence refusal), else None."""

    def after_start(self, endpoint: str) -> bool:
        """Configure it once healthy; returns whether Lambda code runs there."""

    def cleanup(self, spawned_container: str | None) -> None:
        """Remove what a start left besides the process (a container)."""
