"""moto's server, with the fixes that make it answer like AWS where Terraform notices.

`python -m platformctl.moto_server ARGS` runs `python -m moto.server ARGS` after applying
every patch in platformctl.moto_patches (one module per service; see PATCHES there):
SQS RedrivePolicy as compact JSON and RedriveAllowPolicy read back, Kinesis tags at
creation, Budgets and Application Auto Scaling tag APIs (and Budgets'
DescribeSubscribersForNotification), Cost Anomaly Detection monitors and subscriptions.

It also has moto load IAM's AWS managed policies (MOTO_IAM_LOAD_MANAGED_POLICIES, off by
default in moto), since the CI and operator roles attach ReadOnlyAccess and PowerUserAccess.

Each fix checks that what it patches is still there, and steps aside with a line in the
emulator's log when a moto release has changed it or gained the API: the server still starts.
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> None:
    import os

    from platformctl.moto_patches import apply_all

    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    apply_all()
    from moto.server import main as moto_main

    moto_main(argv)


if __name__ == "__main__":
    main()
