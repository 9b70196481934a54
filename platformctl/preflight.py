"""Checks that run before Terraform does, so a known failure is one line and costs no time.

- `require_emulator`: an emulated environment's plan/apply/destroy with no emulator
  answering would wait 15-20 s for Terraform's raw "connection refused" on the account
  lookup; this asks the port first (a socket connect, milliseconds) and says how to start one.
- `credentials_expiry_warning`: a gated apply whose credentials expire before the plan's
  expected duration would die half-way, holding the state lock; this says so beforehand.
  Small and pure so that the gate's apply (or the command before it) can call it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

from platformctl.errors import EmulatorError
from platformctl.project.contract import Environment, Project

EXPIRATION_ENV = "AWS_CREDENTIAL_EXPIRATION"
# Seconds per planned resource change when nothing better is known: the slowest resources
# of this platform (SQS queues, lifecycle configurations) take 25-55 s each on the provider.
SECONDS_PER_CHANGE = 30
MINIMUM_APPLY = timedelta(minutes=5)


def require_emulator(project: Project, environment: Environment) -> str:
    """The endpoint of the emulator `environment` uses; EmulatorError (one line) when none answers."""
    from platformctl.emulators import lifecycle as emulator

    endpoint = emulator.current_endpoint(project, environment)
    port = urlparse(endpoint).port or environment.emulator_port
    found = emulator.probe(port)
    if found.kind is not None:
        return endpoint
    name = environment.name
    if found.listening:
        raise EmulatorError(
            f"{endpoint} answers but is not an AWS emulator ({found.detail}): stop that program, or run "
            f"`platformctl up {name} --port PORT` to put the emulator elsewhere."
        )
    raise EmulatorError(
        f"No AWS emulator answers on {endpoint} for {name}: start one with `platformctl up {name}` "
        f"(also applies the platform) or `platformctl emulator start --env {name}`."
    )


def expected_apply_duration(changes: int) -> timedelta:
    """A generous guess at how long applying `changes` resource changes takes."""
    return max(MINIMUM_APPLY, timedelta(seconds=SECONDS_PER_CHANGE * changes))


def credentials_expiry(environ: dict[str, str] | None = None) -> datetime | None:
    """When the ambient credentials expire: AWS_CREDENTIAL_EXPIRATION (set by aws-vault and by
    aws-actions/configure-aws-credentials), or None when nothing says."""
    value = (environ if environ is not None else dict(os.environ)).get(EXPIRATION_ENV, "").strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def credentials_expiry_warning(
    environment: str, changes: int, *, expires: datetime | None = None, now: datetime | None = None
) -> str | None:
    """A warning when the credentials expire before an apply of `changes` changes would end."""
    expires = expires or credentials_expiry()
    if expires is None:
        return None
    left = expires - (now or datetime.now(UTC))
    needed = expected_apply_duration(changes)
    if left >= needed:
        return None
    minutes = max(0, int(left.total_seconds() // 60))
    return (
        f"{environment}: the AWS credentials expire in {minutes} min ({expires.isoformat(timespec='seconds')}), "
        f"but applying {changes} changes may take {int(needed.total_seconds() // 60)} min: refresh them first "
        "(a new aws-vault session, or a longer role-duration-seconds in CI), or the apply may stop half-way "
        "with the state locked."
    )


def gated_apply_expiry_warning(project: Project, environment: Environment, plan_file: Path | None) -> str | None:
    """The expiry warning for the saved plan a gated apply would pick, or None. Never raises:
    which plan is picked, and whether it is acceptable, is the gate's to say."""
    from platformctl.errors import PlatformctlError
    from platformctl.release import gate

    try:
        saved = gate.select(project, environment, plan_file)
    except PlatformctlError:
        return None
    summary = saved.summary
    changes = summary.add + summary.change + summary.destroy + 2 * summary.replace
    return credentials_expiry_warning(environment.name, changes)
