"""Terraform's diagnostics (errors and warnings) as typed values, from every shape Terraform prints.

Terraform reports a problem as a *diagnostic* in one of three shapes: a ``-json`` UI event on stdout
(``{"@level": "error", "diagnostic": {...}}``), an entry of ``validate -json``'s ``diagnostics`` list,
or a human ``Error: ...`` block on stderr (framed with ``╷ │ ╵`` on some paths, e.g. with colour or
for CLI configuration problems). Whatever atlasiam shows of one goes through ``Diagnostic.one_line``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]

# The summary of the diagnostic Terraform raises when another run holds the state lock.
LOCK_SUMMARY = "Error acquiring the state lock"
# A message stays one line: a detail can be a page of text (a provider's whole API error body).
MAX_LINE = 500

_BOX = "│╷╵ "
_HUMAN_PREFIXES: Mapping[str, Severity] = {"Error: ": "error", "Warning: ": "warning"}
# A -json event's @level (hclog's names: a warning is "warn") to the diagnostic's severity.
_LEVELS: Mapping[str, Severity] = {"error": "error", "warn": "warning"}


@dataclass(frozen=True)
class Diagnostic:
    """One Terraform diagnostic.

    Attributes:
        severity: ``error`` or ``warning``.
        summary: Terraform's one-line summary.
        detail: The explanation as Terraform wrote it (several lines), or ''.
        address: The resource address it is about, or ''.
        filename: The configuration file it points into, or ''.
        line: The line in ``filename`` it starts at, when known.
    """

    severity: Severity
    summary: str
    detail: str = ""
    address: str = ""
    filename: str = ""
    line: int | None = None

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> Diagnostic | None:
        """Read a ``-json`` UI event; None unless it is an error or warning with something to say."""
        severity = _LEVELS.get(str(event.get("@level")))
        if severity is None:
            return None
        # @message is "Error: <summary>" (or "Warning: ..."); it stands in when the event carries no
        # diagnostic object.
        diag = cls._from_object(severity, _mapping(event.get("diagnostic")), str(event.get("@message") or ""))
        return diag if diag.summary else None

    @classmethod
    def from_validate(cls, diag: Mapping[str, Any]) -> Diagnostic:
        """Read one entry of the ``diagnostics`` list that ``terraform validate -json`` prints."""
        return cls._from_object("warning" if diag.get("severity") == "warning" else "error", diag, "")

    @classmethod
    def from_human(cls, line: str) -> Diagnostic | None:
        """Read the ``Error: ...``/``Warning: ...`` line that starts a human diagnostic block, or None.

        Only the summary is taken: the rest of the block mixes a source snippet with the detail, and
        atlasiam asks for ``-json`` wherever Terraform offers it.
        """
        text = line.strip(_BOX).strip()
        for prefix, severity in _HUMAN_PREFIXES.items():
            if text.startswith(prefix):
                return cls(severity, text[len(prefix) :])
        return None

    @classmethod
    def _from_object(cls, severity: Severity, diag: Mapping[str, Any], fallback: str) -> Diagnostic:
        # The UI event's "diagnostic" and validate's entries are the same JSON object (Terraform's
        # json.Diagnostic): summary, detail, address, range {filename, start {line}}.
        where = _mapping(diag.get("range"))
        line = _mapping(where.get("start")).get("line")
        return cls(
            severity=severity,
            summary=str(diag.get("summary") or fallback).removeprefix(f"{severity.title()}: "),
            detail=str(diag.get("detail") or ""),
            address=str(diag.get("address") or ""),
            filename=str(where.get("filename") or ""),
            line=line if isinstance(line, int) else None,
        )

    @property
    def place(self) -> str:
        """Where it points: the resource address, else ``file:line`` (or the file alone), else ''."""
        if self.address:
            return self.address
        if self.filename and self.line is not None:
            return f"{self.filename}:{self.line}"
        return self.filename

    @property
    def is_state_lock(self) -> bool:
        """True for the error Terraform raises when another run holds the state lock."""
        return self.summary.startswith(LOCK_SUMMARY)

    def one_line(self, *, detail: bool = True) -> str:
        """``summary (place): detail`` on one line, at most ``MAX_LINE`` characters.

        Args:
            detail: Include the detail (whitespace collapsed); progress lines leave it out.
        """
        text = self.summary + (f" ({self.place})" if self.place else "")
        flat = " ".join(self.detail.split())
        if detail and flat:
            text += f": {flat}"
        return text[:MAX_LINE]


def first_error(text: str) -> Diagnostic | None:
    """The first error diagnostic in Terraform's output, human or ``-json`` lines alike."""
    for raw in text.splitlines():
        line = raw.strip(_BOX).strip()
        diag = Diagnostic.from_human(line) if not line.startswith("{") else _event_diagnostic(line)
        if diag is not None and diag.severity == "error":
            return diag
    return None


def _event_diagnostic(line: str) -> Diagnostic | None:
    try:
        event = json.loads(line)
    except ValueError:  # a line of text that happens to start with "{"
        return None
    return Diagnostic.from_event(event)


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


# Fields of Terraform's "Lock Info:" block. Each pattern reads the block as Terraform wrote it (human
# stderr, or a -json detail) and the same block flattened onto one line by ``Diagnostic.one_line``.
_LOCK_FIELDS = {
    "id": re.compile(r"\bID:\s+([0-9A-Za-z-]+)"),
    "operation": re.compile(r"\bOperation:\s+OperationType(\w+)"),
    "who": re.compile(r"\bWho:\s+(\S+)"),
    "created": re.compile(r"\bCreated:\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)"),
}


@dataclass(frozen=True)
class LockInfo:
    """Who holds a Terraform state lock, from the ``Lock Info:`` block of the lock error.

    Attributes:
        id: The lock ID, the argument ``terraform force-unlock`` needs.
        operation: What the holder is doing, lower case (``apply``, ``plan``, ...), or ''.
        who: ``user@host`` of the holder, or ''.
        created: When it was taken, UTC, to the second (``2026-11-28 10:21:44``), or ''.
    """

    id: str
    operation: str = ""
    who: str = ""
    created: str = ""

    @classmethod
    def from_text(cls, text: str) -> LockInfo | None:
        """Find the lock info block in ``text`` (human or flattened); None when it names no lock ID."""
        found = {key: m.group(1) for key, rx in _LOCK_FIELDS.items() if (m := rx.search(text))}
        if "id" not in found:
            return None
        return cls(
            id=found["id"],
            operation=found.get("operation", "").lower(),
            who=found.get("who", ""),
            created=found.get("created", ""),
        )

    def describe(self) -> str:
        """``lock ID <id>: <operation>, by <who>, since <created> UTC``, leaving out what is unknown."""
        holder = ", ".join(
            part
            for part in (
                self.operation,
                f"by {self.who}" if self.who else "",
                f"since {self.created} UTC" if self.created else "",
            )
            if part
        )
        return f"lock ID {self.id}" + (f": {holder}" if holder else "")
