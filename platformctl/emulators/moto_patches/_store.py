"""State a patch keeps beside a moto backend: it lives and dies (moto-api/reset) with it."""

from __future__ import annotations

from typing import Any


def store(backend: Any, name: str) -> dict[str, Any]:
    """The dict `name` on this backend instance, created empty on first use."""
    attribute = f"_platformctl_{name}"
    found: dict[str, Any] | None = backend.__dict__.get(attribute)
    if found is None:
        found = {}
        setattr(backend, attribute, found)
    return found
