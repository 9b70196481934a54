"""Kinesis event source mappings that run, inside platformctl's moto server.

moto stores event source mappings but, for Kinesis, only invokes the function once per
PutRecord, inline, one record at a time, with no retry. Here a background thread finds every
enabled Kinesis mapping (what list_event_source_mappings returns) and gives each shard a
worker that does what Lambda's poller does:

- starts at the mapping's StartingPosition (TRIM_HORIZON, LATEST, AT_TIMESTAMP);
- builds batches of Lambda's event shape (Records[].kinesis with base64 data and the
  approximate arrival time, eventSource "aws:kinesis", eventID "shardId:sequence", ...),
  up to BatchSize, waiting up to MaximumBatchingWindowInSeconds for a batch to fill;
- on a function error retries the batch (MaximumRetryAttempts, -1 = until the records
  expire), splitting it in two first when BisectBatchOnFunctionError is set (a split does
  not count as a retry, as on AWS);
- with FunctionResponseTypes ReportBatchItemFailures, checkpoints before the first failed
  sequence number and retries from there;
- sends what it gives up on (retries exhausted, or older than MaximumRecordAgeInSeconds) to
  the on-failure destination (SQS) as Lambda's invocation record with KinesisBatchInfo.

The state of each mapping (LastProcessingResult, the last batch) is added to moto's
GetEventSourceMapping / ListEventSourceMappings answers and served as JSON on
/moto-api/platformctl/event-source-mappings, which `platformctl status` reads.

Polling reads moto's shard records in memory, by sequence number (moto numbers them
1, 2, 3... per shard), so each poll costs only the records it returns. Workers are daemon
threads that stop with the server (and when a mapping is deleted, disabled or reset).
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
import uuid
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

POLL_SECONDS = 0.2
DISCOVER_SECONDS = 0.25
STATUS_PATH = "/moto-api/platformctl/event-source-mappings"
MAX_BACKOFF_SECONDS = 2.0

_stop = threading.Event()


def _note(message: str) -> None:
    print(f"platformctl: {message}", file=sys.stderr, flush=True)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Batch:
    """What a mapping did last, for `platformctl status`."""

    at: str
    shard_id: str
    size: int
    first_sequence_number: str
    last_sequence_number: str
    result: str  # OK | PARTIAL | FAILED | SENT_TO_DESTINATION | DROPPED
    duration_ms: float
    attempt: int


@dataclass
class MappingState:
    uuid: str
    function_arn: str
    event_source_arn: str
    state: str = "Enabled"
    last_processing_result: str = "No records processed"
    last_batch: Batch | None = None
    batches: int = 0
    records: int = 0
    sent_to_destination: int = 0
    polling: bool = False  # every shard has its worker, at its starting position
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def as_dict(self) -> dict[str, Any]:
        with self.lock:
            return {
                "uuid": self.uuid,
                "function_arn": self.function_arn,
                "event_source_arn": self.event_source_arn,
                "state": self.state,
                "last_processing_result": self.last_processing_result,
                "last_batch": asdict(self.last_batch) if self.last_batch else None,
                "batches": self.batches,
                "records": self.records,
                "sent_to_destination": self.sent_to_destination,
                "polling": self.polling,
            }


_states: dict[str, MappingState] = {}
_states_lock = threading.Lock()


# --- moto's stores, read defensively ------------------------------------------------------


def _lambda_backends() -> list[Any]:
    """Every Lambda backend that exists (the main one, and the "simple" one moto uses without Docker)."""
    found: list[Any] = []
    dicts: list[Any] = []
    with contextlib.suppress(ImportError):
        from moto.awslambda.models import lambda_backends

        dicts.append(lambda_backends)
    with contextlib.suppress(ImportError):
        from moto.awslambda_simple.models import lambda_simple_backends

        dicts.append(lambda_simple_backends)
    for backend_dict in dicts:
        for per_account in list(dict.values(backend_dict)):
            found.extend(list(dict.values(per_account)))
    return found


def kinesis_mappings() -> list[tuple[Any, Any]]:
    """(lambda backend, mapping) of every Kinesis event source mapping."""
    result = []
    for backend in _lambda_backends():
        mappings = getattr(backend, "_event_source_mappings", None)
        if not isinstance(mappings, dict):
            continue
        for esm in list(mappings.values()):
            if ":kinesis:" in str(getattr(esm, "event_source_arn", "")):
                result.append((backend, esm))
    return result


def _stream(esm: Any) -> Any:
    from moto.kinesis.models import kinesis_backends

    backend = kinesis_backends[esm.account_id][esm.region]
    for stream in list(backend.streams.values()):
        if stream.arn == esm.event_source_arn:
            return stream
    return None


def _start_after(shard: Any, esm: Any, new_shard: bool) -> int:
    """The sequence number a worker starts after, from the mapping's StartingPosition."""
    position = str(esm.starting_position or "TRIM_HORIZON")
    if new_shard or position == "TRIM_HORIZON":
        return int(shard.get_min_sequence_number() or 1) - 1
    if position == "AT_TIMESTAMP":
        stamp = esm.starting_position_timestamp
        if isinstance(stamp, str):
            try:
                stamp = float(stamp)
            except ValueError:
                stamp = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
        return int(shard.get_sequence_number_at(float(stamp or 0)))
    return int(shard.get_max_sequence_number())  # LATEST


# --- one shard ------------------------------------------------------------------------------


class ShardWorker(threading.Thread):
    """Feeds one shard of one mapping to its function, in order, one batch at a time."""

    def __init__(self, backend: Any, esm: Any, shard: Any, state: MappingState, new_shard: bool) -> None:
        super().__init__(daemon=True, name=f"esm-{esm.uuid[:8]}-{shard.shard_id}")
        self.backend = backend
        self.esm = esm
        self.shard = shard
        self.state = state
        self.checkpoint = _start_after(shard, esm, new_shard)
        self.stopped = threading.Event()
        self.first_seen: float | None = None

    def stop(self) -> None:
        self.stopped.set()

    def _waiting(self, seconds: float) -> bool:
        """Sleep; True when the worker should stop."""
        return self.stopped.wait(seconds) or _stop.is_set()

    def pending(self) -> list[Any]:
        records: list[Any] = []
        sequence = self.checkpoint + 1
        limit = int(self.esm.batch_size or 100)
        while len(records) < limit:
            record = self.shard.records.get(sequence)
            if record is None:
                break
            records.append(record)
            sequence += 1
        return records

    def run(self) -> None:
        while not self._waiting(POLL_SECONDS):
            if not self.esm.enabled:
                continue
            try:
                records = self._ready()
                if records:
                    self.process(records)
            except Exception as exc:  # noqa: BLE001 - the poller must survive anything moto does
                _note(f"event source mapping {self.esm.uuid} on {self.shard.shard_id}: {type(exc).__name__}: {exc}")
                self._waiting(1.0)

    def _ready(self) -> list[Any]:
        """The next batch, once it is full or its batching window has passed."""
        records = self.pending()
        if not records:
            self.first_seen = None
            return []
        window = float(self.esm.max_batch_window or 0)
        if window > 0 and len(records) < int(self.esm.batch_size or 100):
            now = time.monotonic()
            if self.first_seen is None:
                self.first_seen = now
            if now - self.first_seen < window:
                return []
        self.first_seen = None
        return records

    def process(self, records: list[Any]) -> None:
        """Invoke until the batch is done or given up on; each part checkpoints in order."""
        work: deque[tuple[list[Any], int]] = deque([(records, 0)])
        max_retries = int(self.esm.max_retry_attempts if self.esm.max_retry_attempts is not None else -1)
        while work and not self.stopped.is_set() and not _stop.is_set():
            batch, attempt = work.popleft()
            batch = self._drop_expired(batch, attempt)
            if not batch:
                continue
            started = time.monotonic()
            failed_from, error = self._invoke(batch)
            duration = (time.monotonic() - started) * 1000
            if failed_from is None:
                self._done(batch, "OK", duration, attempt)
                continue
            if failed_from > 0:
                self._done(batch[:failed_from], "PARTIAL", duration, attempt)
            remaining = batch[failed_from:]
            if max_retries != -1 and attempt >= max_retries:
                self._give_up(remaining, "RetryAttemptsExhausted", attempt + 1, error)
                continue
            function_failed = bool(error and error.get("functionError"))
            if self.esm.bisect_on_error and function_failed and len(remaining) > 1:
                half = len(remaining) // 2
                work.appendleft((remaining[half:], attempt))
                work.appendleft((remaining[:half], attempt))
                continue
            work.appendleft((remaining, attempt + 1))
            if self._waiting(min(0.1 * 2**attempt, MAX_BACKOFF_SECONDS)):
                return

    def _drop_expired(self, batch: list[Any], attempt: int) -> list[Any]:
        max_age = self.esm.max_record_age
        if max_age is None or int(max_age) == -1:
            return batch
        oldest_allowed = time.time() - int(max_age)
        expired = [r for r in batch if float(r.created_at) < oldest_allowed]
        if expired:
            self._give_up(expired, "RecordAgeExceeded", attempt, None)
        return [r for r in batch if float(r.created_at) >= oldest_allowed]

    # --- the function -----------------------------------------------------------------------

    def event(self, batch: list[Any], role: str) -> dict[str, Any]:
        return {
            "Records": [
                {
                    "kinesis": {
                        "kinesisSchemaVersion": "1.0",
                        "partitionKey": record.partition_key,
                        "sequenceNumber": str(record.sequence_number),
                        "data": record.data,
                        "approximateArrivalTimestamp": round(float(record.created_at), 3),
                    },
                    "eventSource": "aws:kinesis",
                    "eventVersion": "1.0",
                    "eventID": f"{self.shard.shard_id}:{record.sequence_number}",
                    "eventName": "aws:kinesis:record",
                    "invokeIdentityArn": role,
                    "awsRegion": self.esm.region,
                    "eventSourceARN": self.esm.event_source_arn,
                }
                for record in batch
            ]
        }

    def _invoke(self, batch: list[Any]) -> tuple[int | None, dict[str, Any] | None]:
        """None when the batch succeeded, else the index of the first record to retry (0: all)."""
        from platformctl.emulators import moto_lambda

        try:
            fn = self.backend.get_function(self.esm.function_arn)
        except Exception:  # noqa: BLE001 - a deleted function: the batch waits, as on AWS
            return 0, {"functionError": "ResourceNotFoundException"}
        try:
            invocation = moto_lambda.invoke_function(fn, json.dumps(self.event(batch, str(fn.role))).encode())
        except moto_lambda.RuntimeNotSupported as exc:
            return 0, {"functionError": "InvalidRuntimeException", "message": str(exc)}
        if invocation.function_error:
            return 0, {"functionError": invocation.function_error, "requestId": invocation.request_id}
        if "ReportBatchItemFailures" not in (self.esm.function_response_types or []):
            return None, None
        return self._first_failure(batch, invocation.result()), {"requestId": invocation.request_id}

    @staticmethod
    def _first_failure(batch: list[Any], response: Any) -> int | None:
        """Lambda's reading of a partial batch response: the first failed record, or None."""
        if not isinstance(response, dict) or not response.get("batchItemFailures"):
            return None
        failures = response["batchItemFailures"]
        positions = {str(record.sequence_number): i for i, record in enumerate(batch)}
        indexes = []
        for failure in failures if isinstance(failures, list) else []:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not identifier or str(identifier) not in positions:
                return 0  # an invalid response fails the whole batch, as on AWS
            indexes.append(positions[str(identifier)])
        return min(indexes) if indexes else None

    # --- bookkeeping ------------------------------------------------------------------------

    def _done(self, batch: list[Any], result: str, duration_ms: float, attempt: int) -> None:
        self.checkpoint = int(batch[-1].sequence_number)
        with self.state.lock:
            self.state.last_processing_result = "OK"
            self.state.batches += 1
            self.state.records += len(batch)
            self.state.last_batch = self._batch_info(batch, result, duration_ms, attempt)

    def _batch_info(self, batch: list[Any], result: str, duration_ms: float, attempt: int) -> Batch:
        return Batch(
            _now_iso(),
            self.shard.shard_id,
            len(batch),
            str(batch[0].sequence_number),
            str(batch[-1].sequence_number),
            result,
            round(duration_ms, 1),
            attempt,
        )

    def _give_up(self, batch: list[Any], condition: str, invoke_count: int, error: dict[str, Any] | None) -> None:
        """Send the batch's description to the on-failure destination and move past it."""
        self.checkpoint = int(batch[-1].sequence_number)
        destination = str(((self.esm.destination_config or {}).get("OnFailure") or {}).get("Destination") or "")
        sent = bool(destination) and self._send(destination, self.failure_record(batch, condition, invoke_count, error))
        with self.state.lock:
            self.state.last_processing_result = "PROBLEM: Function call failed."
            self.state.sent_to_destination += len(batch) if sent else 0
            self.state.last_batch = self._batch_info(
                batch, "SENT_TO_DESTINATION" if sent else "DROPPED", 0.0, invoke_count
            )

    def failure_record(
        self, batch: list[Any], condition: str, invoke_count: int, error: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Lambda's on-failure invocation record for a stream batch."""

        def arrival(record: Any) -> str:
            return (
                datetime.fromtimestamp(float(record.created_at), UTC)
                .isoformat(timespec="milliseconds")
                .replace("+00:00", "Z")
            )

        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if error and error.get("functionError"):
            response["functionError"] = error["functionError"]
        return {
            "requestContext": {
                "requestId": (error or {}).get("requestId") or str(uuid.uuid4()),
                "functionArn": self.esm.function_arn,
                "condition": condition,
                "approximateInvokeCount": invoke_count,
            },
            "responseContext": response,
            "version": "1.0",
            "timestamp": _now_iso(),
            "KinesisBatchInfo": {
                "shardId": self.shard.shard_id,
                "startSequenceNumber": str(batch[0].sequence_number),
                "endSequenceNumber": str(batch[-1].sequence_number),
                "approximateArrivalOfFirstRecord": arrival(batch[0]),
                "approximateArrivalOfLastRecord": arrival(batch[-1]),
                "batchSize": len(batch),
                "streamArn": self.esm.event_source_arn,
            },
        }

    def _send(self, destination: str, record: dict[str, Any]) -> bool:
        parts = destination.split(":")
        if len(parts) < 6 or parts[2] != "sqs":
            _note(f"on-failure destination {destination} is not an SQS queue; the record is dropped")
            return False
        from moto.sqs.models import sqs_backends

        try:
            sqs_backends[parts[4]][parts[3]].send_message(parts[5], json.dumps(record))
        except Exception as exc:  # noqa: BLE001 - a missing queue loses the record, as on AWS
            _note(f"could not send to the on-failure destination {destination}: {exc}")
            return False
        return True


# --- discovery ----------------------------------------------------------------------------------


class Poller(threading.Thread):
    """Finds Kinesis mappings and their shards; starts and stops the shard workers."""

    def __init__(self) -> None:
        super().__init__(daemon=True, name="platformctl-esm-poller")
        self.workers: dict[tuple[str, str], ShardWorker] = {}

    def run(self) -> None:
        while not _stop.wait(DISCOVER_SECONDS):
            try:
                self.discover()
            except Exception as exc:  # noqa: BLE001 - keep polling whatever moto does
                _note(f"event source mapping poller: {type(exc).__name__}: {exc}")

    def discover(self) -> None:
        seen: set[tuple[str, str]] = set()
        live: set[str] = set()
        for backend, esm in kinesis_mappings():
            live.add(esm.uuid)
            state = _state_for(esm)
            with state.lock:
                state.state = "Enabled" if esm.enabled else "Disabled"
            stream = _stream(esm)
            if stream is None:
                continue
            known = any(key[0] == esm.uuid for key in self.workers)
            for shard in list(stream.shards.values()):
                key = (esm.uuid, shard.shard_id)
                seen.add(key)
                worker = self.workers.get(key)
                if worker is None or worker.esm is not esm:
                    if worker is not None:
                        worker.stop()
                    worker = ShardWorker(backend, esm, shard, state, new_shard=known)
                    self.workers[key] = worker
                    worker.start()
            with state.lock:
                state.polling = True
        for key in [key for key in self.workers if key not in seen]:
            self.workers.pop(key).stop()
        with _states_lock:
            for gone in [uuid_ for uuid_ in _states if uuid_ not in live]:
                del _states[gone]


def _state_for(esm: Any) -> MappingState:
    with _states_lock:
        state = _states.get(esm.uuid)
        if state is None:
            state = MappingState(esm.uuid, esm.function_arn, esm.event_source_arn)
            _states[esm.uuid] = state
        return state


def mapping_states() -> list[dict[str, Any]]:
    with _states_lock:
        states = list(_states.values())
    return [state.as_dict() for state in states]


# --- moto, extended -------------------------------------------------------------------------------


def _status_response(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    body = json.dumps({"mappings": mapping_states()})
    return 200, {"Content-Type": "application/json"}, body


def _serve_status() -> None:
    try:
        from moto.moto_api._internal import urls
    except ImportError:
        _note("moto's moto-api urls moved; the mapping status endpoint is off")
        return
    if isinstance(getattr(urls, "url_paths", None), dict):
        urls.url_paths["{0}" + STATUS_PATH + "$"] = _status_response


def _report_processing_result() -> None:
    """GetEventSourceMapping answers LastProcessingResult as Lambda does."""
    try:
        from moto.awslambda.models import EventSourceMapping
    except ImportError:
        return
    original = EventSourceMapping.__dict__.get("get_configuration")
    if not callable(original):
        _note("moto's EventSourceMapping.get_configuration changed; LastProcessingResult left to moto")
        return

    def get_configuration(self: Any) -> dict[str, Any]:
        result: dict[str, Any] = original(self)
        with _states_lock:
            state = _states.get(self.uuid)
        if state is not None:
            result["LastProcessingResult"] = state.last_processing_result
        return result

    EventSourceMapping.get_configuration = get_configuration  # type: ignore[method-assign]


def _no_inline_kinesis_invoke() -> bool:
    """moto invokes the function inside each PutRecord; the poller does it instead."""
    try:
        from moto.awslambda.models import LambdaBackend
    except ImportError:
        return False
    if not callable(LambdaBackend.__dict__.get("send_kinesis_message")):
        _note("moto's LambdaBackend.send_kinesis_message changed; Kinesis mappings are not polled")
        return False

    def send_kinesis_message(self: Any, *args: Any, **kwargs: Any) -> None:
        return None

    LambdaBackend.send_kinesis_message = send_kinesis_message  # type: ignore[method-assign]
    return True


def install() -> None:
    if not _no_inline_kinesis_invoke():
        return
    _report_processing_result()
    _serve_status()
    Poller().start()
    import atexit

    atexit.register(_stop.set)
