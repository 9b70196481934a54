"""The approval gate's bookkeeping, without Terraform or AWS: saved plans, manifest integrity,
every refusal the gate makes on its own, --approve prefixes, and the typed confirmation.
(tests/integration/test_release.py drives the same refusals through real plans on moto.)"""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import make_project

from platformctl.errors import ApprovalError, PlatformctlError
from platformctl.project import contract
from platformctl.release import gate, git
from platformctl.release.git import TreeState

COMMIT = "a" * 40
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CLEAN = TreeState(commit=COMMIT, dirty=False)
SUMMARY = {
    "add": 2,
    "change": 0,
    "destroy": 1,
    "replace": 1,
    "destroyed": ["aws_sqs_queue.old"],
    "replaced": ["aws_s3_bucket.raw"],
}
LOCK = """provider "registry.terraform.io/hashicorp/aws" {
  version     = "5.100.0"
  constraints = ">= 5.100.0, < 7.0.0"
  hashes = ["h1:abc="]
}
"""


@pytest.fixture
def prod(isolation: Path) -> contract.Environment:
    make_project(
        isolation,
        {"prod": "", "dev": ""},
        contract='[environments.prod]\napproval = "required"\nmax_plan_age = "2h"\n',
    )
    (isolation / "terraform/environments/prod/main.tf").write_text("# empty root\n")
    (isolation / "terraform/environments/dev/main.tf").write_text("# empty root\n")
    (isolation / "terraform/environments/prod/.terraform.lock.hcl").write_text(LOCK)
    return contract.load(isolation).environment("prod")


def saved_plan(
    env: contract.Environment,
    content: bytes = b"plan bytes",
    *,
    now: datetime = NOW,
    account: str = "222222222222",
    tree: TreeState = CLEAN,
) -> gate.SavedPlan:
    project = contract.load(env.contract_path.parent)
    pending = gate.pending_plan_path(project, env)
    pending.write_bytes(content)
    return gate.save(
        project,
        env,
        pending,
        account=account,
        tree=tree,
        plan_json={"terraform_version": "1.11.4"},
        summary=SUMMARY,
        now=now,
    )


def reseal(saved: gate.SavedPlan, **changes: object) -> None:
    """Rewrite the manifest with `changes` and a valid checksum: a foreign or older plan."""
    data = json.loads(saved.manifest_path.read_text())
    data.pop("manifest_sha256")
    data.update(changes)
    gate.write_manifest(saved.manifest_path, gate.Manifest(**data))


def test_save_names_the_plan_and_seals_a_complete_manifest(prod: contract.Environment) -> None:
    saved = saved_plan(prod)
    assert not list(saved.plan_path.parent.glob(".pending-*"))
    assert saved.plan_path.name == f"20260301T120000Z-{saved.sha256[:12]}.tfplan"
    assert saved.plan_path.read_bytes() == b"plan bytes"
    data = json.loads(saved.manifest_path.read_text())
    assert data["plan_sha256"] == gate.file_sha256(saved.plan_path)
    assert data["environment"] == "prod"
    assert data["account"] == "222222222222"
    assert data["git_commit"] == COMMIT and data["git_dirty"] is False
    assert data["terraform_version"] == "1.11.4"
    assert data["provider_versions"] == {"registry.terraform.io/hashicorp/aws": "5.100.0"}
    assert data["created_at"] == "2026-03-01T12:00:00+00:00"
    assert data["summary"] == SUMMARY
    assert data["consumed"] is None
    body = {k: v for k, v in data.items() if k != "manifest_sha256"}
    assert data["manifest_sha256"] == gate.canonical_sha256(body)
    assert gate.read(saved.manifest_path).manifest == saved.manifest
    assert saved.summary.destroyed == ("aws_sqs_queue.old",)


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["summary"].update(destroy=0, destroyed=[]),  # hide a destroy from the reviewer
        lambda d: d.update(git_dirty=False, account="999999999999"),
        lambda d: d.update(consumed=None, created_at="2099-01-01T00:00:00+00:00"),
        lambda d: d.update(plan_sha256="0" * 64),
    ],
)
def test_an_edited_manifest_is_refused(prod: contract.Environment, edit) -> None:
    saved = saved_plan(prod)
    data = json.loads(saved.manifest_path.read_text())
    edit(data)
    saved.manifest_path.write_text(json.dumps(data))
    with pytest.raises(ApprovalError, match="was edited after it was written"):
        gate.read(saved.manifest_path)


def test_an_unreadable_manifest_is_refused(prod: contract.Environment) -> None:
    saved = saved_plan(prod)
    saved.manifest_path.write_text('{"environment": "prod"}')
    with pytest.raises(ApprovalError, match="unreadable or incomplete"):
        gate.read(saved.manifest_path)


def test_a_clean_fresh_plan_passes_every_check(prod: contract.Environment) -> None:
    saved = saved_plan(prod)
    gate.check(saved, prod, CLEAN, now=NOW + timedelta(minutes=30))
    gate.check_account(saved, "222222222222")


@pytest.mark.parametrize(
    ("tamper", "tree", "message"),
    [
        (lambda s: reseal(s, environment="dev"), CLEAN, "was made for dev, not prod"),
        (lambda s: s.plan_path.write_bytes(b"plan bytes, altered"), CLEAN, "changed after it was saved"),
        (lambda s: s.plan_path.unlink(), CLEAN, "is missing"),
        (
            lambda s: reseal(s, consumed={"at": "2026-03-01T12:10:00+00:00", "outcome": "applied"}),
            CLEAN,
            "already used by an apply at 2026-03-01T12:10:00",
        ),
        (
            lambda s: reseal(s, created_at=(NOW - timedelta(hours=3)).isoformat()),
            CLEAN,
            "is 3h30m old, older than the 2h00m max_plan_age of prod",
        ),
        (lambda s: reseal(s, created_at=(NOW + timedelta(hours=1)).isoformat()), CLEAN, "from the future"),
        (lambda s: reseal(s, git_dirty=True), CLEAN, "made from a working tree with uncommitted changes"),
        (lambda s: None, TreeState("b" * 40, False), f"made from commit {'a' * 12} but the checkout is at {'b' * 12}"),
        (lambda s: None, TreeState(COMMIT, True, ("terraform/x.tf",)), "uncommitted changes (terraform/x.tf)"),
    ],
)
def test_each_refusal_names_the_problem_and_what_to_do(prod: contract.Environment, tamper, tree, message) -> None:
    saved = saved_plan(prod)
    tamper(saved)
    saved = gate.read(saved.manifest_path)
    with pytest.raises(ApprovalError, match=re.escape(message)) as refusal:
        gate.check(saved, prod, tree, now=NOW + timedelta(minutes=30))
    assert "\n" not in str(refusal.value)
    assert "platformctl plan prod" in str(refusal.value) or "commit" in str(refusal.value)


def test_a_plan_from_another_account_is_refused(prod: contract.Environment) -> None:
    saved = saved_plan(prod, account="111111111111")
    with pytest.raises(ApprovalError, match="made in AWS account 111111111111 but these credentials are for 222"):
        gate.check_account(saved, "222222222222")


def test_default_max_age_when_the_contract_sets_none(isolation: Path) -> None:
    make_project(isolation, {"prod": "# root\n"}, contract='[environments.prod]\napproval = "required"\n')
    env = contract.load(isolation).environment("prod")
    saved = saved_plan(env)
    gate.check(saved, env, CLEAN, now=NOW + timedelta(hours=23))
    with pytest.raises(ApprovalError, match="older than the 24h00m max_plan_age"):
        gate.check(saved, env, CLEAN, now=NOW + timedelta(hours=25))


@pytest.mark.parametrize(
    ("approve", "message"),
    [
        ("abc", "not a sha256 prefix of at least 12 hex characters"),
        ("zzzzzzzzzzzzzzzz", "not a sha256 prefix"),
        ("0123456789ab", "does not match plan"),
    ],
)
def test_approve_must_be_a_long_enough_matching_prefix(prod: contract.Environment, approve: str, message: str) -> None:
    saved = saved_plan(prod)
    if message == "does not match plan" and saved.sha256.startswith(approve):
        approve = "f" * 12
    with pytest.raises(ApprovalError, match=re.escape(message)):
        gate.check_approval(saved, approve)


def test_approve_accepts_the_prefix_in_any_case_and_the_full_hash(prod: contract.Environment) -> None:
    saved = saved_plan(prod)
    gate.check_approval(saved, saved.sha256[:12].upper())
    gate.check_approval(saved, f"  {saved.sha256}  ")


def test_typed_confirmation_must_be_the_exact_name(prod: contract.Environment) -> None:
    gate.check_confirmation(prod, "prod\n")
    for typed in ("", "yes", "Prod", "dev", "prod!"):
        with pytest.raises(ApprovalError, match="nothing was changed in prod"):
            gate.check_confirmation(prod, typed)


def test_select_newest_or_named_and_refuse_the_rest(prod: contract.Environment, tmp_path: Path) -> None:
    project = contract.load(prod.contract_path.parent)
    with pytest.raises(ApprovalError, match="No saved plan for prod: run `platformctl plan prod`"):
        gate.select(project, prod)
    older = saved_plan(prod, b"first", now=NOW)
    newer = saved_plan(prod, b"second", now=NOW + timedelta(minutes=1))
    assert gate.select(project, prod).plan_path == newer.plan_path
    assert gate.select(project, prod, older.plan_path).plan_path == older.plan_path
    stray = tmp_path / "mine.tfplan"
    stray.write_bytes(b"x")
    with pytest.raises(ApprovalError, match="is not a plan saved by `platformctl plan prod`"):
        gate.select(project, prod, stray)


def test_consumption_is_recorded_and_keeps_the_manifest_valid(prod: contract.Environment) -> None:
    saved = saved_plan(prod)
    started = gate.mark_consumed(saved, "started", now=NOW)
    done = gate.mark_consumed(started, "applied", now=NOW + timedelta(minutes=5))
    reread = gate.read(saved.manifest_path)
    assert reread.manifest.consumed == {"at": NOW.isoformat(), "outcome": "applied"} == done.manifest.consumed
    with pytest.raises(ApprovalError, match="already used by an apply"):
        gate.check(reread, prod, CLEAN, now=NOW)


def test_tree_state_of_a_real_repository(tmp_path: Path) -> None:
    with pytest.raises(PlatformctlError, match="not a git repository with a commit"):
        git.tree_state(tmp_path)
    run = lambda *a: subprocess.run(["git", *a], cwd=tmp_path, check=True, capture_output=True)  # noqa: E731
    run("init", "-q")
    run("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "x")
    clean = git.tree_state(tmp_path)
    assert len(clean.commit) == 40 and not clean.dirty
    (tmp_path / "new.tf").write_text("# untracked counts\n")
    dirty = git.tree_state(tmp_path)
    assert dirty.dirty and dirty.changed == ("new.tf",) and dirty.commit == clean.commit


def test_the_summary_calls_out_destroys_and_replacements() -> None:
    from rich.console import Console

    from platformctl.commands.render import summary_renderable
    from platformctl.terraform.plan import ChangeSummary

    console = Console(record=True, width=200, color_system=None)
    console.print(
        summary_renderable(
            "Plan p for prod",
            ChangeSummary(
                add=2, destroy=1, replace=1, destroyed=("aws_sqs_queue.old",), replaced=("aws_s3_bucket.raw",)
            ),
        )
    )
    text = console.export_text()
    assert "2 to add, 0 to change, 1 to replace, 1 to destroy" in text
    assert "- destroy  aws_sqs_queue.old" in text and "± replace  aws_s3_bucket.raw" in text
    assert "delete data that cannot be brought back" in text
    quiet = Console(record=True, width=200, color_system=None)
    quiet.print(summary_renderable("Plan q", ChangeSummary(add=3)))
    assert "cannot be brought back" not in quiet.export_text()


# The binding rule's pieces, without Terraform: schema, passthrough, destroy approval,
# the plan file's backend, the private copy, and the Terraform variables a gated run refuses.


def test_a_manifest_of_another_format_or_shape_is_one_line(prod: contract.Environment) -> None:
    saved = saved_plan(prod)
    data = json.loads(saved.manifest_path.read_text())
    for edit, problem in [
        ({"format": 1}, "format 1, this platformctl reads format 2"),
        ({"git_dirty": "no"}, "field 'git_dirty' is not a bool"),
        ({"plan_file": "/etc/passwd.tfplan"}, "is not a saved plan's name"),
        ({"plan_sha256": "abc"}, "plan_sha256 is not a sha256"),
        ({"consumed": ["x"]}, "field 'consumed' is not a consumed"),
    ]:
        body = {k: v for k, v in {**data, **edit}.items() if k != "manifest_sha256"}
        saved.manifest_path.write_text(json.dumps({**body, "manifest_sha256": gate.canonical_sha256(body)}))
        with pytest.raises(ApprovalError, match=re.escape(problem)) as refusal:
            gate.read(saved.manifest_path)
        assert "\n" not in str(refusal.value)


@pytest.mark.parametrize("args", [["-target=aws_s3_bucket.x", "-destroy"], ['-replace=a["b"]', "-refresh=false"], []])
def test_gated_plans_take_the_options_that_only_steer(args: list[str]) -> None:
    assert gate.check_passthrough(args, "prod") == args


@pytest.mark.parametrize(
    "arg",
    [
        "-lock=false",
        "-var=x=1",
        "-var",
        "-var-file=x.tfvars",
        "-target",
        "-target=",
        "-state=x",
        "-backup=x",
        "-out=p",
        "-chdir=..",
        "-input=true",
    ],
)
def test_gated_plans_refuse_options_that_change_inputs_locking_or_output(arg: str) -> None:
    with pytest.raises(ApprovalError, match=re.escape(f"{arg!r} is not allowed after -- for prod (gated)")):
        gate.check_passthrough([arg], "prod")


def test_a_deleting_plan_needs_its_destroy_approval(prod: contract.Environment) -> None:
    saved = saved_plan(prod)  # SUMMARY: 1 destroy, 1 replace
    with pytest.raises(ApprovalError, match="made without --allow-destroy"):
        gate.check_destroy_allowed(saved)
    approved = saved_plan(prod, b"other bytes", now=NOW + timedelta(minutes=1))
    reseal(approved, destroy_approved=True)
    approved = gate.read(approved.manifest_path)
    gate.check_destroy_allowed(approved)
    with pytest.raises(ApprovalError, match="approve that separately with --approve-destroy 2"):
        gate.check_destroy_approval(approved, None)
    with pytest.raises(ApprovalError, match="does not match plan"):
        gate.check_destroy_approval(approved, "1")
    gate.check_destroy_approval(approved, "2")
    gate.check_destroy_approval(approved, approved.sha256[:12])
    gate.check_deletion_count(approved, "2\n")
    with pytest.raises(ApprovalError, match="Typed '3', not 2"):
        gate.check_deletion_count(approved, "3")


def _protobuf_field(number: int, payload: bytes) -> bytes:
    tag = (number << 3) | 2
    return bytes([tag]) + bytes([len(payload)]) + payload


def test_the_backend_is_read_from_the_plan_file_bytes() -> None:
    import io
    import zipfile

    from platformctl.release import planfile

    config = b"\x82\xa6bucket\xadstate-bucket1\xa3key\xb6prod/terraform.tfstate"  # msgpack map
    backend = (
        _protobuf_field(1, b"s3") + _protobuf_field(2, _protobuf_field(1, config)) + _protobuf_field(3, b"default")
    )
    plan = b"\x08\x03" + _protobuf_field(13, backend)  # version = 3, then the backend
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("tfplan", plan)
    found = planfile.read_backend(buffer.getvalue(), "p.tfplan")
    assert (found.type, found.workspace, found.setting("bucket"), found.setting("key")) == (
        "s3",
        "default",
        "state-bucket1",
        "prod/terraform.tfstate",
    )
    with pytest.raises(ApprovalError, match="is not a Terraform plan file platformctl can read"):
        planfile.read_backend(b"not a zip", "p.tfplan")


def test_the_private_copy_is_what_terraform_gets(prod: contract.Environment) -> None:
    saved = saved_plan(prod)
    with gate.stage(saved) as staged:
        assert staged.path.read_bytes() == b"plan bytes" and staged.path.parent.stat().st_mode & 0o777 == 0o700
        saved.plan_path.write_bytes(b"swapped")  # changes nothing for the copy
        staged.verify()
        staged.path.chmod(0o600)
        staged.path.write_bytes(b"tampered")
        with pytest.raises(ApprovalError, match="private copy of the plan changed before apply"):
            staged.verify()
    assert not staged.path.parent.exists()


def test_terraform_variables_that_change_a_gated_run_are_refused() -> None:
    from platformctl.release import gated_env

    gated_env.refuse_overrides(
        {
            "TF_LOG": "debug",
            "TF_IN_AUTOMATION": "1",
            "TF_PLUGIN_CACHE_DIR": "/x",
            "TF_TOKEN_app_terraform_io": "t",
            "PATH": "/bin",
        },
        "prod",
    )
    for variable in (
        "TF_DISABLE_PLUGIN_TLS",
        "TF_SKIP_PROVIDER_VERIFY",
        "TF_SOMETHING_NEW",
        "TF_CLI_ARGS",
        "TF_CLI_ARGS_apply",
        "TF_WORKSPACE",
        "TF_DATA_DIR",
        "TF_CLI_CONFIG_FILE",
        "TERRAFORM_CONFIG",
        "TF_REATTACH_PROVIDERS",
        "TF_VAR_x",
        "TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE",
    ):
        with pytest.raises(ApprovalError, match=f"^{variable} is set: "):
            gated_env.refuse_overrides({variable: "x"}, "prod")


def test_ci_s_readonly_lock_file_for_init_is_allowed() -> None:
    from platformctl.release import gated_env

    gated_env.refuse_overrides({"TF_CLI_ARGS_init": "-lockfile=readonly"}, "prod")
    with pytest.raises(ApprovalError, match=r"^TF_CLI_ARGS_init is set"):
        gated_env.refuse_overrides({"TF_CLI_ARGS_init": "-lockfile=readonly -backend-config=bucket=x"}, "prod")


def test_module_folders_include_what_init_recorded(isolation: Path) -> None:
    from platformctl.release import inputs

    root = isolation / "root"
    (root / ".terraform/modules").mkdir(parents=True)
    (isolation / "elsewhere").mkdir()
    (isolation / "elsewhere/main.tf").write_text("# what plan really reads\n")
    (root / "main.tf").write_text('module "m" {\n  source = "./m"\n}\n')
    (root / "m").mkdir()
    (root / ".terraform/modules/modules.json").write_text(
        json.dumps(
            {"Modules": [{"Key": "", "Source": "", "Dir": "."}, {"Key": "m", "Source": "./m", "Dir": "../elsewhere"}]}
        )
    )
    assert inputs.module_folders(root) == sorted([(isolation / "elsewhere").resolve(), (root / "m").resolve()])
