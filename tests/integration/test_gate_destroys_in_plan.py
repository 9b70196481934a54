"""Class "destroys inside an approved plan": a gated plan that deletes or replaces anything
needs destroy approval like `destroy prod`: `plan --allow-destroy` recorded in the manifest,
then at apply the typed number of deletions (terminal) or `--approve-destroy N` besides
`--approve` (CI). A `-- -destroy` or `-replace` plan cannot slip through, nor can a manifest
that hides the deletions. Options after `--` that change inputs or locking are refused.

Runs against the tiny gated prod of tests/integration/gated.py (moto as AWS; the stand-in
aws-vault on PATH, though CI runs use ambient credentials)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration.gated import (
    COUNT_PROMPT,
    NAME_PROMPT,
    all_objects,
    apply_ci,
    make_gated,
    on_terminal,
    one_error,
    plan,
    reseal,
    resources,
)
from integration.test_release import Platform, stop
from platformctl.release import gate

pytestmark = pytest.mark.integration

REPLACE_A = '-replace=terraform_data.this["a"]'


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The tiny prod with a, b and c applied through the gate."""
    platform = make_gated(tmp_path_factory.mktemp("destroys"), names=["a", "b", "c"])
    try:
        result = apply_ci(platform, plan(platform))
        assert result.returncode == 0, result.stderr
        assert set(resources(platform)) == {"a", "b", "c"}
        yield platform
    finally:
        stop(platform)


def instance_ids(platform: Platform) -> dict[str, str]:
    state = json.loads(platform.s3().get_object(Bucket=platform.bucket, Key=platform.state_key)["Body"].read())
    return {i["index_key"]: i["attributes"]["id"] for r in state["resources"] for i in r["instances"]}


def saved_plans(platform: Platform) -> list[Path]:
    return sorted(platform.plans.glob("*.tfplan")) if platform.plans.is_dir() else []


@pytest.mark.parametrize(
    ("arguments", "count"),
    [
        (["--", "-destroy"], 3),
        (["--", REPLACE_A], 1),
    ],
    ids=["destroy-passthrough", "replace"],
)
def test_a_deleting_plan_is_not_saved_without_allow_destroy(
    applied: Platform, arguments: list[str], count: int
) -> None:
    before, plans = all_objects(applied), saved_plans(applied)
    result = applied.run("plan", "prod", *arguments)
    message = one_error(result)
    assert message.startswith(f"This plan deletes or replaces {count} resources of prod (terraform_data.this[")
    assert "platformctl plan prod --allow-destroy" in message
    assert saved_plans(applied) == plans  # nothing anyone could approve later
    assert all_objects(applied) == before


@pytest.mark.parametrize(
    "option",
    [
        "-lock=false",
        "-var=names=[]",
        "-var-file=other.tfvars",
        "-state-out=x.tfstate",
        "-out=x.tfplan",
        "-target",
        "-generate-config-out=x.tf",
    ],
)
def test_options_that_change_what_is_reviewed_are_refused(applied: Platform, option: str) -> None:
    before = applied.vault_calls()
    message = one_error(applied.run("plan", "prod", "--", option))
    assert message.startswith(f"{option!r} is not allowed after -- for prod (gated)")
    assert applied.vault_calls() == before  # refused before any AWS call


def test_ci_needs_a_separate_destroy_approval_and_a_true_manifest(applied: Platform) -> None:
    saved = plan(applied, "--allow-destroy", "--", REPLACE_A)
    assert saved.manifest.destroy_approved is True and saved.manifest.passthrough == [REPLACE_A]
    assert saved.manifest.summary["replaced"] == ['terraform_data.this["a"]']
    ids, objects = instance_ids(applied), all_objects(applied)

    def refused(*args: str) -> str:
        message = one_error(apply_ci(applied, saved, *args))
        assert all_objects(applied) == objects and instance_ids(applied) == ids
        assert gate.read(saved.manifest_path).manifest.consumed is None
        return message

    assert refused() == (
        f"Plan {saved.name} deletes or replaces 1 resources: approve that separately with --approve-destroy 1 "
        "(in addition to --approve), after reviewing the deletions."
    )
    assert "does not match plan" in refused("--approve-destroy", "3")
    # A manifest rewritten to drop the destroy approval, or to hide the deletions, with a valid checksum.
    body = saved.manifest.body()
    reseal(saved, destroy_approved=False)
    assert "but was made without --allow-destroy" in refused("--approve-destroy", "1")
    hidden = {**body["summary"], "replace": 0, "replaced": [], "add": 0}
    reseal(saved, destroy_approved=False, summary=hidden)
    assert "does not do what its manifest says (0 add, 0 change, 1 replace, 0 destroy in the plan file" in refused()
    reseal(saved, **{k: v for k, v in body.items() if k in ("destroy_approved", "summary")})

    result = apply_ci(applied, saved, "--approve-destroy", "1")
    assert result.returncode == 0, result.stderr
    after = instance_ids(applied)
    assert after["a"] != ids["a"] and after["b"] == ids["b"]  # a replaced, nothing else touched
    assert gate.read(saved.manifest_path).manifest.consumed["outcome"] == "applied"  # type: ignore[index]


def test_the_prompt_lists_every_deletion_and_wants_their_number(applied: Platform) -> None:
    saved = plan(applied, "--allow-destroy", "--", "-destroy")
    objects = all_objects(applied)
    code, screen = on_terminal(
        applied, "apply", "prod", str(saved.plan_path), answers=[(NAME_PROMPT, b"prod\n"), (COUNT_PROMPT, b"2\n")]
    )
    assert code == 1, screen
    assert f"Plan {saved.name} DELETES 3 resources of prod:" in screen
    for name in ("a", "b", "c"):
        assert f'- destroy  terraform_data.this["{name}"]' in screen
    assert "Error: Typed '2', not 3 (the number of deletions): nothing was changed in prod." in screen
    assert all_objects(applied) == objects and set(resources(applied)) == {"a", "b", "c"}

    code, screen = on_terminal(
        applied, "apply", "prod", str(saved.plan_path), answers=[(NAME_PROMPT, b"prod\n"), (COUNT_PROMPT, b"3\n")]
    )
    assert code == 0, screen
    assert "Apply complete! Resources: 0 added, 0 changed, 3 destroyed." in screen
    assert resources(applied) == {}
