"""End to end: `platformctl up local` on the embedded moto server, as a laptop runs it.

platformctl runs as a real process (`python -m platformctl`) against a copy of this
repository, with the real Terraform, the hashicorp/aws provider from the machine's mirror,
and the moto server platformctl starts itself on a free port. One `up` is shared by the
session (integration/conftest.py; it takes about a minute, most of it the provider's own
waits); each test leaves the platform up, except the two marked
`mutates_shared_local_platform` (the emulator killed, then `down`), which run after every reader.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from integration.local_platform import Platform, clean_env, small_local_project
from platformctl import process
from platformctl.emulators import lifecycle as emulator

pytestmark = pytest.mark.integration

PREFIX = "ecommerce-data-platform-local"
BUCKETS = {f"{PREFIX}-{layer}" for layer in ("raw", "processed", "curated")}
TABLES = {f"{PREFIX}-orders", f"{PREFIX}-customer-sessions"}
STREAMS = {f"{PREFIX}-order-events", f"{PREFIX}-clickstream"}
FUNCTION = f"{PREFIX}-order-ingest"
QUEUE, DLQ = f"{PREFIX}-order-ingest-failures", f"{PREFIX}-order-ingest-failures-dlq"


@pytest.fixture
def platform(shared_local_platform: Platform) -> Platform:
    """The session's one `up` (integration/conftest.py), shared with test_smoke.py."""
    return shared_local_platform


def test_up_starts_moto_and_creates_every_resource(platform: Platform) -> None:
    up = platform.first_up
    assert up["changed"] is True and up["recovered"] is False
    assert up["emulator"]["kind"] == "moto" and up["emulator"]["started_by_platformctl"] is True
    assert up["emulator"]["endpoint"] == platform.endpoint
    assert "Emulator: moto (" in platform.first_up_log, "platformctl says which emulator it chose and why"
    assert "The data path is live" in platform.first_up_log, "platformctl's moto server runs the functions"
    resources = up["resources"]
    assert resources["endpoint"] == platform.endpoint
    assert set(resources["buckets"]) == BUCKETS
    assert (set(resources["tables"]), set(resources["streams"])) == (TABLES, STREAMS)
    assert resources["functions"] == [FUNCTION]
    assert {url.rsplit("/", 1)[1] for url in resources["queues"]} == {QUEUE, DLQ}
    assert set(up["timings"]) >= {"emulator", "init", "apply", "total"}
    assert "plan" not in up["timings"], "up plans and applies in one Terraform run"
    assert not list((platform.root / ".platformctl").rglob("*.tfplan")), "no plan file is written"
    log = platform.first_up_log
    assert "terraform apply: " in log and " added, 0 changed, 0 destroyed in " in log, "the final summary line"
    assert "will be created" not in log and 'terraform apply"' not in log, "no plan dump, no Terraform hint"

    # The emulator outlived the platformctl that started it, in a session of its own.
    record = platform.record()
    assert record is not None and record.pid and process.pid_alive(record.pid)
    assert os.getsid(record.pid) == record.pid


def test_buckets_are_versioned_encrypted_and_private(platform: Platform) -> None:
    s3 = platform.client("s3")
    assert {b["Name"] for b in s3.list_buckets()["Buckets"]} >= BUCKETS
    for bucket in BUCKETS:
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
        assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert all(block.values()) and len(block) == 4
        rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        assert [r["Status"] for r in rules] == ["Enabled"]
        assert {t["StorageClass"] for t in rules[0]["Transitions"]} == {"STANDARD_IA", "GLACIER"}


def test_tables_streams_queues_and_function_have_their_settings(platform: Platform) -> None:
    dynamodb = platform.client("dynamodb")
    orders = dynamodb.describe_table(TableName=f"{PREFIX}-orders")["Table"]
    assert orders["BillingModeSummary"]["BillingMode"] == "PROVISIONED"  # autoscaled, as in dev and prod
    assert orders["KeySchema"] == [{"AttributeName": "order_id", "KeyType": "HASH"}]
    assert [index["IndexName"] for index in orders["GlobalSecondaryIndexes"]] == ["customer_id-index"]
    backups = dynamodb.describe_continuous_backups(TableName=f"{PREFIX}-orders")["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    ttl = dynamodb.describe_time_to_live(TableName=f"{PREFIX}-customer-sessions")["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")

    kinesis = platform.client("kinesis")
    # The order stream keeps its records 14 days, as long as the failure queue keeps the pointers
    # its on-failure destination writes; the clickstream keeps the default day.
    retention = {f"{PREFIX}-order-events": 336, f"{PREFIX}-clickstream": 24}
    for stream in STREAMS:
        summary = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
        assert summary["StreamStatus"] == "ACTIVE"
        assert summary["StreamModeDetails"]["StreamMode"] == "ON_DEMAND"
        assert summary["RetentionPeriodHours"] == retention[stream]

    sqs = platform.client("sqs")
    queue_url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "180"
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(f":{DLQ}")

    lambda_client = platform.client("lambda")
    config = lambda_client.get_function(FunctionName=FUNCTION)["Configuration"]
    assert (config["MemorySize"], config["Timeout"]) == (256, 30)
    assert config["Runtime"].startswith("python3")
    assert set(config["Environment"]["Variables"]) >= {"RAW_BUCKET", "ORDERS_TABLE", "FAILURE_QUEUE_URL"}
    mappings = [
        m
        for m in lambda_client.list_event_source_mappings()["EventSourceMappings"]
        if m["FunctionArn"] == config["FunctionArn"]
    ]
    assert [m["EventSourceArn"].rsplit("/", 1)[1] for m in mappings] == [f"{PREFIX}-order-events"]


def _terraform_runs(log: str) -> list[str]:
    """The Terraform commands a `--debug` run of platformctl started (its subprocess log)."""
    return [line.split(": ", 1)[1] for line in log.splitlines() if line.startswith(("DEBUG stream", "DEBUG capture"))]


def test_up_again_changes_nothing_and_skips_init(platform: Platform) -> None:
    pid = platform.first_up["emulator"]["pid"]
    again, log = platform.json("--debug", "up")
    assert again["changed"] is False and again["recovered"] is False
    assert again["emulator"]["pid"] == pid, "the running emulator is reused"
    assert "No changes: local is up to date" in log
    assert "Initializing" not in log, "init must be skipped when nothing it depends on changed"
    # Nothing Terraform reads changed since the apply on this emulator start: no Terraform.
    assert not [run for run in _terraform_runs(log) if " apply " in run or " plan " in run], log[-3000:]
    assert "apply" not in again["timings"] and "plan" not in again["timings"]


def test_up_after_an_input_changed_applies_once_without_refresh(platform: Platform) -> None:
    outputs = platform.root / "terraform" / "environments" / "local" / "outputs.tf"
    original = outputs.read_text()
    outputs.write_text(original + "\n# an edit that changes no resource\n")
    try:
        touched, log = platform.json("--debug", "up")
    finally:
        outputs.write_text(original)
    assert touched["changed"] is False
    runs = [run for run in _terraform_runs(log) if " apply " in run or " plan " in run]
    assert len(runs) == 1 and " -json " in runs[0] and " -auto-approve" in runs[0], runs
    # The state belongs to the running emulator start: nothing to read back.
    assert "-refresh=false" in runs[0]
    assert "plan" not in touched["timings"] and "apply" in touched["timings"]
    assert "No changes. Your infrastructure matches" not in log and "Refreshing state" not in log
    assert "terraform apply: no changes" in log

    refreshed, log = platform.json("--debug", "up", "--refresh")
    assert refreshed["changed"] is False
    runs = [run for run in _terraform_runs(log) if " apply " in run]
    assert len(runs) == 1 and "-refresh=false" not in runs[0], runs


def test_plan_local_after_up_finds_nothing_to_do(platform: Platform) -> None:
    """`plan local` follows the port `up` used (-var emulator_endpoint from the record)."""
    result = platform.run("plan", "local")
    assert result.returncode == 0, result.stdout + result.stderr[-4000:]


def test_status_is_all_green(platform: Platform) -> None:
    status, _ = platform.json("status")
    assert status["healthy"] is True
    assert status["emulator"] | {"pid": None} == status["emulator"] | {
        "kind": "moto",
        "endpoint": platform.endpoint,
        "healthy": True,
        "started_by_platformctl": True,
        "pid": None,
    }
    names = {r["name"] for r in status["resources"] if r["exists"]}
    assert len(status["resources"]) == 10 and all(r["exists"] for r in status["resources"])
    assert BUCKETS | TABLES | STREAMS | {FUNCTION} <= names


@pytest.mark.mutates_shared_local_platform
def test_up_recovers_after_the_emulator_died(platform: Platform) -> None:
    record = platform.record()
    assert record is not None and record.pid
    os.kill(record.pid, signal.SIGKILL)  # moto keeps everything in memory: all of it is gone
    deadline = time.monotonic() + 15
    while process.pid_alive(record.pid) and time.monotonic() < deadline:
        time.sleep(0.05)

    down_status, _ = platform.json("status", ok=(1,))
    assert down_status["healthy"] is False and down_status["emulator"]["detail"] == "process gone"

    # --no-snapshot: this is the recovery by a real apply (a restore is tests/integration/test_snapshots.py).
    recovered, log = platform.json("up", "--no-snapshot")
    assert "is gone; starting a new one" in log
    assert "The emulator restarted since the last apply: its resources are gone; recreating them." in log
    assert "Error:" not in log and "not found" not in log.lower(), log[-4000:]
    assert recovered["recovered"] is True and recovered["changed"] is True
    assert recovered["emulator"]["pid"] != record.pid
    assert {b["Name"] for b in platform.client("s3").list_buckets()["Buckets"]} >= BUCKETS
    backups = list((platform.root / ".platformctl" / "backups").glob("terraform.tfstate.*"))
    assert backups, "the stale state is kept aside, not deleted"

    status, _ = platform.json("status")
    assert status["healthy"] is True


@pytest.mark.mutates_shared_local_platform
def test_down_removes_everything_and_twice_is_fine(platform: Platform) -> None:
    record = platform.record()
    assert record is not None and record.pid
    down, _ = platform.json("down")
    assert down["destroyed"] is True and down["stopped"] is True and down["nothing_to_do"] is False
    assert not process.pid_alive(record.pid)
    assert emulator.probe(platform.port).listening is False
    assert not (platform.root / ".platformctl" / "emulator").exists()
    assert not (platform.root / "terraform" / "environments" / "local" / "terraform.tfstate").exists()

    again, _ = platform.json("down")
    assert again["nothing_to_do"] is True


def test_down_destroys_on_an_emulator_it_did_not_start_and_leaves_it_running(
    tmp_path: Path, provider_mirror: Path, moto_server: Any
) -> None:
    """Against someone else's emulator, `down` runs terraform destroy (the emulator stays, so
    its resources would too) and never stops it."""
    root = small_local_project(tmp_path / "repo", "destroy-check")
    small = Platform(root, moto_server.port, clean_env(tmp_path / "home"), {}, "")

    up, log = small.json("up", "--port", str(moto_server.port))
    assert "that platformctl did not start" in log
    assert up["resources"]["buckets"] == ["destroy-check-data"]
    assert "destroy-check-items" in small.client("dynamodb").list_tables()["TableNames"]

    down, _ = small.json("down")
    assert down["destroyed"] is True and down["stopped"] is False
    assert any("platformctl did not start it" in message for message in down["messages"])
    assert emulator.probe(moto_server.port).kind == "moto", "down must leave it running"
    assert "destroy-check-data" not in {b["Name"] for b in small.client("s3").list_buckets()["Buckets"]}
    assert "destroy-check-items" not in small.client("dynamodb").list_tables()["TableNames"]
