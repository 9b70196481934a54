"""A "foreign address" for the isolation tests: a real TCP server that records the first line
of every request it gets (an HTTP request, a proxy's CONNECT) and answers 502.

It stands for real AWS or an attacker's host: whatever reaches it is a call that left the
emulator. It listens on loopback only (tests never send traffic anywhere else), but its URL
names it as a remote host would be named: by the machine's host name, which /etc/hosts maps to
loopback. Proxies and NO_PROXY decide by name (Go never proxies `localhost` or a loopback IP,
but does proxy any other name), and platformctl's guard accepts only loopback literals, so to
both it is a foreign host. Without such a name it falls back to 127.0.0.2, which the guard
still treats as foreign but Go never proxies.

Its counterpart, `recording_forwarder`, stands in front of the emulator on loopback and
records every request that reached it (method, path, the SigV4 scope's service), so a test
can show where each call of a Terraform run went.
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


# --- the emulator, recorded -----------------------------------------------------------------


@dataclass
class Recorded:
    method: str
    path: str
    service: str  # from the SigV4 credential scope (…/region/SERVICE/aws4_request); "" unsigned
    status: int


@dataclass
class Forwarder:
    """A loopback HTTP forwarder in front of the emulator: every request it gets, recorded."""

    port: int
    requests: list[Recorded] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def services(self) -> set[str]:
        return {r.service for r in self.requests if r.service}


def _service_of(authorization: str) -> str:
    for part in authorization.replace(",", " ").split():
        if part.startswith("Credential="):
            scope = part.removeprefix("Credential=").split("/")
            return scope[3] if len(scope) >= 5 else ""
    return ""


@contextmanager
def recording_forwarder(target: str) -> Iterator[Forwarder]:
    """Forward every request to `target` (the emulator, on loopback) and record it, so a test
    can say which calls a Terraform run made and that each one reached the emulator."""
    import http.client
    import http.server
    from urllib.parse import urlsplit

    upstream = urlsplit(target)
    record = Forwarder(0)
    hop_by_hop = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "content-length"}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _body(self) -> bytes:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _forward(self) -> None:
            body = self._body()
            headers = {k: v for k, v in self.headers.items() if k.lower() not in hop_by_hop}
            connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=300)
            try:
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
            finally:
                connection.close()
            record.requests.append(
                Recorded(self.command, self.path, _service_of(self.headers.get("Authorization", "")), response.status)
            )
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in hop_by_hop:
                    self.send_header(key, value)
            # A HEAD answer has no body but names the object's length.
            length = response.getheader("Content-Length") if self.command == "HEAD" else None
            self.send_header("Content-Length", length or str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _forward

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # the record is the log

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    record.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield record
    finally:
        server.shutdown()
        server.server_close()
