"""The data path of `up local`, end to end: the real order_ingest package (built by
platformctl.packaging), deployed by `platformctl up local` on platformctl's moto server,
reads the real order stream through its event source mapping and writes the raw bucket,
the orders table and the failure queue; `platformctl smoke local` proves it, and fails,
naming the check, when the function is broken.

platformctl runs as a real process against a copy of this repository, with the real
Terraform and the provider from the machine's mirror. One `up` is shared by the session
(integration/conftest.py, with test_up_local.py); tests that break the function put it back
in a `finally`, as `up` made it, so the platform's later readers find no drift.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import wait_for

from integration.local_platform import Platform
from platformctl.operate.smoke import mentions

pytestmark = pytest.mark.integration

PREFIX = "ecommerce-data-platform-local"
FUNCTION = f"{PREFIX}-order-ingest"
STREAM = f"{PREFIX}-order-events"
BUCKET = f"{PREFIX}-raw"
TABLE = f"{PREFIX}-orders"
QUEUE = f"{PREFIX}-order-ingest-failures"


def queue_url(platform: Platform) -> str:
    return str(platform.client("sqs").get_queue_url(QueueName=QUEUE)["QueueUrl"])


@pytest.fixture
def platform(shared_local_platform: Platform) -> Platform:
    """The session's one `up` (integration/conftest.py), shared with test_up_local.py."""
    return shared_local_platform


def receive_all(platform: Platform) -> list[dict[str, Any]]:
    sqs = platform.client("sqs")
    url = queue_url(platform)
    found = []
    # WaitTimeSeconds=0: the queue long-polls 20 s by default, which an empty queue would wait out.
    answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=0)
    for message in answer.get("Messages", []):
        found.append(json.loads(message["Body"]))
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


@pytest.fixture
def function_restored(platform: Platform) -> Iterator[Any]:
    """The deployed function, put back as `up` made it (code and configuration) afterwards."""
    lambda_client = platform.client("lambda")
    config = lambda_client.get_function_configuration(FunctionName=FUNCTION)
    package = (platform.root / "build" / "lambda" / "order_ingest.zip").read_bytes()
    try:
        yield lambda_client
    finally:
        lambda_client.update_function_configuration(
            FunctionName=FUNCTION, Environment=config["Environment"], Timeout=config["Timeout"]
        )
        lambda_client.update_function_code(FunctionName=FUNCTION, ZipFile=package)
        receive_all(platform)


def test_up_says_the_data_path_is_live(platform: Platform) -> None:
    assert "The data path is live" in platform.first_up_log
    assert "platformctl smoke local" in platform.first_up_log
    assert "does not run there without Docker" not in platform.first_up_log
    assert platform.first_up["notes"] and "smoke local" in platform.first_up["notes"][0]


def test_the_real_function_processes_a_batch_from_the_real_stream(platform: Platform) -> None:
    run = uuid.uuid4().hex[:8]
    orders = [
        {"order_id": f"it-{run}-{n}", "customer_id": f"c-{n}", "total": "12.50", "created_at": "2026-03-07T10:15:00Z"}
        for n in range(3)
    ]
    bad = {"customer_id": "c-9", "note": f"no order id {run}"}
    platform.client("kinesis").put_records(
        StreamName=STREAM,
        Records=[
            {"Data": json.dumps(event).encode(), "PartitionKey": str(n)} for n, event in enumerate([*orders, bad])
        ],
    )

    s3 = platform.client("s3")

    def objects_with_orders() -> dict[str, str]:
        found = {}
        for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
            text = s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read().decode()
            found.update({order["order_id"]: item["Key"] for order in orders if order["order_id"] in text})
        return found if len(found) == len(orders) else {}

    assert set(wait_for(objects_with_orders, timeout=60)) == {order["order_id"] for order in orders}
    table = platform.client("dynamodb")

    def rows_of_orders() -> list[str]:
        # The handler writes the batch's S3 object first, then the rows: wait for those too.
        keys = [{"order_id": {"S": order["order_id"]}} for order in orders]
        found = [table.get_item(TableName=TABLE, Key=key, ConsistentRead=True).get("Item") for key in keys]
        return [row["order_id"]["S"] for row in found] if all(found) else []

    assert wait_for(rows_of_orders, timeout=30) == [order["order_id"] for order in orders]

    def bad_record() -> list[dict[str, Any]]:
        # The record itself, plain or as the base64 Kinesis carried it.
        return [body for body in receive_all(platform) if mentions(json.dumps(body), f"no order id {run}")]

    assert wait_for(bad_record, timeout=30)

    # status shows the mapping, enabled, and the batch it delivered last.
    result = platform.run("--json", "status")
    status = json.loads(result.stdout)
    [mapping] = status["event_source_mappings"]
    assert mapping["function"] == FUNCTION and mapping["source"] == STREAM
    assert mapping["state"] == "Enabled" and mapping["last_processing_result"] == "OK"
    assert mapping["last_batch"]["result"] == "OK" and mapping["records"] >= 4


def test_smoke_local_is_green_and_cleans_up(platform: Platform) -> None:
    result = platform.run("--json", "smoke", "local", "--count", "5")
    assert result.returncode == 0, result.stdout + result.stderr[-4000:]
    outcome = json.loads(result.stdout)
    assert outcome["passed"] is True and outcome["failed"] == []
    assert [c["name"] for c in outcome["checks"]] == ["stream", "raw bucket", "orders table", "failure queue"]
    assert all(c["ok"] and c["seconds"] is not None for c in outcome["checks"])
    assert outcome["targets"]["table"] == TABLE and outcome["targets"]["bucket"] == BUCKET
    cleanup = outcome["cleanup"]
    assert cleanup["items"] == 5 and cleanup["objects"] >= 1 and cleanup["messages"] >= 1
    assert cleanup["errors"] == []
    # Nothing of the run is left behind.
    run_id = outcome["run_id"]
    items = platform.client("dynamodb").scan(TableName=TABLE)["Items"]
    assert not [i for i in items if run_id in i["order_id"]["S"]]
    s3 = platform.client("s3")
    for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        assert run_id not in s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read().decode()


def test_smoke_human_output_names_every_check(platform: Platform) -> None:
    result = platform.run("--no-color", "smoke", "local", "--count", "2")
    assert result.returncode == 0, result.stdout + result.stderr[-4000:]
    for name in ("stream", "raw bucket", "orders table", "failure queue"):
        assert name in result.stdout
    assert "all orders arrived" in result.stdout and "Removed" in result.stderr


def test_smoke_is_red_naming_the_table_when_the_function_points_at_a_missing_table(
    platform: Platform, function_restored: Any
) -> None:
    config = function_restored.get_function_configuration(FunctionName=FUNCTION)
    variables = {**config["Environment"]["Variables"], "ORDERS_TABLE": "no-such-table"}
    function_restored.update_function_configuration(FunctionName=FUNCTION, Environment={"Variables": variables})
    result = platform.run("--json", "smoke", "local", "--count", "3", "--timeout", "15")
    assert result.returncode == 1, result.stdout + result.stderr[-4000:]
    outcome = json.loads(result.stdout)
    assert outcome["passed"] is False and outcome["failed"] == ["orders table"]
    table = next(c for c in outcome["checks"] if c["name"] == "orders table")
    assert table["detail"].startswith("0/3 orders after 15 s")
    # Why: the mapping's on-failure records of the run's batches, found in the failure queue.
    assert re.search(r"the function failed on \d+ smoke record\(s\) \(RetryAttemptsExhausted", table["detail"])


def test_a_raising_function_goes_through_its_retries_to_the_on_failure_queue(
    platform: Platform, function_restored: Any
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def lambda_handler(event, context):\n    raise RuntimeError('down')\n")
    function_restored.update_function_code(FunctionName=FUNCTION, ZipFile=buffer.getvalue())
    receive_all(platform)
    answer = platform.client("kinesis").put_record(StreamName=STREAM, Data=b'{"order_id": "x"}', PartitionKey="k")
    records = wait_for(lambda: [r for r in receive_all(platform) if "KinesisBatchInfo" in r], timeout=60)
    [record] = records
    assert record["KinesisBatchInfo"]["startSequenceNumber"] == answer["SequenceNumber"]
    assert record["KinesisBatchInfo"]["shardId"] == answer["ShardId"]
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 4, "the first try and maximum_retry_attempts = 3"
    assert record["responseContext"]["functionError"] == "Unhandled"


# --- the path dev takes: real AWS, ambient credentials, no emulator record -----------------

BATCH_HANDLER = '''
import base64, json, os
from datetime import datetime, timezone
import boto3

def handler(event, context):
    """One NDJSON object per batch under Hive partitions, as a rewritten order_ingest may write."""
    good, now = [], datetime.now(timezone.utc)
    for record in event["Records"]:
        raw = base64.b64decode(record["kinesis"]["data"])
        order = json.loads(raw)
        if not order.get("order_id"):
            boto3.client("sqs").send_message(QueueUrl=os.environ["FAILURE_QUEUE_URL"], MessageBody=json.dumps(
                {"error": "missing order_id", "record": record}))
            continue
        good.append(order)
        boto3.client("dynamodb").put_item(TableName=os.environ["ORDERS_TABLE"],
                                          Item={"order_id": {"S": order["order_id"]}})
    if good:
        key = f"{os.environ['RAW_PREFIX']}/dt={now:%Y-%m-%d}/hour={now:%H}/{context.aws_request_id}.ndjson"
        boto3.client("s3").put_object(Bucket=os.environ["RAW_BUCKET"], Key=key,
                                      Body="".join(json.dumps(o) + "\\n" for o in good).encode())
    return {"batchItemFailures": []}
'''


def test_the_check_dev_runs_works_on_ambient_credentials_whatever_the_object_layout(tmp_path: Path) -> None:
    """`python -m platformctl.operate.smoke`, the child dev's smoke runs under aws-vault: no endpoint
    of its own (AWS_ENDPOINT_URL stands in for real AWS here), the outputs it is given, and a
    function that writes one NDJSON object per batch under dt=/hour= partitions."""
    from integration.lambda_server import Server

    server = Server(tmp_path)
    try:
        aws = server.client
        aws("s3").create_bucket(Bucket="raw")
        aws("dynamodb").create_table(
            TableName="orders",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
        )
        queue = aws("sqs").create_queue(QueueName="failures")["QueueUrl"]
        aws("kinesis").create_stream(StreamName="orders", ShardCount=2)
        summary = aws("kinesis").describe_stream_summary(StreamName="orders")["StreamDescriptionSummary"]
        stream_arn = summary["StreamARN"]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("batch.py", BATCH_HANDLER)
        role = aws("iam").create_role(RoleName="ingest", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        aws("lambda").create_function(
            FunctionName="ingest",
            Runtime="python3.12",
            Role=role,
            Handler="batch.handler",
            Code={"ZipFile": buffer.getvalue()},
            Timeout=10,
            Environment={
                "Variables": {
                    "RAW_BUCKET": "raw",
                    "RAW_PREFIX": "orders",
                    "ORDERS_TABLE": "orders",
                    "FAILURE_QUEUE_URL": queue,
                }
            },
        )
        aws("lambda").create_event_source_mapping(
            FunctionName="ingest",
            EventSourceArn=stream_arn,
            StartingPosition="TRIM_HORIZON",
            BatchSize=100,
            MaximumBatchingWindowInSeconds=0,
        )
        outputs = {
            "function_name": "ingest",
            "stream_names": {"order_events": "orders"},
            "bucket_names": {"raw": "raw"},
            "table_names": {"orders": "orders"},
            "queue_urls": {"order_ingest_failures": queue},
        }
        env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
        env.update(
            AWS_ENDPOINT_URL=server.endpoint,
            AWS_ACCESS_KEY_ID="test",
            AWS_SECRET_ACCESS_KEY="test",
            AWS_CONFIG_FILE=os.devnull,
        )
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "platformctl.operate.smoke",
                "--environment",
                "dev",
                "--region",
                "us-east-1",
                "--outputs",
                json.dumps(outputs),
                "--count",
                "4",
                "--timeout",
                "30",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr[-3000:]
        outcome = json.loads(result.stdout)
        assert outcome["passed"] is True, outcome
        assert outcome["targets"]["prefix"] == "orders"
        assert outcome["cleanup"]["items"] == 4 and outcome["cleanup"]["objects"] >= 1
        assert aws("s3").list_objects_v2(Bucket="raw").get("KeyCount", 0) == 0, "the run's objects are removed"
        assert aws("dynamodb").scan(TableName="orders")["Count"] == 0
    finally:
        server.stop()
