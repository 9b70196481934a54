"""Run every benchmark of the project and print one table: median, min, max, target, pass/fail.

    python benchmarks/run.py                 # every benchmarks/bench_*.py
    python benchmarks/run.py --only up_local # just bench_up_local.py (repeatable)
    python benchmarks/run.py --folder DIR    # the bench_*.py files of another folder

A benchmark is benchmarks/bench_<topic>.py with `def run() -> list[Figure]` (see harness.py).
Exit status: 0 when every figure meets its target, 1 when one misses it or a benchmark fails
to run; the table is printed either way.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    # Benchmarks import `harness` as a sibling module, however this script is started.
    sys.path.insert(0, str(HERE))

from harness import Figure  # noqa: E402  (needs the path above)


@dataclass(frozen=True)
class Outcome:
    """What one benchmark module produced: its figures, or the error that stopped it."""

    topic: str
    figures: tuple[Figure, ...] = ()
    error: str | None = None
    seconds: float = 0.0


def discover(folder: Path, only: Sequence[str] = ()) -> list[Path]:
    """bench_*.py in `folder`, by name; `only` keeps the topics named (with or without `bench_`)."""
    if not folder.is_dir():
        raise SystemExit(f"{folder} is not a folder of benchmarks.")
    found = sorted(folder.glob("bench_*.py"))
    if not only:
        return found
    wanted = {name.removeprefix("bench_").removesuffix(".py") for name in only}
    unknown = wanted - {path.stem.removeprefix("bench_") for path in found}
    if unknown:
        topics = ", ".join(path.stem.removeprefix("bench_") for path in found) or "none"
        raise SystemExit(f"No benchmark named {', '.join(sorted(unknown))}: choose from {topics}.")
    return [path for path in found if path.stem.removeprefix("bench_") in wanted]


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_one(path: Path) -> Outcome:
    """Import and run one benchmark; a failure becomes a row, never the end of the whole run."""
    topic = path.stem.removeprefix("bench_")
    start = time.perf_counter()
    try:
        figures = tuple(_load(path).run())
    except Exception as exc:  # noqa: BLE001 - report every benchmark, even after one breaks
        traceback.print_exc(file=sys.stderr)
        return Outcome(topic, error=f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - start)
    # Duck-typed: a module may import Figure as `harness` or as `benchmarks.harness`.
    if not figures or not all(getattr(f, "samples", None) for f in figures):
        return Outcome(
            topic,
            error="run() must return a non-empty list of Figure with samples",
            seconds=time.perf_counter() - start,
        )
    return Outcome(topic, figures, seconds=time.perf_counter() - start)


def _value(value: float, unit: str) -> str:
    return f"{value:.2f} {unit}" if unit == "s" else f"{value:.2f}{unit}"


def rows(outcomes: Sequence[Outcome]) -> list[list[str]]:
    table: list[list[str]] = []
    for outcome in outcomes:
        if outcome.error is not None:
            table.append([outcome.topic, "-", "-", "-", "-", "error", outcome.error])
            continue
        for figure in outcome.figures:
            table.append(
                [
                    f"{outcome.topic}: {figure.name}",
                    _value(figure.median, figure.unit),
                    _value(min(figure.samples), figure.unit),
                    _value(max(figure.samples), figure.unit),
                    f"<= {_value(figure.target, figure.unit)}",
                    "pass" if figure.passed else "fail",
                    f"{len(figure.samples)} run{'' if len(figure.samples) == 1 else 's'}",
                ]
            )
    return table


def all_passed(outcomes: Sequence[Outcome]) -> bool:
    return all(o.error is None and all(f.passed for f in o.figures) for o in outcomes)


def render(table: list[list[str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    view = Table(title="platformctl benchmarks", title_justify="left")
    for column in ("benchmark", "median", "min", "max", "target", "result", "note"):
        view.add_column(column, justify="right" if column in ("median", "min", "max", "target") else "left")
    style = {"pass": "green", "fail": "red", "error": "red"}
    for row in table:
        view.add_row(*row[:5], f"[{style[row[5]]}]{row[5]}[/]", row[6])
    Console(soft_wrap=True).print(view)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--only", action="append", default=[], metavar="NAME", help="run only bench_NAME.py; repeat for several"
    )
    parser.add_argument("--folder", type=Path, default=HERE, help="where the bench_*.py files are (default: here)")
    args = parser.parse_args(argv)
    paths = discover(args.folder, args.only)
    if not paths:
        print("No benchmarks/bench_*.py yet.", file=sys.stderr)
        return 0
    outcomes = []
    for path in paths:
        print(f"running {path.name} ...", file=sys.stderr, flush=True)
        outcomes.append(run_one(path))
    render(rows(outcomes))
    return 0 if all_passed(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
