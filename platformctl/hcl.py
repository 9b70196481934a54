"""Reading HCL with python-hcl2: what the Terraform code already says is never repeated."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

from platformctl import cache
from platformctl.errors import ContractError

_VAR_REF = re.compile(r"^\$\{var\.([A-Za-z0-9_-]+)\}$")


# How load() asks python-hcl2 to serialize; part of the cache key, so a change re-parses.
_OPTIONS = {"strip_string_quotes": True, "explicit_blocks": False, "with_comments": False}


def load(path: Path) -> dict[str, Any]:
    """A file's HCL as python-hcl2 serializes it, from the per-user parse cache when the same
    bytes were parsed before by the same python-hcl2 (building its grammar alone costs
    ~100 ms, more than a small `terraform plan`)."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ContractError(f"Cannot read {path}: {exc.strerror}.") from exc
    key = cache.key_of(text, _parser_identity(), repr(sorted(_OPTIONS.items())))
    cached = cache.get("hcl", key)
    if isinstance(cached, dict):
        return cached
    parsed = _parse(path, text.decode("utf-8", errors="replace"))
    cache.put("hcl", key, parsed)
    return parsed


def _parse(path: Path, text: str) -> dict[str, Any]:
    import hcl2

    options = hcl2.SerializationOptions(**_OPTIONS)
    try:
        return dict(hcl2.loads(text, serialization_options=options))
    except Exception as exc:  # python-hcl2 raises lark errors of several kinds
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ContractError(f"{path} is not valid HCL ({first}): fix it, then run `terraform fmt`.") from exc


def _parser_identity() -> str:
    """Which python-hcl2 is installed, without importing it (its version file's identity)."""
    spec = importlib.util.find_spec("hcl2")
    origin = spec.origin if spec and spec.origin else ""
    if not origin:
        raise ContractError("python-hcl2 is not installed: reinstall platformctl (pip install -e .) to get it.")
    return cache.file_identity(Path(origin).with_name("version.py")) or cache.file_identity(origin) or origin


def required_version(versions_tf: Path) -> str:
    """`required_version` of the `terraform` block in versions.tf."""
    for block in load(versions_tf).get("terraform", []):
        if "required_version" in block:
            return str(block["required_version"])
    raise ContractError(f"{versions_tf} has no terraform.required_version: add one, e.g. \">= 1.11\".")


def variable_value(env_dir: Path, name: str) -> Any:
    """A root variable's value as terraform would see it without -var: terraform.tfvars,
    then *.auto.tfvars, then the variable's default. None when none of them sets it."""
    for tfvars in [env_dir / "terraform.tfvars", *sorted(env_dir.glob("*.auto.tfvars"))]:
        if tfvars.is_file():
            values = load(tfvars)
            if name in values:
                return values[name]
    for tf in sorted(env_dir.glob("*.tf")):
        for block in load(tf).get("variable", []):
            if name in block and "default" in block[name]:
                return block[name]["default"]
    return None


def resolve(env_dir: Path, value: Any) -> Any:
    """Resolve a bare `var.NAME` reference to that variable's value; other values pass through."""
    if isinstance(value, str):
        match = _VAR_REF.match(value)
        if match:
            return variable_value(env_dir, match.group(1))
    return value


def aws_provider(env_dir: Path) -> dict[str, Any]:
    """The default (unaliased) `provider "aws"` block of an environment root, or {}."""
    for tf in sorted(env_dir.glob("*.tf")):
        for block in load(tf).get("provider", []):
            config = block.get("aws")
            if isinstance(config, dict) and "alias" not in config:
                return config
    return {}


def uses_aws(env_dir: Path) -> bool:
    """Whether a root can reach AWS at all: a `provider "aws"` block, an aws_* resource or data
    source, or a module call (whose source may hold any of those). A root of only
    terraform_data, null or local resources cannot, so no AWS account check applies to it."""
    for tf in sorted(env_dir.glob("*.tf")):
        parsed = load(tf)
        if parsed.get("module"):
            return True
        if any("aws" in block for block in parsed.get("provider", [])):
            return True
        for kind in ("resource", "data"):
            if any(name.startswith("aws_") for block in parsed.get(kind, []) for name in block):
                return True
    return False
