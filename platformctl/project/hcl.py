"""Reading HCL with python-hcl2: what the Terraform code already says is never repeated."""

from __future__ import annotations

import importlib.util
import json
import os
import re
from collections.abc import Mapping
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
    raise ContractError(f'{versions_tf} has no terraform.required_version: add one, e.g. ">= 1.11".')


def variable_value(env_dir: Path, name: str, environ: Mapping[str, str] | None = None) -> Any:
    """A root variable's value as `terraform plan` in `env_dir` would see it without -var or
    -var-file, in Terraform's own precedence, lowest first, the last one found winning: the
    variable's default, TF_VAR_<name>, terraform.tfvars, terraform.tfvars.json, then every
    *.auto.tfvars and *.auto.tfvars.json in lexical order of file name. None when unset."""
    environ = os.environ if environ is None else environ
    declaration = _declaration(env_dir, name)
    value = declaration.get("default") if declaration else None
    from_env = environ.get(f"TF_VAR_{name}")
    if from_env is not None:
        value = _env_value(name, from_env, declaration)
    for tfvars in variable_files(env_dir):
        values = _load_tfvars(tfvars)
        if name in values:
            value = values[name]
    return value


def variable_files(env_dir: Path) -> list[Path]:
    """The variable files Terraform loads by itself from a root, in the order it loads them."""
    fixed = [env_dir / "terraform.tfvars", env_dir / "terraform.tfvars.json"]
    automatic = (
        sorted(
            (p for p in env_dir.iterdir() if p.name.endswith((".auto.tfvars", ".auto.tfvars.json"))),
            key=lambda p: p.name,
        )
        if env_dir.is_dir()
        else []
    )
    return [p for p in [*fixed, *automatic] if p.is_file()]


def _load_tfvars(path: Path) -> dict[str, Any]:
    if path.name.endswith(".json"):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ContractError(f"{path} is not valid JSON ({exc}): fix it.") from exc
        if not isinstance(data, dict):
            raise ContractError(f"{path} must hold a JSON object of variable values: fix it.")
        return data
    return load(path)


def declares_variable(env_dir: Path, name: str) -> bool:
    """Whether the root declares `variable "name"` (so `-var name=...` may set it)."""
    return _declaration(env_dir, name) is not None


def _declaration(env_dir: Path, name: str) -> dict[str, Any] | None:
    for tf in sorted(env_dir.glob("*.tf")):
        for block in load(tf).get("variable", []):
            if name in block and isinstance(block[name], dict):
                return dict(block[name])
    return None


def _env_value(name: str, text: str, declaration: dict[str, Any] | None) -> Any:
    """TF_VAR_ values are literal strings for string variables (and undeclared ones); for any
    other type Terraform parses them as an HCL expression."""
    declared = str((declaration or {}).get("type", "string")).removeprefix("${").removesuffix("}")
    if declared == "string":
        return text
    try:
        return _parse(Path(f"TF_VAR_{name}"), f"value = {text}\n").get("value", text)
    except ContractError:
        return text


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
