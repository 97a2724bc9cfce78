"""The sandbox's one error: it could not be started or used. Its CLI turns it into exit code 1."""

from __future__ import annotations


class SandboxError(RuntimeError):
    """The offline sandbox could not be started or used.

    Attributes:
        message: One human sentence.
        hint: What to do about it, when known.
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
