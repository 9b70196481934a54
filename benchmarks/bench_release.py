"""What the release safety costs: the STS account guard, `bootstrap`, and the gate's checks.

    python benchmarks/bench_release.py     # prints the figures

Against a moto server answering as dev's account (111111111111), on a copy of this
repository's platform.toml and terraform/ (no provider needed: nothing here runs terraform).

- The account guard: the STS probe (`python -m platformctl.aws.account`) run the way platformctl
  runs it before every plan/apply/destroy: through a stand-in `aws-vault exec` (a shell
  script that exports credentials and execs, as aws-vault does once it has a session; the
  real one cannot be installed here) and with ambient credentials. Median of 7 (target
  0.75 s: a Python start with boto3 and one STS call; Terraform's own init takes seconds).
- `platformctl bootstrap dev`, the whole command: a fresh bucket each time (moto reset
  between runs), and again with nothing to change. Median of 3 each (targets 3 s and 2 s).
- The gate's local checks before an apply (read and verify the manifest, sha256 of the plan
  file, git HEAD and status) on a 20 MB plan file, a large real plan. Median of 7
  (target 0.25 s).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from harness import Figure, time_command, timed  # noqa: E402  (needs the path above)

DEV_ACCOUNT = "111111111111"
PROBE_REPEAT = 7
BOOTSTRAP_REPEAT = 3
GATE_REPEAT = 7
# Measured here: probe 0.27 s, bootstrap 0.9 s both ways, gate 0.02 s; room for a slow CI box.
PROBE_TARGET = 0.75
BOOTSTRAP_TARGET = 3.0
BOOTSTRAP_AGAIN_TARGET = 2.0
GATE_TARGET = 0.25
# The binding rule's local checks at apply: hash every input of prod, compare them with HEAD,
# hash the engine (~90 MB binary), copy the plan into a private folder and hash the copy.
BINDING_TARGET = 0.5
STAND_IN = """\
#!/bin/sh
# Stand-in for `aws-vault exec [flags] PROFILE -- COMMAND` (aws-vault cannot be installed here).
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do profile=$1; shift; done
shift
export AWS_VAULT="$profile" AWS_ACCESS_KEY_ID=ASIASTANDIN AWS_SECRET_ACCESS_KEY=stand-in
exec "$@"
"""


@contextmanager
def moto(account: str, log: Path) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "MOTO_ACCOUNT_ID": account}
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "platformctl.emulators.moto_server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()  # noqa: S310 - our http URL
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto did not start: {log.read_text()[-1000:]}") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


def reset(endpoint: str) -> None:
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")  # noqa: S310 - our http URL
    urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 - our http URL


def environment(folder: Path, endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PLATFORMCTL_")) and k != "CI"}
    bin_dir = folder / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "aws-vault").write_text(STAND_IN)
    (bin_dir / "aws-vault").chmod(0o755)
    home = folder / "home"
    home.mkdir(exist_ok=True)
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(home),
        AWS_ENDPOINT_URL=endpoint,
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


def probe_figures(env: dict[str, str]) -> list[Figure]:
    probe = [sys.executable, "-m", "platformctl.aws.account", "--region", "us-east-1"]
    vault = ["aws-vault", "exec", "--ecs-server", "ecommerce-dev", "--", *probe]
    ambient = {**env, "AWS_ACCESS_KEY_ID": "ASIAAMBIENT", "AWS_SECRET_ACCESS_KEY": "ambient"}
    time_command(probe, 1, env=ambient)  # bytecode and boto3's data files warmed once
    return [
        Figure(
            "account guard: STS probe via aws-vault exec (stand-in)",
            time_command(vault, PROBE_REPEAT, env=env),
            PROBE_TARGET,
        ),
        Figure(
            "account guard: STS probe, ambient credentials",
            time_command(probe, PROBE_REPEAT, env=ambient),
            PROBE_TARGET,
        ),
    ]


def bootstrap_figures(root: Path, env: dict[str, str], endpoint: str) -> list[Figure]:
    argv = [sys.executable, "-m", "platformctl", "bootstrap", "dev"]
    fresh, again = [], []
    for _ in range(BOOTSTRAP_REPEAT):
        reset(endpoint)
        fresh += time_command(argv, 1, env=env, cwd=root)
        again += time_command(argv, 1, env=env, cwd=root)
    return [
        Figure("bootstrap dev: new state bucket (whole command)", tuple(fresh), BOOTSTRAP_TARGET),
        Figure("bootstrap dev: again, nothing to change", tuple(again), BOOTSTRAP_AGAIN_TARGET),
    ]


def gate_figures(root: Path) -> list[Figure]:
    from platformctl.project import contract
    from platformctl.release import gate, git

    identity = ["-c", "user.name=Bench", "-c", "user.email=bench@example.invalid"]
    for command in (["init", "-q"], ["add", "-A"], [*identity, "commit", "-q", "-m", "bench"]):
        subprocess.run(["git", *command], cwd=root, check=True, capture_output=True)
    project = contract.load(root)
    prod = project.environment("prod")
    pending = gate.pending_plan_path(project, prod)
    pending.write_bytes(os.urandom(20 * 1024 * 1024))
    tree = git.tree_state(root)
    saved = gate.save(
        project,
        prod,
        pending,
        account="222222222222",
        tree=tree,
        plan_json={"terraform_version": "1.11.4"},
        summary={"add": 1},
    )

    def checks() -> None:
        plan = gate.select(project, prod)
        gate.check(plan, prod, git.tree_state(root))
        gate.check_approval(plan, saved.sha256[:12])

    def binding() -> None:
        from platformctl.release import inputs
        from platformctl.terraform import engine

        inputs.digest(project, prod)
        inputs.uncommitted(project, inputs.input_files(project, prod))
        engine.binding(engine.resolve(project.required_version(), project.engine_name))
        with gate.stage(saved) as staged:
            staged.verify()

    return [
        Figure("gate checks before apply (20 MB plan)", tuple(timed(checks) for _ in range(GATE_REPEAT)), GATE_TARGET),
        Figure(
            "gate binding: inputs, engine, private copy (20 MB plan)",
            tuple(timed(binding) for _ in range(GATE_REPEAT)),
            BINDING_TARGET,
        ),
    ]


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="bench-release-") as scratch:
        folder = Path(scratch)
        root = folder / "repo"
        root.mkdir()
        shutil.copy2(REPO / "platform.toml", root / "platform.toml")
        shutil.copy2(REPO / ".gitignore", root / ".gitignore")
        shutil.copytree(
            REPO / "terraform",
            root / "terraform",
            symlinks=True,
            ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "*.tfplan"),
        )
        with moto(DEV_ACCOUNT, folder / "moto.log") as endpoint:
            env = environment(folder, endpoint)
            figures = probe_figures(env)
            figures += bootstrap_figures(root, env, endpoint)
        figures += gate_figures(root)
        return figures


if __name__ == "__main__":
    for figure in run():
        print(
            f"{figure.name}: median {figure.median:.3f}{figure.unit} "
            f"(min {min(figure.samples):.3f}, max {max(figure.samples):.3f}, target {figure.target}) "
            f"{'ok' if figure.passed else 'MISSED'}"
        )
