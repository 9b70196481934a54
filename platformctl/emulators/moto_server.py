"""moto's server, with the fixes that make it answer like AWS where Terraform notices.

`python -m platformctl.emulators.moto_server ARGS` runs `python -m moto.server ARGS` after patching:

- SQS RedrivePolicy comes back as compact JSON, as AWS returns it. moto 5 re-serializes
  it with json.dumps' default ", " and ": " separators; the AWS provider (5.100) compares
  that text with its own compact jsonencode() and plans an in-place update of every queue
  with a dead-letter queue on every run, so `platformctl up` would never report "no changes".

- Kinesis CreateStream keeps its Tags, as AWS has since 2022. moto ignores them, so the
  provider (which tags at creation) found every new stream untagged and planned an update
  on the `up` right after the one that created it.

Each fix checks that what it patches is still there, and steps aside with a line in the
emulator's log when a moto release has changed it: the server still starts.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def _compact_redrive_policy() -> None:
    from moto.sqs.models import Queue

    original = Queue.__dict__.get("attributes")
    if not isinstance(original, property) or original.fget is None:
        print("platformctl: moto's sqs Queue.attributes changed; RedrivePolicy left as moto writes it", file=sys.stderr)
        return
    read = original.fget

    def attributes(self: Any) -> dict[str, Any]:
        result: dict[str, Any] = read(self)
        policy = getattr(self, "redrive_policy", None)
        if "RedrivePolicy" in result and isinstance(policy, dict):
            result["RedrivePolicy"] = json.dumps(policy, separators=(",", ":"))
        return result

    Queue.attributes = property(attributes)  # type: ignore[assignment, method-assign]


def _kinesis_tags_at_creation() -> None:
    from moto.kinesis.responses import KinesisResponse

    original = KinesisResponse.__dict__.get("create_stream")
    if not callable(original):
        print("platformctl: moto's kinesis create_stream changed; tags at creation left to moto", file=sys.stderr)
        return

    def create_stream(self: Any) -> Any:
        result = original(self)
        tags = self._get_param("Tags")
        if tags:
            self.kinesis_backend.add_tags_to_stream(None, self._get_param("StreamName"), tags)
        return result

    KinesisResponse.create_stream = create_stream  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    _compact_redrive_policy()
    _kinesis_tags_at_creation()
    from platformctl.emulators import moto_esm, moto_lambda, moto_s3_policy

    if moto_lambda.install(argv):  # Lambda code runs here, fed by the Kinesis mappings
        moto_s3_policy.install()  # the functions' own writes to the data lake
        moto_esm.install()
    from moto.server import main as moto_main

    moto_main(argv)


if __name__ == "__main__":
    main()
