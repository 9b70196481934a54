"""Who holds an environment's Terraform state lock, and releasing a stale one.

Where Terraform keeps the lock:
- S3 backend with `use_lockfile = true`: an object `<key>.tflock` beside the state, holding
  Terraform's lock-info JSON (ID, Operation, Who, Version, Created, Path). It is read as the
  environment's identity, in a child process (`python -m platformctl.operate.state_lock`), exactly as
  the bootstrap reads the bucket, so aws-vault and MFA behave as for terraform.
- local state: `.terraform.tfstate.lock.info` beside `terraform.tfstate`, next to an OS lock
  on the state file itself; a crashed process leaves the info file but not the OS lock, so
  a lock is held only while the OS lock is.

Release is Terraform's own `force-unlock -force LOCK_ID`: platformctl decides whether to ask
(a typed confirmation, the environment's name for gated ones, a minimum age), never how.
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from platformctl import operations, process
from platformctl.aws import credentials
from platformctl.errors import ApprovalError, ContractError, PlatformctlError
from platformctl.project import hcl
from platformctl.project.contract import Environment

if TYPE_CHECKING:
    from platformctl.context import Context

LOCAL_STATE = "terraform.tfstate"
LOCAL_LOCK_INFO = ".terraform.tfstate.lock.info"
S3_LOCK_SUFFIX = ".tflock"
CHILD_MODULE = "platformctl.operate.state_lock"
# A lock younger than this is probably a run in progress: release it only with --force.
MIN_RELEASE_AGE = timedelta(minutes=15)


@dataclass(frozen=True)
class LockInfo:
    """Terraform's lock-info JSON, as written by the process that holds the lock."""

    id: str
    operation: str
    who: str
    version: str
    created: datetime | None
    path: str
    info: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LockInfo:
        return cls(
            id=str(data.get("ID", "")),
            operation=str(data.get("Operation", "")),
            who=str(data.get("Who", "")),
            version=str(data.get("Version", "")),
            created=_parse_time(str(data.get("Created", ""))),
            path=str(data.get("Path", "")),
            info=str(data.get("Info", "")),
        )

    @property
    def host(self) -> str:
        """The machine in `Who` (Terraform writes user@hostname)."""
        return self.who.rpartition("@")[2]

    @property
    def is_this_machine(self) -> bool:
        return self.host.lower() in {socket.gethostname().lower(), socket.getfqdn().lower()}

    def age(self, now: datetime | None = None) -> timedelta | None:
        if self.created is None:
            return None
        return (now or datetime.now(UTC)) - self.created

    def as_dict(self) -> dict[str, Any]:
        age = self.age()
        return {
            "id": self.id,
            "operation": self.operation,
            "who": self.who,
            "version": self.version,
            "created": self.created.isoformat() if self.created else None,
            "age_seconds": int(age.total_seconds()) if age is not None else None,
            "path": self.path,
            "this_machine": self.is_this_machine,
        }


def _parse_time(text: str) -> datetime | None:
    """Terraform's Created: Go's RFC 3339 with nanoseconds (2026-12-02T01:02:03.123456789Z)."""
    if not text:
        return None
    head, dot, rest = text.partition(".")
    if dot:  # Python parses at most microseconds: cut the fraction to 6 digits
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits) :]
        text = f"{head}.{digits[:6]}{zone}"
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class LockStatus:
    environment: str
    backend: str  # "s3" | "local"
    location: str  # s3://bucket/key.tflock, or the lock-info file
    lock: LockInfo | None
    # local state only: an info file left by a process that no longer holds the OS lock.
    stale_file: bool = False

    @property
    def held(self) -> bool:
        return self.lock is not None and not self.stale_file

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": "lock status",
            "environment": self.environment,
            "backend": self.backend,
            "location": self.location,
            "held": self.held,
            "stale_file": self.stale_file,
            "lock": self.lock.as_dict() if self.lock else None,
        }


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str
    region: str
    endpoint: str | None = None
    path_style: bool = False

    @property
    def lock_key(self) -> str:
        return self.key + S3_LOCK_SUFFIX

    def url(self) -> str:
        return f"s3://{self.bucket}/{self.lock_key}"


def s3_location(environment: Environment) -> S3Location:
    """Bucket, key and region of an environment's S3 state, from its backend config file."""
    path = environment.backend_config
    if path is None:
        raise ContractError(f"{environment.name} has no backend_config in platform.toml: it has no S3 state.")
    if not path.is_file():
        raise ContractError(f"Backend config {path} is missing: create it (bucket, key, region, use_lockfile).")
    settings = hcl.load(path)
    bucket, key = settings.get("bucket"), settings.get("key")
    if not bucket or not key:
        raise ContractError(f"{path} must name bucket and key: add them.")
    if not settings.get("use_lockfile"):
        raise ContractError(
            f"{path} does not set use_lockfile = true: platformctl reads S3-native locks only "
            "(a DynamoDB lock is shown by `terraform force-unlock`'s error message)."
        )
    region = settings.get("region") or environment.region
    if not region:
        raise ContractError(f'{path} names no region, nor does {environment.name}\'s provider: add region = "...".')
    endpoints = settings.get("endpoints")
    endpoint = endpoints.get("s3") if isinstance(endpoints, dict) else None
    return S3Location(str(bucket), str(key), str(region), endpoint, bool(settings.get("use_path_style")))


def local_status(environment: Environment) -> LockStatus:
    info_file = environment.directory / LOCAL_LOCK_INFO
    try:
        lock = LockInfo.from_json(json.loads(info_file.read_text()))
    except FileNotFoundError:
        return LockStatus(environment.name, "local", str(info_file), None)
    except (OSError, ValueError) as exc:
        raise PlatformctlError(
            f"Cannot read {info_file} ({exc}): look at it, or delete it if no Terraform runs."
        ) from exc
    return LockStatus(
        environment.name,
        "local",
        str(info_file),
        lock,
        stale_file=not _os_lock_held(environment.directory / LOCAL_STATE),
    )


def _os_lock_held(state_file: Path) -> bool:
    """Whether another process holds Terraform's OS lock on the local state (fcntl, POSIX)."""
    try:
        import fcntl
    except ImportError:  # Windows: trust the info file
        return True
    try:
        handle = state_file.open("rb+")
    except FileNotFoundError:
        return False
    except OSError:
        return True
    with handle:
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.lockf(handle, fcntl.LOCK_UN)
        return False


def s3_status(environment: Environment, run_child: Any) -> LockStatus:
    """`run_child(module, *args)` runs CHILD_MODULE as the environment's identity (JSON out)."""
    where = s3_location(environment)
    data = run_child(CHILD_MODULE, json.dumps(where.__dict__))
    raw = data.get("lock")
    lock = LockInfo.from_json(raw) if isinstance(raw, dict) else None
    return LockStatus(environment.name, "s3", where.url(), lock)


def release_refusal(status: LockStatus, lock_id: str, *, force: bool, now: datetime | None = None) -> str | None:
    """Why this release must not go ahead, or None. Checked before anyone is asked."""
    name = status.environment
    if status.lock is None:
        return f"{name}'s state is not locked ({status.location}): nothing to release."
    if status.lock.id != lock_id:
        return (
            f"{name}'s state is locked by {status.lock.id}, not {lock_id}: check "
            f"`platformctl lock status {name}` and pass that ID."
        )
    if status.stale_file:
        return None
    age = status.lock.age(now)
    if not force and (age is None or age < MIN_RELEASE_AGE):
        held = f"{int(age.total_seconds() // 60)} min" if age is not None else "an unknown time"
        return (
            f"The lock on {name} is {held} old ({status.lock.operation} by {status.lock.who}), younger than "
            f"{int(MIN_RELEASE_AGE.total_seconds() // 60)} min: that run may still be going. Wait, or pass --force."
        )
    return None


def confirmation_word(environment: Environment) -> str:
    """What a human types to release: the environment's name when it is gated, else "yes"."""
    return environment.name if environment.approval_required else "yes"


# --- what the commands call ------------------------------------------------------------


def status(ctx: Context, environment: Environment) -> LockStatus:
    """Who holds ENV's state lock (S3 object or local info file), read without Terraform."""
    if environment.backend_config is None:
        return local_status(environment)
    creds = ctx.credentials(environment)
    return s3_status(environment, lambda module, *args: credentials.run_python(creds, module, *args))


# Shows the lock, returns what the human typed (KeyboardInterrupt/EOFError abort).
ConfirmRelease = Callable[[LockStatus, str], str]


def release(
    ctx: Context,
    environment: Environment,
    lock_id: str,
    *,
    force: bool = False,
    yes: bool = False,
    confirm: ConfirmRelease | None = None,
) -> LockStatus:
    """Release ENV's lock LOCK_ID with Terraform's force-unlock, after the checks and a typed word."""
    current = status(ctx, environment)
    refusal = release_refusal(current, lock_id, force=force)
    if refusal:
        raise PlatformctlError(refusal)
    name = environment.name
    if current.backend == "local" and not current.stale_file:
        who = current.lock.who if current.lock else "?"
        raise PlatformctlError(
            f"{name}'s local state is locked by a Terraform process that is still running ({who}): "
            "stop that process; a local lock ends with it."
        )
    if yes and environment.approval_required:
        raise ApprovalError(f"--yes is refused for {name} (gated): type its name when asked.")
    if not yes:
        word = confirmation_word(environment)
        if confirm is None or not process.stdin_is_tty() or process.running_in_ci():
            raise ApprovalError(
                f"Releasing {name}'s lock needs a typed confirmation and nothing can prompt here: run it from a "
                + ("terminal." if environment.approval_required else "terminal, or pass --yes.")
            )
        try:
            typed = confirm(current, word)
        except (KeyboardInterrupt, EOFError):
            raise ApprovalError(f"Not confirmed: the lock on {name} is still held.") from None
        if typed.strip() != word:
            raise ApprovalError(f"You typed {typed.strip()!r}, not {word!r}: the lock on {name} is still held.")
    if current.stale_file:
        # Terraform ignores this file once no process holds the OS lock; remove it for clarity.
        Path(current.location).unlink(missing_ok=True)
        return current
    tf = ctx.terraform_for(environment)
    operations.ensure_initialized(ctx, environment, tf)
    tf.check("force-unlock", "-force", lock_id)
    return current


def _child(argv: list[str]) -> int:
    """Child side: print {"lock": <lock-info JSON or null>} for the S3 location in argv[0]."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    where = S3Location(**json.loads(argv[0]))
    config = Config(s3={"addressing_style": "path"}) if where.path_style else None
    s3 = boto3.client("s3", region_name=where.region, endpoint_url=where.endpoint, config=config)
    try:
        body = s3.get_object(Bucket=where.bucket, Key=where.lock_key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            print(json.dumps({"lock": None}))
            return 0
        print(json.dumps({"error": f"Cannot read {where.url()} ({exc}): check the credentials and the bucket."}))
        return 1
    except BotoCoreError as exc:
        print(json.dumps({"error": f"Cannot read {where.url()} ({exc}): check the credentials and the bucket."}))
        return 1
    try:
        print(json.dumps({"lock": json.loads(body)}))
    except ValueError:
        print(json.dumps({"error": f"{where.url()} holds no lock-info JSON: look at it before deleting it."}))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
