"""`platformctl smoke local`: how long an order takes to flow through the local data path.

    python benchmarks/bench_smoke.py     # prints the figures

On a copy of this repository, `up local` once (the embedded moto server, the real
order_ingest package), then five runs of `platformctl --json smoke local --count 10`. The
figure is what smoke itself measures: from its first put on the order stream to its last
check holding (10 orders in the raw bucket and the orders table, the invalid event in the
failure queue). The wall-clock time of the whole command (Python start, discovery,
cleanup) is printed beside it. The local mapping's batching window (1 s) is part of it.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from bench_local import MIRROR, Runner, _copy_repository, _free_port, platformctl  # noqa: E402
from harness import Figure  # noqa: E402  (needs the path above)

ROUNDS = 5
ORDERS = 10
TARGET = 5.0


def run() -> list[Figure]:
    if not MIRROR:
        raise RuntimeError(
            "needs the hashicorp/aws provider: set PLATFORMCTL_PROVIDER_MIRROR to a Terraform filesystem mirror "
            "(e.g. /opt/tf-plugins), or give the machine internet access"
        )
    with tempfile.TemporaryDirectory(prefix="bench-smoke-") as tmp:
        platform = Runner(_copy_repository(Path(tmp) / "repo"), _free_port())
        try:
            up, _ = platform("up", "--port", str(platform.port))
            print(f"up local (once): {up:.1f} s", file=sys.stderr)
            flow: list[float] = []
            wall: list[float] = []
            for _ in range(ROUNDS):
                start = time.perf_counter()
                _, outcome = platform("smoke", "local", "--count", str(ORDERS))
                wall.append(time.perf_counter() - start)
                assert outcome["passed"], f"smoke failed: {outcome['failed']}"
                flow.append(float(outcome["seconds"]))
        finally:
            subprocess.run(
                [*platformctl(), "--root", str(platform.root), "down", "--force"],
                env=platform.env,
                capture_output=True,
                check=False,
            )
    print(
        f"smoke local, whole command: median {statistics.median(wall):.2f} s "
        f"(samples {', '.join(f'{s:.2f}' for s in wall)})",
        file=sys.stderr,
    )
    return [Figure(f"smoke local, {ORDERS} orders: first put to last check", tuple(flow), TARGET)]


if __name__ == "__main__":
    for figure in run():
        status = "ok" if figure.passed else "MISSED"
        print(
            json.dumps(
                {
                    "name": figure.name,
                    "median": round(figure.median, 2),
                    "samples": [round(s, 2) for s in figure.samples],
                    "target": figure.target,
                    "status": status,
                }
            )
        )
