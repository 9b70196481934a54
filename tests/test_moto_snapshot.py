"""Snapshot and restore of platformctl's moto server (platformctl/emulators/moto_snapshot.py).

Real servers (`python -m platformctl.emulators.moto_server`), real boto3: one server gets a bucket
with an object, a table with an item, a KMS key and a ciphertext of it, a stream with a record,
a queue with a message and a function fed by a Kinesis mapping; its snapshot is restored into
fresh servers, which must answer for all of it (the function runs, the mapping delivers); a
damaged file and a file of another moto version are refused with the server left as it was.
"""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import wait_for
from integration.lambda_server import Server

from platformctl.emulators import moto_snapshot

HANDLER = """
import base64, os, boto3

def store(event, context):
    s3 = boto3.client("s3")
    for record in event.get("Records", []):
        data = base64.b64decode(record["kinesis"]["data"]).decode()
        s3.put_object(Bucket=os.environ["BUCKET"], Key="from-stream/" + data, Body=data)
    return {"seen": len(event.get("Records", [])), "bucket": os.environ["BUCKET"]}
"""


def code_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", HANDLER)
    return buffer.getvalue()


def post(server: Server, route: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{server.endpoint}{route}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def populate(aws: Callable[[str], Any]) -> dict[str, Any]:
    aws("s3").create_bucket(Bucket="lake")
    aws("s3").put_object(Bucket="lake", Key="seed/order-1.json", Body=b'{"order": 1}')
    dynamodb = aws("dynamodb")
    dynamodb.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName="orders", Item={"id": {"S": "o-1"}, "total": {"N": "42"}})
    key = aws("kms").create_key(Description="lake key")["KeyMetadata"]["KeyId"]
    ciphertext = aws("kms").encrypt(KeyId=key, Plaintext=b"secret")["CiphertextBlob"]
    kinesis = aws("kinesis")
    kinesis.create_stream(StreamName="events", ShardCount=1)
    stream_arn = kinesis.describe_stream_summary(StreamName="events")["StreamDescriptionSummary"]["StreamARN"]
    queue = aws("sqs").create_queue(QueueName="failures")["QueueUrl"]
    aws("sqs").send_message(QueueUrl=queue, MessageBody="kept")
    role = aws("iam").create_role(RoleName="store-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    aws("lambda").create_function(
        FunctionName="store",
        Runtime="python3.12",
        Role=role,
        Handler="handler.store",
        Code={"ZipFile": code_zip()},
        Timeout=10,
        Environment={"Variables": {"BUCKET": "lake"}},
    )
    aws("lambda").create_event_source_mapping(
        FunctionName="store", EventSourceArn=stream_arn, StartingPosition="LATEST", BatchSize=10
    )
    return {"key": key, "ciphertext": ciphertext, "queue": queue}


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("moto-snapshot")
    (folder / "source").mkdir()
    source = Server(folder / "source")
    try:
        made = populate(source.client)
        path = folder / "emulator.pickle"
        status, answer = post(source, moto_snapshot.SNAPSHOT_PATH, {"path": str(path)})
        assert status == 200, answer
        assert answer["bytes"] == path.stat().st_size > 0
        assert answer["moto_version"] == moto_snapshot.moto_version()
        assert {"moto.s3.models.s3_backends", "moto.dynamodb.models.dynamodb_backends"} <= set(answer["services"])
        yield path, made
    finally:
        source.stop()


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Server]:
    (tmp_path / "server").mkdir()
    server = Server(tmp_path / "server")
    try:
        yield server
    finally:
        server.stop()


def test_a_restored_server_answers_for_every_resource_and_its_data(
    saved: tuple[Path, dict[str, Any]], fresh: Server
) -> None:
    path, made = saved
    fresh.client("s3").create_bucket(Bucket="only-on-the-fresh-server")
    status, answer = post(fresh, moto_snapshot.RESTORE_PATH, {"path": str(path)})
    assert status == 200, answer
    aws = fresh.client
    buckets = {b["Name"] for b in aws("s3").list_buckets()["Buckets"]}
    assert buckets == {"lake"}, "the restore replaces what the server had"
    assert aws("s3").get_object(Bucket="lake", Key="seed/order-1.json")["Body"].read() == b'{"order": 1}'
    item = aws("dynamodb").get_item(TableName="orders", Key={"id": {"S": "o-1"}})["Item"]
    assert item["total"] == {"N": "42"}
    assert aws("kms").decrypt(CiphertextBlob=made["ciphertext"])["Plaintext"] == b"secret"
    assert aws("kms").describe_key(KeyId=made["key"])["KeyMetadata"]["Description"] == "lake key"
    message = aws("sqs").receive_message(QueueUrl=made["queue"])["Messages"][0]
    assert message["Body"] == "kept"
    # The function runs from its restored code, with a new session of its restored role.
    invoked = aws("lambda").invoke(FunctionName="store", Payload=b"{}")
    assert "FunctionError" not in invoked, invoked["Payload"].read()
    assert json.loads(invoked["Payload"].read()) == {"seen": 0, "bucket": "lake"}
    # The restored Kinesis mapping is polled again: a new record reaches the bucket.
    aws("kinesis").put_record(StreamName="events", Data=b"after-restore", PartitionKey="p")
    body = wait_for(lambda: _object(aws, "from-stream/after-restore"))
    assert body == b"after-restore"


def _object(aws: Callable[[str], Any], key: str) -> bytes | None:
    try:
        return bytes(aws("s3").get_object(Bucket="lake", Key=key)["Body"].read())
    except aws("s3").exceptions.NoSuchKey:
        return None


def _untouched(server: Server) -> None:
    names = {b["Name"] for b in server.client("s3").list_buckets()["Buckets"]}
    assert names == {"kept-as-it-was"}, names


def test_a_damaged_snapshot_is_refused_and_the_server_is_left_as_it_was(
    saved: tuple[Path, dict[str, Any]], fresh: Server, tmp_path: Path
) -> None:
    path, _ = saved
    fresh.client("s3").create_bucket(Bucket="kept-as-it-was")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged = tmp_path / "damaged.pickle"
    damaged.write_bytes(bytes(data))
    status, answer = post(fresh, moto_snapshot.RESTORE_PATH, {"path": str(damaged)})
    assert status == 409 and "checksum" in answer["error"]
    _untouched(fresh)
    # A body that passes the checksum but does not unpickle is refused just the same.
    header = json.loads(path.read_bytes().split(b"\n", 1)[0])
    body = b"\x80\x05not a pickle at all"
    header.update(sha256=__import__("hashlib").sha256(body).hexdigest(), size=len(body))
    damaged.write_bytes(json.dumps(header).encode() + b"\n" + body)
    status, answer = post(fresh, moto_snapshot.RESTORE_PATH, {"path": str(damaged)})
    assert status == 409 and "does not load" in answer["error"]
    _untouched(fresh)
    status, answer = post(fresh, moto_snapshot.RESTORE_PATH, {"path": str(tmp_path / "missing.pickle")})
    assert status == 409
    _untouched(fresh)


def test_a_snapshot_of_another_moto_version_is_refused(
    saved: tuple[Path, dict[str, Any]], fresh: Server, tmp_path: Path
) -> None:
    path, _ = saved
    fresh.client("s3").create_bucket(Bucket="kept-as-it-was")
    header_line, body = path.read_bytes().split(b"\n", 1)
    header = json.loads(header_line)
    header["moto_version"] = "4.0.0"
    other = tmp_path / "other-moto.pickle"
    other.write_bytes(json.dumps(header).encode() + b"\n" + body)
    status, answer = post(fresh, moto_snapshot.RESTORE_PATH, {"path": str(other)})
    assert status == 409 and "moto 4.0.0" in answer["error"]
    _untouched(fresh)


def test_the_routes_want_a_post_with_an_absolute_path(fresh: Server) -> None:
    status, answer = post(fresh, moto_snapshot.SNAPSHOT_PATH, {"path": "relative.pickle"})
    assert status == 400 and "absolute" in answer["error"]
    status, answer = post(fresh, moto_snapshot.RESTORE_PATH, {})
    assert status == 400
