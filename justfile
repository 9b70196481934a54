# The platform's everyday commands. Each recipe calls platformctl or the test runner and
# nothing more, so `just tf-plan dev` and `platformctl plan dev` are the same thing, and
# CI (.github/workflows/) runs the same platformctl commands. `just --list` explains them.
#
# Extra arguments go to platformctl unchanged, e.g. `just tf-plan dev -- -target=module.sqs`
# or `just infra-up --emulator moto --port 4567`.

# List the recipes
default:
    @{{ just_executable() }} --justfile {{ quote(justfile()) }} --list --unsorted

# terraform init for ENV (backend config and providers as platform.toml says)
tf-init env="local" *args:
    platformctl init {{ env }} {{ args }}

# Plan ENV (gated prod saves a reviewed plan); changes exit 0 with a note, unless --detailed-exitcode (then 2)
tf-plan env="local" *args:
    platformctl plan {{ env }} {{ if args =~ '(^| )--detailed-exitcode( |$)' { "" } else { "--no-detailed-exitcode " } }}{{ args }}

# Apply ENV (prod applies only its saved, approved plan)
tf-apply env="local" *args:
    platformctl apply {{ env }} {{ args }}

# Destroy ENV (asks first; prod needs an explicit flag and the typed name)
tf-destroy env="local" *args:
    platformctl destroy {{ env }} {{ args }}

# Start the AWS emulator and create the whole platform on it (platformctl up local)
infra-up *args:
    platformctl up local {{ args }}

# Destroy the local platform and stop the emulator platformctl started (platformctl down local)
infra-down *args:
    platformctl down local {{ args }}

# Check Terraform formatting and validate every environment (tflint runs in CI and pre-commit)
lint:
    platformctl fmt --check
    platformctl validate --all

# Format every Terraform file under terraform/
fmt:
    platformctl fmt

# Security scan of terraform/ with checkov, through its test (no failures; every skip says why)
scan *args:
    python -m pytest tests/terraform -k checkov {{ args }}

# Run the test suite (ruff and mypy included); arguments go to pytest
test *args:
    python -m pytest {{ args }}

# Check this machine: Terraform, providers, emulators, aws-vault, just
doctor:
    platformctl doctor
