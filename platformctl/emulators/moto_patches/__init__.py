"""The fixes platformctl's moto server applies to moto, one module per service.

Each patch closes a gap between moto and AWS that Terraform (hashicorp/aws 5.100) notices, so
the same HCL applies on the emulator as on AWS. Each is small, checks that what it patches is
still there (or that moto still lacks the API it adds), and otherwise steps aside with a line
in the emulator's log: the server always starts. PATCHES is the one table; adding a patch is
one new function and one line here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from platformctl.emulators.moto_patches import appautoscaling, budgets, costexplorer, kinesis, kms, sqs

# Each returns None once applied, or the reason it stepped aside.
PATCHES: tuple[tuple[str, Callable[[], str | None]], ...] = (
    ("sqs RedrivePolicy as compact JSON", sqs.compact_redrive_policy),
    ("sqs RedriveAllowPolicy", sqs.redrive_allow_policy),
    ("kinesis tags at CreateStream", kinesis.tags_at_creation),
    ("budgets tags and subscribers", budgets.tags_and_subscribers),
    ("application-autoscaling tags", appautoscaling.tags),
    ("ce anomaly monitors and subscriptions", costexplorer.anomaly_detection),
    ("kms rotation period", kms.rotation_period),
)


def apply_all() -> dict[str, str | None]:
    """Apply every patch; what stepped aside, and why, by name (also written to stderr)."""
    outcome: dict[str, str | None] = {}
    for name, patch in PATCHES:
        reason = patch()
        outcome[name] = reason
        if reason:
            print(f"platformctl: moto patch '{name}' steps aside: {reason}", file=sys.stderr)
    return outcome
