"""Plain Terraform, without platformctl, exactly as terraform/README.md ("Plain Terraform,
without platformctl") says: the mirror CLI config copied from the README, the package built
with `python -m platformctl.packaging`, `init -backend=false` + `validate` for dev and prod,
and `init` + `plan` for local against a moto server started as the README says. Nothing but
the documented variables; the environment is scrubbed of platformctl's and AWS's."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ENABLE_MIRROR, MIRROR, REPO, TEST_CACHE, copy_repository, start_moto

README = REPO / "terraform" / "README.md"


def documented_cli_config() -> str:
    section = README.read_text().split("## Plain Terraform, without platformctl", 1)[1]
    block = re.search(r"```hcl\n(.*?)```", section, re.S)
    assert block, "terraform/README.md shows the mirror CLI config in an ```hcl block"
    return "\n".join(line.strip() for line in block.group(1).splitlines())


def test_every_root_with_plain_terraform(tmp_path: Path) -> None:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("needs terraform >= 1.11 on PATH")
    if not MIRROR:
        pytest.skip(ENABLE_MIRROR)
    repo = copy_repository(tmp_path / "repo")
    config = tmp_path / "mirror.tfrc"
    config.write_text(documented_cli_config().replace("/opt/tf-plugins", MIRROR))
    cache = TEST_CACHE / "platformctl" / "plugin-cache"
    cache.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ["HOME"],
        "TF_CLI_CONFIG_FILE": str(config),
        "TF_PLUGIN_CACHE_DIR": str(cache),
        "TF_IN_AUTOMATION": "1",
    }

    def tf(root: str, *args: str, expect: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [terraform, *args, "-no-color"],
            cwd=repo / "terraform" / "environments" / root,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        assert result.returncode in expect, f"terraform {' '.join(args)} in {root}:\n{result.stdout}{result.stderr}"
        return result

    built = subprocess.run(
        [sys.executable, "-m", "platformctl.packaging", str(repo)],
        capture_output=True,
        text=True,
        check=False,
        env={**env, "PYTHONPATH": str(REPO)},
    )
    assert built.returncode == 0, built.stderr
    assert (repo / "build" / "lambda" / "order_ingest.zip").is_file()

    for root in ("dev", "prod"):
        tf(root, "init", "-backend=false", "-input=false")
        assert "Success! The configuration is valid." in tf(root, "validate").stdout

    moto = start_moto(tmp_path / "moto.log")
    try:
        tf("local", "init", "-input=false")
        tf("local", "validate")
        # The one variable the README says to export (its port, this server's).
        assert "export AWS_ENDPOINT_URL=http://127.0.0.1:4566" in README.read_text()
        env["AWS_ENDPOINT_URL"] = moto.endpoint
        endpoint = f"-var=emulator_endpoint={moto.endpoint}"
        plan = tf("local", "plan", "-input=false", "-detailed-exitcode", endpoint, expect=(2,))
        assert "aws_kinesis_stream" in plan.stdout
    finally:
        moto.stop()
