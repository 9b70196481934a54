"""Static checks of terraform/: formatting, validation, shared versions, module structure,
checkov, tflint configuration and the absence of secrets."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from terraform.tf_helpers import ENVIRONMENTS, MODULES, REPO, TERRAFORM_DIR, Terraform, load_hcl

ROOTS = [f"environments/{e}" for e in ENVIRONMENTS] + [f"modules/{m}" for m in MODULES]


def test_fmt_check_recursive(terraform: Terraform) -> None:
    result = terraform.run(TERRAFORM_DIR, "fmt", "-check", "-recursive", "-diff", "-no-color", check=False)
    assert result.returncode == 0, f"terraform fmt would change:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("root", ROOTS)
def test_validate(terraform: Terraform, tf_tree: Path, root: str) -> None:
    result = terraform.run(tf_tree / root, "validate", "-json", "-no-color", check=False)
    report = json.loads(result.stdout)
    assert report["valid"], json.dumps(report["diagnostics"], indent=2)
    assert report["warning_count"] == 0, json.dumps(report["diagnostics"], indent=2)


# --- one source of truth for versions -------------------------------------------------


def _terraform_block(path: Path) -> dict:
    parsed = load_hcl(path)
    (block,) = parsed["terraform"]
    return block


def _aws_constraint(block: dict) -> str:
    (providers,) = block["required_providers"]
    return providers["aws"]["version"]


def _lower_bounds(constraint: str) -> set[str]:
    return {part.strip()[2:].strip() for part in constraint.split(",") if part.strip().startswith(">=")}


def test_root_versions_pin_terraform_and_provider() -> None:
    block = _terraform_block(TERRAFORM_DIR / "versions.tf")
    assert block["required_version"] == ">= 1.11"
    (providers,) = block["required_providers"]
    assert providers["aws"]["source"] == "hashicorp/aws"
    assert providers["aws"]["version"] == ">= 5.100, < 7.0"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_environment_versions_is_a_symlink_to_the_root_file(environment: str) -> None:
    link = TERRAFORM_DIR / "environments" / environment / "versions.tf"
    assert link.is_symlink(), f"{link} must be a symlink to terraform/versions.tf"
    assert os.readlink(link) == "../../versions.tf", "a relative link, so it survives a clone anywhere"
    assert link.resolve() == (TERRAFORM_DIR / "versions.tf").resolve()


@pytest.mark.parametrize("module", MODULES)
def test_module_versions_match_the_root_lower_bounds(module: str) -> None:
    root = _terraform_block(TERRAFORM_DIR / "versions.tf")
    block = _terraform_block(TERRAFORM_DIR / "modules" / module / "versions.tf")
    assert block["required_version"] == root["required_version"]
    module_constraint = _aws_constraint(block)
    assert "<" not in module_constraint and "~>" not in module_constraint, "modules declare lower bounds only"
    assert _lower_bounds(module_constraint) == _lower_bounds(_aws_constraint(root))


# --- module structure and documentation -----------------------------------------------


@pytest.mark.parametrize("module", MODULES)
def test_module_structure_and_readme(module: str) -> None:
    folder = TERRAFORM_DIR / "modules" / module
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
        assert (folder / name).is_file(), f"{module} lacks {name}"
    assert list((folder / "tests").glob("*.tftest.hcl")), f"{module} has no terraform test file"
    readme = (folder / "README.md").read_text()
    assert "## Inputs" in readme and "## Outputs" in readme
    variables, outputs = [], []
    for tf in folder.glob("*.tf"):
        parsed = load_hcl(tf)
        assert "provider" not in parsed, f"{tf.name}: modules declare no provider block"
        variables += [name for block in parsed.get("variable", []) for name in block]
        outputs += [name for block in parsed.get("output", []) for name in block]
    for name in variables + outputs:
        assert re.search(rf"\|\s*`?{re.escape(name)}`?\s*\|", readme), f"{module}/README.md does not document {name}"


def _blocks(folder: Path, kind: str) -> list[tuple[str, str, dict]]:
    found = []
    for tf in sorted(folder.glob("*.tf")):
        parsed = load_hcl(tf)
        for block in parsed.get(kind, []):
            for name, body in block.items():
                found.append((tf.name, name, body))
    return found


@pytest.mark.parametrize("root", ROOTS)
def test_variables_typed_described_and_outputs_described(root: str) -> None:
    folder = TERRAFORM_DIR / root
    for file, name, body in _blocks(folder, "variable"):
        assert "type" in body and body.get("description"), f"{root}/{file}: variable {name} needs type and description"
        order = [key for key in body if key in ("type", "description", "default", "sensitive", "validation")]
        expected = [key for key in ("type", "description", "default", "sensitive", "validation") if key in body]
        assert order == expected, f"{root}/{file}: variable {name} arguments out of order {order}"
        assert not re.search(r"\bany\b", str(body["type"])), f"{root}/{file}: variable {name} uses any"
        type_text = str(body["type"])
        if type_text.startswith(("${map(", "${list(", "${set(")):
            assert body.get("nullable") is False, f"{root}/{file}: collection variable {name} must be nullable = false"
    for file, name, body in _blocks(folder, "output"):
        assert body.get("description"), f"{root}/{file}: output {name} needs a description"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_environment_contract(environment: str) -> None:
    folder = TERRAFORM_DIR / "environments" / environment
    tfvars = load_hcl(folder / "terraform.tfvars")
    assert tfvars["environment"] == environment
    assert tfvars["project_name"] == "ecommerce-data-platform"
    assert re.fullmatch(r"\d{12}", tfvars["aws_account_id"])
    assert tfvars["aws_region"] and tfvars["owner"] and tfvars["cost_center"]
    providers = (folder / "providers.tf").read_text()
    assert "region              = var.aws_region" in providers
    assert "allowed_account_ids = [var.aws_account_id]" in providers
    for tag in ("Environment", "Project", "Owner", "CostCenter"):
        assert re.search(rf"\b{tag}\s*=", providers), f"default_tags lacks {tag}"
    outputs = (folder / "outputs.tf").read_text()
    assert 'output "platform_resources"' in outputs
    assert (folder / ".terraform.lock.hcl").is_file(), "commit the lock file after init"
    if environment == "local":
        assert not (folder / "backend.tf").exists(), "local keeps local state"
    else:
        assert re.search(r'backend\s+"s3"\s*\{\s*\}', (folder / "backend.tf").read_text())
        backend = load_hcl(folder / f"{environment}.s3.tfbackend")
        assert backend["key"] == f"{environment}/terraform.tfstate"
        assert backend["encrypt"] is True and backend["use_lockfile"] is True
        assert tfvars["enable_budgets"] is True
        assert (folder / "budgets.tf").is_file()


# --- checkov, tflint, secrets -----------------------------------------------------------


def test_checkov_passes_with_documented_skips() -> None:
    checkov = Path(sys.executable).with_name("checkov")
    if not checkov.exists():
        found = shutil.which("checkov")
        if not found:
            pytest.skip("checkov is not installed: pip install checkov")
        checkov = Path(found)
    env = {k: v for k, v in os.environ.items()}
    env["BC_SKIP_MAPPING"] = "TRUE"  # no network: do not fetch the guideline mappings
    result = subprocess.run(
        [str(checkov), "-d", str(TERRAFORM_DIR), "--framework", "terraform", "--compact", "-o", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [c for r in reports for c in r["results"].get("failed_checks", [])]
    assert not failed, "\n".join(f"{c['check_id']} {c['resource']} ({c['file_path']})" for c in failed)
    skipped = [c for r in reports for c in r["results"].get("skipped_checks", [])]
    assert skipped, "the documented skips are reported"
    for check in skipped:
        reason = (check.get("check_result") or {}).get("suppress_comment", "")
        assert len(reason) > 20, f"{check['check_id']} on {check['resource']} is skipped without a reason"
    assert sum(r["summary"]["passed"] for r in reports) > 50


def test_tflint_config() -> None:
    config = (REPO / ".tflint.hcl").read_text()
    parsed = load_hcl(REPO / ".tflint.hcl")
    plugins = {name: body for block in parsed["plugin"] for name, body in block.items()}
    assert plugins["terraform"]["preset"] == "recommended" and plugins["terraform"]["enabled"] is True
    assert plugins["aws"]["source"] == "github.com/terraform-linters/tflint-ruleset-aws"
    assert re.fullmatch(r"\d+\.\d+\.\d+", plugins["aws"]["version"]), "pin the aws ruleset to one version"
    rules = {name for block in parsed["rule"] for name in block}
    for rule in (
        "terraform_naming_convention",
        "terraform_documented_variables",
        "terraform_documented_outputs",
        "terraform_typed_variables",
        "terraform_standard_module_structure",
    ):
        assert rule in rules, f".tflint.hcl lacks {rule}"
    assert "tflint" in config


# The emulator's placeholder credentials are allowed by name: "test" is what moto and
# LocalStack accept, and the local provider can reach nothing else.
ALLOWED_LITERALS = {"test"}
SECRET_PATTERNS = [
    ("AWS access key id", re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")),
    (
        "assigned secret",
        re.compile(
            r"""(?ix)\b(aws_secret_access_key|secret_key|secret_access_key|access_key|password|passwd|token|session_token|api_key|private_key)
            \s*=\s*"([^"$]*)\""""
        ),
    ),
    ("private key block", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    (
        "40-char secret-looking literal",
        re.compile(r'"(?=[A-Za-z0-9/+]*[0-9])(?=[A-Za-z0-9/+]*[a-z])(?=[A-Za-z0-9/+]*[A-Z])[A-Za-z0-9/+]{40}"'),
    ),
    ("GitHub or Slack token", re.compile(r"\b(ghp_[A-Za-z0-9]{36}|xox[abp]-[A-Za-z0-9-]{10,})\b")),
]


def _scanned_files() -> list[Path]:
    suffixes = {".tf", ".tfvars", ".hcl", ".tfbackend", ".md", ".json"}
    return [
        p
        for p in TERRAFORM_DIR.rglob("*")
        if p.is_file()
        and ".terraform" not in p.parts
        and (p.suffix in suffixes or p.name.endswith(".tftest.hcl"))
        and p.name != ".terraform.lock.hcl"  # provider hashes, not secrets
    ]


def test_no_secrets_in_terraform() -> None:
    findings = []
    files = _scanned_files()
    assert len(files) > 30
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            for label, pattern in SECRET_PATTERNS:
                for match in pattern.finditer(line):
                    literal = match.group(2) if match.lastindex and match.lastindex >= 2 else match.group(0)
                    if literal in ALLOWED_LITERALS or literal == "":
                        continue
                    findings.append(f"{path.relative_to(REPO)}:{number}: {label}: {line.strip()}")
    assert not findings, "\n".join(findings)


def test_secret_scan_catches_what_it_should() -> None:
    """The scanner itself: real-looking secrets are caught, the emulator's "test" is not."""
    samples = {
        'access_key = "AKIAIOSFODNN7EXAMPLE"': True,
        'secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"': True,
        'password = "hunter2"': True,
        'token = "abc123"': True,
        'access_key = "test"': False,
        'secret_key = "test"': False,
        "password = var.db_password": False,
    }
    for line, expected in samples.items():
        hit = False
        for _, pattern in SECRET_PATTERNS:
            for match in pattern.finditer(line):
                literal = match.group(2) if match.lastindex and match.lastindex >= 2 else match.group(0)
                hit = hit or literal not in ALLOWED_LITERALS
        assert hit is expected, line


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_tfvars_name_the_state_the_backend_file_names(environment: str) -> None:
    """The CI roles' state grants (iam_access.tf) use tfvars; the backend uses <env>.s3.tfbackend."""
    folder = TERRAFORM_DIR / "environments" / environment
    tfvars = load_hcl(folder / "terraform.tfvars")
    backend = load_hcl(folder / f"{environment}.s3.tfbackend")
    assert (tfvars["state_bucket"], tfvars["state_key"]) == (backend["bucket"], backend["key"])
    account, alias = re.fullmatch(r"arn:aws:kms:[a-z0-9-]+:(\d{12}):(alias/.+)", backend["kms_key_id"]).groups()
    assert (account, alias) == (tfvars["aws_account_id"], tfvars["state_kms_key_alias"])
