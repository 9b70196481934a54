"""The local platform that the integration tests share: one real `platformctl up local` per
session (about a minute of the provider's own waits), read by test_smoke.py and
test_up_local.py. Tests that change it for good (kill its emulator, take it down) are marked
`mutates_shared_local_platform` and run right after its last reader."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import ENABLE_MIRROR, MIRROR

from integration.local_platform import Platform, bring_up, take_down

MUTATES = "mutates_shared_local_platform"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MUTATES}: changes the session's shared local platform for good; runs after every reader"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The mutating tests move to just after the platform's last reader, in their own order,
    so the platform is read whole and then ended early (not kept up for the rest of the run)."""
    mutating = [item for item in items if item.get_closest_marker(MUTATES) is not None]
    if not mutating:
        return
    others = [item for item in items if item.get_closest_marker(MUTATES) is None]
    readers = [index for index, item in enumerate(others) if "shared_local_platform" in item.fixturenames]
    at = readers[-1] + 1 if readers else len(others)
    items[:] = [*others[:at], *mutating, *others[at:]]


@pytest.fixture(scope="session")
def shared_local_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    if not MIRROR:
        pytest.skip(ENABLE_MIRROR)
    platform = bring_up(tmp_path_factory.mktemp("local-platform"))
    try:
        yield platform
    finally:
        take_down(platform)
