"""Unit tests of functions/order_ingest/handler.py against moto's in-process mock_aws."""

from __future__ import annotations

import base64
import importlib.util
import json
import sys
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

HANDLER = Path(__file__).resolve().parents[2] / "functions" / "order_ingest" / "handler.py"
REGION = "us-east-1"
BUCKET = "ecommerce-data-platform-test-raw"
TABLE = "ecommerce-data-platform-test-orders"
QUEUE = "ecommerce-data-platform-test-order-ingest-failures"


def load_handler():
    spec = importlib.util.spec_from_file_location("order_ingest_handler", HANDLER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["order_ingest_handler"] = module
    spec.loader.exec_module(module)
    return module


def record(payload: bytes, sequence: str, arrival: float = 1767225600.0) -> dict:
    return {
        "eventSource": "aws:kinesis",
        "eventSourceARN": "arn:aws:kinesis:us-east-1:000000000000:stream/order-events",
        "kinesis": {
            "data": base64.b64encode(payload).decode(),
            "sequenceNumber": sequence,
            "partitionKey": "p",
            "approximateArrivalTimestamp": arrival,
        },
    }


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        boto3.client("dynamodb").create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        queue_url = boto3.client("sqs").create_queue(QueueName=QUEUE)["QueueUrl"]
        monkeypatch.setenv("RAW_BUCKET", BUCKET)
        monkeypatch.setenv("ORDERS_TABLE", TABLE)
        monkeypatch.setenv("FAILURE_QUEUE_URL", queue_url)
        yield queue_url


def test_good_record_is_stored_raw_and_upserted(aws: str) -> None:
    handler = load_handler()
    order = {"order_id": "o-1", "customer_id": "c-9", "total": 42.5, "created_at": "2026-03-07T10:15:00Z"}
    raw = json.dumps(order).encode()

    result = handler.lambda_handler({"Records": [record(raw, "100")]})

    assert result == {"batchItemFailures": []}
    s3 = boto3.client("s3")
    key = "orders/year=2026/month=03/day=07/o-1-100.json"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == [key]
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == raw
    item = boto3.resource("dynamodb").Table(TABLE).get_item(Key={"order_id": "o-1"})["Item"]
    assert item["customer_id"] == "c-9" and str(item["total"]) == "42.5"
    assert item["kinesis_sequence_number"] == "100"
    messages = boto3.client("sqs").receive_message(QueueUrl=aws).get("Messages", [])
    assert messages == []


def test_later_event_upserts_the_same_order(aws: str) -> None:
    handler = load_handler()
    first = json.dumps({"order_id": "o-2", "status": "PLACED"}).encode()
    second = json.dumps({"order_id": "o-2", "status": "SHIPPED"}).encode()

    handler.lambda_handler({"Records": [record(first, "1"), record(second, "2")]})

    table = boto3.resource("dynamodb").Table(TABLE)
    assert table.scan()["Count"] == 1
    assert table.get_item(Key={"order_id": "o-2"})["Item"]["status"] == "SHIPPED"
    # Without created_at, the partition is the record's arrival day (2026-01-01).
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == ["orders/year=2026/month=01/day=01/o-2-1.json", "orders/year=2026/month=01/day=01/o-2-2.json"]


@pytest.mark.parametrize(
    "payload, reason",
    [
        (b"{not json", "not a base64 JSON document"),
        (b'["a list"]', "not a JSON object"),
        (b'{"customer_id": "c-1"}', "no order_id"),
    ],
)
def test_bad_record_goes_to_the_failure_queue(aws: str, payload: bytes, reason: str) -> None:
    handler = load_handler()
    good = json.dumps({"order_id": "o-3"}).encode()

    result = handler.lambda_handler({"Records": [record(payload, "7"), record(good, "8")]})

    assert result == {"batchItemFailures": []}, "a poison record must not block the shard"
    (message,) = boto3.client("sqs").receive_message(QueueUrl=aws, MaxNumberOfMessages=10)["Messages"]
    body = json.loads(message["Body"])
    assert reason in body["reason"]
    assert body["sequenceNumber"] == "7"
    assert base64.b64decode(body["data"]) == payload
    stored = boto3.resource("dynamodb").Table(TABLE).get_item(Key={"order_id": "o-3"})
    assert stored["Item"], "the good record still lands"


def test_aws_failure_is_reported_for_retry(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    handler = load_handler()
    monkeypatch.setenv("RAW_BUCKET", "no-such-bucket")

    result = handler.lambda_handler({"Records": [record(json.dumps({"order_id": "o-4"}).encode(), "9")]})

    assert result == {"batchItemFailures": [{"itemIdentifier": "9"}]}
    assert boto3.client("sqs").receive_message(QueueUrl=aws).get("Messages", []) == []


def test_raw_key_is_date_partitioned() -> None:
    from datetime import UTC, datetime

    handler = load_handler()
    when = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
    assert handler.raw_key("orders", "o-5", "123", when) == "orders/year=2026/month=12/day=31/o-5-123.json"
