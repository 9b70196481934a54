"""Unit tests of functions/order_ingest/handler.py against moto's in-process mock_aws."""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import boto3
import pytest
from moto import mock_aws

HANDLER = Path(__file__).resolve().parents[2] / "functions" / "order_ingest" / "handler.py"
REGION = "us-east-1"
BUCKET = "ecommerce-data-platform-test-raw"
TABLE = "ecommerce-data-platform-test-orders"
QUEUE = "ecommerce-data-platform-test-order-ingest-failures"
SECRET_NAME = "ecommerce-data-platform-test-order-ingest-hmac"
ARRIVAL = 1767225600.0  # 2026-01-01T00:00:00Z


def load_handler() -> ModuleType:
    """A fresh import, so the per-process caches (clients, table, key) start empty."""
    spec = importlib.util.spec_from_file_location("order_ingest_handler", HANDLER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["order_ingest_handler"] = module
    spec.loader.exec_module(module)
    return module


def record(payload: bytes | dict, sequence: str, arrival: float = ARRIVAL) -> dict:
    data = json.dumps(payload).encode() if isinstance(payload, dict) else payload
    return {
        "eventSource": "aws:kinesis",
        "eventID": f"shardId-000000000000:{sequence}",
        "eventSourceARN": "arn:aws:kinesis:us-east-1:000000000000:stream/order-events",
        "kinesis": {
            "data": base64.b64encode(data).decode(),
            "sequenceNumber": sequence,
            "partitionKey": "p",
            "approximateArrivalTimestamp": arrival,
        },
    }


def objects() -> dict[str, list[dict]]:
    """Every object of the raw bucket, parsed as newline-delimited JSON."""
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {
        o["Key"]: [json.loads(line) for line in s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read().splitlines()]
        for o in listed
    }


def failure_messages(queue_url: str) -> list[dict]:
    found = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in found]


def orders_table():
    return boto3.resource("dynamodb").Table(TABLE)


class Aws:
    queue_url: str
    hmac_key: bytes


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
        secrets = boto3.client("secretsmanager")
        key = secrets.get_random_password(PasswordLength=64, ExcludePunctuation=True)["RandomPassword"]
        secret_arn = secrets.create_secret(Name=SECRET_NAME, SecretString=key)["ARN"]
        state = Aws()
        state.queue_url = boto3.client("sqs").create_queue(QueueName=QUEUE)["QueueUrl"]
        state.hmac_key = key.encode()
        monkeypatch.setenv("RAW_BUCKET", BUCKET)
        monkeypatch.setenv("ORDERS_TABLE", TABLE)
        monkeypatch.setenv("FAILURE_QUEUE_URL", state.queue_url)
        monkeypatch.setenv("HMAC_SECRET_ARN", secret_arn)
        yield state


def test_a_batch_is_one_ndjson_object_per_hive_partition(aws: Aws) -> None:
    handler = load_handler()
    batch = [record({"order_id": f"o-{i}", "total": 10.5 + i}, str(100 + i)) for i in range(5)]
    batch.append(record({"order_id": "o-late", "created_at": "2026-03-07T10:15:00Z"}, "200"))

    result = handler.lambda_handler({"Records": batch})

    assert result == {"batchItemFailures": []}
    found = objects()
    assert sorted(found) == [
        "orders/dt=2026-01-01/hour=00/shardId-000000000000-100-104.json",  # arrival time: no time in the events
        "orders/dt=2026-03-07/hour=10/shardId-000000000000-200-200.json",  # the event's own created_at
    ]
    lines = found["orders/dt=2026-01-01/hour=00/shardId-000000000000-100-104.json"]
    assert [line["order_id"] for line in lines] == [f"o-{i}" for i in range(5)]
    assert [line["kinesis_sequence_number"] for line in lines] == [str(100 + i) for i in range(5)]
    assert lines[2]["total"] == 12.5
    assert orders_table().scan()["Count"] == 6


def test_customer_identifiers_are_pseudonymized_in_raw_only(aws: Aws) -> None:
    handler = load_handler()
    order = {"order_id": "o-1", "customer_id": "c-9", "email": "ada@example.com", "total": 42}

    handler.lambda_handler({"Records": [record(order, "7")]})

    ((key, [line]),) = objects().items()
    expected = {
        field: hmac.new(aws.hmac_key, order[field].encode(), hashlib.sha256).hexdigest()
        for field in ("customer_id", "email")
    }
    assert line["customer_id"] == expected["customer_id"] and line["email"] == expected["email"]
    body = boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert b"c-9" not in body and b"ada@example.com" not in body
    item = orders_table().get_item(Key={"order_id": "o-1"})["Item"]
    assert item["customer_id"] == "c-9", "the operational table keeps the identifier its GSI is keyed on"


def test_an_older_event_never_overwrites_a_newer_order(aws: Aws) -> None:
    handler = load_handler()
    newer = {"order_id": "o-2", "status": "SHIPPED", "version": 3}
    older = {"order_id": "o-2", "status": "PLACED", "version": 2}

    first = handler.lambda_handler({"Records": [record(newer, "1")]})
    second = handler.lambda_handler({"Records": [record(older, "2"), record(newer, "3")]})

    assert first == second == {"batchItemFailures": []}, "a stale event is ignored, not retried"
    item = orders_table().get_item(Key={"order_id": "o-2"})["Item"]
    assert item["status"] == "SHIPPED" and item["event_version"] == 3 and item["kinesis_sequence_number"] == "1"


def test_an_item_from_before_event_versions_is_updated(aws: Aws) -> None:
    handler = load_handler()
    orders_table().put_item(Item={"order_id": "o-legacy", "status": "PLACED"})

    handler.lambda_handler({"Records": [record({"order_id": "o-legacy", "status": "PAID", "version": 1}, "1")]})

    assert orders_table().get_item(Key={"order_id": "o-legacy"})["Item"]["status"] == "PAID"


def test_without_a_version_the_event_time_orders_events(aws: Aws) -> None:
    handler = load_handler()
    later = {"order_id": "o-3", "status": "PAID", "updated_at": "2026-02-01T12:00:00Z"}
    earlier = {"order_id": "o-3", "status": "PLACED", "updated_at": "2026-02-01T11:00:00Z"}

    handler.lambda_handler({"Records": [record(later, "1"), record(earlier, "2")]})

    assert orders_table().get_item(Key={"order_id": "o-3"})["Item"]["status"] == "PAID"
    newest = {**later, "status": "SHIPPED", "updated_at": "2026-02-01T13:00:00Z"}
    handler.lambda_handler({"Records": [record(newest, "3")]})
    assert orders_table().get_item(Key={"order_id": "o-3"})["Item"]["status"] == "SHIPPED"


@pytest.mark.parametrize(
    "payload, reason",
    [
        (b"{not json", "not a base64 JSON document"),
        (b'["a list"]', "not a JSON object"),
        (b'{"customer_id": "c-1"}', "no order_id"),
        (b'{"order_id": "o-x", "customer_id": 42}', "customer_id is not a string"),
        (b'{"order_id": "o-x", "version": "7"}', "version is not a non-negative integer"),
    ],
)
def test_a_bad_record_goes_to_the_failure_queue_at_once(aws: Aws, payload: bytes, reason: str) -> None:
    handler = load_handler()

    result = handler.lambda_handler({"Records": [record(payload, "7"), record({"order_id": "o-3"}, "8")]})

    assert result == {"batchItemFailures": []}, "a validation error is not retried as transient"
    (body,) = failure_messages(aws.queue_url)
    assert reason in body["reason"]
    assert body["sequenceNumber"] == "7" and body["eventSourceARN"].endswith("stream/order-events")
    assert base64.b64decode(body["data"]) == payload, "the failure queue carries the record itself"
    assert orders_table().get_item(Key={"order_id": "o-3"})["Item"], "the good record still lands"


def test_a_failure_queue_that_is_down_makes_the_bad_record_transient(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    handler = load_handler()
    monkeypatch.setenv("FAILURE_QUEUE_URL", aws.queue_url + "-missing")

    result = handler.lambda_handler({"Records": [record(b"{not json", "5"), record({"order_id": "o-4"}, "6")]})

    assert result == {"batchItemFailures": [{"itemIdentifier": "5"}]}


def test_a_raw_bucket_failure_is_retried_and_nothing_upserted(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    handler = load_handler()
    monkeypatch.setenv("RAW_BUCKET", "no-such-bucket")

    result = handler.lambda_handler({"Records": [record({"order_id": "o-4"}, "9"), record({"order_id": "o-5"}, "10")]})

    assert result == {"batchItemFailures": [{"itemIdentifier": "9"}, {"itemIdentifier": "10"}]}
    assert orders_table().scan()["Count"] == 0, "an order is upserted only once its raw copy is stored"
    assert failure_messages(aws.queue_url) == []


def test_a_table_failure_is_reported_for_retry(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    handler = load_handler()
    monkeypatch.setenv("ORDERS_TABLE", "no-such-table")

    result = handler.lambda_handler({"Records": [record({"order_id": "o-6"}, "11")]})

    assert result == {"batchItemFailures": [{"itemIdentifier": "11"}]}
    assert failure_messages(aws.queue_url) == []


def test_an_unreadable_hmac_key_fails_the_batch_for_retry(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    handler = load_handler()
    monkeypatch.setenv("HMAC_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf")

    result = handler.lambda_handler({"Records": [record({"order_id": "o-7", "customer_id": "c-1"}, "12")]})

    assert result == {"batchItemFailures": [{"itemIdentifier": "12"}]}
    assert objects() == {} and orders_table().scan()["Count"] == 0


def test_clients_and_the_key_are_made_once_per_process(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    handler = load_handler()
    made: Counter[str] = Counter()
    client, resource = boto3.client, boto3.resource

    def counted_client(name: str, *args, **kwargs):
        made.update([name])
        return client(name, *args, **kwargs)

    def counted_resource(name: str, *args, **kwargs):
        made.update([f"resource:{name}"])
        return resource(name, *args, **kwargs)

    monkeypatch.setattr(boto3, "client", counted_client)
    monkeypatch.setattr(boto3, "resource", counted_resource)
    reads = Counter[str]()
    secrets = client("secretsmanager")
    original = secrets.get_secret_value

    for invocation in range(3):
        batch = [record({"order_id": f"o-{invocation}-{i}"}, f"{invocation}{i:03}") for i in range(20)]
        batch.append(record(b"{not json", f"{invocation}999"))
        assert handler.lambda_handler({"Records": batch}) == {"batchItemFailures": []}
        if invocation == 0:
            made_secrets = handler._clients["secretsmanager"]
            monkeypatch.setattr(
                made_secrets, "get_secret_value", lambda **k: (reads.update(["read"]), original(**k))[1]
            )

    assert made == {"s3": 1, "sqs": 1, "secretsmanager": 1, "resource:dynamodb": 1}
    assert reads == {}, "the key is read once per process, not per invocation"
    assert orders_table().scan()["Count"] == 60


def test_partition_and_key_layout() -> None:
    from datetime import UTC, datetime

    handler = load_handler()
    when = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
    assert handler.partition("orders", when) == "orders/dt=2026-12-31/hour=23/"
    assert handler.raw_key("orders", when, "shardId-000000000001", "1", "9") == (
        "orders/dt=2026-12-31/hour=23/shardId-000000000001-1-9.json"
    )
