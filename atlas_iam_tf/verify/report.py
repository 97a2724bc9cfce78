"""What verify concludes: one verdict per target, each with its findings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from atlas_iam_tf.diagnose import Finding, diagnose
from atlas_iam_tf.verify.facts import TargetFacts


@dataclass(frozen=True)
class HostReport:
    """The verdict for one target."""

    facts: TargetFacts
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        """Passed: the probe succeeded and no error-level finding was raised."""
        probe_ok = self.facts.probe is not None and self.facts.probe.ok
        return probe_ok and not any(f.severity == "error" for f in self.findings)

    @property
    def kind(self) -> str | None:
        """The workload's kind; a host reached over SSM is an ``ec2`` one."""
        return self.facts.kind or ("ec2" if self.facts.via == "ssm" else None)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of this row."""
        probe = self.facts.probe
        return {
            "target": self.facts.target,
            "ok": self.ok,
            "via": self.facts.via,
            "identity": probe.identity if probe else None,
            "db_user": probe.db_user if probe else None,
            "expected_user": self.facts.expected_user,
            "workload": self.facts.workload,
            "kind": self.kind,
            "credential_source": self.facts.credential_source,
            "probe_ms": probe.ms if probe else None,
            "ssm_ping": self.facts.ssm_ping,
            "command_status": self.facts.command_status,
            "steps": [
                {"name": s.name, "ok": s.ok, "ms": s.ms, "error": s.error_message, "kind": s.error_kind}
                for s in (probe.steps if probe else ())
            ],
            "findings": [
                {"code": f.code, "severity": f.severity, "message": f.message, "fix": f.fix} for f in self.findings
            ],
        }


@dataclass(frozen=True)
class VerifyReport:
    """Every target's verdict."""

    hosts: tuple[HostReport, ...]
    atlas: str = ""  # whether verify asked Atlas, and what it said or why not (verify/atlas.py)
    path: str = ""  # the network path the login takes (VerifyRequest.path); empty when unknown

    @property
    def ok(self) -> bool:
        """True when every target passed."""
        return bool(self.hosts) and all(h.ok for h in self.hosts)

    @property
    def path_line(self) -> str:
        """Which path this run proved (or tried): the public address, or the private endpoint."""
        if not self.path:
            return ""
        passed = [h for h in self.hosts if h.ok]
        if passed and len(passed) == len(self.hosts):
            return f"Proven over {self.path}"
        if passed:
            return f"Proven over {self.path} for {len(passed)} of {len(self.hosts)} targets"
        return f"Not proven over {self.path}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of the report."""
        return {
            "ok": self.ok,
            "path": self.path or None,
            "path_proven": self.ok if self.path else None,
            "atlas": self.atlas,
            "hosts": [h.to_dict() for h in self.hosts],
        }


def report_for(facts: TargetFacts) -> HostReport:
    """Diagnose what verify saw of one target."""
    return HostReport(facts=facts, findings=tuple(diagnose(facts)))
