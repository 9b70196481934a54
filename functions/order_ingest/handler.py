"""order_ingest: Kinesis order events -> raw S3 zone + DynamoDB orders table.

For every record of a Kinesis batch the handler
1. decodes the base64 payload as a JSON order event,
2. writes the event unchanged to the raw bucket under a date-partitioned key
   (``orders/year=YYYY/month=MM/day=DD/<order_id>-<sequence_number>.json``),
3. upserts the order in the orders table (keyed by ``order_id``),
4. and sends a record it cannot parse or that lacks an ``order_id`` to the failure queue
   instead of failing the batch (a poison record must not block its shard).

Errors of AWS itself (throttling, access denied) are not swallowed: the record is reported
in ``batchItemFailures`` so the event source mapping bisects and retries the batch, then
hands what still fails to its on-failure destination.

Configuration comes from the environment only: RAW_BUCKET, ORDERS_TABLE,
FAILURE_QUEUE_URL, and optionally RAW_PREFIX (default "orders").
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3

logger = logging.getLogger()
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO"))

# Clients are created once per execution environment and reused across invocations.
_clients: dict[str, Any] = {}


def _client(name: str) -> Any:
    if name not in _clients:
        _clients[name] = boto3.client(name)
    return _clients[name]


class BadRecord(ValueError):
    """A record that can never succeed: sent to the failure queue, not retried."""


def _decode(record: dict[str, Any]) -> dict[str, Any]:
    try:
        raw = base64.b64decode(record["kinesis"]["data"], validate=True)
        event = json.loads(raw, parse_float=Decimal)
    except (KeyError, binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRecord(f"not a base64 JSON document: {exc}") from exc
    if not isinstance(event, dict):
        raise BadRecord("the event is not a JSON object")
    order_id = event.get("order_id")
    if not isinstance(order_id, str) or not order_id:
        raise BadRecord("the event has no order_id")
    return event


def _event_time(record: dict[str, Any], event: dict[str, Any]) -> datetime:
    """The order's own timestamp when it has a valid one, else the record's arrival time."""
    stamp = event.get("created_at") or event.get("timestamp")
    if isinstance(stamp, str):
        try:
            parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            pass
    arrival = record.get("kinesis", {}).get("approximateArrivalTimestamp")
    if isinstance(arrival, (int, float)):
        return datetime.fromtimestamp(arrival, tz=UTC)
    return datetime.now(tz=UTC)


def raw_key(prefix: str, order_id: str, sequence_number: str, when: datetime) -> str:
    """Hive-style date partitions, so Athena/Glue can prune by day."""
    when = when.astimezone(UTC)
    return (
        f"{prefix}/year={when:%Y}/month={when:%m}/day={when:%d}/"
        f"{order_id}-{sequence_number}.json"
    )


def _store(record: dict[str, Any], event: dict[str, Any]) -> None:
    bucket = os.environ["RAW_BUCKET"]
    table = os.environ["ORDERS_TABLE"]
    prefix = os.environ.get("RAW_PREFIX", "orders")
    sequence = record.get("kinesis", {}).get("sequenceNumber", "0")
    when = _event_time(record, event)
    body = base64.b64decode(record["kinesis"]["data"])

    _client("s3").put_object(
        Bucket=bucket,
        Key=raw_key(prefix, event["order_id"], sequence, when),
        Body=body,
        ContentType="application/json",
    )

    # Upsert: the latest event for an order wins, keyed by order_id.
    boto3.resource("dynamodb").Table(table).put_item(
        Item={
            **event,
            "ingested_at": datetime.now(tz=UTC).isoformat(),
            "event_time": when.isoformat(),
            "kinesis_sequence_number": sequence,
        }
    )


def _send_failure(record: dict[str, Any], reason: str) -> None:
    _client("sqs").send_message(
        QueueUrl=os.environ["FAILURE_QUEUE_URL"],
        MessageBody=json.dumps(
            {
                "reason": reason,
                "sequenceNumber": record.get("kinesis", {}).get("sequenceNumber"),
                "partitionKey": record.get("kinesis", {}).get("partitionKey"),
                "data": record.get("kinesis", {}).get("data"),
                "eventSourceARN": record.get("eventSourceARN"),
            }
        ),
    )


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    records = event.get("Records", [])
    failures: list[dict[str, str]] = []
    stored = rejected = 0
    for record in records:
        sequence = record.get("kinesis", {}).get("sequenceNumber", "")
        try:
            order = _decode(record)
        except BadRecord as exc:
            logger.warning("rejecting record %s: %s", sequence, exc)
            try:
                _send_failure(record, str(exc))
                rejected += 1
            except Exception:  # the queue is down: let Lambda retry (logged with its traceback)
                logger.exception("could not send record %s to the failure queue", sequence)
                failures.append({"itemIdentifier": sequence})
            continue
        try:
            _store(record, order)
            stored += 1
        except Exception:  # transient AWS errors: retried by the mapping (logged with its traceback)
            logger.exception("could not store record %s", sequence)
            failures.append({"itemIdentifier": sequence})
    logger.info(
        json.dumps({"records": len(records), "stored": stored, "rejected": rejected, "failed": len(failures)})
    )
    return {"batchItemFailures": failures}
