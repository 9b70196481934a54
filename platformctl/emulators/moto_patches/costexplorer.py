"""Cost Explorer: Cost Anomaly Detection's monitors and subscriptions (Create, Get, Update,
Delete), which moto lacks; their tags go through moto's own ce tagging (ResourceTags at
creation, then TagResource/ListTagsForResource as moto already answers them)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from platformctl.emulators.moto_patches._store import store

ADDED = {
    "monitor": ("create_anomaly_monitor", "get_anomaly_monitors", "update_anomaly_monitor", "delete_anomaly_monitor"),
    "subscription": (
        "create_anomaly_subscription",
        "get_anomaly_subscriptions",
        "update_anomaly_subscription",
        "delete_anomaly_subscription",
    ),
}
UNKNOWN = {"monitor": "UnknownMonitorException", "subscription": "UnknownSubscriptionException"}


def _crud(kind: str, id_key: str, list_key: str, arn_list_key: str, item_key: str) -> dict[str, Any]:
    """The four operations of one kind: items are stored as the request gave them, plus ARN."""
    from moto.core.exceptions import JsonRESTError

    def items(self: Any) -> dict[str, dict[str, Any]]:
        return store(self.ce_backend, f"anomaly_{kind}s")

    def params(self: Any) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body or "{}")
        return parsed

    def known(self: Any, arn: str) -> dict[str, Any]:
        if arn not in items(self):
            raise JsonRESTError(UNKNOWN[kind], f"No anomaly {kind} found with ARN {arn}")
        return items(self)[arn]

    def create(self: Any) -> str:
        given = params(self)
        arn = f"arn:{self.partition}:ce::{self.current_account}:anomaly{kind}/{uuid.uuid4()}"
        item = {**given[item_key], id_key: arn}
        if kind == "monitor":
            item.setdefault("CreationDate", datetime.now(UTC).strftime("%Y-%m-%d"))
            item.setdefault("DimensionalValueCount", 0)
        else:
            item.setdefault("AccountId", self.current_account)
        items(self)[arn] = item
        if given.get("ResourceTags"):
            self.ce_backend.tag_resource(arn, given["ResourceTags"])
        return json.dumps({id_key: arn})

    def get(self: Any) -> str:
        wanted = params(self).get(arn_list_key) or list(items(self))
        return json.dumps({list_key: [known(self, arn) for arn in wanted]})

    def update(self: Any) -> str:
        given = params(self)
        arn = given[id_key]
        item = known(self, arn)
        item.update({k: v for k, v in given.items() if k != id_key})
        return json.dumps({id_key: arn})

    def delete(self: Any) -> str:
        known(self, params(self)[id_key])
        items(self).pop(params(self)[id_key])
        return json.dumps({})

    return dict(zip(ADDED[kind], (create, get, update, delete), strict=True))


def anomaly_detection() -> str | None:
    from moto.ce.responses import CostExplorerResponse

    present = [n for names in ADDED.values() for n in names if n in CostExplorerResponse.__dict__]
    if present:
        return f"moto answers {', '.join(present)} itself now"
    if not callable(CostExplorerResponse.__dict__.get("tag_resource")):
        return "moto's ce tagging changed"
    operations = {
        **_crud("monitor", "MonitorArn", "AnomalyMonitors", "MonitorArnList", "AnomalyMonitor"),
        **_crud(
            "subscription", "SubscriptionArn", "AnomalySubscriptions", "SubscriptionArnList", "AnomalySubscription"
        ),
    }
    for name, operation in operations.items():
        setattr(CostExplorerResponse, name, operation)
    return None
