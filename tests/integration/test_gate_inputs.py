"""Class "changes the tree check did not see": files a global gitignore hides (`*_override.tf`)
and edits hidden with `git update-index --skip-worktree` / `--assume-unchanged` are inputs all
the same. The manifest records the sha256 of every input (root, the local modules it calls,
tfvars, lock file, platform.toml, the Lambda functions' source) and which of them differ from
HEAD's bytes; apply refuses a plan whose inputs changed, or were not committed, whatever
`git status` says, before any AWS call.

Runs against the tiny gated prod of tests/integration/gated.py (moto as AWS; aws-vault is the
stand-in of test_release.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from integration.gated import all_objects, apply_ci, git, make_gated, one_error, plan
from integration.test_release import Platform, stop
from platformctl.release import gate

pytestmark = pytest.mark.integration

PROD = "terraform/environments/prod"
OVERRIDE = 'resource "terraform_data" "this" {\n  input = "evil-${each.key}"\n}\n'


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Platform, gate.SavedPlan]]:
    platform = make_gated(tmp_path_factory.mktemp("inputs"))
    # The user's global gitignore hides override files, as some do.
    home = Path(platform.env["HOME"])
    (home / ".gitignore_global").write_text("*_override.tf\n")
    (home / ".gitconfig").write_text(f"[core]\n\texcludesFile = {home / '.gitignore_global'}\n")
    try:
        saved = plan(platform)
        assert f"{PROD}/terraform.tfvars" in saved.manifest.inputs
        assert "terraform/modules/tag/main.tf" in saved.manifest.inputs
        assert "functions/hello/handler.py" in saved.manifest.inputs and "platform.toml" in saved.manifest.inputs
        assert f"{PROD}/.terraform.lock.hcl" in saved.manifest.inputs
        assert saved.manifest.uncommitted == [] and saved.manifest.git_dirty is False
        yield platform, saved
    finally:
        stop(platform)


def status(platform: Platform) -> str:
    return git(platform.root, "status", "--porcelain", "--untracked-files=all", env=platform.env)  # its HOME


def hide_with(flag: str, path: str) -> Callable[[Platform], None]:
    def edit(platform: Platform) -> None:
        git(platform.root, "update-index", flag, path)
        with (platform.root / path).open("a") as handle:
            handle.write("\n# hidden edit\n")

    return edit


def ignored_override(platform: Platform) -> None:
    (platform.root / PROD / "zz_override.tf").write_text(OVERRIDE)


HIDDEN = [
    ("global-gitignore-override", ignored_override, f"{PROD}/zz_override.tf"),
    ("skip-worktree-tfvars", hide_with("--skip-worktree", f"{PROD}/terraform.tfvars"), f"{PROD}/terraform.tfvars"),
    (
        "assume-unchanged-module",
        hide_with("--assume-unchanged", "terraform/modules/tag/main.tf"),
        "terraform/modules/tag/main.tf",
    ),
    # The package built from it changes too (rebuilt before the check).
    (
        "assume-unchanged-function",
        hide_with("--assume-unchanged", "functions/hello/handler.py"),
        "build/lambda/hello.zip, functions/hello/handler.py",
    ),
]


def restore(platform: Platform) -> None:
    (platform.root / PROD / "zz_override.tf").unlink(missing_ok=True)
    for path in (f"{PROD}/terraform.tfvars", "terraform/modules/tag/main.tf", "functions/hello/handler.py"):
        git(platform.root, "update-index", "--no-skip-worktree", path)
        git(platform.root, "update-index", "--no-assume-unchanged", path)
        (platform.root / path).write_text(git(platform.root, "show", f"HEAD:{path}"))


@pytest.mark.parametrize(("hide", "path"), [h[1:] for h in HIDDEN], ids=[h[0] for h in HIDDEN])
def test_a_hidden_change_after_plan_is_refused(
    planned: tuple[Platform, gate.SavedPlan], hide: Callable[[Platform], None], path: str
) -> None:
    platform, saved = planned
    objects, calls = all_objects(platform), platform.vault_calls()
    try:
        hide(platform)
        assert status(platform) == ""  # git sees nothing
        message = one_error(apply_ci(platform, saved))
    finally:
        restore(platform)
    assert message.startswith(f"The inputs of plan {saved.name} changed since it was made ({path})")
    assert all_objects(platform) == objects and platform.vault_calls() == calls
    assert gate.read(saved.manifest_path).manifest.consumed is None


def test_a_plan_made_with_hidden_changes_is_marked_and_refused(planned: tuple[Platform, gate.SavedPlan]) -> None:
    platform, _ = planned
    try:
        ignored_override(platform)
        hide_with("--skip-worktree", f"{PROD}/terraform.tfvars")(platform)
        assert status(platform) == ""
        hidden = plan(platform)
        assert hidden.manifest.summary["add"] == 2
        assert hidden.manifest.uncommitted == [f"{PROD}/terraform.tfvars", f"{PROD}/zz_override.tf"]
        assert hidden.manifest.git_dirty is True  # "clean" no more
        objects = all_objects(platform)
        message = one_error(apply_ci(platform, hidden))
    finally:
        restore(platform)
    assert message == (
        f"Plan {hidden.name} was made from a working tree with uncommitted changes ({PROD}/terraform.tfvars, "
        f"{PROD}/zz_override.tf): commit them, then run `platformctl plan prod` for a new plan."
    )
    assert all_objects(platform) == objects
