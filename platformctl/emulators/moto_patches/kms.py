"""KMS: a key's rotation period (EnableKeyRotation's RotationPeriodInDays, read back by
GetKeyRotationStatus), which moto drops, so the provider planned `rotation_period_in_days
0 -> 365` on every run for every rotated key."""

from __future__ import annotations

import inspect
import json
from typing import Any

from platformctl.emulators.moto_patches._store import store

DEFAULT_DAYS = 365  # AWS's period when EnableKeyRotation names none


def rotation_period() -> str | None:
    from moto.kms.responses import KmsResponse

    enable = KmsResponse.__dict__.get("enable_key_rotation")
    status = KmsResponse.__dict__.get("get_key_rotation_status")
    if not callable(enable) or not callable(status):
        return "moto's kms enable_key_rotation/get_key_rotation_status changed"
    if getattr(status, "platformctl_patch", False) or "RotationPeriodInDays" in inspect.getsource(status):
        return "moto returns RotationPeriodInDays itself now"

    def periods(self: Any) -> dict[str, int]:
        return store(self.kms_backend, "rotation_periods")

    def enable_key_rotation(self: Any) -> str:
        result: str = enable(self)
        key_id = self.kms_backend.get_key_id(self._get_param("KeyId"))
        periods(self)[key_id] = int(self._get_param("RotationPeriodInDays") or DEFAULT_DAYS)
        return result

    def get_key_rotation_status(self: Any) -> str:
        answer = json.loads(status(self))
        key_id = self.kms_backend.get_key_id(self._get_param("KeyId"))
        if answer.get("KeyRotationEnabled"):
            answer["RotationPeriodInDays"] = periods(self).get(key_id, DEFAULT_DAYS)
            answer["KeyId"] = key_id
        return json.dumps(answer)

    get_key_rotation_status.platformctl_patch = True  # type: ignore[attr-defined]
    KmsResponse.enable_key_rotation = enable_key_rotation  # type: ignore[method-assign]
    KmsResponse.get_key_rotation_status = get_key_rotation_status  # type: ignore[method-assign]
    return None
