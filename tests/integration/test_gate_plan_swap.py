"""Class "time-of-check/time-of-use on the plan file": the plan file is replaced by another
valid plan from a second process while the typed-name prompt (a pseudo-terminal) or aws-vault
(the stand-in, as if waiting for MFA) waits. The gate copied the approved bytes into a private
0700 folder before either, and Terraform is given only that copy: the reviewed plan is what
reaches state. A plan file that is a symlink or has a second hard link is refused.

Runs against the tiny gated prod of tests/integration/gated.py (moto as AWS; aws-vault is the
stand-in of test_release.py, wrapped here by one that swaps the file before it goes on)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration.gated import NAME_PROMPT, all_objects, make_gated, on_terminal, one_error, plan, resources
from integration.test_release import Platform, stop
from platformctl.release import gate

pytestmark = pytest.mark.integration

# A second process replaces the plan file (a new inode under the same name), as an attacker would.
SWAP = (
    "import os, shutil, sys; shutil.copyfile(sys.argv[1], sys.argv[2] + '.new'); "
    "os.replace(sys.argv[2] + '.new', sys.argv[2])"
)

# Wraps the stand-in aws-vault: on its first call, swaps the plan file (as if a second process
# did it while aws-vault waited for an MFA code), then goes on to the stand-in.
SWAPPING_VAULT = """\
#!/bin/sh
if [ -f "$SWAP_MARKER" ]; then
  rm -f "$SWAP_MARKER"
  "$SWAP_PYTHON" -c "$SWAP_CODE" "$SWAP_FROM" "$SWAP_TO"
fi
exec "$STAND_IN_VAULT" "$@"
"""


@pytest.fixture
def two_plans(tmp_path: Path) -> Iterator[tuple[Platform, gate.SavedPlan, gate.SavedPlan]]:
    """The reviewed plan (a and b) and another valid plan of the same root (a only)."""
    platform = make_gated(tmp_path / "swap", names=["a", "b"])
    try:
        reviewed = plan(platform)
        other = plan(platform, "--", '-target=terraform_data.this["a"]')
        assert other.manifest.passthrough == ['-target=terraform_data.this["a"]']
        assert reviewed.sha256 != other.sha256
        yield platform, reviewed, other
    finally:
        stop(platform)


def swap(source: Path, target: Path) -> None:
    subprocess.run([sys.executable, "-c", SWAP, str(source), str(target)], check=True, timeout=30)


def test_a_swap_at_the_prompt_does_not_reach_state(
    two_plans: tuple[Platform, gate.SavedPlan, gate.SavedPlan], tmp_path: Path
) -> None:
    platform, reviewed, other = two_plans
    other_bytes = tmp_path / "other.tfplan"
    other_bytes.write_bytes(other.plan_path.read_bytes())
    code, screen = on_terminal(
        platform,
        "apply",
        "prod",
        str(reviewed.plan_path),
        answers=[(NAME_PROMPT, b"prod\n")],
        at_prompt=lambda: swap(other_bytes, reviewed.plan_path),
    )
    assert reviewed.plan_path.read_bytes() == other_bytes.read_bytes()  # the swap happened
    assert code == 0, screen
    assert "Apply complete! Resources: 2 added, 0 changed, 0 destroyed." in screen
    assert resources(platform) == {"a": "tag-tiny-a", "b": "tag-tiny-b"}  # the reviewed plan, not the swapped one


def test_a_swap_while_aws_vault_waits_does_not_reach_state(
    two_plans: tuple[Platform, gate.SavedPlan, gate.SavedPlan], tmp_path: Path
) -> None:
    platform, reviewed, other = two_plans
    wrapper = tmp_path / "wrapper-bin"
    wrapper.mkdir()
    (wrapper / "aws-vault").write_text(SWAPPING_VAULT)
    (wrapper / "aws-vault").chmod(0o755)
    marker = tmp_path / "swap-once"
    marker.touch()
    other_bytes = tmp_path / "other.tfplan"
    other_bytes.write_bytes(other.plan_path.read_bytes())
    before = len(platform.vault_calls())
    result = platform.run(
        "apply",
        "prod",
        str(reviewed.plan_path),
        "--approve",
        reviewed.sha256[:12],
        env={
            "PATH": f"{wrapper}{os.pathsep}{platform.env['PATH']}",
            "SWAP_MARKER": str(marker),
            "SWAP_PYTHON": sys.executable,
            "SWAP_CODE": SWAP,
            "SWAP_FROM": str(other_bytes),
            "SWAP_TO": str(reviewed.plan_path),
            "STAND_IN_VAULT": str(Path(platform.env["PATH"].split(os.pathsep)[0]) / "aws-vault"),
        },
    )
    assert not marker.exists() and reviewed.plan_path.read_bytes() == other_bytes.read_bytes()  # swapped
    calls = platform.vault_calls()[before:]
    assert "-m platformctl.aws.account" in calls[0]  # the swap came while the STS probe's aws-vault ran
    assert result.returncode == 0, result.stderr
    assert resources(platform) == {"a": "tag-tiny-a", "b": "tag-tiny-b"}


def test_a_symlinked_or_hard_linked_plan_file_is_refused(
    two_plans: tuple[Platform, gate.SavedPlan, gate.SavedPlan], tmp_path: Path
) -> None:
    platform, reviewed, other = two_plans
    other.plan_path.unlink()
    other.manifest_path.unlink()  # the reviewed plan is the newest: `apply prod` picks it
    objects, calls = all_objects(platform), platform.vault_calls()
    elsewhere = tmp_path / "elsewhere.tfplan"

    os.link(reviewed.plan_path, elsewhere)  # a second name that could be rewritten in place
    message = one_error(platform.run("apply", "prod", "--approve", reviewed.sha256[:12]))
    assert "has 2 hard links (another name could change it): nothing was applied" in message
    elsewhere.unlink()

    elsewhere.write_bytes(reviewed.plan_path.read_bytes())
    reviewed.plan_path.unlink()
    reviewed.plan_path.symlink_to(elsewhere)  # same bytes, through a link
    message = one_error(platform.run("apply", "prod", "--approve", reviewed.sha256[:12]))
    assert "cannot be opened safely" in message and "a symlink is refused" in message
    assert all_objects(platform) == objects and platform.vault_calls() == calls  # refused before any AWS call
