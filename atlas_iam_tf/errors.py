"""The one error hierarchy of atlasiam and its exit codes.

Only ``cli.py`` catches these and turns them into exit codes and messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from atlas_iam_tf.terraform.diagnostics import LockInfo

ErrorCode = Literal[
    "config_invalid",
    "config_not_found",
    "usage",
    "credentials_missing",
    "terraform_failed",
    "terraform_not_found",
    "state_missing",
    "state_locked",
    "confirmation_required",
    "verification_failed",
    "verification_error",
    "sandbox_error",
    "sandbox_missing",
    "not_writable",
    "cancelled",
    "wheelhouse_failed",
]


class ExitCode(IntEnum):
    """Documented process exit codes."""

    OK = 0
    ERROR = 1
    USAGE = 2
    VERIFY_FAILED = 3
    CHANGES_PENDING = 4
    CANCELLED = 130


class AtlasIamError(Exception):
    """Root of every error atlasiam raises on purpose.

    Attributes:
        code: A stable machine-readable code.
        message: One human sentence (or one line per problem).
        hint: What to do about it, when we know.
        exit_code: The process exit code this error maps to.
    """

    code: ErrorCode = "terraform_failed"
    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(AtlasIamError, ValueError):
    """Bad input on the command line."""

    code: ErrorCode = "usage"
    exit_code = ExitCode.USAGE


class ConfigError(AtlasIamError, ValueError):
    """The config file is missing, unreadable or invalid; ``problems`` has one line per problem."""

    code: ErrorCode = "config_invalid"
    exit_code = ExitCode.USAGE

    def __init__(self, problems: Sequence[str], hint: str | None = None, *, source: str = "config") -> None:
        self.problems = list(problems)
        head = f"{source} is invalid:" if len(self.problems) > 1 else f"{source}:"
        super().__init__(head + "".join(f"\n  {p}" for p in self.problems), hint)


class ConfigNotFoundError(AtlasIamError, FileNotFoundError):
    """No config file where one was expected."""

    code: ErrorCode = "config_not_found"
    exit_code = ExitCode.USAGE


class CredentialsMissingError(AtlasIamError, RuntimeError):
    """A credential Terraform will need is not in the environment."""

    code: ErrorCode = "credentials_missing"
    exit_code = ExitCode.USAGE


class ConfirmationRequiredError(AtlasIamError, RuntimeError):
    """A destructive command ran without a TTY and without ``--yes``."""

    code: ErrorCode = "confirmation_required"
    exit_code = ExitCode.USAGE


class StateError(AtlasIamError, RuntimeError):
    """Something expected in the working directory (plan, state) is absent."""

    code: ErrorCode = "state_missing"


class TerraformNotFoundError(AtlasIamError, FileNotFoundError):
    """The configured terraform/tofu binary does not exist."""

    code: ErrorCode = "terraform_not_found"
    exit_code = ExitCode.USAGE


class TerraformError(AtlasIamError, RuntimeError):
    """A Terraform command exited with an error."""

    code: ErrorCode = "terraform_failed"

    def __init__(
        self,
        message: str,
        *,
        cmd: Sequence[str] = (),
        returncode: int = 1,
        stdout: str = "",
        stderr: str = "",
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.cmd = list(cmd)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    @classmethod
    def from_process(cls, cmd: Sequence[str], returncode: int, stdout: str, stderr: str) -> TerraformError:
        """Build the error from a finished Terraform process, keeping its diagnostics."""
        # Imported when a command fails, not with this module, which nearly every command loads early.
        from atlas_iam_tf.terraform.diagnostics import LockInfo, first_error

        sub = cmd[0] if cmd else "terraform"
        diag = first_error(stderr) or first_error(stdout)
        if diag is not None and diag.is_state_lock:
            # A -json diagnostic carries the Lock Info block in its detail; a human one is read for
            # its summary line only, and its block is in stderr around it.
            lock = LockInfo.from_text(diag.detail) or LockInfo.from_text(stderr)
            return StateLockedError.from_lock_info(sub, lock, cmd, returncode, stdout, stderr)
        detail = diag.one_line() if diag is not None else f"exit code {returncode}"
        return cls(
            f"terraform {sub} failed: {detail}",
            cmd=cmd,
            returncode=returncode,
            stdout=stdout,
            stderr=stderr,
        )


class StateLockedError(TerraformError):
    """Another Terraform run holds the state lock; nothing was changed by this one."""

    code: ErrorCode = "state_locked"

    @classmethod
    def from_lock_info(
        cls, sub: str, lock: LockInfo | None, cmd: Sequence[str], returncode: int, stdout: str, stderr: str
    ) -> StateLockedError:
        """Name the lock (ID, operation, who, since when), or say Terraform recorded none."""
        what = lock.describe() if lock else "no lock info recorded"
        unlock = f"`terraform force-unlock {lock.id}`" if lock else "`terraform force-unlock`"
        return cls(
            f"terraform {sub} refused: the state is locked by another Terraform run ({what})",
            cmd=cmd,
            returncode=returncode,
            stdout=stdout,
            stderr=stderr,
            hint=(
                "wait for the other run to finish, then run the command again; if none is running any more "
                f"(it crashed or was killed), release the lock with {unlock} in .atlasiam/<environment>/"
            ),
        )


class VerificationError(AtlasIamError, RuntimeError):
    """The verification itself could not run (AWS API unreachable, no credentials, ...)."""

    code: ErrorCode = "verification_error"


class SandboxError(AtlasIamError, RuntimeError):
    """The offline sandbox could not be started or used."""

    code: ErrorCode = "sandbox_error"


class WriteError(AtlasIamError, OSError):
    """A place atlasiam must write (``--out``, ``.atlasiam/``) is not a writable directory."""

    code: ErrorCode = "not_writable"
    exit_code = ExitCode.USAGE


class SandboxMissingError(AtlasIamError, ModuleNotFoundError):
    """The sandbox distribution is not installed."""

    code: ErrorCode = "sandbox_missing"
    exit_code = ExitCode.USAGE


class CancelledError(AtlasIamError):
    """The user interrupted the command."""

    code: ErrorCode = "cancelled"
    exit_code = ExitCode.CANCELLED


class WheelhouseError(AtlasIamError, RuntimeError):
    """pip could not download the probe's wheels for a private-mode host (wheelhouse.py)."""

    code: ErrorCode = "wheelhouse_failed"
