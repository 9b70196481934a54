"""The one error family. Every known failure is a PlatformctlError whose message is a
single line that says what to do; the CLI boundary prints it and exits with `exit_code`."""

from __future__ import annotations

from platformctl import exit_codes


class PlatformctlError(Exception):
    """A failure the user can act on. `str(error)` is the one line shown to them."""

    exit_code: int = exit_codes.ERROR


class ContractError(PlatformctlError):
    """platform.toml or an environment folder is missing or malformed."""


class UnknownEnvironmentError(ContractError):
    """The environment named on the command line is not one of the project's."""


class EngineError(PlatformctlError):
    """No usable Terraform engine, or one whose version does not satisfy the constraint."""


class ProviderMirrorError(PlatformctlError):
    """The configured provider mirror is missing or holds nothing."""


class TerraformFailed(PlatformctlError):
    """Terraform ran and exited non-zero; its own output already explained why."""

    def __init__(self, message: str, returncode: int) -> None:
        super().__init__(message)
        self.returncode = returncode


class Interrupted(PlatformctlError):
    """The user pressed Ctrl-C; the child stopped by itself and we exit 130."""

    exit_code = exit_codes.INTERRUPTED


class CredentialsError(PlatformctlError):
    """aws-vault, a profile or the caller's AWS account is not what the environment needs."""


class ApprovalError(PlatformctlError):
    """The approval gate refused: no reviewed plan, a stale or altered one, or no approval."""


class EmulatorError(PlatformctlError):
    """The local AWS emulator could not be started, reached or stopped."""
