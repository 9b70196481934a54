"""moto's server, with the fixes that make it answer like AWS where Terraform notices.

`python -m platformctl.emulators.moto_server ARGS` runs `python -m moto.server ARGS` after
applying every patch in platformctl.emulators.moto_patches (one module per service; see
PATCHES there): SQS RedrivePolicy as compact JSON and RedriveAllowPolicy read back, Kinesis
tags at creation, Budgets and Application Auto Scaling tag APIs (and Budgets'
DescribeSubscribersForNotification), Cost Anomaly Detection monitors and subscriptions; and
after installing the Lambda runtime (emulators/moto_lambda.py: functions run in child
Python processes) fed by the Kinesis event source mappings (emulators/moto_esm.py), and the
snapshot and restore routes of emulators/moto_snapshot.py.

It also has moto load IAM's AWS managed policies (MOTO_IAM_LOAD_MANAGED_POLICIES, off by
default in moto), since the CI and operator roles attach ReadOnlyAccess and PowerUserAccess.

Each fix checks that what it patches is still there, and steps aside with a line in the
emulator's log when a moto release has changed it or gained the API: the server still starts.
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> None:
    import os

    from platformctl.emulators import moto_esm, moto_lambda, moto_s3_policy, moto_snapshot
    from platformctl.emulators.moto_patches import apply_all

    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    apply_all()
    moto_snapshot.install()  # POST /moto-api/platformctl/snapshot and /restore
    if moto_lambda.install(argv):  # Lambda code runs here, fed by the Kinesis mappings
        moto_s3_policy.install()  # the functions' own writes to the data lake
        moto_esm.install()
    import moto.server

    moto.server.signal_handler = _exit_at_once  # main() installs it for SIGINT and SIGTERM
    moto.server.main(argv)


def _exit_at_once(signum: int, frame: object) -> None:
    """moto's own handler calls sys.exit: Python then tears down moto's whole import graph,
    half a second of a `down` that keeps nothing (moto holds everything in memory, and a
    snapshot is written by its route, never at exit). Run the exit handlers (the Lambda
    runtime stops its function processes, which live in sessions of their own, and the
    Kinesis pollers), flush the log, then leave."""
    import atexit
    import contextlib
    import os
    import sys

    atexit._run_exitfuncs()

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed or broken log: nothing to keep
            stream.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
