"""A stand-in `docker` executable, because no Docker engine runs on our build machines.

It records every argv (and whether LOCALSTACK_AUTH_TOKEN reached it through the
environment) as JSON lines, and plays just enough of Docker for platformctl's LocalStack
path: `info` answers (or fails, mode "no-engine"); `run` serves LocalStack's health
endpoint on the published port until stopped (or, mode "licence", prints LocalStack's
licence refusal and exits 55); `stop NAME` ends that `run`; `inspect` and `ps` answer.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

SCRIPT = r"""#!{python}
import http.server, json, os, signal, sys
from pathlib import Path

state = Path(os.environ["STANDIN_DOCKER_STATE"])
mode = os.environ.get("STANDIN_DOCKER_MODE", "ok")
args = sys.argv[1:]
with open(state / "calls.jsonl", "a") as calls:
    calls.write(json.dumps({{"argv": args, "token_in_env": "LOCALSTACK_AUTH_TOKEN" in os.environ}}) + "\n")
command = args[0] if args else ""

if command == "info":
    if mode == "no-engine":
        print("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
              file=sys.stderr)
        sys.exit(1)
    print("27.5.1-standin")
    sys.exit(0)

if command == "run":
    if mode == "licence":
        print("[localstack] License activation failed: this image requires an account; "
              "set LOCALSTACK_AUTH_TOKEN (https://app.localstack.cloud)")
        sys.exit(55)
    name = args[args.index("--name") + 1]
    host, port, _ = args[args.index("-p") + 1].split(":")

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/_localstack/health":
                body = json.dumps({{"services": {{"s3": "running"}}, "edition": "community", "version": "4.4.0"}})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())
            else:
                self.send_response(404)
                self.end_headers()

        def log_message(self, *a):
            print("health check", flush=True)

    server = http.server.HTTPServer((host, int(port)), Health)
    (state / f"{{name}}.pid").write_text(str(os.getpid()))
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    print(f"LocalStack (stand-in) ready on {{host}}:{{port}}", flush=True)
    server.serve_forever()

if command == "stop":
    pid_file = state / f"{{args[-1]}}.pid"
    if pid_file.exists():
        os.kill(int(pid_file.read_text()), signal.SIGTERM)
        pid_file.unlink()
    print(args[-1])
    sys.exit(0)

if command == "inspect":
    print("c0ffee0000000000000000000000000000000000000000000000000000000000")
    sys.exit(0)

if command == "ps":
    sys.exit(0)

print(f"stand-in docker: unsupported command {{args}}", file=sys.stderr)
sys.exit(2)
"""


@dataclass
class StandinDocker:
    bin_dir: Path
    state: Path

    def calls(self) -> list[dict[str, object]]:
        path = self.state / "calls.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    def runs(self) -> list[list[str]]:
        return [list(call["argv"]) for call in self.calls() if call["argv"][:1] == ["run"]]  # type: ignore[index, call-overload]


def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str = "ok") -> StandinDocker:
    """Put the stand-in first on PATH (only python and the system folders after it)."""
    bin_dir = tmp_path / "standin-bin"
    state = tmp_path / "standin-state"
    bin_dir.mkdir()
    state.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(SCRIPT.format(python=sys.executable))
    docker.chmod(0o755)
    monkeypatch.setenv("PATH", os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")]))
    monkeypatch.setenv("STANDIN_DOCKER_STATE", str(state))
    monkeypatch.setenv("STANDIN_DOCKER_MODE", mode)
    return StandinDocker(bin_dir, state)


def path_without_docker(tmp_path: Path) -> str:
    """PATH minus every folder that holds a docker executable."""
    folders = [f for f in os.environ.get("PATH", "").split(os.pathsep) if f and not (Path(f) / "docker").exists()]
    return os.pathsep.join(folders)
