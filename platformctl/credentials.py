"""Which AWS credentials terraform runs with.

- Emulated environments (`local`): the user's AWS variables are removed and fake ones set,
  so nothing can reach real AWS whatever the shell holds.
- Real environments: `aws-vault exec PROFILE --` when the contract names a profile, or the
  ambient credentials with --no-vault (CI's OIDC credentials).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from platformctl.contract import Environment

# Every variable through which the AWS SDKs and the provider pick up real credentials or
# a real endpoint. Removed from terraform's environment for emulated runs.
AMBIENT_AWS_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_VAULT",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "AWS_ENDPOINT_URL",
)

# Not a secret: the emulators accept any key, and these are the documented dummy values.
EMULATOR_ACCESS_KEY = "test"
EMULATOR_ACCOUNT_ID = "000000000000"


@dataclass(frozen=True)
class Credentials:
    """How to run a command as the environment's AWS identity."""

    prefix: tuple[str, ...] = ()
    env: dict[str, str | None] = field(default_factory=dict)
    description: str = "ambient AWS credentials"


def emulator_env(region: str | None) -> dict[str, str | None]:
    """Terraform's environment for an emulated run: no real credential survives."""
    overrides: dict[str, str | None] = {name: None for name in AMBIENT_AWS_VARIABLES}
    overrides.update({name: None for name in os.environ if name.startswith("AWS_ENDPOINT_URL_")})
    overrides.update(
        {
            "AWS_ACCESS_KEY_ID": EMULATOR_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": EMULATOR_ACCESS_KEY,
            # An empty config file, so no profile in ~/.aws/config can inject credentials.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    if region:
        overrides["AWS_REGION"] = region
        overrides["AWS_DEFAULT_REGION"] = region
    return overrides


def for_environment(environment: Environment, *, no_vault: bool = False, profile: str | None = None) -> Credentials:
    if environment.is_emulated:
        return Credentials(env=emulator_env(environment.region), description="fake emulator credentials")
    chosen = profile or environment.aws_vault_profile
    if no_vault or not chosen:
        return Credentials(description="ambient AWS credentials (--no-vault)")
    return Credentials(prefix=("aws-vault", "exec", chosen, "--"), description=f"aws-vault profile {chosen}")
