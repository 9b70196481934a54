"""What every benchmark shares: timing, and one row of the table that `run.py` prints.

A benchmark module is `benchmarks/bench_<topic>.py` with `def run() -> list[Figure]`.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    name: str
    samples: tuple[float, ...]
    target: float  # the figure must be at most this
    unit: str = "s"  # "s" for seconds, "x" for a ratio

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def passed(self) -> bool:
        return self.median <= self.target


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def time_command(argv: Sequence[str], repeat: int, **kwargs: object) -> tuple[float, ...]:
    """Wall-clock seconds of `repeat` runs of argv; each must exit 0 (or as `ok_codes` says)."""
    ok_codes = tuple(kwargs.pop("ok_codes", (0,)))  # type: ignore[arg-type]
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = subprocess.run(list(argv), capture_output=True, check=False, **kwargs)  # type: ignore[call-overload]
        samples.append(time.perf_counter() - start)
        if result.returncode not in ok_codes:
            raise RuntimeError(f"{' '.join(argv)} exited {result.returncode}: {result.stderr.decode()[-2000:]}")
    return tuple(samples)
