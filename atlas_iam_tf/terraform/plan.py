"""Typed, read-only views over Terraform's machine-readable output."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from atlas_iam_tf.terraform.diagnostics import Diagnostic

# Terraform's JSON UI action names, in the order a summary lists them.
ACTIONS = ("create", "update", "replace", "delete", "read", "noop", "move", "remove", "import")


@dataclass(frozen=True)
class ResourceChange:
    """One planned change: a resource address and what Terraform will do to it."""

    address: str
    action: str
    resource_type: str = ""
    reason: str = ""


@dataclass(frozen=True)
class PlanSummary:
    """The changes of a plan, keyed by address."""

    changes: tuple[ResourceChange, ...] = ()
    drift: tuple[ResourceChange, ...] = ()
    output_changes: Mapping[str, str] = field(default_factory=dict)

    @property
    def has_changes(self) -> bool:
        """True when applying would change infrastructure or outputs."""
        return any(c.action not in ("noop", "read") for c in self.changes) or any(
            a != "noop" for a in self.output_changes.values()
        )

    def counts(self) -> dict[str, int]:
        """Number of changes per action, only actions that occur."""
        out: dict[str, int] = {}
        for c in self.changes:
            out[c.action] = out.get(c.action, 0) + 1
        return {a: out[a] for a in ACTIONS if a in out}


def parse_events(lines: Iterable[str]) -> list[dict[str, Any]]:
    """Parse Terraform ``-json`` UI lines, skipping anything that is not a JSON object."""
    events: list[dict[str, Any]] = []
    for line in lines:
        text = line.strip()
        if not text.startswith("{"):
            continue
        try:
            event = json.loads(text)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def _change(payload: Mapping[str, Any]) -> ResourceChange:
    resource = payload.get("resource") or {}
    return ResourceChange(
        address=str(resource.get("addr", "")),
        action=str(payload.get("action", "")),
        resource_type=str(resource.get("resource_type", "")),
        reason=str(payload.get("reason", "")),
    )


def plan_summary_from_events(events: Iterable[Mapping[str, Any]]) -> PlanSummary:
    """Build the summary from ``planned_change``, ``resource_drift`` and ``outputs`` events."""
    changes: dict[str, ResourceChange] = {}
    drift: list[ResourceChange] = []
    outputs: dict[str, str] = {}
    for event in events:
        kind = event.get("type")
        if kind == "planned_change":
            change = _change(event.get("change") or {})
            changes[change.address] = change
        elif kind == "resource_drift":
            drift.append(_change(event.get("change") or {}))
        elif kind == "outputs":
            for name, out in (event.get("outputs") or {}).items():
                outputs[name] = str(out.get("action", "noop"))
    ordered = tuple(sorted(changes.values(), key=lambda c: c.address))
    return PlanSummary(changes=ordered, drift=tuple(drift), output_changes=outputs)


@dataclass(frozen=True)
class Outputs:
    """``terraform output -json``: values, and which of them are sensitive."""

    values: Mapping[str, Any]
    sensitive: frozenset[str] = frozenset()

    @classmethod
    def from_json(cls, text: str) -> Outputs:
        """Parse the JSON document ``terraform output -json`` prints."""
        doc = json.loads(text or "{}")
        values = {name: out.get("value") for name, out in doc.items()}
        sensitive = frozenset(name for name, out in doc.items() if out.get("sensitive"))
        return cls(values=values, sensitive=sensitive)

    def masked(self) -> dict[str, Any]:
        """The values with sensitive ones replaced by a marker, safe to print."""
        return {k: ("(sensitive)" if k in self.sensitive else v) for k, v in self.values.items()}


# JSON UI event types whose message is worth showing as progress.
_PROGRESS_TYPES = frozenset(
    {
        "apply_start",
        "apply_complete",
        "apply_errored",
        "refresh_start",
        "refresh_complete",
        "resource_drift",
        "change_summary",
        "provision_errored",
    }
)


def progress_line(event: Mapping[str, Any]) -> str | None:
    """The human line to show for one Terraform JSON UI event, or None to stay quiet.

    ``planned_change`` events stay quiet: the plan is shown as a table afterwards, and applying a
    saved plan repeats them.
    """
    kind = event.get("type")
    if kind in _PROGRESS_TYPES:
        return str(event.get("@message", "")) or None
    if kind == "diagnostic" and (diag := Diagnostic.from_event(event)) is not None:
        # Without the detail: a progress line stays short, and an error's detail is in the message atlasiam fails with.
        return f"{diag.severity}: {diag.one_line(detail=False)}"
    return None
