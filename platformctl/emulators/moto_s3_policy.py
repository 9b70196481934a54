"""Bucket policies on moto, as AWS applies them to the platform's own clients.

Every data-lake bucket denies `s3:*` when `aws:SecureTransport` is "false" (HTTPS only).
moto cannot evaluate the Bool operator, so it ignores the condition and applies the Deny to
every object request: no function (and no smoke check) could ever write or delete an object
on the emulator. Its clients speak plain HTTP to a loopback port that stands for the TLS
endpoint every AWS SDK uses; on AWS, those requests are secure transport and the statement
does not apply. So this statement, and only this statement, is left out when moto evaluates
a bucket's policy. Every other statement is evaluated by moto as before.

Like the server's other fixes, it steps aside with a line in the emulator's log when a moto
release has changed what it patches.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def _false(value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    return bool(values) and all(str(v).lower() == "false" for v in values)


def denies_plain_http_only(statement: Any) -> bool:
    """A Deny whose only condition is Bool aws:SecureTransport = false."""
    if not isinstance(statement, dict) or statement.get("Effect") != "Deny":
        return False
    condition = statement.get("Condition")
    if not isinstance(condition, dict) or list(condition) != ["Bool"]:
        return False
    test = condition["Bool"]
    return isinstance(test, dict) and list(test) == ["aws:SecureTransport"] and _false(test["aws:SecureTransport"])


def install() -> None:
    try:
        from moto.iam.access_control import IAMPolicy, PermissionResult
        from moto.s3.models import FakeBucket
    except ImportError:
        print(
            "platformctl: moto's S3 or IAM models moved; bucket policies left as moto evaluates them", file=sys.stderr
        )
        return
    if not callable(FakeBucket.__dict__.get("get_permission")):
        print(
            "platformctl: moto's FakeBucket.get_permission changed; bucket policies left as moto evaluates them",
            file=sys.stderr,
        )
        return
    original = FakeBucket.get_permission

    def get_permission(self: Any, action: str, resource: str) -> Any:
        try:
            document = json.loads(self.policy.decode()) if self.policy else None
        except (AttributeError, ValueError):
            document = None
        if not isinstance(document, dict):
            return original(self, action, resource)
        statements = document.get("Statement")
        statements = statements if isinstance(statements, list) else [statements]
        kept = [s for s in statements if not denies_plain_http_only(s)]
        if len(kept) == len(statements):
            return original(self, action, resource)
        if not kept:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps({**document, "Statement": kept})).is_action_permitted(action, resource)

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]
