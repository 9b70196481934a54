"""What answers on a loopback port, and whether a recorded emulator still runs."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from platformctl import process
from platformctl.emulators.base import PROBE_TIMEOUT
from platformctl.emulators.kinds import KINDS
from platformctl.emulators.records import HOST, Record, endpoint_for
from platformctl.errors import EmulatorError


@dataclass(frozen=True)
class Probe:
    """What answers on a port: nothing, an AWS emulator (its kind), or another program."""

    port: int
    listening: bool
    kind: str | None = None
    detail: str = ""

    @property
    def other_program(self) -> bool:
        return self.listening and self.kind is None


def probe(port: int, timeout: float = PROBE_TIMEOUT) -> Probe:
    """Ask the port who it is: each kind knows its own health answer (LocalStack's
    /_localstack/health, moto's /moto-api/config)."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            pass
    except OSError:
        return Probe(port, listening=False)
    endpoint = endpoint_for(port)
    for name, kind in KINDS.items():
        detail = kind.identify(endpoint, timeout)
        if detail is not None:
            return Probe(port, True, name, detail)
    return Probe(port, True, None, "not an AWS emulator")


def healthy(record: Record) -> bool:
    """The recorded emulator runs and answers as what it is."""
    if record.pid is not None and not process.pid_alive(record.pid):
        return False
    return probe(record.port).kind == record.kind


def port_taken(port: int) -> EmulatorError:
    return EmulatorError(
        f"Port {port} is taken by another program (not an AWS emulator): stop it, or pass --port to use another port."
    )


def port_bindable(port: int) -> bool:
    """Whether we could listen on the port now (a bound but idle socket does not answer a probe)."""
    with socket.socket() as sock:
        # As the servers do: connections that just closed (TIME_WAIT, e.g. after an emulator
        # was killed) do not keep a port from being listened on again.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def listening_pids(port: int) -> list[int]:
    """Pids listening on a loopback TCP port: /proc on Linux, lsof elsewhere."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            # local_address is HEXIP:HEXPORT; state 0A is LISTEN.
            if len(fields) > 9 and int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                inodes.add(fields[9])
    if inodes:
        wanted = {f"socket:[{inode}]" for inode in inodes}
        pids = []
        for fd_dir in Path("/proc").glob("[0-9]*/fd"):
            with contextlib.suppress(OSError):
                if any(os.readlink(fd) in wanted for fd in fd_dir.iterdir()):
                    pids.append(int(fd_dir.parent.name))
        return sorted(pids)
    if shutil.which("lsof"):
        result = process.capture(["lsof", "-nP", "-t", f"-iTCP:{port}", "-sTCP:LISTEN"], timeout=10)
        return sorted(int(p) for p in result.stdout.split() if p.isdigit())
    return []
