"""Helpers and fixtures of the terraform/ tests (imported by conftest.py): real Terraform, the real
filesystem mirror, a real moto server.

Everything runs in a session copy of terraform/ (so no .terraform folder, lock-file change or
state lands in the work tree) with the order_ingest package built beside it, exactly where the
environments look for it (build/lambda/order_ingest.zip). Each root and module is initialised
once per session; tests share those inits.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from conftest import TEST_CACHE, MotoServer, start_moto

REPO = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO / "terraform"
ENVIRONMENTS = ("local", "dev", "prod")
MODULES = ("s3_data_lake", "dynamodb", "kinesis", "sqs", "lambda")
EMULATOR_ACCOUNT = "000000000000"

# Captured at import, before tests/conftest.py's per-test isolation empties the environment.
_ORIGINAL_ENV = dict(os.environ)
MIRROR_HINT = "set PLATFORMCTL_PROVIDER_MIRROR to a filesystem mirror holding hashicorp/aws, e.g. /opt/tf-plugins"


def _mirror() -> Path | None:
    configured = _ORIGINAL_ENV.get("PLATFORMCTL_PROVIDER_MIRROR")
    candidates = [Path(configured)] if configured else [Path("/opt/tf-plugins")]
    for path in candidates:
        if (path / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
            return path
    return None


def load_packaging():
    """platformctl.packaging, loaded from its file (stdlib only; no package import needed)."""
    spec = importlib.util.spec_from_file_location("platformctl_packaging", REPO / "platformctl" / "packaging.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("platformctl_packaging", module)
    spec.loader.exec_module(module)
    return module


class TerraformError(AssertionError):
    pass


@dataclass
class Terraform:
    """Runs terraform with the mirror's CLI config and no ambient AWS or TF settings."""

    env: dict[str, str]
    binary: str

    def run(self, cwd: Path, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.binary, *args], cwd=cwd, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if check and result.returncode != 0:
            raise TerraformError(
                f"terraform {' '.join(args)} in {cwd} exited {result.returncode}\n"
                f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}"
            )
        return result

    def at(self, endpoint: str) -> Terraform:
        """The same runner with AWS_ENDPOINT_URL = `endpoint` (a loopback emulator): the
        provider sends every service there, without the `endpoints` block that costs each
        provider configuration seconds of CPU."""
        return replace(self, env={**self.env, "AWS_ENDPOINT_URL": endpoint})


@pytest.fixture(scope="session")
def terraform(tmp_path_factory: pytest.TempPathFactory) -> Terraform:
    binary = shutil.which("terraform", path=_ORIGINAL_ENV.get("PATH"))
    if not binary:
        pytest.skip("terraform is not on PATH: install Terraform >= 1.11 to run the terraform/ tests")
    mirror = _mirror()
    if mirror is None:
        pytest.skip(MIRROR_HINT)
    config_dir = tmp_path_factory.mktemp("terraform-cli")
    cli_config = config_dir / "mirror.tfrc"
    cli_config.write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path    = "{mirror}"\n'
        '    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n'
        '  direct {\n    exclude = ["registry.terraform.io/hashicorp/aws"]\n  }\n'
        "}\n"
    )
    cache = TEST_CACHE / "platformctl" / "plugin-cache"
    cache.mkdir(parents=True, exist_ok=True)
    home = TEST_CACHE / "terraform-home"
    home.mkdir(exist_ok=True)
    env = {
        name: value
        for name, value in _ORIGINAL_ENV.items()
        if not name.startswith(("AWS_", "TF_", "PLATFORMCTL_")) and name not in ("CI",)
    }
    env.update(
        TF_CLI_CONFIG_FILE=str(cli_config),
        TF_PLUGIN_CACHE_DIR=str(cache),
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",
        # Not the developer's home: nothing in ~/.terraform.d or ~/.aws may play a part.
        HOME=str(home),
    )
    return Terraform(env=env, binary=binary)


def copy_tree(destination: Path) -> Path:
    """terraform/ copied (symlinks kept) with the order_ingest package built beside it."""
    ignore = shutil.ignore_patterns(".terraform", "*.tfstate*", "*.tfplan", "zz_test_override.tf")
    shutil.copytree(TERRAFORM_DIR, destination / "terraform", symlinks=True, ignore=ignore)
    load_packaging().build_lambda_package(
        REPO / "functions" / "order_ingest", destination / "build" / "lambda" / "order_ingest.zip"
    )
    return destination / "terraform"


def parallel(jobs: dict[str, object], workers: int = 3) -> dict[str, object]:
    """Run callables concurrently; each result (or the exception it raised) by name."""

    def call(job):
        try:
            return job()
        except Exception as exc:  # noqa: BLE001 - reported by the test that owns the job
            return exc

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {name: pool.submit(call, job) for name, job in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


@pytest.fixture(scope="session")
def tf_tree(terraform: Terraform, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session copy of terraform/ in which every environment and module is initialised."""
    root = copy_tree(tmp_path_factory.mktemp("workspace"))
    folders = {f"environments/{e}": root / "environments" / e for e in ENVIRONMENTS}
    folders.update({f"modules/{m}": root / "modules" / m for m in MODULES})
    # One after another: concurrent inits race on the shared plugin cache.
    for folder in folders.values():
        terraform.run(folder, "init", "-backend=false", "-input=false", "-no-color")
    return root


@dataclass
class Moto:
    endpoint: str
    process: subprocess.Popen[bytes]
    server: MotoServer | None = None

    def client(self, service: str, region: str = "us-east-1"):
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


def start_emulator(log_file: Path, account_id: str = EMULATOR_ACCOUNT) -> Moto:
    """platformctl's own moto server (tests/conftest.py's start_moto, the one starter)."""
    server = start_moto(log_file, account_id=account_id)
    return Moto(endpoint=server.endpoint, process=server.process, server=server)


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moto]:
    """platformctl's moto server on a free port answering as the emulator account, stopped at the end."""
    started = start_emulator(tmp_path_factory.mktemp("moto") / "moto.log")
    try:
        yield started
    finally:
        started.stop()


def tagged_resources(plan: dict) -> list[tuple[str, dict]]:
    """(address, tags_all) of every planned resource whose type supports tags."""
    found = []
    for change in plan.get("resource_changes", []):
        details = change.get("change") or {}
        after = details.get("after") or {}
        unknown = details.get("after_unknown") or {}
        if change.get("mode") != "managed":
            continue
        if "tags_all" in after:
            found.append((change["address"], after.get("tags_all") or {}))
        elif unknown.get("tags_all") is True:
            found.append((change["address"], {"<unknown until apply>": ""}))
    return found


def plain(value):
    """python-hcl2 >= 7 output without its markers: quotes around strings and block labels,
    `__is_block__` and `__comments__` dropped, so tests compare plain values."""
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items() if k not in ("__is_block__", "__comments__")}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def load_hcl(path: Path) -> dict:
    import hcl2

    with path.open() as handle:
        return plain(hcl2.load(handle))
