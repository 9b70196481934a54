"""platformctl's moto server (python -m platformctl.emulators.moto_server) answers the APIs the platform's
HCL needs where moto alone does not: each patch in platformctl/emulators/moto_patches checked with real
boto3 calls against one real patched server, and each shown to step aside once applied."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import MotoServer, start_moto

ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    started = start_moto(tmp_path_factory.mktemp("moto") / "moto.log", account_id=ACCOUNT)
    try:
        yield started
    finally:
        started.stop()


def client(server: MotoServer, service: str) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def test_sqs_returns_the_redrive_allow_policy_it_was_given(server: MotoServer) -> None:
    sqs = client(server, "sqs")
    dlq = sqs.create_queue(QueueName="allow-dlq")["QueueUrl"]
    source = sqs.create_queue(QueueName="allow-source")["QueueUrl"]
    source_arn = sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [source_arn]}, separators=(",", ":"))
    sqs.set_queue_attributes(QueueUrl=dlq, Attributes={"RedriveAllowPolicy": policy})

    assert sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["All"])["Attributes"]["RedriveAllowPolicy"] == policy
    named = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["RedriveAllowPolicy"])["Attributes"]
    assert named == {"RedriveAllowPolicy": policy}
    assert "RedriveAllowPolicy" not in sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["All"])["Attributes"]

    sqs.set_queue_attributes(QueueUrl=dlq, Attributes={"RedriveAllowPolicy": ""})  # the provider's delete
    assert "RedriveAllowPolicy" not in sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["All"])["Attributes"]


def test_budgets_keep_tags_and_answer_subscribers(server: MotoServer) -> None:
    budgets = client(server, "budgets")
    notification = {
        "NotificationType": "FORECASTED",
        "ComparisonOperator": "GREATER_THAN",
        "Threshold": 100.0,
        "ThresholdType": "PERCENTAGE",
    }
    subscribers = [
        {"SubscriptionType": "SNS", "Address": f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"},
        {"SubscriptionType": "EMAIL", "Address": "team@example.com"},
    ]
    budgets.create_budget(
        AccountId=ACCOUNT,
        Budget={
            "BudgetName": "monthly",
            "BudgetType": "COST",
            "TimeUnit": "MONTHLY",
            "BudgetLimit": {"Amount": "100", "Unit": "USD"},
        },
        NotificationsWithSubscribers=[{"Notification": notification, "Subscribers": subscribers}],
        ResourceTags=[{"Key": "Environment", "Value": "dev"}],
    )
    arn = f"arn:aws:budgets::{ACCOUNT}:budget/monthly"
    assert budgets.list_tags_for_resource(ResourceARN=arn)["ResourceTags"] == [{"Key": "Environment", "Value": "dev"}]
    budgets.tag_resource(ResourceARN=arn, ResourceTags=[{"Key": "Owner", "Value": "data"}])
    budgets.untag_resource(ResourceARN=arn, ResourceTagKeys=["Environment"])
    assert budgets.list_tags_for_resource(ResourceARN=arn)["ResourceTags"] == [{"Key": "Owner", "Value": "data"}]

    found = budgets.describe_subscribers_for_notification(
        AccountId=ACCOUNT, BudgetName="monthly", Notification=notification
    )["Subscribers"]
    assert found == subscribers
    with pytest.raises(ClientError) as missing:
        budgets.describe_subscribers_for_notification(
            AccountId=ACCOUNT, BudgetName="monthly", Notification={**notification, "NotificationType": "ACTUAL"}
        )
    assert missing.value.response["Error"]["Code"] == "NotFoundException"

    budgets.delete_budget(AccountId=ACCOUNT, BudgetName="monthly")
    with pytest.raises(ClientError) as gone:
        budgets.list_tags_for_resource(ResourceARN=arn)
    assert gone.value.response["Error"]["Code"] == "NotFoundException"


def test_application_autoscaling_targets_keep_tags(server: MotoServer) -> None:
    scaling = client(server, "application-autoscaling")
    target = {
        "ServiceNamespace": "dynamodb",
        "ResourceId": "table/orders",
        "ScalableDimension": "dynamodb:table:ReadCapacityUnits",
    }
    arn = scaling.register_scalable_target(**target, MinCapacity=5, MaxCapacity=50, Tags={"Environment": "dev"})[
        "ScalableTargetARN"
    ]
    assert scaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"Environment": "dev"}
    scaling.tag_resource(ResourceARN=arn, Tags={"Owner": "data"})
    scaling.untag_resource(ResourceARN=arn, TagKeys=["Environment"])
    assert scaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"Owner": "data"}

    scaling.deregister_scalable_target(**target)
    with pytest.raises(ClientError) as gone:
        scaling.list_tags_for_resource(ResourceARN=arn)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_cost_anomaly_monitors_and_subscriptions(server: MotoServer) -> None:
    ce = client(server, "ce")
    monitor = ce.create_anomaly_monitor(
        AnomalyMonitor={"MonitorName": "services", "MonitorType": "DIMENSIONAL", "MonitorDimension": "SERVICE"},
        ResourceTags=[{"Key": "Environment", "Value": "dev"}],
    )["MonitorArn"]
    assert monitor.startswith(f"arn:aws:ce::{ACCOUNT}:anomalymonitor/")
    (found,) = ce.get_anomaly_monitors(MonitorArnList=[monitor])["AnomalyMonitors"]
    assert (found["MonitorName"], found["MonitorType"], found["MonitorDimension"]) == (
        "services",
        "DIMENSIONAL",
        "SERVICE",
    )
    assert ce.list_tags_for_resource(ResourceArn=monitor)["ResourceTags"] == [{"Key": "Environment", "Value": "dev"}]
    ce.update_anomaly_monitor(MonitorArn=monitor, MonitorName="all-services")
    assert ce.get_anomaly_monitors(MonitorArnList=[monitor])["AnomalyMonitors"][0]["MonitorName"] == "all-services"

    threshold = {
        "Dimensions": {
            "Key": "ANOMALY_TOTAL_IMPACT_ABSOLUTE",
            "MatchOptions": ["GREATER_THAN_OR_EQUAL"],
            "Values": ["50.00"],
        }
    }
    subscription = ce.create_anomaly_subscription(
        AnomalySubscription={
            "SubscriptionName": "alerts",
            "Frequency": "IMMEDIATE",
            "MonitorArnList": [monitor],
            "Subscribers": [{"Type": "SNS", "Address": f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"}],
            "ThresholdExpression": threshold,
        }
    )["SubscriptionArn"]
    (stored,) = ce.get_anomaly_subscriptions(SubscriptionArnList=[subscription])["AnomalySubscriptions"]
    assert stored["ThresholdExpression"] == threshold and stored["AccountId"] == ACCOUNT
    ce.update_anomaly_subscription(SubscriptionArn=subscription, Frequency="DAILY")
    assert (
        ce.get_anomaly_subscriptions(SubscriptionArnList=[subscription])["AnomalySubscriptions"][0]["Frequency"]
        == "DAILY"
    )

    ce.delete_anomaly_subscription(SubscriptionArn=subscription)
    ce.delete_anomaly_monitor(MonitorArn=monitor)
    with pytest.raises(ClientError) as gone:
        ce.get_anomaly_monitors(MonitorArnList=[monitor])
    assert gone.value.response["Error"]["Code"] == "UnknownMonitorException"
    with pytest.raises(ClientError) as gone_too:
        ce.get_anomaly_subscriptions(SubscriptionArnList=[subscription])
    assert gone_too.value.response["Error"]["Code"] == "UnknownSubscriptionException"


def test_what_moto_already_answers_the_platform_needs(server: MotoServer) -> None:
    """No patch needed, checked so a moto upgrade that breaks them shows here: Secrets Manager's
    GetRandomPassword (the ephemeral random password) and an anomaly-band CloudWatch alarm."""
    password = client(server, "secretsmanager").get_random_password(PasswordLength=40, ExcludePunctuation=True)
    assert len(password["RandomPassword"]) == 40 and password["RandomPassword"].isalnum()

    cloudwatch = client(server, "cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="charges",
        ComparisonOperator="GreaterThanUpperThreshold",
        EvaluationPeriods=1,
        ThresholdMetricId="band",
        AlarmActions=[f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"],
        Metrics=[
            {
                "Id": "charges",
                "ReturnData": True,
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/Billing",
                        "MetricName": "EstimatedCharges",
                        "Dimensions": [{"Name": "Currency", "Value": "USD"}],
                    },
                    "Period": 21600,
                    "Stat": "Maximum",
                },
            },
            {"Id": "band", "ReturnData": True, "Expression": "ANOMALY_DETECTION_BAND(charges, 2)"},
        ],
    )
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=["charges"])["MetricAlarms"]
    assert alarm["ThresholdMetricId"] == "band"
    assert [m["Id"] for m in alarm["Metrics"]] == ["charges", "band"]


def test_each_patch_steps_aside_once_moto_has_what_it_adds(tmp_path: Path) -> None:
    """Applied twice in one process, every patch finds its API already there the second time and
    says so on stderr, as it would after a moto release that gained the API: nothing is patched twice."""
    script = (
        "import json\n"
        "from platformctl.emulators.moto_patches import PATCHES, apply_all\n"
        "first = apply_all()\n"
        "second = apply_all()\n"
        "print(json.dumps({'first': first, 'second': second, 'names': [n for n, _ in PATCHES]}))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=tmp_path)
    outcome = json.loads(result.stdout)
    assert outcome["first"] == dict.fromkeys(outcome["names"]), "every patch applies to this moto"
    assert all(outcome["second"][name] for name in outcome["names"]), outcome["second"]
    for name in outcome["names"]:
        assert f"platformctl: moto patch '{name}' steps aside: " in result.stderr


def test_aws_managed_policies_are_attachable(server: MotoServer) -> None:
    """The CI and operator roles attach AWS managed policies, which moto loads only when asked."""
    iam = client(server, "iam")
    iam.create_role(RoleName="reader", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
    iam.attach_role_policy(RoleName="reader", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    attached = iam.list_attached_role_policies(RoleName="reader")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["ReadOnlyAccess"]


def test_kms_keeps_a_keys_rotation_period(server: MotoServer) -> None:
    kms = client(server, "kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is False
    assert "RotationPeriodInDays" not in kms.get_key_rotation_status(KeyId=key)
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=180)
    status = kms.get_key_rotation_status(KeyId=key)
    assert (status["KeyRotationEnabled"], status["RotationPeriodInDays"]) == (True, 180)
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=other)
    assert kms.get_key_rotation_status(KeyId=other)["RotationPeriodInDays"] == 365
