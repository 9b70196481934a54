"""platformctl.packaging: byte-reproducible Lambda zips, built with the standard library."""

from __future__ import annotations

import importlib.util
import os
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def load_packaging():
    # Loaded from its file: the module is stdlib-only and needs nothing else of platformctl.
    spec = importlib.util.spec_from_file_location(
        "platformctl_packaging_under_test", REPO / "platformctl" / "packaging.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


packaging = load_packaging()


def make_function(folder: Path) -> Path:
    (folder / "pkg").mkdir(parents=True)
    (folder / "handler.py").write_text("def lambda_handler(event, context):\n    return {}\n")
    (folder / "pkg" / "util.py").write_text("VALUE = 1\n")
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"\x00compiled")
    (folder / "pkg" / "stale.pyc").write_bytes(b"\x00")
    (folder / ".hidden").write_text("editor state\n")
    return folder


def test_two_builds_are_byte_identical(tmp_path: Path) -> None:
    source = make_function(tmp_path / "src")
    first = packaging.build_lambda_package(source, tmp_path / "one.zip")
    os.utime(source / "handler.py", (1_900_000_000, 1_900_000_000))  # mtimes must not matter
    (source / "pkg" / "util.py").chmod(0o755)  # nor permissions
    second = packaging.build_lambda_package(source, tmp_path / "two.zip")
    assert first.read_bytes() == second.read_bytes()


def test_contents_are_sorted_fixed_and_clean(tmp_path: Path) -> None:
    source = make_function(tmp_path / "src")
    archive = packaging.build_lambda_package(source, tmp_path / "out" / "f.zip")
    with zipfile.ZipFile(archive) as z:
        infos = z.infolist()
        assert [i.filename for i in infos] == ["handler.py", "pkg/util.py"]
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)
        assert all((i.external_attr >> 16) & 0o777 == 0o644 for i in infos)
        assert z.read("handler.py") == (source / "handler.py").read_bytes()
        assert z.testzip() is None


def test_build_all_builds_every_function(tmp_path: Path) -> None:
    make_function(tmp_path / "functions" / "alpha")
    make_function(tmp_path / "functions" / "beta")
    (tmp_path / "functions" / "__pycache__").mkdir()
    built = packaging.build_all(tmp_path)
    assert built == [tmp_path / "build" / "lambda" / "alpha.zip", tmp_path / "build" / "lambda" / "beta.zip"]
    assert all(p.is_file() for p in built)
    assert not list((tmp_path / "build" / "lambda").glob("*.partial"))


def test_the_repository_function_packages(tmp_path: Path) -> None:
    archive = packaging.build_lambda_package(REPO / "functions" / "order_ingest", tmp_path / "order_ingest.zip")
    with zipfile.ZipFile(archive) as z:
        assert "handler.py" in z.namelist()


def test_errors_are_plain(tmp_path: Path) -> None:
    with pytest.raises(packaging.PackagingError, match="not a directory"):
        packaging.build_lambda_package(tmp_path / "missing", tmp_path / "x.zip")
    (tmp_path / "empty").mkdir()
    with pytest.raises(packaging.PackagingError, match="no file"):
        packaging.build_lambda_package(tmp_path / "empty", tmp_path / "x.zip")
    assert packaging.main([str(tmp_path / "nowhere")]) == 1


def test_module_imports_nothing_but_the_standard_library() -> None:
    text = (REPO / "platformctl" / "packaging.py").read_text()
    for heavy in ("typer", "rich", "boto3"):
        assert f"import {heavy}" not in text and f"from {heavy}" not in text
