"""A "foreign address" for the isolation tests: a real TCP server that records the first line
of every request it gets (an HTTP request, a proxy's CONNECT) and answers 502.

It stands for real AWS or an attacker's host: whatever reaches it is a call that left the
emulator. It listens on loopback only (tests never send traffic anywhere else), but its URL
names it as a remote host would be named: by the machine's host name, which /etc/hosts maps to
loopback. Proxies and NO_PROXY decide by name (Go never proxies `localhost` or a loopback IP,
but does proxy any other name), and platformctl's guard accepts only loopback literals, so to
both it is a foreign host. Without such a name it falls back to 127.0.0.2, which the guard
still treats as foreign but Go never proxies.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


def remote_looking_name() -> tuple[str, str]:
    """(the name in the URL, the loopback address it resolves to and the server listens on)."""
    name = socket.gethostname()
    try:
        address = socket.gethostbyname(name)
    except OSError:
        address = ""
    if name and name != "localhost" and address.startswith("127."):
        return name, address
    return "127.0.0.2", "127.0.0.2"


@dataclass
class Foreign:
    host: str
    port: int
    requests: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


@contextmanager
def foreign_server() -> Iterator[Foreign]:
    name, address = remote_looking_name()
    record = Foreign(name, 0)

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            line = self.rfile.readline(8192).decode(errors="replace").strip()
            record.requests.append(line)
            self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    class Server(socketserver.ThreadingTCPServer):
        allow_reuse_address = True
        daemon_threads = True

    with Server((address, 0), Handler) as server:
        record.port = int(server.server_address[1])
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield record
        finally:
            server.shutdown()
