"""order_ingest: Kinesis order events -> raw S3 zone + DynamoDB orders table.

For one Kinesis batch the handler
1. decodes every record's base64 payload as a JSON order event and validates it; a record
   that can never succeed (not JSON, not an object, no order_id, a field of the wrong type)
   goes to the failure queue at once, with its data, and is not retried;
2. writes the valid events to the raw bucket as one newline-delimited JSON object per
   Hive-style partition of the batch (``<prefix>/dt=YYYY-MM-DD/hour=HH/<shard>-<first>-<last>.json``,
   named by the shard and the batch's first and last sequence numbers, so a retried batch
   overwrites its own object), with customer_id and email replaced by an HMAC-SHA256 keyed with the secret
   named by HMAC_SECRET_ARN: no customer identifier lands in the raw bucket;
3. upserts every order in the orders table (keyed by ``order_id``) on the condition that the
   stored order is older (``event_version``: the event's integer ``version`` when it has one,
   else its timestamp in epoch microseconds), so a late or replayed event never overwrites a
   newer order; a ConditionalCheckFailed is a stale event, counted and ignored.

Errors of AWS itself (throttling, access denied, a failure queue that is down) are transient:
the record is reported in ``batchItemFailures`` (ReportBatchItemFailures), so the event source
mapping retries from it, bisects, and hands what still fails to its on-failure destination.

Configuration comes from the environment only: RAW_BUCKET, ORDERS_TABLE, FAILURE_QUEUE_URL,
HMAC_SECRET_ARN, and optionally RAW_PREFIX (default "orders"). Clients, the table resource
and the HMAC key are created once per execution environment, on first use.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
from botocore.exceptions import ClientError

logger = logging.getLogger()
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO"))

PSEUDONYMIZED_FIELDS = ("customer_id", "email")

# One client per service, the orders table and the HMAC key: created on first use, then
# reused by every record and every invocation of this execution environment.
_clients: dict[str, Any] = {}
_tables: dict[str, Any] = {}
_hmac_keys: dict[str, bytes] = {}


def _client(name: str) -> Any:
    if name not in _clients:
        _clients[name] = boto3.client(name)
    return _clients[name]


def _orders_table() -> Any:
    name = os.environ["ORDERS_TABLE"]
    if name not in _tables:
        _tables[name] = boto3.resource("dynamodb").Table(name)
    return _tables[name]


def _hmac_key() -> bytes:
    arn = os.environ["HMAC_SECRET_ARN"]
    if arn not in _hmac_keys:
        secret = _client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
        _hmac_keys[arn] = secret.encode()
    return _hmac_keys[arn]


class BadRecord(ValueError):
    """A record that can never succeed: sent to the failure queue, not retried."""


@dataclass
class Order:
    record: dict[str, Any]
    event: dict[str, Any]
    sequence: str
    when: datetime
    version: int


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
    for field in PSEUDONYMIZED_FIELDS:
        if field in event and not isinstance(event[field], str):
            raise BadRecord(f"the event's {field} is not a string")
    version = event.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 0):
        raise BadRecord("the event's version is not a non-negative integer")
    return event


def _event_time(record: dict[str, Any], event: dict[str, Any]) -> datetime:
    """The order's own timestamp when it has a valid one, else the record's arrival time."""
    stamp = event.get("updated_at") or event.get("created_at") or event.get("timestamp")
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


def event_version(event: dict[str, Any], when: datetime) -> int:
    """What orders events of one order: the producer's version, else the event time (µs)."""
    version = event.get("version")
    if isinstance(version, int):
        return version
    return int(when.timestamp() * 1_000_000)


def partition(prefix: str, when: datetime) -> str:
    """Hive-style partitions (dt=, hour=), the layout Athena and Glue prune by."""
    when = when.astimezone(UTC)
    return f"{prefix}/dt={when:%Y-%m-%d}/hour={when:%H}/"


def raw_key(prefix: str, when: datetime, shard: str, first_sequence: str, last_sequence: str) -> str:
    return f"{partition(prefix, when)}{shard}-{first_sequence}-{last_sequence}.json"


def _shard(record: dict[str, Any]) -> str:
    """The record's shard (eventID is "<shardId>:<sequenceNumber>"); sequence numbers are
    unique within a shard only."""
    event_id = record.get("eventID")
    return event_id.split(":", 1)[0] if isinstance(event_id, str) and ":" in event_id else "shard"


def pseudonymize(event: dict[str, Any], key: bytes) -> dict[str, Any]:
    """The event with customer_id and email replaced by their HMAC-SHA256 (hex)."""
    out = dict(event)
    for field in PSEUDONYMIZED_FIELDS:
        if isinstance(out.get(field), str):
            out[field] = hmac.new(key, out[field].encode(), hashlib.sha256).hexdigest()
    return out


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


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


def _write_raw(orders: list[Order]) -> set[str]:
    """One NDJSON object per partition; the sequence numbers of the orders not written."""
    prefix = os.environ.get("RAW_PREFIX", "orders")
    try:
        key = _hmac_key()
    except Exception:  # Secrets Manager unreachable: nothing can be written (traceback logged)
        logger.exception("could not read the HMAC key")
        return {order.sequence for order in orders}
    groups: dict[str, list[Order]] = {}
    for order in orders:
        groups.setdefault(partition(prefix, order.when), []).append(order)
    ingested_at = datetime.now(tz=UTC).isoformat()
    failed: set[str] = set()
    for group in groups.values():
        lines = [
            json.dumps(
                {**pseudonymize(o.event, key), "kinesis_sequence_number": o.sequence, "ingested_at": ingested_at},
                default=_json_default,
                separators=(",", ":"),
            )
            for o in group
        ]
        try:
            _client("s3").put_object(
                Bucket=os.environ["RAW_BUCKET"],
                Key=raw_key(prefix, group[0].when, _shard(group[0].record), group[0].sequence, group[-1].sequence),
                Body=("\n".join(lines) + "\n").encode(),
                ContentType="application/x-ndjson",
            )
        except Exception:  # transient AWS error: retried by the mapping (traceback logged)
            logger.exception("could not write %d records to the raw bucket", len(group))
            failed.update(o.sequence for o in group)
    return failed


def _upsert(order: Order) -> bool:
    """Put the order unless the table holds a newer one; False when the event was stale."""
    try:
        _orders_table().put_item(
            Item={
                **order.event,
                "ingested_at": datetime.now(tz=UTC).isoformat(),
                "event_time": order.when.isoformat(),
                "event_version": order.version,
                "kinesis_sequence_number": order.sequence,
            },
            # New order, an item written before event_version existed, or an older event.
            ConditionExpression=(
                "attribute_not_exists(order_id) OR attribute_not_exists(event_version) OR event_version < :version"
            ),
            ExpressionAttributeValues={":version": order.version},
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _validate(records: list[dict[str, Any]], failures: list[dict[str, str]]) -> tuple[list[Order], int]:
    """Valid orders; bad records go to the failure queue (or, if it is down, to `failures`)."""
    orders: list[Order] = []
    rejected = 0
    for record in records:
        sequence = record.get("kinesis", {}).get("sequenceNumber", "")
        try:
            event = _decode(record)
        except BadRecord as exc:
            logger.warning("rejecting record %s: %s", sequence, exc)
            try:
                _send_failure(record, str(exc))
                rejected += 1
            except Exception:  # the queue is down: let Lambda retry (logged with its traceback)
                logger.exception("could not send record %s to the failure queue", sequence)
                failures.append({"itemIdentifier": sequence})
            continue
        when = _event_time(record, event)
        orders.append(Order(record, event, sequence, when, event_version(event, when)))
    return orders, rejected


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    records = event.get("Records", [])
    failures: list[dict[str, str]] = []
    orders, rejected = _validate(records, failures)
    not_written = _write_raw(orders) if orders else set()
    stored = stale = 0
    for order in orders:
        if order.sequence in not_written:
            failures.append({"itemIdentifier": order.sequence})
            continue
        try:
            if _upsert(order):
                stored += 1
            else:
                stale += 1
        except Exception:  # transient AWS errors: retried by the mapping (logged with its traceback)
            logger.exception("could not upsert record %s", order.sequence)
            failures.append({"itemIdentifier": order.sequence})
    logger.info(
        json.dumps(
            {"records": len(records), "stored": stored, "stale": stale, "rejected": rejected, "failed": len(failures)}
        )
    )
    return {"batchItemFailures": failures}
