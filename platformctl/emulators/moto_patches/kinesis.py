"""Kinesis: CreateStream keeps its Tags, as AWS has since 2022."""

from __future__ import annotations

from typing import Any


def tags_at_creation() -> str | None:
    """moto ignores CreateStream's Tags; the provider (which tags at creation) then found every
    new stream untagged and planned an update on the next run."""
    from moto.kinesis.responses import KinesisResponse

    original = KinesisResponse.__dict__.get("create_stream")
    if not callable(original):
        return "moto's kinesis create_stream changed; tags at creation left to moto"
    if getattr(original, "platformctl_patch", False):
        return "create_stream already keeps its tags"

    def create_stream(self: Any) -> Any:
        result = original(self)
        tags = self._get_param("Tags")
        if tags:
            self.kinesis_backend.add_tags_to_stream(None, self._get_param("StreamName"), tags)
        return result

    create_stream.platformctl_patch = True  # type: ignore[attr-defined]
    KinesisResponse.create_stream = create_stream  # type: ignore[method-assign]
    return None
