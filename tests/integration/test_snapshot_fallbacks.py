"""End to end: the snapshot fallbacks that apply for real (platformctl/local/snapshots.py), on
platformctl's moto server with the real Terraform and provider: a corrupted snapshot is one
warning and a real apply, a changed tfvars is a plain miss. Their logic does not depend on what
the root holds, so they run on a local root of two resources, where an apply takes seconds; the
whole platform's snapshot and restore are test_snapshots.py's.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import ENABLE_MIRROR, MIRROR

from integration.local_platform import (
    Platform,
    bring_up,
    cold_up,
    small_local_project,
    snapshot_folder,
    snapshots_listed,
    take_down,
)

pytestmark = pytest.mark.integration

NAME = "snapshot-fallback"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    if not MIRROR:
        pytest.skip(ENABLE_MIRROR)
    base = tmp_path_factory.mktemp("snapshot-fallbacks")
    root = small_local_project(base / "repo", NAME)
    (root / "terraform/environments/local/terraform.tfvars").write_text("# the local root's inputs\n")
    started = bring_up(base, root)
    try:
        assert started.first_up["snapshot_saved"], "an up that applied saves a snapshot"
        yield started
    finally:
        take_down(started)


def test_a_corrupted_snapshot_is_one_warning_and_a_real_apply(platform: Platform) -> None:
    snapshot_id = str(platform.first_up["snapshot_saved"])
    pickle_file = snapshot_folder(platform, snapshot_id) / "emulator.pickle"
    down = platform.run("down")
    assert down.returncode == 0, down.stderr[-4000:]
    data = bytearray(pickle_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    pickle_file.write_bytes(bytes(data))

    up, log = platform.json("up", "--port", str(platform.port))
    warnings = [line for line in log.splitlines() if "Snapshot not used" in line]
    assert len(warnings) == 1 and "checksum" in warnings[0], log[-4000:]
    assert up["restored_from"] is None and up["changed"] is True
    assert up["snapshot_saved"] == snapshot_id, "the real apply replaces the broken snapshot"
    assert f"{NAME}-items" in platform.client("dynamodb").list_tables()["TableNames"], "applied for real"
    status = platform.run("status", "local")
    assert status.returncode == 0, status.stdout[-4000:]
    plan, plan_log = platform.json("plan", "local")
    assert plan["changes"] is False, plan_log[-4000:]
    # The replacement is whole: the next cold up restores it.
    restored, log = cold_up(platform)
    assert restored["restored_from"] == snapshot_id and restored["changed"] is False, log[-4000:]


def test_a_changed_tfvars_misses_the_snapshot_and_applies_for_real(platform: Platform) -> None:
    old = str(platform.first_up["snapshot_saved"])
    tfvars = platform.root / "terraform/environments/local/terraform.tfvars"
    tfvars.write_text(tfvars.read_text() + "\n# a changed input: the snapshot no longer matches\n")
    up, log = cold_up(platform)
    assert up["restored_from"] is None and up["changed"] is True, log[-4000:]
    assert "Snapshot not used" not in log, "a miss is no warning: there is simply no snapshot of these inputs"
    assert up["snapshot_saved"] and up["snapshot_saved"] != old
    assert {s["id"] for s in snapshots_listed(platform)} == {old, up["snapshot_saved"]}
    pruned, _ = platform.json("snapshot", "prune", "--keep", "1")
    assert pruned["removed"] == [old]
