"""Which AWS credentials terraform runs with.

- Emulated environments (`local`): the user's AWS variables are removed and fake ones set,
  so nothing can reach real AWS whatever the shell holds.
- Real environments: `aws-vault exec PROFILE --` when the contract names a profile (or
  --profile does), or the ambient credentials with --no-vault, PLATFORMCTL_NO_VAULT=1 or
  CI=true (CI's OIDC credentials). Inside an aws-vault session (AWS_VAULT set) the session
  is used as is when it is the right profile and refused when it is another one: aws-vault
  itself refuses to nest sessions.
- Long applies: by default aws-vault serves credentials through its ECS credential server
  (`--ecs-server`), which the SDKs poll and refresh, so a two-hour apply does not die when
  a one-hour session expires; `session_duration` in the contract asks for one session of
  that length (`--duration`) instead, for teams whose roles allow long sessions.

Anything else that must act as the environment's identity (the STS account guard, the
state-bucket bootstrap) runs through `run_python`, under the same prefix and environment
as terraform, so it sees exactly the credentials terraform will get.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from platformctl import process
from platformctl.errors import CredentialsError, PlatformctlError
from platformctl.project.contract import Environment, parse_duration

# The variables the AWS SDKs and the Terraform AWS provider read (botocore's configprovider and
# credentials modules, the AWS SDKs and Tools reference "Environment variables list", the
# provider's "Environment Variables" section; legacy names included). For emulated runs the
# rule is wider than this list: every AWS_* variable of the shell is dropped (`scrubbed_env`),
# and only the ones platformctl sets come back. The list names them for the reader and the tests.
AMBIENT_AWS_VARIABLES = (
    # credentials and who to be
    "AWS_ACCESS_KEY_ID",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_ACCOUNT_ID",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_VAULT",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_LOGIN_CACHE_DIRECTORY",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    # files that hold profiles, credentials and endpoint_url
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CREDENTIAL_FILE",
    "AWS_SDK_LOAD_CONFIG",
    "AWS_DATA_PATH",
    # where calls go
    "AWS_ENDPOINT_URL",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_CA_BUNDLE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_STS_REGIONAL_ENDPOINTS",
    "AWS_S3_US_EAST_1_REGIONAL_ENDPOINT",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_ENDPOINT_DISCOVERY_ENABLED",
    "AWS_ENABLE_ENDPOINT_DISCOVERY",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE",
    "AWS_S3_USE_ARN_REGION",
    "AWS_S3_DISABLE_MULTIREGION_ACCESS_POINTS",
    "AWS_DISABLE_HOST_PREFIX_INJECTION",
    "AWS_SIGV4A_SIGNING_REGION_SET",
    "AWS_CSM_ENABLED",
    "AWS_CSM_HOST",
    "AWS_CSM_PORT",
    "AWS_CSM_CLIENT_ID",
    # the instance metadata service
    "AWS_EC2_METADATA_DISABLED",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    "AWS_EC2_METADATA_V1_DISABLED",
    "AWS_IMDS_USE_IPV6",
    "AWS_METADATA_SERVICE_TIMEOUT",
    "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
)
# Hosts the emulator answers on: never through a proxy.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]", "localhost.localstack.cloud")
_PROXY_BYPASS = ("NO_PROXY", "no_proxy")

# Not a secret: the emulators accept any key, and these are the documented dummy values.
EMULATOR_ACCESS_KEY = "test"
EMULATOR_ACCOUNT_ID = "000000000000"


@dataclass(frozen=True)
class Credentials:
    """How to run a command as the environment's AWS identity."""

    prefix: tuple[str, ...] = ()
    env: dict[str, str | None] = field(default_factory=dict)
    description: str = "ambient AWS credentials"


def scrubbed_env(overrides: dict[str, str | None] | None = None) -> dict[str, str | None]:
    """Overrides that remove every AWS_* variable of this shell (the listed ones even when not
    set now, so a later os.environ cannot bring one back), then apply `overrides`."""
    names = {*AMBIENT_AWS_VARIABLES, *(name for name in os.environ if name.upper().startswith("AWS_"))}
    result: dict[str, str | None] = dict.fromkeys(sorted(names))
    result.update(overrides or {})
    return result


def no_proxy_for(*hosts: str) -> dict[str, str]:
    """NO_PROXY/no_proxy that keep the loopback hosts (and `hosts`) off any HTTP(S)_PROXY or
    ALL_PROXY of the shell, keeping what the shell already excluded."""
    current = os.environ.get("NO_PROXY") or os.environ.get("no_proxy") or ""
    entries = [e.strip() for e in current.split(",") if e.strip()]
    for host in (*LOOPBACK_HOSTS, *hosts):
        if host and host not in entries:
            entries.append(host)
    value = ",".join(entries)
    return dict.fromkeys(_PROXY_BYPASS, value)


def emulator_env(region: str | None) -> dict[str, str | None]:
    """The environment of anything that talks to the emulator (Terraform, boto3, moto): no
    AWS_* variable of the shell survives, fake credentials, no config files, no metadata
    service, and no proxy between us and the loopback emulator."""
    overrides: dict[str, str | None] = {
        "AWS_ACCESS_KEY_ID": EMULATOR_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": EMULATOR_ACCESS_KEY,
        # Empty files, so no profile, credential or endpoint_url in ~/.aws can play a part.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        **no_proxy_for(),
    }
    if region:
        overrides["AWS_REGION"] = region
        overrides["AWS_DEFAULT_REGION"] = region
    return scrubbed_env(overrides)


VAULT_ENV = "AWS_VAULT"
NO_VAULT_ENV = "PLATFORMCTL_NO_VAULT"
INSTALL_VAULT = "brew install aws-vault, or a release from github.com/ByteNess/aws-vault"
# STS session limits: GetSessionToken allows 15 minutes to 36 hours.
SHORTEST_SESSION = timedelta(minutes=15)
LONGEST_SESSION = timedelta(hours=36)


def vault_disabled_by(no_vault: bool = False) -> str | None:
    """Why aws-vault is not used (the setting's name), or None when it is."""
    if os.environ.get(NO_VAULT_ENV, "").strip().lower() in ("1", "true", "yes"):
        return f"{NO_VAULT_ENV}=1"
    if no_vault:
        return "--no-vault"
    if process.running_in_ci():
        return "CI=true"
    return None


@dataclass(frozen=True)
class VaultSession:
    """The aws-vault exec flags that keep credentials alive for a whole run, and why."""

    flags: tuple[str, ...]
    description: str


def _go_duration(length: timedelta) -> str:
    """aws-vault parses Go durations, which have no day unit."""
    seconds = int(length.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def vault_session(environment: Environment) -> VaultSession:
    if environment.session_duration is None:
        return VaultSession(
            ("--ecs-server",),
            "aws-vault credential server (--ecs-server): credentials refresh during long applies",
        )
    where = f"{environment.contract_path}: environments.{environment.name}.session_duration"
    length = parse_duration(environment.session_duration, where)
    if not SHORTEST_SESSION <= length <= LONGEST_SESSION:
        raise CredentialsError(
            f"{where} = {environment.session_duration!r}: AWS sessions last 15m to 36h; "
            "remove the key to use aws-vault's credential server instead."
        )
    go = _go_duration(length)
    return VaultSession(
        ("--duration", go), f"one {go} aws-vault session (--duration, session_duration in platform.toml)"
    )


def for_environment(environment: Environment, *, no_vault: bool = False, profile: str | None = None) -> Credentials:
    if environment.is_emulated:
        return Credentials(env=emulator_env(environment.region), description="fake emulator credentials")
    disabled_by = vault_disabled_by(no_vault)
    if disabled_by:
        return Credentials(description=f"ambient AWS credentials ({disabled_by})")
    chosen = profile or environment.aws_vault_profile
    if not chosen:
        return Credentials(
            description=f"ambient AWS credentials (no aws_vault_profile for {environment.name} in platform.toml)"
        )
    current = os.environ.get(VAULT_ENV)
    if current:
        if current == chosen:
            return Credentials(description=f"the current aws-vault session of profile {chosen} ({VAULT_ENV})")
        raise CredentialsError(
            f"This shell is inside aws-vault session {current!r} but {environment.name} uses profile {chosen!r}: "
            f"exit that session first (or run inside `aws-vault exec {chosen}`)."
        )
    if shutil.which("aws-vault") is None:
        raise CredentialsError(
            f"aws-vault not found on PATH ({environment.name} uses profile {chosen!r}): install it "
            f"({INSTALL_VAULT}), or pass --no-vault to use the ambient AWS credentials."
        )
    session = vault_session(environment)
    return Credentials(
        prefix=("aws-vault", "exec", *session.flags, chosen, "--"),
        description=f"aws-vault profile {chosen}, {session.description}",
    )


def run_python(credentials: Credentials, module: str, *args: str) -> Any:
    """Run `python -m MODULE ARGS` as the environment's identity and return the JSON it prints.

    Same prefix and environment as terraform, so it sees the same credentials. stdin and
    stderr stay on the terminal, so aws-vault can ask for an MFA code; only stdout is read.
    The module prints one JSON object; {"error": "..."} with a non-zero exit on failure.
    """
    argv = [*credentials.prefix, sys.executable, "-m", module, *args]
    with tempfile.TemporaryFile("w+", encoding="utf-8") as out:
        returncode = process.stream(argv, env=credentials.env, stdout=out)
        out.seek(0)
        text = out.read()
    try:
        data = json.loads(text) if text.strip() else None
    except ValueError:
        data = None
    if isinstance(data, dict) and "error" in data:
        raise PlatformctlError(str(data["error"]))
    if returncode != 0 or data is None:
        runner = " ".join(credentials.prefix[:-1]) if credentials.prefix else f"python -m {module}"
        raise CredentialsError(
            f"{runner} failed (exit {returncode}): see its message above, fix the credentials and retry."
        )
    return data
