"""Lambda on platformctl's moto server: the function's code runs, without Docker.

A real `python -m platformctl.emulators.moto_server` (one per module, reset between tests), real
boto3 calls, and a tiny zip of handlers that return, raise, sleep past their timeout, log,
and call STS and S3 with the credentials and endpoint the runtime gave them. The Kinesis
event source mapping tests put records on a real stream of the same server and read what
the function did, and what the mapping sent to its on-failure queue.
"""

from __future__ import annotations

import base64
import io
import json
import time
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import wait_for

from integration.lambda_server import ACCOUNT, REGION, Server

pytestmark = pytest.mark.integration


HANDLERS = '''
import base64, json, logging, os, time
import boto3

logger = logging.getLogger()

def echo(event, context):
    print("printed line")
    logger.info("logged line %s", event.get("n"))
    return {
        "event": event,
        "function_name": context.function_name,
        "request_id": context.aws_request_id,
        "memory": context.memory_limit_in_mb,
        "arn": context.invoked_function_arn,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "colour": os.environ.get("COLOUR"),
        "region": os.environ.get("AWS_REGION"),
        "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
        "identity": boto3.client("sts").get_caller_identity()["Arn"],
    }

CALLS = 0

def count(event, context):
    global CALLS
    CALLS += 1
    if event.get("sleep"):
        time.sleep(30)
    return {"calls": CALLS, "colour": os.environ.get("COLOUR")}

def fail(event, context):
    raise ValueError("the order is broken")

def slow(event, context):
    print("going to sleep")
    time.sleep(30)

def store(event, context):
    """Writes every Kinesis record to a bucket; reports the ones whose data says "bad"."""
    s3 = boto3.client("s3")
    failures = []
    for record in event["Records"]:
        data = base64.b64decode(record["kinesis"]["data"]).decode()
        if "bad" in data:
            failures.append({"itemIdentifier": record["kinesis"]["sequenceNumber"]})
            continue
        s3.put_object(Bucket=os.environ["BUCKET"], Key=record["kinesis"]["sequenceNumber"],
                      Body=json.dumps({"data": data, "batch": len(event["Records"]), "record": record}))
    return {"batchItemFailures": failures}
'''


def handlers_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handlers.py", HANDLERS)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    started = Server(tmp_path_factory.mktemp("lambda-runtime"))
    try:
        yield started
    finally:
        if started.process.poll() is None:
            started.stop()


@pytest.fixture
def aws(server: Server) -> Iterator[Callable[[str], Any]]:
    server.reset()
    yield server.client


def make_function(
    aws: Callable[[str], Any],
    name: str,
    handler: str,
    *,
    timeout: int = 5,
    runtime: str = "python3.12",
    variables: dict[str, str] | None = None,
) -> str:
    role = aws("iam").create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    aws("lambda").create_function(
        FunctionName=name,
        Runtime=runtime,
        Role=role,
        Handler=handler,
        Code={"ZipFile": handlers_zip()},
        Timeout=timeout,
        MemorySize=256,
        Environment={"Variables": variables or {}},
    )
    return role


def log_messages(aws: Callable[[str], Any], name: str) -> list[str]:
    logs = aws("logs")
    group = f"/aws/lambda/{name}"
    messages: list[str] = []
    if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        return messages  # no invocation has written yet
    for stream in logs.describe_log_streams(logGroupName=group)["logStreams"]:
        events = logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"])["events"]
        messages.extend(event["message"] for event in events)
    return messages


def test_invoke_runs_the_handler_with_its_environment_context_and_role(aws: Callable[[str], Any]) -> None:
    make_function(aws, "echo", "handlers.echo", variables={"COLOUR": "teal"})
    answer = aws("lambda").invoke(FunctionName="echo", Payload=json.dumps({"n": 7}).encode(), LogType="Tail")
    assert "FunctionError" not in answer
    result = json.loads(answer["Payload"].read())
    assert result["event"] == {"n": 7}
    assert (result["function_name"], result["memory"], result["colour"], result["region"]) == (
        "echo",
        "256",
        "teal",
        REGION,
    )
    assert result["arn"] == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:echo"
    assert 0 < result["remaining_ms"] <= 5000
    assert result["endpoint"].startswith("http://127.0.0.1:")
    # The role's session, issued by the emulator's own STS.
    assert result["identity"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/echo-role/echo"
    tail = base64.b64decode(answer["LogResult"]).decode()
    assert f"START RequestId: {result['request_id']}" in tail and f"REPORT RequestId: {result['request_id']}" in tail

    messages = log_messages(aws, "echo")
    assert "printed line" in messages
    assert any(
        m.startswith("[INFO]") and m.rstrip().endswith("logged line 7") and result["request_id"] in m for m in messages
    )
    assert [m.split(" ")[0] for m in messages if m.startswith(("START", "END", "REPORT"))] == ["START", "END", "REPORT"]


def test_after_a_reset_the_function_gets_a_session_the_new_state_knows(
    aws: Callable[[str], Any], server: Server
) -> None:
    for _ in range(2):
        server.reset()
        make_function(aws, "echo", "handlers.echo")
        result = json.loads(aws("lambda").invoke(FunctionName="echo", Payload=b"{}")["Payload"].read())
        assert result["identity"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/echo-role/echo"


def test_a_warm_environment_is_reused_until_the_configuration_changes(aws: Callable[[str], Any]) -> None:
    make_function(aws, "count", "handlers.count", variables={"COLOUR": "teal"})
    lambda_client = aws("lambda")

    def invoke() -> dict[str, Any]:
        return dict(json.loads(lambda_client.invoke(FunctionName="count", Payload=b"{}")["Payload"].read()))

    assert [invoke()["calls"] for _ in range(3)] == [1, 2, 3], "module state survives, as in a warm Lambda"
    lambda_client.update_function_configuration(FunctionName="count", Environment={"Variables": {"COLOUR": "red"}})
    assert invoke() == {"calls": 1, "colour": "red"}, "a new configuration gets a new environment"


def test_after_a_timeout_the_next_invoke_gets_a_new_environment(aws: Callable[[str], Any]) -> None:
    make_function(aws, "count", "handlers.count", timeout=1)
    lambda_client = aws("lambda")
    assert lambda_client.invoke(FunctionName="count", Payload=b'{"sleep": true}')["FunctionError"] == "Unhandled"
    answer = json.loads(lambda_client.invoke(FunctionName="count", Payload=b"{}")["Payload"].read())
    assert answer["calls"] == 1, "the timed-out process was killed, not reused"


def test_a_payload_that_is_not_json_is_lambdas_invalid_request_content(aws: Callable[[str], Any]) -> None:
    from botocore.exceptions import ClientError

    make_function(aws, "echo", "handlers.echo")
    with pytest.raises(ClientError) as raised:
        aws("lambda").invoke(FunctionName="echo", Payload=b"{not json")
    assert raised.value.response["Error"]["Code"] == "InvalidRequestContentException"


def test_an_exception_is_an_unhandled_function_error_with_its_stack(aws: Callable[[str], Any]) -> None:
    make_function(aws, "fail", "handlers.fail")
    answer = aws("lambda").invoke(FunctionName="fail", Payload=b"{}")
    assert answer["FunctionError"] == "Unhandled"
    error = json.loads(answer["Payload"].read())
    assert (error["errorType"], error["errorMessage"]) == ("ValueError", "the order is broken")
    assert any("handlers.py" in line and "in fail" in line for line in error["stackTrace"])
    assert any(m.startswith("[ERROR] ValueError: the order is broken") for m in log_messages(aws, "fail"))


def test_a_handler_past_its_timeout_is_killed_and_reported_as_lambda_does(aws: Callable[[str], Any]) -> None:
    make_function(aws, "slow", "handlers.slow", timeout=1)
    started = time.monotonic()
    answer = aws("lambda").invoke(FunctionName="slow", Payload=b"{}")
    took = time.monotonic() - started
    assert took < 10, "the child is killed at its timeout, not after its 30 s sleep"
    assert answer["FunctionError"] == "Unhandled"
    error = json.loads(answer["Payload"].read())
    assert error["errorType"] == "Sandbox.Timedout"
    assert error["errorMessage"].endswith("Task timed out after 1.00 seconds")
    messages = log_messages(aws, "slow")
    assert "going to sleep" in messages, "what the function printed before it was killed is kept"
    assert any("Task timed out after 1.00 seconds" in m for m in messages)


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        ("missing.handler", "Runtime.ImportModuleError", "Unable to import module 'missing'"),
        ("handlers.nowhere", "Runtime.HandlerNotFound", "Handler 'nowhere' missing on module 'handlers'"),
        ("nodot", "Runtime.MalformedHandlerName", "Bad handler 'nodot'"),
    ],
)
def test_a_missing_handler_gets_lambdas_runtime_error(
    aws: Callable[[str], Any], handler: str, error_type: str, message: str
) -> None:
    make_function(aws, "broken", handler)
    answer = aws("lambda").invoke(FunctionName="broken", Payload=b"{}")
    assert answer["FunctionError"] == "Unhandled"
    error = json.loads(answer["Payload"].read())
    assert error["errorType"] == error_type and error["errorMessage"].startswith(message)


def test_a_runtime_other_than_python_is_lambdas_invalid_runtime_error(aws: Callable[[str], Any]) -> None:
    from botocore.exceptions import ClientError

    make_function(aws, "node", "index.handler", runtime="nodejs20.x")
    with pytest.raises(ClientError) as raised:
        aws("lambda").invoke(FunctionName="node", Payload=b"{}")
    assert raised.value.response["Error"]["Code"] == "InvalidRuntimeException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 502


def test_an_event_invoke_returns_at_once_and_the_code_still_runs(aws: Callable[[str], Any]) -> None:
    make_function(aws, "echo", "handlers.echo")
    answer = aws("lambda").invoke(FunctionName="echo", InvocationType="Event", Payload=b'{"n": 1}')
    assert answer["StatusCode"] == 202
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not any(m.startswith("REPORT") for m in log_messages(aws, "echo")):
        time.sleep(0.1)
    assert "printed line" in log_messages(aws, "echo")


# --- Kinesis event source mappings -------------------------------------------------------------


def stream_with_mapping(
    aws: Callable[[str], Any], *, handler: str = "handlers.store", **mapping: Any
) -> dict[str, str]:
    aws("s3").create_bucket(Bucket="landing")
    make_function(aws, "consumer", handler, variables={"BUCKET": "landing"})
    kinesis = aws("kinesis")
    kinesis.create_stream(StreamName="orders", ShardCount=1)
    stream_arn = kinesis.describe_stream_summary(StreamName="orders")["StreamDescriptionSummary"]["StreamARN"]
    sqs = aws("sqs")
    queue = sqs.create_queue(QueueName="failures")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    settings = {
        "StartingPosition": "TRIM_HORIZON",
        "BatchSize": 10,
        "MaximumBatchingWindowInSeconds": 0,
        "DestinationConfig": {"OnFailure": {"Destination": queue_arn}},
        **mapping,
    }
    uuid = aws("lambda").create_event_source_mapping(FunctionName="consumer", EventSourceArn=stream_arn, **settings)[
        "UUID"
    ]
    return {"stream_arn": stream_arn, "queue": queue, "uuid": uuid}


def put(aws: Callable[[str], Any], *payloads: str) -> list[str]:
    answer = aws("kinesis").put_records(
        StreamName="orders", Records=[{"Data": payload.encode(), "PartitionKey": "p"} for payload in payloads]
    )
    return [record["SequenceNumber"] for record in answer["Records"]]


def stored(aws: Callable[[str], Any]) -> dict[str, dict[str, Any]]:
    s3 = aws("s3")
    return {
        item["Key"]: json.loads(s3.get_object(Bucket="landing", Key=item["Key"])["Body"].read())
        for item in s3.list_objects_v2(Bucket="landing").get("Contents", [])
    }


def failure_records(aws: Callable[[str], Any], queue: str) -> list[dict[str, Any]]:
    messages = aws("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def mapping_state(server_endpoint: str, uuid: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{server_endpoint}/moto-api/platformctl/event-source-mappings", timeout=5) as answer:
        return next((m for m in json.loads(answer.read())["mappings"] if m["uuid"] == uuid), {"polling": False})


def test_a_mapping_delivers_batches_in_lambdas_kinesis_event_shape(aws: Callable[[str], Any], server: Server) -> None:
    made = stream_with_mapping(aws)
    sequences = put(aws, *(f"order-{n}" for n in range(4)))
    found = wait_for(lambda: (lambda s: s if len(s) == 4 else None)(stored(aws)))
    assert {item["data"] for item in found.values()} == {f"order-{n}" for n in range(4)}
    assert {item["batch"] for item in found.values()} == {4}, "one batch of four records"
    record = found[sequences[0]]["record"]
    assert record["eventSource"] == "aws:kinesis" and record["eventName"] == "aws:kinesis:record"
    assert record["eventSourceARN"] == made["stream_arn"] and record["awsRegion"] == REGION
    assert record["eventID"] == f"shardId-000000000000:{sequences[0]}"
    assert record["kinesis"]["kinesisSchemaVersion"] == "1.0" and record["kinesis"]["partitionKey"] == "p"
    assert base64.b64decode(record["kinesis"]["data"]) == b"order-0"
    assert abs(record["kinesis"]["approximateArrivalTimestamp"] - time.time()) < 60
    state = wait_for(lambda: (lambda m: m if m["records"] == 4 else None)(mapping_state(server.endpoint, made["uuid"])))
    assert state["last_batch"]["result"] == "OK" and state["last_batch"]["size"] == 4
    assert aws("lambda").get_event_source_mapping(UUID=made["uuid"])["LastProcessingResult"] == "OK"


def test_batch_size_splits_the_records(aws: Callable[[str], Any]) -> None:
    stream_with_mapping(aws, BatchSize=2)
    put(aws, *(f"order-{n}" for n in range(5)))
    found = wait_for(lambda: (lambda s: s if len(s) == 5 else None)(stored(aws)))
    assert max(item["batch"] for item in found.values()) == 2


def test_the_batching_window_gathers_records_put_apart(aws: Callable[[str], Any]) -> None:
    stream_with_mapping(aws, MaximumBatchingWindowInSeconds=2)
    put(aws, "order-0")
    put(aws, "order-1")  # a separate PutRecords, inside the first record's window
    found = wait_for(lambda: (lambda s: s if len(s) == 2 else None)(stored(aws)))
    assert {item["batch"] for item in found.values()} == {2}


def test_an_at_timestamp_mapping_starts_at_its_time(aws: Callable[[str], Any]) -> None:
    aws("s3").create_bucket(Bucket="landing")
    make_function(aws, "consumer", "handlers.store", variables={"BUCKET": "landing"})
    kinesis = aws("kinesis")
    kinesis.create_stream(StreamName="orders", ShardCount=1)
    put(aws, "old")  # the server's clock is this machine's: "old" arrived before `stamp`
    stamp = time.time()
    time.sleep(0.05)  # puts the two records on either side of the timestamp; nothing is awaited
    put(aws, "new")
    arn = kinesis.describe_stream_summary(StreamName="orders")["StreamDescriptionSummary"]["StreamARN"]
    aws("lambda").create_event_source_mapping(
        FunctionName="consumer",
        EventSourceArn=arn,
        BatchSize=10,
        StartingPosition="AT_TIMESTAMP",
        StartingPositionTimestamp=stamp,
    )
    found = wait_for(lambda: stored(aws))
    assert [item["data"] for item in found.values()] == ["new"]


def test_a_partial_batch_failure_retries_from_the_first_failed_record_then_goes_to_the_queue(
    aws: Callable[[str], Any],
) -> None:
    made = stream_with_mapping(aws, FunctionResponseTypes=["ReportBatchItemFailures"], MaximumRetryAttempts=1)
    sequences = put(aws, "order-0", "order-1", "bad-2", "order-3")
    records = wait_for(lambda: failure_records(aws, made["queue"]))
    assert len(records) == 1
    record = records[0]
    info = record["KinesisBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (
        sequences[2],
        sequences[3],
        2,
    )
    assert info["shardId"] == "shardId-000000000000" and info["streamArn"] == made["stream_arn"]
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestContext"]["functionArn"].endswith(":function:consumer")
    assert record["version"] == "1.0" and record["responseContext"]["statusCode"] == 200
    # The records before the failed one were checkpointed once; the one after it was retried.
    found = stored(aws)
    assert set(found) == {sequences[0], sequences[1], sequences[3]}


def test_a_raising_function_is_retried_bisected_then_sent_to_the_on_failure_queue(aws: Callable[[str], Any]) -> None:
    made = stream_with_mapping(aws, handler="handlers.fail", MaximumRetryAttempts=1, BisectBatchOnFunctionError=True)
    sequences = put(aws, "order-0", "order-1")
    records: list[dict[str, Any]] = []
    wait_for(lambda: records.extend(failure_records(aws, made["queue"])) or len(records) == 2)
    infos = sorted((r["KinesisBatchInfo"] for r in records), key=lambda i: int(i["startSequenceNumber"]))
    assert [(i["startSequenceNumber"], i["batchSize"]) for i in infos] == [(sequences[0], 1), (sequences[1], 1)]
    assert {r["responseContext"]["functionError"] for r in records} == {"Unhandled"}
    # One invoke of the pair, then per half: the first try and one retry.
    reports = [m for m in log_messages(aws, "consumer") if m.startswith("REPORT")]
    assert len(reports) == 5


def test_a_latest_mapping_skips_what_was_on_the_stream_before_it(aws: Callable[[str], Any], server: Server) -> None:
    aws("s3").create_bucket(Bucket="landing")
    make_function(aws, "consumer", "handlers.store", variables={"BUCKET": "landing"})
    kinesis = aws("kinesis")
    kinesis.create_stream(StreamName="orders", ShardCount=1)
    put(aws, "before")
    arn = kinesis.describe_stream_summary(StreamName="orders")["StreamDescriptionSummary"]["StreamARN"]
    uuid = aws("lambda").create_event_source_mapping(
        FunctionName="consumer", EventSourceArn=arn, StartingPosition="LATEST", BatchSize=10
    )["UUID"]
    # The mapping is polling once each shard's worker holds its starting position.
    wait_for(lambda: mapping_state(server.endpoint, uuid)["polling"])
    put(aws, "after")
    found = wait_for(lambda: stored(aws))
    assert [item["data"] for item in found.values()] == ["after"]


def test_the_server_stops_cleanly_with_its_mapping_threads(tmp_path: Path) -> None:
    fresh = Server(tmp_path)
    aws = fresh.client
    stream_with_mapping(aws)
    put(aws, "order-0")
    wait_for(lambda: stored(aws))
    functions = children_of(fresh.process.pid)
    assert functions, "the function ran in a process of its own, kept warm"
    assert fresh.stop() == 0  # SIGTERM to the server alone, as `down` of an emulator it did not start sends
    # Each function process lives in a session of its own: the server's exit handlers stop them.
    wait_for(lambda: not [pid for pid in functions if Path(f"/proc/{pid}").exists() and not zombie(pid)])


def children_of(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue  # gone meanwhile
        if fields.get("PPid", "").strip() == str(pid):
            found.append(int(status.parent.name))
    return found


def zombie(pid: int) -> bool:
    try:
        return "State:\tZ" in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
