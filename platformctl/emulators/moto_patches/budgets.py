"""Budgets: resource tags (CreateBudget's ResourceTags, TagResource, UntagResource,
ListTagsForResource) and DescribeSubscribersForNotification, which the provider reads for
every budget (tags since provider 5.x, subscribers for each notification)."""

from __future__ import annotations

import json
from typing import Any

from platformctl.emulators.moto_patches._store import store

ADDED = ("tag_resource", "untag_resource", "list_tags_for_resource", "describe_subscribers_for_notification")


def _arn(account_id: str, partition: str, name: str) -> str:
    return f"arn:{partition}:budgets::{account_id}:budget/{name}"


def _same_notification(stored: dict[str, Any], asked: dict[str, Any]) -> bool:
    keys = ("NotificationType", "ComparisonOperator", "Threshold")
    return all(stored.get(k) == asked.get(k) for k in keys) and (
        stored.get("ThresholdType", "PERCENTAGE") == asked.get("ThresholdType", "PERCENTAGE")
    )


def tags_and_subscribers() -> str | None:
    from moto.budgets.exceptions import NotFoundException
    from moto.budgets.responses import BudgetsResponse

    present = [name for name in ADDED if name in BudgetsResponse.__dict__]
    if present:
        return f"moto answers {', '.join(present)} itself now"
    create_budget = BudgetsResponse.__dict__.get("create_budget")
    delete_budget = BudgetsResponse.__dict__.get("delete_budget")
    if not callable(create_budget) or not callable(delete_budget):
        return "moto's budgets create_budget/delete_budget changed"

    def tags(self: Any) -> dict[str, dict[str, str]]:
        return store(self.backend, "budget_tags")

    def created(self: Any) -> str:
        result: str = create_budget(self)
        name = self._get_param("Budget")["BudgetName"]
        given = self._get_param("ResourceTags") or []
        tags(self)[_arn(self._get_param("AccountId"), self.partition, name)] = {t["Key"]: t["Value"] for t in given}
        return result

    def deleted(self: Any) -> str:
        result: str = delete_budget(self)
        tags(self).pop(_arn(self._get_param("AccountId"), self.partition, self._get_param("BudgetName")), None)
        return result

    def _known(self: Any, arn: str) -> dict[str, str]:
        if arn not in tags(self):
            raise NotFoundException(f"Unable to find resource {arn}")
        found: dict[str, str] = tags(self)[arn]
        return found

    def tag_resource(self: Any) -> str:
        _known(self, self._get_param("ResourceARN")).update(
            {t["Key"]: t["Value"] for t in self._get_param("ResourceTags") or []}
        )
        return json.dumps({})

    def untag_resource(self: Any) -> str:
        current = _known(self, self._get_param("ResourceARN"))
        for key in self._get_param("ResourceTagKeys") or []:
            current.pop(key, None)
        return json.dumps({})

    def list_tags_for_resource(self: Any) -> str:
        current = _known(self, self._get_param("ResourceARN"))
        return json.dumps({"ResourceTags": [{"Key": k, "Value": v} for k, v in current.items()]})

    def describe_subscribers_for_notification(self: Any) -> str:
        budgets = self.backend.budgets[self._get_param("AccountId")]
        name = self._get_param("BudgetName")
        if name not in budgets:
            raise NotFoundException(f"Unable to get subscribers: {name} - the budget doesn't exist.")
        asked = self._get_param("Notification")
        for notification in budgets[name].notifications:
            if _same_notification(notification.details, asked):
                return json.dumps({"Subscribers": notification.subscribers})
        raise NotFoundException(f"Unable to get subscribers: no such notification on budget {name}.")

    BudgetsResponse.create_budget = created  # type: ignore[method-assign]
    BudgetsResponse.delete_budget = deleted  # type: ignore[method-assign]
    BudgetsResponse.tag_resource = tag_resource  # type: ignore[attr-defined]
    BudgetsResponse.untag_resource = untag_resource  # type: ignore[attr-defined]
    BudgetsResponse.list_tags_for_resource = list_tags_for_resource  # type: ignore[attr-defined]
    BudgetsResponse.describe_subscribers_for_notification = describe_subscribers_for_notification  # type: ignore[attr-defined]
    return None
