"""Class "environment that changes what apply does": every Terraform variable that changes
arguments, locking, workspace, data folder, provider source or inputs is refused for a gated
environment with one line naming it, at plan and at apply, before any AWS call; the user's own
CLI config (~/.terraformrc, with dev_overrides) never reaches a gated run; a workspace selected
in .terraform/environment is refused like TF_WORKSPACE.

Runs against the tiny gated prod of tests/integration/gated.py (moto as AWS; aws-vault is the
stand-in of test_release.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration.gated import all_objects, apply_ci, make_gated, one_error, plan
from integration.test_release import Platform, stop
from platformctl.release import gate

pytestmark = pytest.mark.integration

DEV_OVERRIDES = """\
provider_installation {
  dev_overrides {
    "hashicorp/aws" = "/nonexistent/attacker-provider"
  }
  direct {}
}
"""


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Platform, gate.SavedPlan, Path]]:
    folder = tmp_path_factory.mktemp("environment")
    platform = make_gated(folder)
    config = folder / "dev-overrides.tfrc"
    config.write_text(DEV_OVERRIDES)
    try:
        yield platform, plan(platform), config
    finally:
        stop(platform)


VARIABLES = [
    ("TF_CLI_ARGS_apply", "-lock=false"),
    ("TF_CLI_ARGS", "-lock=false"),
    ("TF_CLI_ARGS_init", "-backend-config=bucket=elsewhere"),
    ("TF_WORKSPACE", "hotfix"),
    ("TF_DATA_DIR", "{folder}/other-data-dir"),
    ("TF_CLI_CONFIG_FILE", "{config}"),
    ("TERRAFORM_CONFIG", "{config}"),
    ("TF_REATTACH_PROVIDERS", '{"registry.terraform.io/hashicorp/aws": {"Protocol": "grpc", "Pid": 1}}'),
    ("TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE", "1"),
    ("TF_VAR_names", '["x"]'),
]


@pytest.mark.parametrize("command", ["apply", "plan"])
@pytest.mark.parametrize(("variable", "value"), VARIABLES, ids=[v for v, _ in VARIABLES])
def test_a_variable_that_changes_the_run_is_refused_by_name(
    planned: tuple[Platform, gate.SavedPlan, Path], command: str, variable: str, value: str
) -> None:
    platform, saved, config = planned
    objects, calls = all_objects(platform), platform.vault_calls()
    env = {variable: value.replace("{folder}", str(platform.root.parent)).replace("{config}", str(config))}
    result = apply_ci(platform, saved, env=env) if command == "apply" else platform.run("plan", "prod", env=env)
    message = one_error(result)
    assert message == (
        f"{variable} is set: it changes what Terraform does, so prod (gated) refuses to run with it; unset it "
        f"(`unset {variable}`) and run the command again."
    )
    assert all_objects(platform) == objects  # TF_WORKSPACE would have created env:/hotfix/... in the bucket
    assert platform.vault_calls() == calls  # refused before any AWS call
    assert gate.read(saved.manifest_path).manifest.consumed is None


def test_a_selected_workspace_is_refused(planned: tuple[Platform, gate.SavedPlan, Path]) -> None:
    platform, saved, _ = planned
    selected = platform.root / "terraform/environments/prod/.terraform/environment"
    selected.write_text("hotfix")
    objects = all_objects(platform)
    try:
        message = one_error(apply_ci(platform, saved))
    finally:
        selected.unlink()
    assert message.startswith("Workspace 'hotfix' is selected in ")
    assert all_objects(platform) == objects


def test_the_users_cli_config_never_reaches_a_gated_run(planned: tuple[Platform, gate.SavedPlan, Path]) -> None:
    """Without a mirror, Terraform would read ~/.terraformrc, whose dev_overrides replace the
    provider with a path of the attacker's; platformctl gives gated runs its own CLI config."""
    platform, _, _ = planned
    home = Path(platform.env["HOME"])
    (home / ".terraformrc").write_text(DEV_OVERRIDES)
    try:
        # The root is initialized (the fixture's plan), so no provider download is needed.
        result = platform.run("--json", "plan", "prod", env={"PLATFORMCTL_PROVIDER_MIRROR": None})
    finally:
        (home / ".terraformrc").unlink()
    assert result.returncode == 2, result.stderr
    assert "Provider development overrides are in effect" not in result.stderr
    assert json.loads(result.stdout)["manifest"]["summary"]["add"] == 2
