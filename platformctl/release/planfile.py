"""What a saved plan file says about where it applies: its backend and workspace.

A plan file is a zip; its `tfplan` entry is a protobuf `Plan` message (Terraform's
internal/plans/planproto/planfile.proto) whose field 13 is the `Backend` the plan was made
with: `type` (1), `config` (2, a DynamicValue whose field 1 is the msgpack of the backend's
settings) and `workspace` (3). `terraform apply PLAN` writes to that backend, whatever the
working folder's configuration says, so the gate reads it from the bytes it will apply.
Only what is needed is decoded: protobuf's wire format and the msgpack subset cty writes.
"""

from __future__ import annotations

import io
import struct
import zipfile
from dataclasses import dataclass, field
from typing import Any

from platformctl.errors import ApprovalError

PLAN_ENTRY = "tfplan"
_BACKEND_FIELD = 13


@dataclass(frozen=True)
class PlanBackend:
    type: str
    workspace: str
    config: dict[str, Any] = field(default_factory=dict)

    def setting(self, name: str) -> str | None:
        value = self.config.get(name)
        return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes) -> dict[int, list[bytes | int]]:
    """A protobuf message's fields by number (length-delimited values as bytes)."""
    found: dict[int, list[bytes | int]] = {}
    pos = 0
    while pos < len(data):
        tag, pos = _varint(data, pos)
        number, wire = tag >> 3, tag & 7
        value: bytes | int
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = int.from_bytes(data[pos : pos + 8], "little"), pos + 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = int.from_bytes(data[pos : pos + 4], "little"), pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        if pos > len(data):
            raise ValueError("truncated field")
        found.setdefault(number, []).append(value)
    return found


class _Msgpack:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, count: int) -> bytes:
        if self.pos + count > len(self.data):
            raise ValueError("truncated msgpack")
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big")

    def value(self) -> Any:  # one branch per msgpack type
        first = self.take(1)[0]
        if first <= 0x7F:
            return first
        if first >= 0xE0:
            return first - 0x100
        if 0x80 <= first <= 0x8F:
            return self.map(first & 0x0F)
        if 0x90 <= first <= 0x9F:
            return [self.value() for _ in range(first & 0x0F)]
        if 0xA0 <= first <= 0xBF:
            return self.take(first & 0x1F).decode("utf-8", errors="replace")
        simple = {0xC0: None, 0xC2: False, 0xC3: True}
        if first in simple:
            return simple[first]
        if first in (0xD9, 0xDA, 0xDB):
            return self.take(self.uint({0xD9: 1, 0xDA: 2, 0xDB: 4}[first])).decode("utf-8", errors="replace")
        if first in (0xC4, 0xC5, 0xC6):
            return self.take(self.uint({0xC4: 1, 0xC5: 2, 0xC6: 4}[first]))
        if first in (0xCC, 0xCD, 0xCE, 0xCF):
            return self.uint({0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8}[first])
        if first in (0xD0, 0xD1, 0xD2, 0xD3):
            size = {0xD0: 1, 0xD1: 2, 0xD2: 4, 0xD3: 8}[first]
            return int.from_bytes(self.take(size), "big", signed=True)
        if first == 0xCA:
            return struct.unpack(">f", self.take(4))[0]
        if first == 0xCB:
            return struct.unpack(">d", self.take(8))[0]
        if first in (0xDC, 0xDD):
            return [self.value() for _ in range(self.uint(2 if first == 0xDC else 4))]
        if first in (0xDE, 0xDF):
            return self.map(self.uint(2 if first == 0xDE else 4))
        if first in (0xD4, 0xD5, 0xD6, 0xD7, 0xD8):  # fixext: cty's unknown value marker
            self.take(1 + {0xD4: 1, 0xD5: 2, 0xD6: 4, 0xD7: 8, 0xD8: 16}[first])
            return None
        if first in (0xC7, 0xC8, 0xC9):
            length = self.uint({0xC7: 1, 0xC8: 2, 0xC9: 4}[first])
            self.take(1 + length)
            return None
        raise ValueError(f"unsupported msgpack byte {first:#x}")

    def map(self, count: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for _ in range(count):
            key = self.value()
            result[str(key)] = self.value()
        return result


def read_backend(data: bytes, name: str) -> PlanBackend:
    """The backend and workspace recorded in plan file bytes; one-line ApprovalError if the
    bytes are not a plan file this reader understands."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            plan = archive.read(PLAN_ENTRY)
        backends = _fields(plan).get(_BACKEND_FIELD, [])
        if not backends or not isinstance(backends[-1], bytes):
            raise ValueError("no backend recorded")
        backend = _fields(backends[-1])
        kind = backend.get(1, [b""])[-1]
        workspace = backend.get(3, [b"default"])[-1]
        config_value = backend.get(2, [b""])[-1]
        packed = _fields(config_value).get(1, [b""])[-1] if isinstance(config_value, bytes) else b""
        config = _Msgpack(packed).value() if isinstance(packed, bytes) and packed else {}
        if not isinstance(kind, bytes) or not isinstance(workspace, bytes) or not isinstance(config, dict):
            raise ValueError("malformed backend")
        return PlanBackend(kind.decode(), workspace.decode() or "default", config)
    except (zipfile.BadZipFile, KeyError, ValueError, UnicodeDecodeError, struct.error) as exc:
        raise ApprovalError(
            f"Plan {name} is not a Terraform plan file platformctl can read ({exc}): nothing was applied; "
            "run plan again."
        ) from exc
