"""The local environment applied for real on a moto server, every resource checked with
boto3, then destroyed with nothing left.

moto gaps designed around (see terraform/README.md):
- Lambda code does not run without Docker: the function, its role and its Kinesis event
  source mapping are created and checked, the handler itself is unit-tested in-process
  (tests/functions/test_order_ingest.py).
- Budgets and Application Auto Scaling tag APIs and SQS RedriveAllowPolicy: platformctl's moto
  server answers them (platformctl/emulators/moto_patches), so local keeps both and the DLQ restriction.
- Kinesis: moto ignores Tags on CreateStream; platformctl's moto server keeps them
  (moto_patches/kinesis.py), so one apply tags the streams, as on AWS.
- SQS: moto returns RedrivePolicy with spaces after separators, so a plan after apply shows a
  whitespace-only update of the source queue; real SQS returns it compact.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from terraform.tf_helpers import Moto, Terraform, tagged_resources

REQUIRED_TAGS = {"Environment", "Project", "Owner", "CostCenter"}


@dataclass
class Applied:
    folder: Path
    plan: dict
    outputs: dict
    state: dict
    vars: list[str]


def _vars(moto: Moto) -> list[str]:
    return [f"-var=emulator_endpoint={moto.endpoint}"]


@pytest.fixture(scope="module")
def applied(terraform: Terraform, tf_tree: Path, moto: Moto) -> Iterator[Applied]:
    folder = tf_tree / "environments" / "local"
    terraform = terraform.at(moto.endpoint)  # as platformctl runs it: AWS_ENDPOINT_URL
    args = _vars(moto)
    terraform.run(folder, "plan", "-input=false", "-no-color", "-out=local.tfplan", *args)
    plan = json.loads(terraform.run(folder, "show", "-json", "local.tfplan").stdout)
    try:
        terraform.run(folder, "apply", "-input=false", "-no-color", "local.tfplan")
        outputs = json.loads(terraform.run(folder, "output", "-json").stdout)
        state = json.loads(terraform.run(folder, "show", "-json").stdout)
        yield Applied(folder=folder, plan=plan, outputs=outputs, state=state, vars=args)
    finally:
        # Safety net, when test_destroy_leaves_nothing did not already destroy everything (a
        # destroy of an empty state still refreshes the whole root).
        if terraform.run(folder, "state", "list", check=False).stdout.strip():
            terraform.run(folder, "destroy", "-input=false", "-no-color", "-auto-approve", *args, check=False)


def test_every_taggable_resource_carries_the_required_tags(applied: Applied) -> None:
    tagged = tagged_resources(applied.plan)
    assert len(tagged) >= 20
    missing = {address: sorted(REQUIRED_TAGS - set(tags)) for address, tags in tagged if not set(tags) >= REQUIRED_TAGS}
    assert not missing, missing
    assert {tags["Environment"] for _, tags in tagged} == {"local"}


def test_local_keeps_budgets_autoscaling_and_the_dlq_restriction(applied: Applied, moto: Moto) -> None:
    types = {change["type"] for change in applied.plan["resource_changes"]}
    assert {"aws_budgets_budget", "aws_appautoscaling_target", "aws_sqs_queue_redrive_allow_policy"} <= types
    budget = applied.outputs["budget_name"]["value"]
    described = moto.client("budgets").describe_budget(AccountId="000000000000", BudgetName=budget)["Budget"]
    assert described["TimeUnit"] == "MONTHLY"
    targets = moto.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="dynamodb")
    assert len(targets["ScalableTargets"]) >= 4, "read and write of each table (and the GSI)"


def test_platform_resources_output(applied: Applied, moto: Moto) -> None:
    resources = applied.outputs["platform_resources"]["value"]
    assert resources["endpoint"] == moto.endpoint
    assert sorted(resources["buckets"]) == sorted(
        f"ecommerce-data-platform-local-{layer}" for layer in ("raw", "processed", "curated")
    )
    assert sorted(resources["tables"]) == [
        "ecommerce-data-platform-local-customer-sessions",
        "ecommerce-data-platform-local-orders",
    ]
    assert sorted(resources["streams"]) == [
        "ecommerce-data-platform-local-clickstream",
        "ecommerce-data-platform-local-order-events",
    ]
    assert len(resources["queues"]) == 2 and any(url.endswith("-dlq") for url in resources["queues"])
    assert resources["functions"] == ["ecommerce-data-platform-local-order-ingest"]


def test_buckets(applied: Applied, moto: Moto) -> None:
    s3 = moto.client("s3")
    for bucket in applied.outputs["platform_resources"]["value"]["buckets"]:
        encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
        assert encryption["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert block == {
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        }
        ownership = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"][0]
        assert ownership["ObjectOwnership"] == "BucketOwnerEnforced"
        (rule,) = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        assert rule["Status"] == "Enabled"
        assert {(t["StorageClass"], t["Days"]) for t in rule["Transitions"]} == {("STANDARD_IA", 30), ("GLACIER", 90)}
        assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
        assert rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 7
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
        (statement,) = policy["Statement"]
        assert statement["Effect"] == "Deny" and statement["Condition"]["Bool"]["aws:SecureTransport"] == "false"
        tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
        assert set(tags) >= REQUIRED_TAGS


def test_tables(applied: Applied, moto: Moto) -> None:
    dynamodb = moto.client("dynamodb")
    orders = dynamodb.describe_table(TableName="ecommerce-data-platform-local-orders")["Table"]
    assert orders["KeySchema"] == [{"AttributeName": "order_id", "KeyType": "HASH"}]
    assert orders["BillingModeSummary"]["BillingMode"] == "PROVISIONED", "autoscaled, as in dev and prod"
    (index,) = orders["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "customer_id-index"
    key_schema = {k["AttributeName"]: k["KeyType"] for k in index["KeySchema"]}
    assert key_schema == {"customer_id": "HASH", "created_at": "RANGE"}
    assert orders["SSEDescription"]["Status"] == "ENABLED"
    sessions = "ecommerce-data-platform-local-customer-sessions"
    ttl = dynamodb.describe_time_to_live(TableName=sessions)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    for table in ("ecommerce-data-platform-local-orders", sessions):
        backups = dynamodb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
        arn = dynamodb.describe_table(TableName=table)["Table"]["TableArn"]
        tags = {t["Key"] for t in dynamodb.list_tags_of_resource(ResourceArn=arn)["Tags"]}
        assert tags >= REQUIRED_TAGS


def test_streams(applied: Applied, moto: Moto) -> None:
    kinesis = moto.client("kinesis")
    for stream in applied.outputs["platform_resources"]["value"]["streams"]:
        summary = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
        assert summary["EncryptionType"] == "KMS" and summary["KeyId"] == "alias/aws/kinesis"
        assert summary["StreamModeDetails"]["StreamMode"] == "ON_DEMAND"
        # order-events keeps 14 days, as long as the failure queue keeps pointers into it.
        assert summary["RetentionPeriodHours"] == (336 if stream.endswith("-order-events") else 24)
        tags = {t["Key"] for t in kinesis.list_tags_for_stream(StreamName=stream)["Tags"]}
        assert tags >= REQUIRED_TAGS, "tagged at creation (moto_patches/kinesis.py)"


def test_queues(applied: Applied, moto: Moto) -> None:
    sqs = moto.client("sqs")
    urls = applied.outputs["platform_resources"]["value"]["queues"]
    (dlq_url,) = [u for u in urls if u.endswith("-dlq")]
    (queue_url,) = [u for u in urls if not u.endswith("-dlq")]
    queue = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    dlq = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(queue["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq["QueueArn"] and int(redrive["maxReceiveCount"]) == 5
    assert queue["VisibilityTimeout"] == "180", "6 x the function's 30 s timeout"
    assert queue["SqsManagedSseEnabled"] == "true" and dlq["SqsManagedSseEnabled"] == "true"
    assert dlq["MessageRetentionPeriod"] == "1209600" and queue["MessageRetentionPeriod"] == "1209600"
    assert set(sqs.list_queue_tags(QueueUrl=queue_url).get("Tags", {})) >= REQUIRED_TAGS


def test_function_role_and_event_source_mapping(applied: Applied, moto: Moto) -> None:
    lam, iam = moto.client("lambda"), moto.client("iam")
    name = "ecommerce-data-platform-local-order-ingest"
    config = lam.get_function_configuration(FunctionName=name)
    assert config["Runtime"] == "python3.12" and config["Handler"] == "handler.lambda_handler"
    assert config["MemorySize"] == 256 and config["Timeout"] == 30
    variables = config["Environment"]["Variables"]
    assert set(variables) == {"RAW_BUCKET", "ORDERS_TABLE", "FAILURE_QUEUE_URL", "HMAC_SECRET_ARN"}
    secret = moto.client("secretsmanager").describe_secret(SecretId=variables["HMAC_SECRET_ARN"])
    assert secret["Name"] == "ecommerce-data-platform-local-order-ingest-hmac", "the key by reference, not value"
    assert config["Architectures"] == ["arm64"]
    role_name = config["Role"].rsplit("/", 1)[1]
    assert role_name == f"{name}-role"
    trust = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert trust["Statement"][0]["Principal"]["Service"] == "lambda.amazonaws.com"
    (policy_name,) = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    resources = {s["Sid"]: s["Resource"] for s in document["Statement"]}
    assert all(r != ["*"] for r in resources.values()), "tracing is off locally: no wildcard at all"
    assert resources["WriteObjects"] == ["arn:aws:s3:::ecommerce-data-platform-local-raw/*"]
    # moto filters FunctionName by the literal string the mapping was created with (an ARN).
    (mapping,) = [
        m for m in lam.list_event_source_mappings()["EventSourceMappings"] if m["FunctionArn"] == config["FunctionArn"]
    ]
    assert mapping["EventSourceArn"].endswith(":stream/ecommerce-data-platform-local-order-events")
    assert mapping["BatchSize"] == 100
    assert mapping["StartingPosition"] == "LATEST"
    logs = moto.client("logs")
    (group,) = logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")["logGroups"]
    assert group["retentionInDays"] == 7
    alarms = {
        a["MetricName"]
        for a in moto.client("cloudwatch").describe_alarms(AlarmNamePrefix=name)["MetricAlarms"]
        if a["Namespace"] == "AWS/Lambda"  # the prefix also matches the failure queue's alarms
    }
    assert alarms == {"Errors", "Throttles"}


def test_destroy_leaves_nothing(applied: Applied, terraform: Terraform, moto: Moto) -> None:
    terraform.at(moto.endpoint).run(
        applied.folder, "destroy", "-input=false", "-no-color", "-auto-approve", *applied.vars
    )
    state = terraform.run(applied.folder, "state", "list", check=False).stdout.split()
    assert state == []
    assert moto.client("s3").list_buckets()["Buckets"] == []
    assert moto.client("dynamodb").list_tables()["TableNames"] == []
    assert moto.client("kinesis").list_streams()["StreamNames"] == []
    assert moto.client("sqs").list_queues().get("QueueUrls", []) == []
    assert moto.client("lambda").list_functions()["Functions"] == []
    assert moto.client("lambda").list_event_source_mappings()["EventSourceMappings"] == []
    assert [r for r in moto.client("iam").list_roles()["Roles"] if "ecommerce" in r["RoleName"]] == []
    assert moto.client("cloudwatch").describe_alarms()["MetricAlarms"] == []
    assert moto.client("logs").describe_log_groups()["logGroups"] == []
