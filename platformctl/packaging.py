"""Reproducible Lambda packages, built in pure Python (standard library only).

The hashicorp/archive provider is not available on our air-gapped machines, so the zips the
Terraform lambda module deploys are built here. The same source gives the same bytes on
every machine and every run: entries sorted by path, a fixed timestamp (1980-01-01, the
earliest a zip can hold), fixed 0o644 permissions, fixed compression, no directories, and
no ``__pycache__`` or compiled files. Terraform's ``source_code_hash`` therefore changes only
when the code does.

``python -m platformctl.packaging [ROOT]`` builds every folder under ``ROOT/functions`` into
``ROOT/build/lambda/<name>.zip`` (ROOT defaults to the current directory).
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644  # regular file, rw-r--r--
EXCLUDED_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
EXCLUDED_SUFFIXES = frozenset({".pyc", ".pyo"})
FUNCTIONS_DIR = "functions"
OUTPUT_DIR = Path("build") / "lambda"


class PackagingError(Exception):
    """A function folder cannot be packaged (missing, empty)."""


def _included(path: Path, source_dir: Path) -> bool:
    relative = path.relative_to(source_dir)
    if any(part in EXCLUDED_DIRS or part.startswith(".") for part in relative.parts):
        return False
    return path.is_file() and path.suffix not in EXCLUDED_SUFFIXES


def package_files(source_dir: Path) -> list[Path]:
    """The files a package of source_dir holds, sorted by their path inside the zip."""
    files = [p for p in source_dir.rglob("*") if _included(p, source_dir)]
    return sorted(files, key=lambda p: p.relative_to(source_dir).as_posix())


def build_lambda_package(source_dir: Path, output_zip: Path) -> Path:
    """Zip source_dir into output_zip, byte for byte the same for the same source."""
    source_dir = Path(source_dir)
    output_zip = Path(output_zip)
    if not source_dir.is_dir():
        raise PackagingError(f"{source_dir} is not a directory")
    files = package_files(source_dir)
    if not files:
        raise PackagingError(f"{source_dir} holds no file to package")

    output_zip.parent.mkdir(parents=True, exist_ok=True)
    partial = output_zip.with_name(output_zip.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(source_dir).as_posix(), FIXED_DATE_TIME)
            info.external_attr = FILE_MODE << 16
            info.create_system = 3  # Unix, so the permission bits are honoured
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    partial.replace(output_zip)  # never leave a half-written zip where Terraform looks
    return output_zip


def build_all(root: Path) -> list[Path]:
    """Build every folder under root/functions into root/build/lambda/<name>.zip."""
    root = Path(root)
    functions = root / FUNCTIONS_DIR
    if not functions.is_dir():
        raise PackagingError(f"{functions} does not exist")
    built = []
    for source in sorted(p for p in functions.iterdir() if p.is_dir() and _included_dir(p)):
        built.append(build_lambda_package(source, root / OUTPUT_DIR / f"{source.name}.zip"))
    return built


def _included_dir(path: Path) -> bool:
    return path.name not in EXCLUDED_DIRS and not path.name.startswith(".")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else Path.cwd()
    try:
        for package in build_all(root):
            print(package)
    except PackagingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
