"""Terraform's version-constraint language (`>= 1.11, < 2.0`, `~> 1.11`), just enough of it
to check an engine against `required_version` before anything runs."""

from __future__ import annotations

import re

_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?$")
_CLAUSE = re.compile(r"^\s*(>=|<=|!=|~>|=|>|<)?\s*(\S+)\s*$")

Version = tuple[int, int, int]


def parse_version(text: str) -> Version:
    match = _VERSION.match(text.strip())
    if not match:
        raise ValueError(f"not a version: {text!r}")
    major, minor, patch, _pre = match.groups()
    return (int(major), int(minor or 0), int(patch or 0))


def _clause_ok(version: Version, op: str, target_text: str) -> bool:
    target = parse_version(target_text)
    if op == "~>":
        # ~> 1.11 allows 1.x >= 1.11; ~> 1.11.2 allows 1.11.x >= 1.11.2.
        precision = target_text.strip().lstrip("v").count(".") + 1
        if version < target:
            return False
        if precision <= 1:
            return True
        if precision == 2:
            return version[0] == target[0]
        return version[:2] == target[:2]
    comparisons = {
        "=": version == target,
        "!=": version != target,
        ">": version > target,
        ">=": version >= target,
        "<": version < target,
        "<=": version <= target,
    }
    return comparisons[op]


def _prerelease(text: str) -> str | None:
    match = _VERSION.match(text.strip())
    return match.group(4) if match else None


def satisfies(version_text: str, constraint: str) -> bool:
    """True when `version_text` meets every comma-separated clause of `constraint`.

    As in Terraform (hashicorp/go-version), a pre-release such as 1.12.0-beta1 meets only
    clauses that name a pre-release of the same version, never a plain `>= 1.11`.
    """
    version = parse_version(version_text)
    pre = _prerelease(version_text)
    for clause in constraint.split(","):
        if not clause.strip():
            continue
        match = _CLAUSE.match(clause)
        if not match:
            raise ValueError(f"not a version constraint: {constraint!r}")
        op, target = match.groups()
        if pre is not None and (_prerelease(target) is None or parse_version(target) != version):
            return False
        if not _clause_ok(version, op or "=", target):
            return False
    return True
