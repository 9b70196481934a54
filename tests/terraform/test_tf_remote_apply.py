"""dev and prod applied WHOLE on platformctl's own moto server (python -m platformctl.emulators.moto_server),
read with boto3, planned again (no changes), then destroyed with nothing left.

The same HCL as on AWS: no override turns off autoscaling, the DLQ restriction, budgets, cost
anomaly detection or the billing alarm. What the test changes, in a copy of terraform/ only:
- one moto server per environment, answering as the environment's own account (dev
  111111111111, prod 222222222222, as their tfvars say), so allowed_account_ids stays as written;
- AWS_ENDPOINT_URL of every run points both providers (default and `billing`) at it, and a
  generated zz_test_override.tf gives them the emulators' test credentials and path-style S3;
- the state bucket is made by platformctl's bootstrap (KMS key, versioning, lifecycle, access
  logs), then its TLS-only policy is removed: moto applies that Deny whatever the transport;
- an extra backend config points the S3 backend (kms_key_id and use_lockfile as committed) at moto.
prod's tables have deletion protection: before the destroy, the test turns it off with boto3, as
an operator retiring the environment would; prod's KMS keys end up pending deletion, AWS's
deleted state. Each environment's platform is applied once (dev and prod side by side) and shared by
the tests that read it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from terraform.tf_helpers import Moto, Terraform, copy_tree, load_hcl, parallel, start_emulator, tagged_resources

REQUIRED_TAGS = {"Environment", "Project", "Owner", "CostCenter"}
ACCOUNTS = {"dev": "111111111111", "prod": "222222222222"}
PROVIDER = """\
provider "aws" {{
{alias}  access_key                  = "test"
  secret_key                  = "test"
  s3_use_path_style           = true
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  max_retries                 = 2
  http_proxy                  = "http://127.0.0.1:1" # the run's AWS_ENDPOINT_URL is the emulator;
  https_proxy                 = "http://127.0.0.1:1" # anything else fails to connect
  no_proxy                    = "127.0.0.1,localhost,::1"
}}
"""

BACKEND = """\
endpoints                   = {{ s3 = "{endpoint}" }}
use_path_style              = true
access_key                  = "test"
secret_key                  = "test"
skip_credentials_validation = true
skip_requesting_account_id  = true
skip_metadata_api_check     = true
skip_region_validation      = true
"""

EXPECTED = {
    "aws_s3_bucket",
    "aws_s3_bucket_lifecycle_configuration",
    "aws_s3_bucket_policy",
    "aws_dynamodb_table",
    "aws_appautoscaling_target",
    "aws_appautoscaling_policy",
    "aws_kinesis_stream",
    "aws_sqs_queue",
    "aws_sqs_queue_redrive_allow_policy",
    "aws_lambda_function",
    "aws_lambda_event_source_mapping",
    "aws_iam_role",
    "aws_iam_role_policy",
    "aws_cloudwatch_log_group",
    "aws_cloudwatch_metric_alarm",
    "aws_budgets_budget",
    "aws_sns_topic",
    "aws_sns_topic_policy",
    "aws_sns_topic_subscription",
    "aws_kms_key",
    "aws_ce_anomaly_monitor",
    "aws_ce_anomaly_subscription",
    "aws_iam_openid_connect_provider",
    "aws_iam_role_policy_attachment",
}


@dataclass
class Applied:
    environment: str
    folder: Path
    moto: Moto
    plan: dict
    state: dict
    outputs: dict
    tfvars: dict
    notes: dict[str, Any] = field(default_factory=dict)

    def resources(self, type_: str) -> list[dict]:
        found = []

        def walk(module: dict) -> None:
            found.extend(r for r in module.get("resources", []) if r["type"] == type_ and r["mode"] == "managed")
            for child in module.get("child_modules", []):
                walk(child)

        walk(self.state["values"]["root_module"])
        return found

    def output(self, name: str) -> Any:
        return self.outputs[name]["value"]


def _bootstrap(folder: Path, environment: str, moto: Moto) -> None:
    """platformctl's bootstrap child (python -m platformctl.aws.bootstrap SPEC) against moto."""
    from platformctl.aws.bootstrap import BackendSpec, _kms_alias

    backend = load_hcl(folder / f"{environment}.s3.tfbackend")
    spec = BackendSpec(
        environment,
        backend["bucket"],
        backend["region"],
        {"Environment": environment, "Purpose": "terraform-state"},
        None,
        _kms_alias(folder, backend["kms_key_id"]),
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL=moto.endpoint,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION=backend["region"],
    )
    result = subprocess.run(
        [sys.executable, "-m", "platformctl.aws.bootstrap", spec.to_json()],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    moto.client("s3").delete_bucket_policy(Bucket=backend["bucket"])  # moto: see the module docstring


def _prepare(environment: str, terraform: Terraform, work: Path) -> tuple[Path, Moto]:
    """The environment's copy of terraform/, its moto server, state bucket and `init`."""
    moto = start_emulator(work / "moto.log", account_id=ACCOUNTS[environment])
    try:
        folder = copy_tree(work) / "environments" / environment
        terraform = terraform.at(moto.endpoint)  # every service of both providers, and the backend
        (folder / "zz_test_override.tf").write_text(
            "# Generated by tests/terraform/test_tf_remote_apply.py for this temporary copy only.\n"
            + PROVIDER.format(alias="")
            + PROVIDER.format(alias='  alias                       = "billing"\n')
        )
        (work / "moto.s3.tfbackend").write_text(BACKEND.format(endpoint=moto.endpoint))
        _bootstrap(folder, environment, moto)
        terraform.run(
            folder,
            "init",
            "-input=false",
            "-no-color",
            "-reconfigure",
            f"-backend-config={environment}.s3.tfbackend",
            f"-backend-config={work / 'moto.s3.tfbackend'}",
        )
    except BaseException:
        moto.stop()
        raise
    return folder, moto


def _apply(environment: str, folder: Path, moto: Moto, terraform: Terraform) -> Applied:
    terraform = terraform.at(moto.endpoint)
    result = terraform.run(
        folder, "plan", "-input=false", "-no-color", "-detailed-exitcode", "-out=plan.tfplan", check=False
    )
    assert result.returncode == 2, result.stdout[-4000:] + result.stderr[-4000:]
    plan = json.loads(terraform.run(folder, "show", "-json", "plan.tfplan").stdout)
    terraform.run(folder, "apply", "-input=false", "-no-color", "plan.tfplan", timeout=1500)
    state = json.loads(terraform.run(folder, "show", "-json").stdout)
    outputs = json.loads(terraform.run(folder, "output", "-json").stdout)
    return Applied(environment, folder, moto, plan, state, outputs, load_hcl(folder / "terraform.tfvars"))


@pytest.fixture(scope="module")
def platforms(
    terraform: Terraform, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Applied | Exception]]:
    """dev and prod, each on its own moto server, planned and applied side by side: most of an
    apply is the provider waiting on the (emulated) API, so two overlap well even on 2 cores.
    The inits run one after another: concurrent inits race on the shared plugin cache."""
    prepared: dict[str, tuple[Path, Moto]] = {}
    try:
        for environment in ACCOUNTS:
            prepared[environment] = _prepare(environment, terraform, tmp_path_factory.mktemp(f"remote-{environment}"))
        jobs = {env: partial(_apply, env, folder, moto, terraform) for env, (folder, moto) in prepared.items()}
        yield parallel(jobs, workers=len(jobs))  # type: ignore[misc]
    finally:
        for _, moto in prepared.values():
            moto.stop()


@pytest.fixture(params=list(ACCOUNTS))
def applied(request: pytest.FixtureRequest, platforms: dict[str, Applied | Exception]) -> Applied:
    found = platforms[request.param]
    if isinstance(found, Exception):
        raise found
    return found


def _after(plan: dict, address: str) -> dict:
    (change,) = [c for c in plan["resource_changes"] if c["address"] == address]
    return change["change"]["after"]


def test_the_whole_platform_is_applied(applied: Applied) -> None:
    changes = [c for c in applied.plan["resource_changes"] if c["mode"] == "managed"]
    assert all(c["change"]["actions"] == ["create"] for c in changes)
    types = {c["type"] for c in changes}
    assert types >= EXPECTED, sorted(EXPECTED - types)
    in_state = sorted(r["address"] for t in types for r in applied.resources(t))
    assert in_state == sorted(c["address"] for c in changes), "every planned resource exists after one apply"
    assert not any(c["change"]["actions"] != ["create"] for c in changes)
    applied.notes["resources"] = len(in_state)
    print(f"{applied.environment}: {len(in_state)} resources applied on the emulator")


def test_every_taggable_resource_is_tagged(applied: Applied) -> None:
    tagged = tagged_resources(applied.plan)
    missing = {a: sorted(REQUIRED_TAGS - set(t)) for a, t in tagged if not set(t) >= REQUIRED_TAGS}
    assert not missing, missing
    assert {t["Environment"] for _, t in tagged} == {applied.environment}


def test_every_alarm_notifies_the_alerts_topic_on_alarm_and_ok(applied: Applied) -> None:
    """In the plan, every alarm's actions are set (known, or the topic's ARN known after apply);
    applied, each one names the topic in both, and CloudWatch (both regions) says the same."""
    topic = applied.output("alerts_topic_arn")
    planned = [c for c in applied.plan["resource_changes"] if c["type"] == "aws_cloudwatch_metric_alarm"]
    assert planned
    for change in planned:
        after, unknown = change["change"]["after"], change["change"]["after_unknown"]
        for key in ("alarm_actions", "ok_actions"):
            assert after.get(key) or unknown.get(key), f"{change['address']} plans no {key}"
    alarms = applied.resources("aws_cloudwatch_metric_alarm")
    with_actions = [a for a in alarms if topic in a["values"]["alarm_actions"] and topic in a["values"]["ok_actions"]]
    assert len(with_actions) == len(alarms) == len(planned)
    # Application Auto Scaling makes (and owns) its target-tracking alarms, whose action is the
    # scaling policy, on AWS as on moto: they are not the platform's alarms.
    described = [
        alarm
        for region in ("us-east-1",)  # dev and prod live in us-east-1, as the billing alarm must
        for alarm in applied.moto.client("cloudwatch", region).describe_alarms()["MetricAlarms"]
        if not alarm["AlarmName"].startswith("TargetTracking-")
    ]
    assert sorted(a["AlarmName"] for a in described) == sorted(a["values"]["alarm_name"] for a in alarms)
    assert all(a["AlarmActions"] and topic in a["AlarmActions"] and topic in a["OKActions"] for a in described)
    print(f"{applied.environment}: alarms with actions {len(with_actions)}/{len(alarms)}")


def test_alerts_topic_is_encrypted_and_subscribed(applied: Applied) -> None:
    sns = applied.moto.client("sns")
    topic = applied.output("alerts_topic_arn")
    attributes = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    (key,) = (
        applied.resources("aws_kms_key")
        if applied.environment == "dev"
        else [k for k in applied.resources("aws_kms_key") if k["name"] == "alerts"]
    )
    assert attributes["KmsMasterKeyId"] == key["values"]["arn"] and key["values"]["enable_key_rotation"]
    publishers = {s["Sid"]: s for s in json.loads(attributes["Policy"])["Statement"]}["AlertPublishersPublish"]
    assert sorted(publishers["Principal"]["Service"]) == [
        "budgets.amazonaws.com",
        "cloudwatch.amazonaws.com",
        "costalerts.amazonaws.com",
    ]
    key_policy = json.loads(key["values"]["policy"])
    (encrypting,) = [s for s in key_policy["Statement"] if s["Sid"] == "AlertPublishersEncryptMessages"]
    assert sorted(encrypting["Principal"]["Service"]) == sorted(publishers["Principal"]["Service"])
    endpoints = {s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]}
    assert endpoints == set(applied.tfvars["alert_emails"]) and endpoints


def test_budget_and_cost_anomalies_alert_the_topic(applied: Applied) -> None:
    topic = applied.output("alerts_topic_arn")
    account = ACCOUNTS[applied.environment]
    budgets = applied.moto.client("budgets")
    name = applied.output("budget_name")
    notifications = budgets.describe_notifications_for_budget(AccountId=account, BudgetName=name)["Notifications"]
    assert {n["NotificationType"] for n in notifications} == {"ACTUAL", "FORECASTED"}
    for notification in notifications:
        subscribers = budgets.describe_subscribers_for_notification(
            AccountId=account, BudgetName=name, Notification=notification
        )["Subscribers"]
        assert {"SubscriptionType": "SNS", "Address": topic} in subscribers
        assert {s["Address"] for s in subscribers if s["SubscriptionType"] == "EMAIL"} == set(
            applied.tfvars["budget_alert_emails"]
        )

    ce = applied.moto.client("ce")
    (monitor,) = ce.get_anomaly_monitors()["AnomalyMonitors"]
    assert (monitor["MonitorType"], monitor["MonitorDimension"]) == ("DIMENSIONAL", "SERVICE")
    (subscription,) = ce.get_anomaly_subscriptions()["AnomalySubscriptions"]
    assert subscription["MonitorArnList"] == [monitor["MonitorArn"]]
    assert subscription["Subscribers"] == [{"Type": "SNS", "Address": topic}]
    dimension = subscription["ThresholdExpression"]["Dimensions"]
    assert dimension["Key"] == "ANOMALY_TOTAL_IMPACT_ABSOLUTE" and float(dimension["Values"][0]) > 0

    (billing,) = applied.moto.client("cloudwatch", "us-east-1").describe_alarms(
        AlarmNames=[f"ecommerce-data-platform-{applied.environment}-estimated-charges-anomaly"]
    )["MetricAlarms"]
    assert billing["ThresholdMetricId"] == "band"
    (band,) = [m for m in billing["Metrics"] if m["Id"] == "band"]
    assert band["Expression"].startswith("ANOMALY_DETECTION_BAND(charges")
    (charges,) = [m for m in billing["Metrics"] if m["Id"] == "charges"]
    assert charges["MetricStat"]["Metric"]["Namespace"] == "AWS/Billing"
    assert charges["MetricStat"]["Metric"]["Dimensions"] == [{"Name": "Currency", "Value": "USD"}]


def _listed(value: str | list[str]) -> list[str]:
    """IAM writes a one-element list as a plain string; compare both forms as lists."""
    return value if isinstance(value, list) else [value]


def _trust(applied: Applied, role_arn: str) -> dict:
    role = applied.moto.client("iam").get_role(RoleName=role_arn.rsplit("/", 1)[1])["Role"]
    document = role["AssumeRolePolicyDocument"]
    (statement,) = (json.loads(document) if isinstance(document, str) else document)["Statement"]
    return dict(statement)


def test_ci_roles_trust_only_their_github_subjects(applied: Applied) -> None:
    repository = applied.tfvars["github_repository"]
    provider = applied.output("github_oidc_provider_arn")
    host = "token.actions.githubusercontent.com"
    iam = applied.moto.client("iam")
    assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=provider)["ClientIDList"] == ["sts.amazonaws.com"]

    plan = _trust(applied, applied.output("github_plan_role_arn"))
    assert _listed(plan["Action"]) == ["sts:AssumeRoleWithWebIdentity"] and plan["Principal"] == {"Federated": provider}
    assert plan["Condition"]["StringEquals"][f"{host}:aud"] == "sts.amazonaws.com"
    assert sorted(_listed(plan["Condition"]["StringEquals"][f"{host}:sub"])) == sorted(
        [f"repo:{repository}:pull_request", f"repo:{repository}:ref:refs/heads/main"]
    )
    apply = _trust(applied, applied.output("github_apply_role_arn"))
    environment = {"dev": "dev", "prod": "production"}[applied.environment]
    subjects = _listed(apply["Condition"]["StringEquals"][f"{host}:sub"])
    assert subjects == [f"repo:{repository}:environment:{environment}"]
    assert "StringLike" not in plan["Condition"] and "StringLike" not in apply["Condition"], "no wildcards"

    attached = iam.list_attached_role_policies(RoleName=applied.output("github_plan_role_arn").rsplit("/", 1)[1])
    assert [p["PolicyName"] for p in attached["AttachedPolicies"]] == ["ReadOnlyAccess"]
    assert iam.list_users()["Users"] == [], "no IAM users"


def test_operator_role_requires_mfa(applied: Applied) -> None:
    operator = _trust(applied, applied.output("operator_role_arn"))
    assert _listed(operator["Principal"]["AWS"]) == [f"arn:aws:iam::{ACCOUNTS[applied.environment]}:root"]
    assert operator["Condition"]["Bool"] == {"aws:MultiFactorAuthPresent": "true"}
    if applied.environment == "prod":
        assert operator["Condition"]["NumericLessThan"] == {"aws:MultiFactorAuthAge": "3600"}
    else:
        assert "NumericLessThan" not in operator["Condition"]


def test_autoscaling_and_dlq_restriction_are_applied(applied: Applied) -> None:
    scaling = applied.moto.client("application-autoscaling")
    targets = scaling.describe_scalable_targets(ServiceNamespace="dynamodb")["ScalableTargets"]
    assert {t["ResourceId"] for t in targets} >= {f"table/ecommerce-data-platform-{applied.environment}-orders"}
    assert all(
        scaling.list_tags_for_resource(ResourceARN=t["ScalableTargetARN"])["Tags"]["Environment"] == applied.environment
        for t in targets
    )
    sqs = applied.moto.client("sqs")
    (dlq,) = [u for u in applied.output("platform_resources")["queues"] if u.endswith("-dlq")]
    attributes = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["All"])["Attributes"]
    allow = json.loads(attributes["RedriveAllowPolicy"])
    assert allow["redrivePermission"] == "byQueue" and len(allow["sourceQueueArns"]) == 1


def test_state_is_in_the_kms_encrypted_bucket(applied: Applied) -> None:
    backend = load_hcl(applied.folder / f"{applied.environment}.s3.tfbackend")
    s3 = applied.moto.client("s3")
    head = s3.head_object(Bucket=backend["bucket"], Key=backend["key"])
    assert head["ServerSideEncryption"] == "aws:kms"
    alias = backend["kms_key_id"].split(":alias/", 1)[1]
    assert applied.tfvars["state_kms_key_alias"] == f"alias/{alias}"
    assert (applied.tfvars["state_bucket"], applied.tfvars["state_key"]) == (backend["bucket"], backend["key"])
    names = [o["Key"] for o in s3.list_objects_v2(Bucket=backend["bucket"]).get("Contents", [])]
    assert f"{backend['key']}.tflock" not in names, "apply released its lock"


def test_a_second_plan_has_no_changes(applied: Applied, terraform: Terraform) -> None:
    result = terraform.at(applied.moto.endpoint).run(
        applied.folder, "plan", "-input=false", "-no-color", "-detailed-exitcode", check=False
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]


def _destroy(applied: Applied, terraform: Terraform) -> dict:
    """The environment destroyed; its state afterwards."""
    if applied.environment == "prod":  # deletion protection: an operator turns it off first
        for table in applied.output("table_names").values():
            applied.moto.client("dynamodb").update_table(TableName=table, DeletionProtectionEnabled=False)
    terraform = terraform.at(applied.moto.endpoint)
    terraform.run(applied.folder, "destroy", "-auto-approve", "-input=false", "-no-color", timeout=1500)
    return dict(json.loads(terraform.run(applied.folder, "show", "-json").stdout))


@pytest.fixture(scope="module")
def destroyed(platforms: dict[str, Applied | Exception], terraform: Terraform) -> dict[str, object]:
    """dev and prod destroyed side by side, when the first destroy test asks (the last tests of
    this module, so every reader has run)."""
    jobs = {env: partial(_destroy, found, terraform) for env, found in platforms.items() if isinstance(found, Applied)}
    return parallel(jobs, workers=len(jobs) or 1)


def test_destroy_leaves_nothing(applied: Applied, destroyed: dict[str, object]) -> None:
    moto = applied.moto
    state = destroyed[applied.environment]
    if isinstance(state, Exception):
        raise state
    assert isinstance(state, dict)
    assert not state.get("values", {}).get("root_module", {}).get("resources")

    backend = load_hcl(applied.folder / f"{applied.environment}.s3.tfbackend")
    buckets = {b["Name"] for b in moto.client("s3").list_buckets()["Buckets"]}
    assert buckets == {backend["bucket"], f"{backend['bucket']}-access-logs"}, "only the state and its logs"
    assert moto.client("dynamodb").list_tables()["TableNames"] == []
    assert moto.client("kinesis").list_streams()["StreamNames"] == []
    assert moto.client("sqs").list_queues().get("QueueUrls", []) == []
    assert moto.client("lambda").list_functions()["Functions"] == []
    assert moto.client("sns").list_topics()["Topics"] == []
    assert moto.client("cloudwatch").describe_alarms()["MetricAlarms"] == []
    assert moto.client("budgets").describe_budgets(AccountId=ACCOUNTS[applied.environment]).get("Budgets") == []
    assert moto.client("ce").get_anomaly_monitors()["AnomalyMonitors"] == []
    assert moto.client("ce").get_anomaly_subscriptions()["AnomalySubscriptions"] == []
    assert (
        moto.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="dynamodb")["ScalableTargets"]
        == []
    )
    assert moto.client("iam").list_open_id_connect_providers()["OpenIDConnectProviderList"] == []
    roles = [r["RoleName"] for r in moto.client("iam").list_roles()["Roles"]]
    assert not [r for r in roles if r.startswith("ecommerce-data-platform-")], roles
    kms = moto.client("kms")
    states = {kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"] for k in kms.list_keys()["Keys"]}
    # Only the state key (bootstrap's, outside Terraform) is still enabled; the platform's are pending deletion.
    assert sorted(states - {"PendingDeletion"}) == ["Enabled"]
    aliases = [a["AliasName"] for a in kms.list_aliases()["Aliases"] if not a["AliasName"].startswith("alias/aws/")]
    assert aliases == [f"alias/{backend['kms_key_id'].split(':alias/', 1)[1]}"]
