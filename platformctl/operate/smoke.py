"""`platformctl smoke ENV`: prove that orders flow through the data path.

Puts N synthetic orders and one invalid event on the order stream, then waits (bounded)
until every valid order is in the raw bucket and in the orders table, and the invalid one is
in the failure queue with its record. The check knows nothing of the function's object
layout: it reads every object written under the function's RAW_PREFIX (the whole bucket
when it has none) since the run started and looks for each order id in it; the table by
its key `order_id`; the queue by receiving its messages and finding the invalid record
(plain, or base64 as Kinesis carried it).

Every event is marked (order ids `smoke-<run id>-NNNN`, the field `smoke_run_id`, the
source `platformctl-smoke`), and removed afterwards: objects that hold only smoke events,
the table items, the queue messages about them (the invalid record, and the on-failure
records of smoke batches). Other messages the check receives are made visible again at
once. The stream's records cannot be deleted: they expire with its retention.

The same check (`check`) runs against an emulator (its endpoint, dummy credentials) and
against real AWS (the environment's credentials: in-process with ambient ones, or as a
child `python -m platformctl.operate.smoke` under aws-vault, like the STS probe). Gated
environments (approval = "required") are refused unless allowed and the name is typed.
No Typer or rich: progress goes through emulator.Progress.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from platformctl.emulators.lifecycle import LogProgress, Progress
from platformctl.errors import ApprovalError, EmulatorError, PlatformctlError
from platformctl.operate import data_path
from platformctl.operate.data_path import Clients, Targets

SOURCE = "platformctl-smoke"
ID_PREFIX = "smoke-"
DEFAULT_COUNT = 10
DEFAULT_TIMEOUT = 60.0
POLL_SECONDS = 0.2
# Objects older than the run (minus clock skew) cannot hold its events: not read.
CLOCK_SKEW = timedelta(minutes=2)
CHECK_NAMES = ("stream", "raw bucket", "orders table", "failure queue")


@dataclass
class Check:
    name: str
    target: str
    ok: bool = False
    seconds: float | None = None  # from the first put until it held
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SmokeOutcome:
    environment: str
    run_id: str
    targets: dict[str, Any]
    checks: list[Check]
    seconds: float  # from the first put to the last check
    cleanup: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failed(self) -> list[str]:
        return [check.name for check in self.checks if not check.ok]

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": "smoke",
            "environment": self.environment,
            "passed": self.passed,
            "failed": self.failed,
            "run_id": self.run_id,
            "seconds": self.seconds,
            "targets": self.targets,
            "checks": [check.as_dict() for check in self.checks],
            "cleanup": self.cleanup,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SmokeOutcome:
        return cls(
            str(data["environment"]),
            str(data["run_id"]),
            dict(data.get("targets") or {}),
            [Check(**check) for check in data.get("checks", [])],
            float(data.get("seconds", 0.0)),
            dict(data.get("cleanup") or {}),
        )


# --- the events ---------------------------------------------------------------------------


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def orders(run_id: str, count: int) -> list[dict[str, Any]]:
    """Valid order events, marked as smoke events."""
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return [
        {
            "order_id": f"{ID_PREFIX}{run_id}-{n:04d}",
            "customer_id": f"{ID_PREFIX}customer-{n % 3}",
            "created_at": now,
            "status": "PLACED",
            "currency": "EUR",
            "total": str(Decimal("19.90") * (n + 1)),
            "items": [{"sku": f"SMOKE-{n:04d}", "quantity": n + 1, "unit_price": "19.90"}],
            "source": SOURCE,
            "smoke_run_id": run_id,
        }
        for n in range(count)
    ]


def invalid_event(run_id: str) -> dict[str, Any]:
    """An event every version of the function must reject: no order_id."""
    return {
        "smoke_id": f"{ID_PREFIX}{run_id}-invalid",
        "customer_id": f"{ID_PREFIX}customer-0",
        "status": "PLACED",
        "source": SOURCE,
        "smoke_run_id": run_id,
    }


def mentions(text: str, needle: str) -> bool:
    """`needle` in the text, or in a base64 string inside it (Kinesis data, as queued)."""
    if needle in text:
        return True
    try:
        document = json.loads(text)
    except ValueError:
        return False
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str) and len(value) >= 16:
            try:
                if needle in base64.b64decode(value, validate=True).decode(errors="ignore"):
                    return True
            except (binascii.Error, ValueError):
                continue
    return False


def _documents(text: str) -> list[Any]:
    """The JSON documents of an object: one, or one per line (NDJSON)."""
    try:
        return [json.loads(text)]
    except ValueError:
        pass
    found = []
    for line in text.splitlines():
        if line.strip():
            try:
                found.append(json.loads(line))
            except ValueError:
                found.append(None)
    return found


def _only_smoke(text: str) -> bool:
    documents = _documents(text)
    return bool(documents) and all(
        isinstance(doc, dict) and (doc.get("source") == SOURCE or str(doc.get("order_id", "")).startswith(ID_PREFIX))
        for doc in documents
    )


# --- watching the three places ------------------------------------------------------------


@dataclass
class _Seen:
    """What the check has found so far."""

    in_bucket: dict[str, str] = field(default_factory=dict)  # order id -> key
    objects: dict[str, tuple[str | None, bool]] = field(default_factory=dict)  # key -> (version, only smoke)
    in_table: set[str] = field(default_factory=set)
    invalid_message: dict[str, Any] | None = None
    smoke_messages: list[str] = field(default_factory=list)  # receipt handles to delete
    other_messages: list[str] = field(default_factory=list)  # receipt handles to make visible again
    batch_failures: list[dict[str, Any]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


class Watch:
    """Polls the bucket, the table and the queue until each holds what the run put."""

    def __init__(
        self,
        clients: Clients,
        targets: Targets,
        run_id: str,
        order_ids: list[str],
        invalid_id: str,
        puts: set[tuple[str, str]],
        started: datetime,
        visibility: int,
    ) -> None:
        self.clients = clients
        self.targets = targets
        self.run_id = run_id
        self.order_ids = order_ids
        self.invalid_id = invalid_id
        self.puts = puts
        self.since = started - CLOCK_SKEW
        self.visibility = visibility
        self.seen = _Seen()

    def scan_bucket(self) -> None:
        s3 = self.clients("s3")
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=self.targets.bucket, Prefix=self.targets.prefix)
        for page in pages:
            for item in page.get("Contents", []):
                key = item["Key"]
                if key in self.seen.objects or item["LastModified"] < self.since:
                    continue
                answer = s3.get_object(Bucket=self.targets.bucket, Key=key)
                body = answer["Body"].read()
                if key.endswith(".gz") or answer.get("ContentEncoding") == "gzip":
                    import gzip

                    body = gzip.decompress(body)
                text = body.decode(errors="replace")
                hits = [order for order in self.order_ids if order in text]
                if hits or self.run_id in text:
                    self.seen.objects[key] = (answer.get("VersionId"), _only_smoke(text))
                else:
                    self.seen.objects[key] = (None, False)  # not ours: never read again, never deleted
                for order in hits:
                    self.seen.in_bucket.setdefault(order, key)

    def scan_table(self) -> None:
        missing = [order for order in self.order_ids if order not in self.seen.in_table]
        dynamodb = self.clients("dynamodb")
        for start in range(0, len(missing), 100):
            keys = [{"order_id": {"S": order}} for order in missing[start : start + 100]]
            answer = dynamodb.batch_get_item(
                RequestItems={
                    self.targets.table: {"Keys": keys, "ConsistentRead": True, "ProjectionExpression": "order_id"}
                }
            )
            for item in answer.get("Responses", {}).get(self.targets.table, []):
                self.seen.in_table.add(item["order_id"]["S"])

    def scan_queue(self) -> None:
        sqs = self.clients("sqs")
        answer = sqs.receive_message(
            QueueUrl=self.targets.queue_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=self.visibility,
            WaitTimeSeconds=0,
        )
        for message in answer.get("Messages", []):
            body = str(message.get("Body", ""))
            if mentions(body, self.invalid_id):
                self.seen.invalid_message = _parsed(body)
                self.seen.smoke_messages.append(message["ReceiptHandle"])
            elif self._smoke_batch_failure(body):
                self.seen.batch_failures.append(_parsed(body))
                self.seen.smoke_messages.append(message["ReceiptHandle"])
            elif self.run_id in body or any(order in body for order in self.order_ids):
                self.seen.smoke_messages.append(message["ReceiptHandle"])
            else:
                self.seen.other_messages.append(message["ReceiptHandle"])

    def _smoke_batch_failure(self, body: str) -> bool:
        """An on-failure record (KinesisBatchInfo) of a batch that starts and ends with this
        run's records (of the same shard)."""
        info = _parsed(body).get("KinesisBatchInfo")
        if not isinstance(info, dict) or not str(info.get("streamArn", "")).endswith(f"/{self.targets.stream}"):
            return False
        shard = str(info.get("shardId", ""))
        return {(shard, str(info.get("startSequenceNumber"))), (shard, str(info.get("endSequenceNumber")))} <= self.puts

    def scan(self, name: str, scan: Callable[[], None]) -> None:
        try:
            scan()
            self.seen.errors.pop(name, None)
        except Exception as exc:  # noqa: BLE001 - botocore's errors: reported in the check, polled again
            self.seen.errors[name] = _error_text(exc)


def _parsed(body: str) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        return {"body": body}
    return value if isinstance(value, dict) else {"body": value}


def _error_text(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and response.get("Error"):
        error = response["Error"]
        return f"{error.get('Code')}: {error.get('Message')}"
    return f"{type(exc).__name__}: {exc}"


# --- the check ----------------------------------------------------------------------------


def _put(clients: Clients, targets: Targets, events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Put the events on the stream (one PutRecords); (shard, sequence) of each."""
    records = [
        {"Data": json.dumps(event).encode(), "PartitionKey": str(event.get("order_id") or event["smoke_id"])}
        for event in events
    ]
    try:
        answer = clients("kinesis").put_records(StreamName=targets.stream, Records=records)
    except Exception as exc:  # noqa: BLE001 - botocore's errors, as one line
        raise PlatformctlError(
            f"Could not put the smoke events on {targets.stream} ({_error_text(exc)}): check that the stream "
            "exists and these credentials may write to it."
        ) from None
    if answer.get("FailedRecordCount"):
        failed = [r for r in answer["Records"] if r.get("ErrorCode")]
        raise PlatformctlError(
            f"Kinesis refused {len(failed)} of {len(records)} smoke records on {targets.stream} "
            f"({failed[0].get('ErrorCode')}: {failed[0].get('ErrorMessage')}): retry."
        )
    return [(r["ShardId"], r["SequenceNumber"]) for r in answer["Records"]]


def _describe_progress(watch: Watch, count: int) -> str:
    seen = watch.seen
    return (
        f"raw bucket {len(seen.in_bucket)}/{count}, orders table {len(seen.in_table)}/{count}, "
        f"failure queue {'1' if seen.invalid_message else '0'}/1"
    )


def check(
    clients: Clients,
    targets: Targets,
    environment: str,
    *,
    count: int = DEFAULT_COUNT,
    timeout: float = DEFAULT_TIMEOUT,
    run_id: str | None = None,
    progress: Progress | None = None,
) -> SmokeOutcome:
    """Put the run's events, wait until they are where they belong (or `timeout`), clean up."""
    progress = progress or LogProgress()
    run_id = run_id or new_run_id()
    valid = orders(run_id, count)
    invalid = invalid_event(run_id)
    order_ids = [order["order_id"] for order in valid]
    checks = {
        "stream": Check("stream", targets.stream),
        "raw bucket": Check("raw bucket", f"s3://{targets.bucket}/{targets.prefix}"),
        "orders table": Check("orders table", targets.table),
        "failure queue": Check("failure queue", targets.queue_url.rsplit("/", 1)[-1]),
    }
    started_at = datetime.now(UTC)
    first_put = time.perf_counter()
    puts = _put(clients, targets, [*valid, invalid])
    checks["stream"].ok, checks["stream"].seconds = True, round(time.perf_counter() - first_put, 3)
    checks["stream"].detail = f"{len(puts)} records on {len({shard for shard, _ in puts})} shard(s)"
    watch = Watch(
        clients, targets, run_id, order_ids, invalid["smoke_id"], set(puts), started_at, visibility=int(timeout) + 30
    )
    deadline = first_put + timeout
    with progress.waiting(f"Waiting for {count} smoke orders to flow through {environment}") as status:
        while True:
            _poll_once(watch, checks, count, first_put)
            if all(c.ok for c in checks.values()) or time.perf_counter() > deadline:
                break
            update = getattr(status, "update", None)
            if callable(update):
                update(f"Waiting for the smoke orders in {environment}: {_describe_progress(watch, count)}")
            time.sleep(POLL_SECONDS)
    seconds = round(time.perf_counter() - first_put, 3)
    _explain(watch, checks, count, timeout)
    cleanup = remove(clients, targets, watch, order_ids)
    return SmokeOutcome(environment, run_id, targets.as_dict(), list(checks.values()), seconds, cleanup)


def _poll_once(watch: Watch, checks: dict[str, Check], count: int, first_put: float) -> None:
    def held(name: str) -> None:
        if not checks[name].ok:
            checks[name].ok, checks[name].seconds = True, round(time.perf_counter() - first_put, 3)

    if len(watch.seen.in_bucket) < count:
        watch.scan("raw bucket", watch.scan_bucket)
    if len(watch.seen.in_bucket) == count:
        held("raw bucket")
    if len(watch.seen.in_table) < count:
        watch.scan("orders table", watch.scan_table)
    if len(watch.seen.in_table) == count:
        held("orders table")
    if watch.seen.invalid_message is None or not (checks["raw bucket"].ok and checks["orders table"].ok):
        # Also after the invalid record: the mapping's on-failure records say why orders are missing.
        watch.scan("failure queue", watch.scan_queue)
    if watch.seen.invalid_message is not None:
        held("failure queue")


def _explain(watch: Watch, checks: dict[str, Check], count: int, timeout: float) -> None:
    seen = watch.seen
    bucket, table, queue = checks["raw bucket"], checks["orders table"], checks["failure queue"]
    objects = len(set(seen.in_bucket.values()))
    bucket.detail = f"{len(seen.in_bucket)}/{count} orders in {objects} object(s)"
    table.detail = f"{len(seen.in_table)}/{count} orders"
    if seen.invalid_message is not None:
        reason = seen.invalid_message.get("reason") or seen.invalid_message.get("error") or ""
        queue.detail = "the invalid record" + (f" ({reason})" if reason else "")
    else:
        queue.detail = "the invalid record is not there"
    for name, item in (("raw bucket", bucket), ("orders table", table), ("failure queue", queue)):
        if not item.ok:
            item.detail += f" after {timeout:g} s"
            if name in seen.errors:
                item.detail += f"; {seen.errors[name]}"
    if seen.batch_failures and not (bucket.ok and table.ok):
        first = seen.batch_failures[0]
        info = first.get("KinesisBatchInfo", {})
        condition = (first.get("requestContext") or {}).get("condition", "")
        failed = sum(int(f.get("KinesisBatchInfo", {}).get("batchSize", 0)) for f in seen.batch_failures)
        table.detail += (
            f"; the function failed on {failed} smoke record(s) "
            f"({condition}, shard {info.get('shardId')}): see its logs"
        )


def remove(clients: Clients, targets: Targets, watch: Watch, order_ids: list[str]) -> dict[str, Any]:
    """Delete what the run left: only-smoke objects, table items, smoke messages."""
    seen = watch.seen
    report: dict[str, Any] = {"objects": 0, "objects_kept": [], "items": 0, "messages": 0, "errors": []}

    def attempt(what: str, action: Callable[[], Any]) -> bool:
        try:
            action()
            return True
        except Exception as exc:  # noqa: BLE001 - botocore's errors: reported, the rest still cleaned
            report["errors"].append(f"{what}: {_error_text(exc)}")
            return False

    s3, dynamodb, sqs = clients("s3"), clients("dynamodb"), clients("sqs")
    for key, (version, only_smoke) in seen.objects.items():
        if key not in seen.in_bucket.values() and not only_smoke:
            continue
        if not only_smoke:
            report["objects_kept"].append(key)  # it holds other events too
            continue
        extra = {"VersionId": version} if version else {}
        if attempt(f"s3://{targets.bucket}/{key}", partial(s3.delete_object, Bucket=targets.bucket, Key=key, **extra)):
            report["objects"] += 1
    for order in order_ids:
        delete = partial(dynamodb.delete_item, TableName=targets.table, Key={"order_id": {"S": order}})
        if attempt(f"{targets.table} {order}", delete) and order in seen.in_table:
            report["items"] += 1
    for handle in seen.smoke_messages:
        if attempt(
            "failure queue message", partial(sqs.delete_message, QueueUrl=targets.queue_url, ReceiptHandle=handle)
        ):
            report["messages"] += 1
    for handle in seen.other_messages:
        attempt(
            "failure queue message visibility",
            partial(
                sqs.change_message_visibility, QueueUrl=targets.queue_url, ReceiptHandle=handle, VisibilityTimeout=0
            ),
        )
    return report


# --- which environment, which credentials ---------------------------------------------------


def _refuse_gated(environment: Any, allow_gated: bool, typed_name: Callable[[], str] | None) -> None:
    if not environment.approval_required:
        return
    if not allow_gated:
        raise ApprovalError(
            f'{environment.name} is gated (approval = "required"): smoke puts test orders on its stream; '
            "pass --allow-gated and type its name to run it there."
        )
    if typed_name is None:
        raise ApprovalError(
            f"Smoke on the gated {environment.name} needs its name typed at a terminal: run it interactively."
        )
    typed = typed_name().strip()
    if typed != environment.name:
        raise ApprovalError(f"You typed {typed!r}, not {environment.name!r}: nothing was put on the stream.")


def _emulated_clients(ctx: Any, environment: Any) -> tuple[Clients, dict[str, Any]]:
    from platformctl.aws import credentials
    from platformctl.emulators import lifecycle as emulator

    status = emulator.status(ctx.project, environment)
    if not status.healthy:
        raise EmulatorError(
            f"The emulator of {environment.name} is not running ({status.detail or 'not found'}): "
            f"run `platformctl up {environment.name}` first."
        )
    outputs = data_path.read_outputs(environment.directory)
    if not outputs:
        raise PlatformctlError(f"{environment.name} has no resources: run `platformctl up {environment.name}` first.")
    region = environment.region or "us-east-1"
    return Clients(region, status.endpoint, credentials.emulator_env(region)), outputs


def run(
    ctx: Any,
    name: str,
    *,
    count: int = DEFAULT_COUNT,
    timeout: float = DEFAULT_TIMEOUT,
    allow_gated: bool = False,
    typed_name: Callable[[], str] | None = None,
    progress: Progress | None = None,
) -> SmokeOutcome:
    """The smoke check of environment `name` (ctx: context.Context)."""
    if count < 1:
        raise PlatformctlError(f"--count {count}: put at least one order.")
    environment = ctx.environment(name)
    _refuse_gated(environment, allow_gated, typed_name)
    if environment.is_emulated:
        clients, outputs = _emulated_clients(ctx, environment)
        found = data_path.targets(outputs, clients, environment.name)
        return check(clients, found, environment.name, count=count, timeout=timeout, progress=progress)
    from platformctl import operations
    from platformctl.aws import credentials

    creds = ctx.credentials(environment)
    ctx.account_guard(environment)
    outputs = operations.output(ctx, environment)
    region = environment.region or "us-east-1"
    if creds.prefix:  # aws-vault: the same check, in a child that has the credentials
        data = credentials.run_python(
            creds,
            "platformctl.operate.smoke",
            "--environment",
            environment.name,
            "--region",
            region,
            "--outputs",
            json.dumps(outputs),
            "--count",
            str(count),
            "--timeout",
            str(timeout),
        )
        return SmokeOutcome.from_dict(data)
    clients = Clients(region, None, dict(creds.env))
    found = data_path.targets(outputs, clients, environment.name)
    return check(clients, found, environment.name, count=count, timeout=timeout, progress=progress)


def main(argv: list[str] | None = None) -> int:
    """The child side of a run under aws-vault: the check, its outcome as JSON on stdout."""
    parser = argparse.ArgumentParser(prog="python -m platformctl.operate.smoke")
    parser.add_argument("--environment", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--outputs", required=True, help="the root's outputs, as JSON")
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT)
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    args = parser.parse_args(argv)
    try:
        clients = Clients(args.region)
        found = data_path.targets(json.loads(args.outputs), clients, args.environment)
        outcome = check(clients, found, args.environment, count=args.count, timeout=args.timeout)
    except PlatformctlError as exc:
        print(json.dumps({"error": str(exc)}))
        return 1
    print(json.dumps(outcome.as_dict(), default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
