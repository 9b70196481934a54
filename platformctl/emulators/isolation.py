"""Local isolation: an emulated root can reach nothing but the emulator.

Two locks, each enough on its own:
- the Terraform environment of an emulated run: AWS_ENDPOINT_URL is the recorded loopback
  emulator (the provider honours it for every service), every other AWS_* of the shell is
  dropped (AWS_ENDPOINT_URL_<SERVICE> included), the endpoint is also pinned as the last -var,
  and HTTP(S)_PROXY lead nowhere;
- the HCL, checked before Terraform runs: every `provider "aws"` block of the root (aliases
  and override files) sends whatever is not for loopback to a closed loopback port with the
  provider's own http_proxy/https_proxy/no_proxy, so even a plain `terraform` run in the
  folder (without platformctl, without AWS_ENDPOINT_URL) fails to connect instead of reaching
  AWS; any `endpoints` entry leads to the emulator; modules bring no provider; no backend,
  remote state, profile or proxy argument that leads elsewhere.

The provider's `endpoints` block is not needed (and costs ~5 s of CPU per provider
configuration, twice a plan): AWS_ENDPOINT_URL covers every service.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from platformctl.aws import credentials
from platformctl.emulators import records as emulator
from platformctl.errors import ContractError
from platformctl.project import hcl
from platformctl.project.contract import Environment
from platformctl.terraform.runner import Terraform

log = logging.getLogger("platformctl")

ENDPOINT_VARIABLE = "emulator_endpoint"

# Data sources computed by the provider itself, without an API call.
_OFFLINE_DATA_SOURCES = frozenset(
    {"aws_iam_policy_document", "aws_region", "aws_partition", "aws_arn", "aws_default_tags"}
)


def _module_dirs(root: Path) -> dict[str, Path]:
    """Folders of installed registry/git modules by key (after init), from modules.json."""
    manifest = root / ".terraform" / "modules" / "modules.json"
    try:
        modules = json.loads(manifest.read_text()).get("Modules", [])
    except (OSError, ValueError, AttributeError):
        return {}
    return {m["Key"]: root / m["Dir"] for m in modules if isinstance(m, dict) and m.get("Key") and m.get("Dir")}


@dataclass
class _Scan:
    """What an emulated root and the modules it calls say about where calls go."""

    types: set[str] = field(default_factory=set)
    # (file, config) of every provider "aws" block: the root's, its aliases, override files.
    providers: list[tuple[Path, dict[str, Any]]] = field(default_factory=list)
    module_providers: list[Path] = field(default_factory=list)
    backends: list[tuple[Path, str, dict[str, Any]]] = field(default_factory=list)
    remote_states: list[tuple[Path, str]] = field(default_factory=list)
    declares_endpoint: bool = False


def _configuration_files(folder: Path) -> list[Path]:
    """The .tf files Terraform reads in a folder; JSON configuration is refused, since the
    endpoint guard reads HCL only."""
    json_files = sorted(folder.glob("*.tf.json"))
    if json_files:
        raise ContractError(
            f"{json_files[0]} is JSON configuration, which platformctl cannot check for an emulated "
            "environment: write it as .tf (HCL)."
        )
    return sorted(folder.glob("*.tf"))


def _blocks(parsed: dict[str, Any], kind: str) -> Iterator[tuple[str, Any]]:
    for block in parsed.get(kind, []) or []:
        if isinstance(block, dict):
            yield from block.items()


def _scan(root: Path) -> _Scan:
    installed = _module_dirs(root)
    scan = _Scan()
    seen: set[Path] = set()

    def walk(folder: Path, key: str) -> None:
        folder = folder.resolve()
        if folder in seen:
            return
        seen.add(folder)
        for tf in _configuration_files(folder):
            parsed = hcl.load(tf)
            for kind in ("resource", "data"):
                for name, body in _blocks(parsed, kind):
                    if name.startswith("aws_") and not (kind == "data" and name in _OFFLINE_DATA_SOURCES):
                        scan.types.add(name)
                    if kind == "data" and name == "terraform_remote_state":
                        for config in (body or {}).values() if isinstance(body, dict) else ():
                            backend = str((config or {}).get("backend", "")) if isinstance(config, dict) else ""
                            if backend != "local":
                                scan.remote_states.append((tf, backend))
            for name, config in _blocks(parsed, "provider"):
                if name != "aws":
                    continue
                if key:
                    scan.module_providers.append(tf)
                else:
                    scan.providers.append((tf, config if isinstance(config, dict) else {}))
            if not key:
                for name, _body in _blocks(parsed, "variable"):
                    scan.declares_endpoint |= name == ENDPOINT_VARIABLE
                for terraform_block in parsed.get("terraform", []) or []:
                    if not isinstance(terraform_block, dict):
                        continue
                    if "cloud" in terraform_block:
                        scan.backends.append((tf, "cloud", {}))
                    for backend in terraform_block.get("backend", []) or []:
                        for kind, config in backend.items() if isinstance(backend, dict) else ():
                            scan.backends.append((tf, kind, config if isinstance(config, dict) else {}))
            for name, call in _blocks(parsed, "module"):
                source = str((call or {}).get("source", "")) if isinstance(call, dict) else ""
                child_key = f"{key}.{name}" if key else name
                if source.startswith(("./", "../")):
                    walk(folder / source, child_key)
                elif child_key in installed:  # a registry or git module, once init fetched it
                    walk(installed[child_key], child_key)

    walk(root, "")
    return scan


def aws_types_used(root: Path) -> set[str]:
    """Every aws_* resource and data-source type (that calls an API) the root and its modules use."""
    return _scan(root).types


def declares_endpoint_variable(environment: Environment) -> bool:
    """Whether the root declares var.emulator_endpoint (so `-var` may set it)."""
    return _scan(environment.directory).declares_endpoint


def _points_at_emulator(value: Any) -> bool:
    # var.emulator_endpoint of the root is set by platformctl, last on the command line.
    return value == f"${{var.{ENDPOINT_VARIABLE}}}" or emulator.is_loopback_url(value)


# Where every proxied request of an emulated Terraform run goes: nowhere (a closed loopback
# port). The emulator is on loopback, which is never proxied, so anything that would leave
# this machine for AWS fails to connect instead.
NOWHERE_PROXY = "http://127.0.0.1:1"
NO_PROXY_HOSTS = "127.0.0.1,localhost,::1"
# The provider arguments every provider "aws" block of an emulated root carries. The
# provider's own arguments win over the shell's HTTP(S)_PROXY and NO_PROXY, so a plain
# `terraform` run in the folder is closed as well; no_proxy must be set, or the shell's
# NO_PROXY=* would let everything past the proxy.
CLOSING_PROXY = {"http_proxy": NOWHERE_PROXY, "https_proxy": NOWHERE_PROXY, "no_proxy": NO_PROXY_HOSTS}

# Provider arguments that read a profile (and its endpoint_url) or credentials platformctl
# does not control, or reach a metadata service.
_REFUSED_PROVIDER_ARGUMENTS = (
    "profile",
    "shared_config_files",
    "shared_credentials_files",
    "ec2_metadata_service_endpoint",
    "custom_ca_bundle",
)


def _is_override(tf: Path) -> bool:
    return tf.stem == "override" or tf.stem.endswith("_override")


def _proxy_problems(config: dict[str, Any], required: bool) -> list[str]:
    """What is wrong with a block's proxy arguments: a primary block must carry them all; an
    override file may leave them out (the block it overrides has them) but not change them."""
    problems = []
    for name, closed in CLOSING_PROXY.items():
        if name not in config:
            if required:
                problems.append(f"has no {name}")
            continue
        value = config[name]
        if name == "no_proxy":
            hosts = [h.strip() for h in value.split(",")] if isinstance(value, str) and "${" not in value else []
            if hosts and all(h in emulator.LOOPBACK_HOSTS for h in hosts):
                continue
        elif value == closed:
            continue
        problems.append(f"sets {name} = {value}")
    return problems


def _check_provider(environment: Environment, tf: Path, config: dict[str, Any]) -> None:
    alias = config.get("alias")
    where = f'provider "aws"{f" (alias {alias})" if alias else ""} in {environment.directory}'
    refused = [name for name in _REFUSED_PROVIDER_ARGUMENTS if config.get(name) not in (None, "", [])]
    if refused:
        raise ContractError(
            f"{where} sets {', '.join(refused)} ({tf.name}): an emulated environment talks to the emulator "
            f"directly, with its own credentials; remove {'them' if len(refused) > 1 else 'it'}."
        )
    problems = _proxy_problems(config, required=not _is_override(tf))
    if problems:
        closing = ", ".join(f'{name} = "{value}"' for name, value in CLOSING_PROXY.items())
        raise ContractError(
            f"{where} {', '.join(problems)} ({tf.name}): set {closing}, so that {environment.name} "
            "can never reach real AWS, even from a plain terraform run."
        )
    endpoints: dict[str, Any] = {}
    for block in config.get("endpoints", []) or []:
        if isinstance(block, dict):
            endpoints.update(block)
    # Not needed (AWS_ENDPOINT_URL covers every service), but any it sets must be the emulator:
    # an entry wins over AWS_ENDPOINT_URL, and a loopback one is not proxied.
    elsewhere = [
        f"{key} = {value}"
        for key, value in sorted(endpoints.items())
        if value not in (None, "") and not _points_at_emulator(value)
    ]
    if elsewhere:
        raise ContractError(
            f"{where} points {', '.join(elsewhere)} away from the emulator: remove the endpoints block "
            f"(platformctl sets AWS_ENDPOINT_URL) or use var.{ENDPOINT_VARIABLE}, so {environment.name} "
            "can never reach real AWS."
        )


def _check_backends(environment: Environment, scan: _Scan) -> None:
    for tf, kind, config in scan.backends:
        if kind == "local":
            continue
        endpoints: dict[str, Any] = {}
        for block in config.get("endpoints", []) or []:
            if isinstance(block, dict):
                endpoints.update(block)
        if (
            kind == "s3"
            and all(emulator.is_loopback_url(endpoints.get(k)) for k in ("s3", "sts"))
            and (not config.get("dynamodb_table") or emulator.is_loopback_url(endpoints.get("dynamodb")))
        ):
            continue
        raise ContractError(
            f'{tf} configures backend "{kind}" for {environment.name}, which would keep its state outside the '
            "emulator: remove it (emulated roots keep local state), or point an s3 backend's endpoints "
            "(s3, sts) at the emulator."
        )
    for tf, backend in scan.remote_states:
        raise ContractError(
            f'{tf} reads terraform_remote_state from backend "{backend}" in {environment.name}: an emulated '
            "environment reads only local state; remove it."
        )


def check_endpoints(environment: Environment) -> None:
    """Refuse an emulated root that could send any call anywhere but the emulator: every
    provider "aws" block (aliases and override files included) closes the proxy (CLOSING_PROXY)
    and points any endpoint it names at var.emulator_endpoint or a loopback URL; modules bring
    no provider of their own; no profile or remote backend of its own."""
    scan = _scan(environment.directory)
    if scan.module_providers:
        raise ContractError(
            f'{scan.module_providers[0]} declares its own provider "aws": for {environment.name} a module '
            "takes its provider from the root (whose proxy and endpoints platformctl checks); remove the block."
        )
    _check_backends(environment, scan)
    if not scan.types and not scan.providers:
        return  # nothing here talks to AWS
    if not any("alias" not in config and not _is_override(tf) for tf, config in scan.providers):
        # The provider's default configuration: no proxy arguments at all.
        scan.providers.insert(0, (environment.directory / "providers.tf", {}))
    for tf, config in scan.providers:
        _check_provider(environment, tf, config)


_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")


def _shell_overrides() -> list[str]:
    """Terraform variables of the shell that could change an emulated run's endpoint, or hide
    the installed modules (TF_DATA_DIR) from the endpoint guard."""
    return sorted(
        name
        for name in os.environ
        if name.startswith("TF_CLI_ARGS")
        or name == "TF_DATA_DIR"
        or name.upper() == f"TF_VAR_{ENDPOINT_VARIABLE}".upper()
    )


def isolate(tf: Terraform, environment: Environment, endpoint: str) -> Terraform:
    """Make `tf` an emulated run that can reach nothing but the emulator at `endpoint`.

    The endpoint is a loopback URL, AWS_ENDPOINT_URL of the run and the last -var of every
    command that reads variables (nothing overrides that); TF_CLI_ARGS* and
    TF_VAR_emulator_endpoint of the shell are dropped; every other AWS_* is gone
    (credentials.emulator_env, AWS_ENDPOINT_URL_<SERVICE> included); HTTP(S)_PROXY point
    nowhere for everything but init, with the loopback hosts in NO_PROXY.
    """
    check_endpoints(environment)
    dropped = _shell_overrides()
    if dropped:
        log.warning(
            "%s: ignoring %s from the shell: %s talks only to its emulator",
            environment.name,
            ", ".join(dropped),
            environment.name,
        )
    tf.env.update(dict.fromkeys(dropped))
    tf.env.update(dict.fromkeys(_PROXY_VARIABLES, NOWHERE_PROXY))
    tf.init_env = {name: os.environ.get(name) for name in _PROXY_VARIABLES}
    # Again before each plan/apply/destroy: init may have fetched modules the first check
    # could not read yet.
    tf.guard = lambda: check_endpoints(environment)
    return point_at(tf, environment, endpoint)


def _endpoint_env(endpoint: str) -> dict[str, str | None]:
    """AWS_ENDPOINT_URL for every service, and none of the shell's per-service overrides
    (AWS_ENDPOINT_URL_<SERVICE> wins over AWS_ENDPOINT_URL) or its switch to ignore them."""
    dropped = [
        name
        for name in os.environ
        if name.upper().startswith("AWS_ENDPOINT_URL_") or name.upper() == "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
    ]
    return {**dict.fromkeys(dropped), "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": None, "AWS_ENDPOINT_URL": endpoint}


def point_at(tf: Terraform, environment: Environment, endpoint: str) -> Terraform:
    """Point the run at `endpoint`, a loopback URL kept off any proxy: AWS_ENDPOINT_URL for
    the provider (every service), and the root's var.emulator_endpoint pinned as the last -var."""
    emulator.require_loopback(endpoint, environment)
    tf.env.update(credentials.no_proxy_for(urlsplit(endpoint).hostname or ""))
    tf.env.update(_endpoint_env(endpoint))
    tf.pinned = {ENDPOINT_VARIABLE: endpoint} if declares_endpoint_variable(environment) else {}
    return tf
