"""platformctl.files: atomic writes and the inter-process lock."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from platformctl import files
from platformctl.errors import PlatformctlError


def test_atomic_write_replaces_whole_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "records" / "record.json"
    files.atomic_write(target, "old")
    files.atomic_write(target, b"new", mode=0o600)
    assert target.read_text() == "new"
    assert oct(target.stat().st_mode & 0o777) == oct(0o600)
    assert [p.name for p in target.parent.iterdir()] == ["record.json"]


def test_atomic_write_where_folder_is_a_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("")
    with pytest.raises(PlatformctlError, match="Cannot write in"):
        files.atomic_write(tmp_path / "blocker" / "x.json", "data")


def test_lock_refuses_while_another_process_holds_it(tmp_path: Path) -> None:
    shared = tmp_path / "emulator"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, filelock; l = filelock.FileLock(sys.argv[1]); l.acquire(); print('held', flush=True); "
            "sys.stdin.read()",
            str(shared) + ".lock",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with (
            pytest.raises(PlatformctlError, match="Another platformctl process is using the emulator"),
            files.locked(shared, what="the emulator"),
        ):
            pass
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)
    with files.locked(shared, what="the emulator"):
        assert (tmp_path / "emulator.lock").exists()
