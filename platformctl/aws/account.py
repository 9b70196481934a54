"""The account guard: before a plan, apply or destroy of a real environment, ask STS who
the caller is and refuse any account but the environment's.

The question is asked with exactly the credentials terraform will get: the probe runs as
`python -m platformctl.aws.account` through the same aws-vault prefix and environment
(credentials.run_python). The provider's `allowed_account_ids` stays the second lock; this
one fails earlier, before an init touches a state bucket, and names both accounts.
boto3 honours AWS_ENDPOINT_URL, so the probe follows an endpoint override the same way the
SDKs do (the tests aim it at a moto server).
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass

from platformctl.aws import credentials
from platformctl.errors import ContractError, CredentialsError
from platformctl.project.contract import Environment

log = logging.getLogger("platformctl")

PROBE_MODULE = "platformctl.aws.account"


@dataclass(frozen=True)
class Identity:
    account: str
    arn: str

    def as_dict(self) -> dict[str, str]:
        return {"account": self.account, "arn": self.arn}


def expected_accounts(environment: Environment) -> list[str]:
    """The accounts the contract allows: the provider's allowed_account_ids, from the HCL."""
    accounts = environment.account_ids
    if not accounts:
        raise ContractError(
            f"{environment.name} names no AWS account: set allowed_account_ids = [var.aws_account_id] in its "
            f"provider and aws_account_id in {environment.directory / 'terraform.tfvars'}."
        )
    return accounts


def caller(creds: credentials.Credentials, region: str | None) -> Identity:
    """Who these credentials are, asked through the same prefix terraform runs under."""
    data = credentials.run_python(creds, PROBE_MODULE, *(["--region", region] if region else []))
    try:
        return Identity(account=str(data["account"]), arn=str(data["arn"]))
    except (KeyError, TypeError) as exc:
        raise CredentialsError(f"The STS probe answered without an account ({data!r}): retry with --debug.") from exc


def verify(environment: Environment, creds: credentials.Credentials) -> Identity:
    """Refuse credentials of any account but the environment's; return the caller."""
    expected = expected_accounts(environment)
    identity = caller(creds, environment.region)
    if identity.account not in expected:
        wanted = " or ".join(expected)
        raise CredentialsError(
            f"These credentials are for AWS account {identity.account} ({identity.arn}) but {environment.name} "
            f"is account {wanted}: use {environment.name}'s credentials ({creds.description}) and retry."
        )
    log.info("%s: AWS account %s confirmed (%s)", environment.name, identity.account, identity.arn)
    return identity


def _probe(argv: list[str]) -> int:
    """The child side: print the caller identity as JSON, or {"error": ...} and exit 1."""
    region = argv[argv.index("--region") + 1] if "--region" in argv else None
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        answer = boto3.client("sts", region_name=region).get_caller_identity()
    except NoCredentialsError:
        advice = "run under aws-vault (drop --no-vault), or export the environment's credentials"
        print(json.dumps({"error": f"No AWS credentials found: {advice}."}))
        return 1
    except (BotoCoreError, ClientError) as exc:
        first = str(exc).strip().splitlines()[0]
        print(json.dumps({"error": f"STS GetCallerIdentity failed ({first}): check the credentials and retry."}))
        return 1
    print(json.dumps({"account": answer["Account"], "arn": answer["Arn"]}))
    return 0


if __name__ == "__main__":
    sys.exit(_probe(sys.argv[1:]))
