"""The host side of the probe contract: parse its one JSON line into a typed, read-only result."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

STEP_ORDER = ("input", "bootstrap", "driver", "credentials", "identity", "dns", "reach", "auth", "whoami")
#: Steps that are evidence, not gates: the probe goes on after they fail. MONGODB-AWS needs no STS call from
#: the host (the driver signs GetCallerIdentity and Atlas sends it), so a host that cannot reach STS can still
#: log in; and the bootstrap's outcome shows in the driver step.
ADVISORY_STEPS = frozenset({"bootstrap", "identity"})


@dataclass(frozen=True)
class StepResult:
    """One probe step: passed or failed, how long it took, what it saw."""

    name: str
    ok: bool
    ms: float
    detail: Mapping[str, Any] = field(default_factory=dict)
    error_kind: str | None = None
    error_message: str | None = None
    error_code: int | None = None


@dataclass(frozen=True)
class ProbeResult:
    """What the probe printed."""

    ok: bool
    steps: tuple[StepResult, ...]
    host: str = ""
    ms: float = 0.0

    def step(self, name: str) -> StepResult | None:
        """The named step, if it ran."""
        return next((s for s in self.steps if s.name == name), None)

    @property
    def failed(self) -> StepResult | None:
        """The gating step that failed (the probe stops there); advisory steps never count."""
        return next((s for s in self.steps if not s.ok and s.name not in ADVISORY_STEPS), None)

    def failed_step(self, name: str) -> StepResult | None:
        """The named step, if it ran and failed (advisory or not)."""
        step = self.step(name)
        return step if step is not None and not step.ok else None

    @property
    def identity(self) -> str | None:
        """The role/user ARN Atlas matches, as STS reported it (mapped from the session ARN)."""
        step = self.step("identity")
        return str(step.detail["mapped_arn"]) if step and step.ok and "mapped_arn" in step.detail else None

    @property
    def sts_arn(self) -> str | None:
        """The raw STS caller ARN."""
        step = self.step("identity")
        return str(step.detail["sts_arn"]) if step and step.ok and "sts_arn" in step.detail else None

    @property
    def db_user(self) -> str | None:
        """The database user Atlas authenticated (connectionStatus)."""
        step = self.step("whoami")
        return str(step.detail.get("user")) if step and step.detail.get("user") else None


class ProbeOutputError(ValueError):
    """The probe's output held no result object (it did not run, or crashed before printing)."""


def parse_probe_output(stdout: str) -> ProbeResult:
    """Parse the last JSON object line of ``stdout`` (SSM may prepend shell noise)."""
    for line in reversed(stdout.strip().splitlines()):
        text = line.strip()
        if not (text.startswith("{") and text.endswith("}")):
            continue
        try:
            doc = json.loads(text)
        except ValueError:
            continue
        if isinstance(doc, dict) and doc.get("probe") == 1 and isinstance(doc.get("steps"), list):
            return _result(doc)
    raise ProbeOutputError("the probe printed no result" + (f": {stdout.strip()[-300:]}" if stdout.strip() else ""))


def _result(doc: Mapping[str, Any]) -> ProbeResult:
    steps = []
    for raw in doc["steps"]:
        error = raw.get("error") or {}
        steps.append(
            StepResult(
                name=str(raw.get("name", "?")),
                ok=bool(raw.get("ok")),
                ms=float(raw.get("ms") or 0.0),
                detail=dict(raw.get("detail") or {}),
                error_kind=error.get("kind"),
                error_message=error.get("message"),
                error_code=error.get("code"),
            )
        )
    return ProbeResult(
        ok=bool(doc.get("ok")), steps=tuple(steps), host=str(doc.get("host", "")), ms=float(doc.get("ms") or 0.0)
    )
