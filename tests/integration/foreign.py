"""A "foreign address" for the isolation tests: a real TCP server that records the first line
of every request it gets (an HTTP request, a proxy's CONNECT) and answers 502.

It stands for real AWS or an attacker's host: whatever reaches it is a call that left the
emulator. It listens on this machine's non-loopback address when it has one (so proxies and
NO_PROXY treat it as a remote host), else on loopback.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


def outward_address() -> str | None:
    """This machine's address on its default route, or None (loopback only)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 9))  # no packet is sent: UDP connect only picks a route
            address = str(probe.getsockname()[0])
        except OSError:
            return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address  # noqa: S104


@dataclass
class Foreign:
    host: str
    port: int
    requests: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


@contextmanager
def foreign_server(host: str | None = None) -> Iterator[Foreign]:
    chosen = host or outward_address() or "127.0.0.1"
    record = Foreign(chosen, 0)

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            line = self.rfile.readline(8192).decode(errors="replace").strip()
            record.requests.append(line)
            self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    class Server(socketserver.ThreadingTCPServer):
        allow_reuse_address = True
        daemon_threads = True

    with Server((chosen, 0), Handler) as server:
        record.port = int(server.server_address[1])
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield record
        finally:
            server.shutdown()
