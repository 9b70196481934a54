"""Is a restored snapshot what it claims? Every managed resource in the restored state must
answer on the emulator, asked with boto3 by the id, name or ARN the state holds; where the
answer carries it, the ARN (or the Lambda code hash) must be the state's too, so a snapshot of
another account, region or package cannot pass as this one.

One probe per resource type the platform uses; a type without a probe fails the check (the
restore is undone and `up` applies for real, naming the type), so a new kind of resource can
never be trusted unchecked. The probes run in a few threads: about 60 resources take about a
second on moto. What this does not prove (Terraform would, with a plan of ~20 s): that every
attribute equals the configuration; the fingerprint covers that, since the snapshot was taken
from an apply of the very same inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from platformctl import process
from platformctl.aws import credentials

Probe = Callable[[Callable[[str], Any], dict[str, Any]], None]


class Mismatch(Exception):
    """The emulator answers, but not with what the state says."""


def _same(what: str, found: Any, expected: Any) -> None:
    if expected and found != expected:
        raise Mismatch(f"{what} is {found!r}, the state says {expected!r}")


def _bucket(aws: Callable[[str], Any], a: dict[str, Any]) -> None:
    aws("s3").head_bucket(Bucket=a.get("bucket") or a["id"])


def _bucket_part(method: str) -> Probe:
    def probe(aws: Callable[[str], Any], a: dict[str, Any]) -> None:
        getattr(aws("s3"), method)(Bucket=a.get("bucket") or a["id"])

    return probe


def _versioning(aws: Callable[[str], Any], a: dict[str, Any]) -> None:
    found = aws("s3").get_bucket_versioning(Bucket=a.get("bucket") or a["id"]).get("Status")
    wanted = ((a.get("versioning_configuration") or [{}])[0] or {}).get("status")
    _same("versioning", found, wanted)


def _table(aws: Callable[[str], Any], a: dict[str, Any]) -> None:
    table = aws("dynamodb").describe_table(TableName=a["name"])["Table"]
    _same("table ARN", table["TableArn"], a.get("arn"))


def _stream(aws: Callable[[str], Any], a: dict[str, Any]) -> None:
    summary = aws("kinesis").describe_stream_summary(StreamName=a["name"])["StreamDescriptionSummary"]
    _same("stream ARN", summary["StreamARN"], a.get("arn"))


def _queue(aws: Callable[[str], Any], a: dict[str, Any]) -> None:
    found = aws("sqs").get_queue_attributes(QueueUrl=a.get("url") or a["id"], AttributeNames=["QueueArn"])
    _same("queue ARN", found["Attributes"]["QueueArn"], a.get("arn"))


def _redrive_allow(aws: Callable[[str], Any], a: dict[str, Any]) -> None:
    found = aws("sqs").get_queue_attributes(QueueUrl=a["queue_url"], AttributeNames=["RedriveAllowPolicy"])
    if "RedriveAllowPolicy" not in found.get("Attributes", {}):
        raise Mismatch(f"{a['queue_url']} has no RedriveAllowPolicy")


def _function(aws: Callable[[str], Any], a: dict[str, Any]) -> None:
    configuration = aws("lambda").get_function(FunctionName=a["function_name"])["Configuration"]
    _same("function ARN", configuration["FunctionArn"], a.get("arn"))
    _same("function code hash", configuration["CodeSha256"], a.get("code_sha256"))


def _mapping(aws: Callable[[str], Any], a: dict[str, Any]) -> None:
    found = aws("lambda").get_event_source_mapping(UUID=a.get("uuid") or a["id"])
    _same("mapping source", found["EventSourceArn"], a.get("event_source_arn"))


def _role(aws: Callable[[str], Any], a: dict[str, Any]) -> None:
    role = aws("iam").get_role(RoleName=a["name"])["Role"]
    _same("role ARN", role["Arn"], a.get("arn"))


def _role_policy(aws: Callable[[str], Any], a: dict[str, Any]) -> None:
    aws("iam").get_role_policy(RoleName=a["role"], PolicyName=a["name"])


def _log_group(aws: Callable[[str], Any], a: dict[str, Any]) -> None:
    groups = aws("logs").describe_log_groups(logGroupNamePrefix=a["name"])["logGroups"]
    if a["name"] not in {group["logGroupName"] for group in groups}:
        raise Mismatch(f"log group {a['name']} is missing")


def _alarm(aws: Callable[[str], Any], a: dict[str, Any]) -> None:
    alarms = aws("cloudwatch").describe_alarms(AlarmNames=[a["alarm_name"]])["MetricAlarms"]
    if not alarms:
        raise Mismatch(f"alarm {a['alarm_name']} is missing")


def _secret(aws: Callable[[str], Any], a: dict[str, Any]) -> None:
    found = aws("secretsmanager").describe_secret(SecretId=a.get("arn") or a["id"])
    _same("secret ARN", found["ARN"], a.get("arn"))


def _secret_version(aws: Callable[[str], Any], a: dict[str, Any]) -> None:
    aws("secretsmanager").get_secret_value(SecretId=a["secret_id"], VersionId=a["version_id"])


def _budget(aws: Callable[[str], Any], a: dict[str, Any]) -> None:
    aws("budgets").describe_budget(AccountId=a["account_id"], BudgetName=a["name"])


def _scalable_target(aws: Callable[[str], Any], a: dict[str, Any]) -> None:
    found = aws("application-autoscaling").describe_scalable_targets(
        ServiceNamespace=a["service_namespace"],
        ResourceIds=[a["resource_id"]],
        ScalableDimension=a["scalable_dimension"],
    )["ScalableTargets"]
    if not found:
        raise Mismatch(f"scalable target {a['resource_id']} {a['scalable_dimension']} is missing")


def _scaling_policy(aws: Callable[[str], Any], a: dict[str, Any]) -> None:
    found = aws("application-autoscaling").describe_scaling_policies(
        ServiceNamespace=a["service_namespace"], PolicyNames=[a["name"]], ResourceId=a["resource_id"]
    )["ScalingPolicies"]
    if not found:
        raise Mismatch(f"scaling policy {a['name']} is missing")


def _kms_key(aws: Callable[[str], Any], a: dict[str, Any]) -> None:
    found = aws("kms").describe_key(KeyId=a.get("key_id") or a["id"])["KeyMetadata"]
    _same("key ARN", found["Arn"], a.get("arn"))


def _kms_alias(aws: Callable[[str], Any], a: dict[str, Any]) -> None:
    aliases = aws("kms").list_aliases()["Aliases"]
    if a["name"] not in {alias["AliasName"] for alias in aliases}:
        raise Mismatch(f"KMS alias {a['name']} is missing")


PROBES: dict[str, Probe] = {
    "aws_s3_bucket": _bucket,
    "aws_s3_bucket_versioning": _versioning,
    "aws_s3_bucket_policy": _bucket_part("get_bucket_policy"),
    "aws_s3_bucket_public_access_block": _bucket_part("get_public_access_block"),
    "aws_s3_bucket_server_side_encryption_configuration": _bucket_part("get_bucket_encryption"),
    "aws_s3_bucket_ownership_controls": _bucket_part("get_bucket_ownership_controls"),
    "aws_s3_bucket_lifecycle_configuration": _bucket_part("get_bucket_lifecycle_configuration"),
    "aws_dynamodb_table": _table,
    "aws_kinesis_stream": _stream,
    "aws_sqs_queue": _queue,
    "aws_sqs_queue_redrive_allow_policy": _redrive_allow,
    "aws_lambda_function": _function,
    "aws_lambda_event_source_mapping": _mapping,
    "aws_iam_role": _role,
    "aws_iam_role_policy": _role_policy,
    "aws_cloudwatch_log_group": _log_group,
    "aws_cloudwatch_metric_alarm": _alarm,
    "aws_secretsmanager_secret": _secret,
    "aws_secretsmanager_secret_version": _secret_version,
    "aws_budgets_budget": _budget,
    "aws_appautoscaling_target": _scalable_target,
    "aws_appautoscaling_policy": _scaling_policy,
    "aws_kms_key": _kms_key,
    "aws_kms_alias": _kms_alias,
}
SERVICES = (
    "s3",
    "dynamodb",
    "kinesis",
    "sqs",
    "lambda",
    "iam",
    "logs",
    "cloudwatch",
    "secretsmanager",
    "budgets",
    "application-autoscaling",
    "kms",
)
THREADS = 8


@dataclass(frozen=True)
class Report:
    checked: int
    problems: tuple[str, ...]
    checks: tuple[str, ...]  # what was checked, for the user


def managed_instances(state: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(type, address, attributes) of every managed resource instance in a state."""
    found = []
    for resource in state.get("resources", []):
        if resource.get("mode") != "managed":
            continue
        address = ".".join(filter(None, (resource.get("module"), resource.get("type"), resource.get("name"))))
        for instance in resource.get("instances", []):
            key = instance.get("index_key")
            suffix = f"[{key!r}]".replace("'", '"') if key is not None else ""
            found.append((str(resource.get("type")), address + suffix, dict(instance.get("attributes") or {})))
    return found


def verify(state: dict[str, Any], endpoint: str, region: str) -> Report:
    """Probe every managed resource of `state` on the emulator at `endpoint`."""
    with process.environ_overridden(credentials.emulator_env(region)):
        return _verify(state, endpoint, region)


def _verify(state: dict[str, Any], endpoint: str, region: str) -> Report:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    instances = managed_instances(state)
    unknown = sorted({kind for kind, _, _ in instances if kind not in PROBES})
    if unknown:
        return Report(0, (f"no check for {', '.join(unknown)} (platformctl/local/snapshot_checks.py)",), ())
    session: Any = boto3.session.Session(
        aws_access_key_id=credentials.EMULATOR_ACCESS_KEY,
        aws_secret_access_key=credentials.EMULATOR_ACCESS_KEY,
        region_name=region,
    )
    config = Config(  # proxies={}: nothing sits between us and the loopback emulator
        connect_timeout=2, read_timeout=20, retries={"max_attempts": 1}, s3={"addressing_style": "path"}, proxies={}
    )
    # Clients are made here, in one thread (a session is not thread-safe); clients are.
    clients = {service: session.client(service, endpoint_url=endpoint, config=config) for service in SERVICES}

    def check(item: tuple[str, str, dict[str, Any]]) -> str | None:
        kind, address, attributes = item
        try:
            PROBES[kind](clients.__getitem__, attributes)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            return f"{address} does not answer on the emulator ({code})"
        except (BotoCoreError, Mismatch, KeyError) as exc:
            return f"{address}: {type(exc).__name__}: {exc}"
        return None

    with ThreadPoolExecutor(THREADS) as pool:
        problems = tuple(problem for problem in pool.map(check, instances) if problem)
    checks = (
        f"{len(instances)} resources answer on the emulator, by their state id/ARN",
        "ARNs and the Lambda code hash equal the state's",
    )
    return Report(len(instances), problems, checks)
