"""End to end: snapshots of the whole local platform (platformctl/local/snapshots.py) on
platformctl's moto server, with the real Terraform and provider, in a copy of this repository.

One platform for the module and one real apply (one to two minutes here): the first `up`, which
saves a snapshot. Everything else is a restore (seconds): a cold `up` with seed data, and the
emulator refusing a snapshot of another moto. The fallbacks that apply for real (a corrupted
snapshot, a changed tfvars) are test_snapshot_fallbacks.py's, on a root of two resources, as
their logic does not depend on what the root holds. The other inputs that must miss (a module,
the Lambda package, the moto version) are covered on the fingerprint in tests/test_snapshots.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from conftest import ENABLE_MIRROR, MIRROR

from integration.local_platform import Platform, bring_up, cold_up, snapshot_folder, snapshots_listed, take_down

pytestmark = pytest.mark.integration

PREFIX = "ecommerce-data-platform-local"
RAW, ORDERS = f"{PREFIX}-raw", f"{PREFIX}-orders"
SEED_KEY = "seed/customer-42.json"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    if not MIRROR:
        pytest.skip(ENABLE_MIRROR)
    started = bring_up(tmp_path_factory.mktemp("snapshots"))
    try:
        yield started
    finally:
        take_down(started)


def test_an_up_that_applied_saves_a_snapshot(platform: Platform) -> None:
    up = platform.first_up
    assert up["changed"] is True and up["restored_from"] is None
    saved = up["snapshot_saved"]
    assert saved and "Saved snapshot" in platform.first_up_log
    folder = snapshot_folder(platform, str(saved))
    assert {p.name for p in folder.iterdir()} == {"emulator.pickle", "terraform.tfstate", "meta.json"}
    (only,) = snapshots_listed(platform)
    assert only["id"] == saved and only["environment"] == "local" and int(only["resources"]) > 50  # type: ignore[call-overload]
    # A warm `up` with nothing to change neither applies nor saves again.
    warm, _ = platform.json("up")
    assert warm["changed"] is False and warm["snapshot_saved"] is None and warm["restored_from"] is None


def test_a_cold_up_restores_the_snapshot_with_its_seed_data(platform: Platform) -> None:
    platform.client("s3").put_object(Bucket=RAW, Key=SEED_KEY, Body=b'{"customer": 42}')
    platform.client("dynamodb").put_item(TableName=ORDERS, Item={"order_id": {"S": "seed-1"}, "total": {"N": "99"}})
    saved, _ = platform.json("snapshot", "save")
    assert saved["id"] == platform.first_up["snapshot_saved"], "the same inputs: the same snapshot, replaced"

    up, log = cold_up(platform)
    assert up["restored_from"] == saved["id"] and up["changed"] is False, log[-4000:]
    assert "apply" not in up["timings"] and "plan" not in up["timings"]  # type: ignore[operator]
    assert "Restored snapshot" in log and "resources checked" in log
    body = platform.client("s3").get_object(Bucket=RAW, Key=SEED_KEY)["Body"].read()
    assert body == b'{"customer": 42}', "S3 data is part of the snapshot"
    item = platform.client("dynamodb").get_item(TableName=ORDERS, Key={"order_id": {"S": "seed-1"}})["Item"]
    assert item["total"] == {"N": "99"}, "DynamoDB items are part of the snapshot"

    plan, plan_log = platform.json("plan", "local")
    assert plan["exit_code"] == 0 and plan["changes"] is False, plan_log[-4000:]
    smoke = platform.run("smoke", "local", "--timeout", "60")
    assert smoke.returncode == 0, f"{smoke.stdout[-4000:]}\n{smoke.stderr[-4000:]}"


def test_a_snapshot_of_another_moto_is_refused_by_the_emulator_and_nothing_changes(platform: Platform) -> None:
    """The fingerprint's moto part misses (tests/test_snapshots.py); should a snapshot claim the
    right fingerprint with another moto's pickle, the emulator itself refuses it."""
    snapshot_id = str(platform.first_up["snapshot_saved"])
    pickle_file = snapshot_folder(platform, snapshot_id) / "emulator.pickle"
    header, body = pickle_file.read_bytes().split(b"\n", 1)
    claimed = json.loads(header)
    claimed["moto_version"] = "0.0.1"
    pickle_file.write_bytes(json.dumps(claimed).encode() + b"\n" + body)
    try:
        result = platform.run("snapshot", "restore", "local", snapshot_id)
        assert result.returncode == 1 and "moto 0.0.1" in result.stderr, result.stderr[-4000:]
        assert "nothing was changed" in result.stderr
    finally:
        claimed["moto_version"] = json.loads(header)["moto_version"]
        pickle_file.write_bytes(json.dumps(claimed).encode() + b"\n" + body)
    # Refused before anything was swapped in: the platform on the emulator and its state as they were.
    s3 = platform.client("s3")
    s3.put_object(Bucket=RAW, Key="after-refusal", Body=b"still here")
    plan, plan_log = platform.json("plan", "local")
    assert plan["changes"] is False, plan_log[-4000:]
    # The intact snapshot restores on the running emulator, explicitly, replacing what it holds.
    restored, _ = platform.json("snapshot", "restore", "local", snapshot_id)
    assert int(restored["checked"]) > 50  # type: ignore[call-overload]
    assert "Contents" not in s3.list_objects_v2(Bucket=RAW, Prefix="after-refusal")
    plan, plan_log = platform.json("plan", "local")
    assert plan["changes"] is False, plan_log[-4000:]
