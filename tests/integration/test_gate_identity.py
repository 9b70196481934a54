"""Class "another name for prod": gating follows the root's resolved identity. A symlinked
environment folder is refused; a folder platform.toml does not declare fails closed for
plan/apply/destroy; a declared environment whose folder or state (backend bucket/key) is a
gated one's is gated too; and a gated environment's contract change (`approval = "none"`, or
its table removed) takes effect only once committed: if HEAD says gated, it is gated.

Runs against the tiny gated prod of tests/integration/gated.py (moto as AWS; aws-vault is the
stand-in of test_release.py). Each attempt asks for an ungated `apply --yes`; state must stay
untouched."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration.gated import CI, CONTRACT, all_objects, commit, make_gated, one_error
from integration.test_release import Platform, stop

pytestmark = pytest.mark.integration

ENVIRONMENTS = "terraform/environments"


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    made = make_gated(tmp_path / "identity")
    try:
        yield made
    finally:
        stop(made)


def attempt(platform: Platform, *args: str) -> str:
    """Run an attack; it must be one refusal with nothing written and no AWS call."""
    objects, calls = all_objects(platform), platform.vault_calls()
    message = one_error(platform.run(*args, env=CI))
    assert all_objects(platform) == objects and platform.vault_calls() == calls
    return message


def test_a_symlinked_environment_folder_is_refused(platform: Platform) -> None:
    (platform.root / ENVIRONMENTS / "prod-hotfix").symlink_to("prod")
    with (platform.root / "platform.toml").open("a") as contract:
        contract.write('\n[environments.prod-hotfix]\nbackend_config = "prod.s3.tfbackend"\napproval = "none"\n')
    commit(platform.root, "another name for prod")
    for command in (["apply", "prod-hotfix", "--yes"], ["plan", "prod-hotfix"], ["destroy", "prod-hotfix", "--yes"]):
        message = attempt(platform, *command)
        assert message.startswith(f"Environment folder {platform.root / ENVIRONMENTS / 'prod-hotfix'} is a symlink")


def test_an_undeclared_environment_folder_fails_closed(platform: Platform) -> None:
    shutil.copytree(platform.root / ENVIRONMENTS / "prod", platform.root / ENVIRONMENTS / "prod2")
    commit(platform.root, "a copy nobody declared")
    for command in (["apply", "prod2", "--yes"], ["plan", "prod2"], ["destroy", "prod2", "--yes"]):
        message = attempt(platform, *command)
        assert message.startswith(f"Environment 'prod2' is not declared in {platform.root / 'platform.toml'}")


def test_a_declared_copy_with_prods_state_is_gated_like_prod(platform: Platform) -> None:
    shutil.copytree(platform.root / ENVIRONMENTS / "prod", platform.root / ENVIRONMENTS / "prod2")
    with (platform.root / "platform.toml").open("a") as contract:
        contract.write('\n[environments.prod2]\nbackend_config = "prod.s3.tfbackend"\napproval = "none"\n')
    commit(platform.root, "prod's state under another name")
    message = attempt(platform, "apply", "prod2", "--yes")
    assert message.startswith("--yes is refused for prod2")


def test_a_renamed_gated_folder_stays_gated_by_its_committed_state(platform: Platform) -> None:
    environments = platform.root / ENVIRONMENTS
    (environments / "prod").rename(environments / "prod-x")  # none of this committed
    (platform.root / "platform.toml").write_text("[platform]\n")
    message = attempt(platform, "apply", "prod-x", "--yes")
    assert message.startswith("Environment 'prod-x' is not declared in")
    (platform.root / "platform.toml").write_text(
        '[environments.prod-x]\nbackend_config = "prod.s3.tfbackend"\napproval = "none"\n'
    )
    message = attempt(platform, "apply", "prod-x", "--yes")  # HEAD's prod.s3.tfbackend names the same state
    assert message.startswith("--yes is refused for prod-x")


@pytest.mark.parametrize(
    "contract",
    [
        CONTRACT.replace('approval = "required"', 'approval = "none"'),
        "[platform]\n",  # the table removed
    ],
    ids=["approval-none", "table-removed"],
)
def test_an_uncommitted_contract_change_does_not_ungate(platform: Platform, contract: str) -> None:
    (platform.root / "platform.toml").write_text(contract)  # not committed
    message = attempt(platform, "apply", "prod", "--yes")
    assert message.startswith('--yes is refused for prod (approval = "required" in platform.toml)')
    # The gated plan sees the edit too: platform.toml is an input that differs from HEAD.
    result = platform.run("--json", "plan", "prod", env=CI)
    assert result.returncode == 2, result.stderr
    assert "uncommitted changes to environments.prod are ignored until committed" in result.stderr
    assert "platform.toml" in result.stdout and '"git_dirty": true' in result.stdout
