"""Application Auto Scaling: tags on scalable targets (RegisterScalableTarget's Tags,
TagResource, UntagResource, ListTagsForResource), which the provider reads for every target."""

from __future__ import annotations

import json
from typing import Any

from platformctl.emulators.moto_patches._store import store

ADDED = ("tag_resource", "untag_resource", "list_tags_for_resource")


def tags() -> str | None:
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
    from moto.core.exceptions import JsonRESTError

    present = [name for name in ADDED if name in ApplicationAutoScalingResponse.__dict__]
    if present:
        return f"moto answers {', '.join(present)} itself now"
    register = ApplicationAutoScalingResponse.__dict__.get("register_scalable_target")
    deregister = ApplicationAutoScalingResponse.__dict__.get("deregister_scalable_target")
    if not callable(register) or not callable(deregister):
        return "moto's register/deregister_scalable_target changed"

    def _tags(self: Any) -> dict[str, dict[str, str]]:
        return store(self.applicationautoscaling_backend, "target_tags")

    def _known(self: Any, arn: str) -> dict[str, str]:
        if arn not in _tags(self):
            raise JsonRESTError("ResourceNotFoundException", f"No scalable target found for {arn}")
        found: dict[str, str] = _tags(self)[arn]
        return found

    def registered(self: Any) -> str:
        result: str = register(self)
        arn = json.loads(result)["ScalableTargetARN"]
        current = _tags(self).setdefault(arn, {})
        current.update(self._get_param("Tags") or {})
        return result

    def deregistered(self: Any) -> str:
        backend = self.applicationautoscaling_backend
        key = (self._get_param("ServiceNamespace"), self._get_param("ResourceId"), self._get_param("ScalableDimension"))
        arns = [
            t.arn
            for t in backend.describe_scalable_targets(key[0], [key[1]], key[2])
            if (t.service_namespace, t.resource_id, t.scalable_dimension) == key
        ]
        result: str = deregister(self)
        for arn in arns:
            _tags(self).pop(arn, None)
        return result

    def tag_resource(self: Any) -> str:
        _known(self, self._get_param("ResourceARN")).update(self._get_param("Tags") or {})
        return json.dumps({})

    def untag_resource(self: Any) -> str:
        current = _known(self, self._get_param("ResourceARN"))
        for key in self._get_param("TagKeys") or []:
            current.pop(key, None)
        return json.dumps({})

    def list_tags_for_resource(self: Any) -> str:
        return json.dumps({"Tags": dict(_known(self, self._get_param("ResourceARN")))})

    ApplicationAutoScalingResponse.register_scalable_target = registered  # type: ignore[method-assign]
    ApplicationAutoScalingResponse.deregister_scalable_target = deregistered  # type: ignore[method-assign]
    ApplicationAutoScalingResponse.tag_resource = tag_resource  # type: ignore[attr-defined]
    ApplicationAutoScalingResponse.untag_resource = untag_resource  # type: ignore[attr-defined]
    ApplicationAutoScalingResponse.list_tags_for_resource = list_tags_for_resource  # type: ignore[attr-defined]
    return None
