"""SQS: RedrivePolicy read back as AWS writes it, and RedriveAllowPolicy read back at all."""

from __future__ import annotations

import json
from typing import Any

REDRIVE_ALLOW = "RedriveAllowPolicy"


def compact_redrive_policy() -> str | None:
    """moto 5 re-serializes RedrivePolicy with json.dumps' ", " and ": "; the provider compares
    it with its compact jsonencode() and plans an update of every queue with a DLQ on every run."""
    from moto.sqs.models import Queue

    original = Queue.__dict__.get("attributes")
    if not isinstance(original, property) or original.fget is None:
        return "moto's sqs Queue.attributes changed; RedrivePolicy left as moto writes it"
    if getattr(original.fget, "platformctl_patch", False):
        return "Queue.attributes already writes RedrivePolicy compact"
    read = original.fget

    def attributes(self: Any) -> dict[str, Any]:
        result: dict[str, Any] = read(self)
        policy = getattr(self, "redrive_policy", None)
        if "RedrivePolicy" in result and isinstance(policy, dict):
            result["RedrivePolicy"] = json.dumps(policy, separators=(",", ":"))
        return result

    attributes.platformctl_patch = True  # type: ignore[attr-defined]
    Queue.attributes = property(attributes)  # type: ignore[assignment, method-assign]
    return None


def redrive_allow_policy() -> str | None:
    """moto stores RedriveAllowPolicy (SetQueueAttributes) but never returns it, so the
    provider's aws_sqs_queue_redrive_allow_policy waits for it forever."""
    from moto.sqs.models import Queue

    if REDRIVE_ALLOW in Queue.BASE_ATTRIBUTES:
        return "moto returns RedriveAllowPolicy itself now"
    if hasattr(Queue, "redrive_allow_policy"):
        return "moto's sqs Queue has a redrive_allow_policy of its own; left to moto"
    # A class default, so queues that never set it read None (moto drops None attributes).
    Queue.redrive_allow_policy = None  # type: ignore[attr-defined]
    Queue.BASE_ATTRIBUTES = [*Queue.BASE_ATTRIBUTES, REDRIVE_ALLOW]
    original = Queue._set_attributes

    def _set_attributes(self: Any, attributes: dict[str, Any], now: float | None = None) -> None:
        original(self, attributes, now)
        if attributes.get(REDRIVE_ALLOW) == "":  # SetQueueAttributes with "" removes it, as on AWS
            self.redrive_allow_policy = None

    Queue._set_attributes = _set_attributes  # type: ignore[method-assign]
    return None
