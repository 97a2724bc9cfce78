"""What verify learns before probing, and how a probe's output joins what verify saw.

Atlas's word on the user and the private path, asked before the probe is sent; shared by the host path
(``service``) and the workload path (``workloads``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from atlas_iam_tf.verify.atlas import AtlasApi, AtlasGate, ask_atlas
from atlas_iam_tf.verify.facts import NO_PRIVATE_URI, TargetFacts
from atlas_iam_tf.verify.privatelink import PrivateLinkView, ask_privatelink
from atlas_iam_tf.verify.report import VerifyReport, report_for
from atlas_iam_tf.verify.request import VerifyRequest
from atlas_iam_tf.verify.result import ProbeOutputError, parse_probe_output

Progress = Callable[[str], None]


def with_probe(facts: TargetFacts, stdout: str) -> TargetFacts:
    """``facts`` with the probe's parsed result, or why none could be parsed."""
    try:
        return replace(facts, probe=parse_probe_output(stdout))
    except ProbeOutputError as err:
        return replace(facts, probe_error=str(err))


@dataclass(frozen=True)
class AtlasAnswers:
    """What verify learned from Atlas before probing: the user gate, and in private mode the private path."""

    gate: AtlasGate
    privatelink: PrivateLinkView | None = None

    @property
    def note(self) -> str:
        """The report's Atlas line."""
        return self.gate.note + (f"; {self.privatelink.note()}" if self.privatelink else "")

    @property
    def seen(self) -> dict[str, Any]:
        """The facts Atlas contributes to every target."""
        return {"atlas": self.gate.view, "atlas_error": self.gate.error, "privatelink": self.privatelink}

    def unprobed(self, req: VerifyRequest, targets: Sequence[str], **seen: Any) -> VerifyReport | None:
        """The report when the probe is not sent: Atlas ruled the login out, or there is no URI to probe with."""
        if self.gate.skip_probe:
            reason = "atlas_user_missing"  # no such user and nothing pending: the login cannot work
        elif not req.uri:
            reason = NO_PRIVATE_URI
        else:
            return None
        hosts = tuple(report_for(req.facts(t, not_probed=reason, **self.seen, **seen)) for t in targets)
        return VerifyReport(hosts=hosts, atlas=self.note, path=req.path)


def ask_before_probing(req: VerifyRequest, atlas: AtlasApi | None, say: Progress) -> tuple[AtlasAnswers, VerifyRequest]:
    """What Atlas knows before probing, and the request with what is left of --wait after waiting on it."""
    gate = ask_atlas(atlas, req.atlas_project_id, req.cluster_name, req.expect_arn, req.wait_s, say)
    privatelink = None
    if req.private and atlas is not None and req.atlas_project_id:
        say("asking Atlas about the private endpoint and the cluster's tier")
        privatelink = ask_privatelink(atlas, req.atlas_project_id, req.cluster_name, req.privatelink_endpoint_id)
    return AtlasAnswers(gate, privatelink), replace(req, wait_s=max(0.0, req.wait_s - gate.waited_s))
