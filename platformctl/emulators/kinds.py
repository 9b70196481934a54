"""The emulator kinds platformctl can run, by name: the one table a new kind is added to."""

from __future__ import annotations

from platformctl.emulators import localstack, moto
from platformctl.emulators.base import Kind

MOTO, LOCALSTACK = moto.NAME, localstack.NAME
KINDS: dict[str, Kind] = {MOTO: moto.KIND, LOCALSTACK: localstack.KIND}
