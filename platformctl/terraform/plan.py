"""What a saved plan changes, from `terraform show -json PLAN`: counts per action, and the
addresses that delete or replace something (the gate, the prompt and plan --all show them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ChangeSummary:
    """Counts of planned actions, and the addresses that destroy or replace something."""

    add: int = 0
    change: int = 0
    destroy: int = 0
    replace: int = 0
    destroyed: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()

    @property
    def has_changes(self) -> bool:
        return bool(self.add or self.change or self.destroy or self.replace)

    def as_dict(self) -> dict[str, Any]:
        return {
            "add": self.add,
            "change": self.change,
            "destroy": self.destroy,
            "replace": self.replace,
            "destroyed": list(self.destroyed),
            "replaced": list(self.replaced),
        }


def summarize(plan_json: dict[str, Any]) -> ChangeSummary:
    """Summarize `terraform show -json PLAN`: what is created, updated, destroyed, replaced."""
    add = change = destroy = replace = 0
    destroyed: list[str] = []
    replaced: list[str] = []
    for rc in plan_json.get("resource_changes", []):
        actions = rc.get("change", {}).get("actions", [])
        if actions in (["delete", "create"], ["create", "delete"]):
            replace += 1
            replaced.append(rc["address"])
        elif actions == ["create"]:
            add += 1
        elif actions == ["update"]:
            change += 1
        elif actions == ["delete"]:
            destroy += 1
            destroyed.append(rc["address"])
    return ChangeSummary(add, change, destroy, replace, tuple(destroyed), tuple(replaced))
