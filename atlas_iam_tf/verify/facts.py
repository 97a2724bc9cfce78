"""Everything verify learned about one target, as plain data for the pure diagnosis rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from atlas_iam_tf.verify.atlas import AtlasView
from atlas_iam_tf.verify.privatelink import PrivateLinkView
from atlas_iam_tf.verify.result import ProbeResult
from atlas_iam_tf.verify.vpc import VpcDns
from atlas_iam_tf.verify.workload import WorkloadTarget
from atlas_iam_tf.verify.workload_run import WorkloadRun

# TargetFacts.not_probed: private mode, and the stack has no private-endpoint connection string to probe with.
NO_PRIVATE_URI = "no_private_uri"


@dataclass(frozen=True)
class TargetFacts:
    """What verify saw for one host (or for `--from-here`).

    Attributes:
        target: The instance id, ``local`` for --from-here, or the workload's name.
        expected_user: The database username that should authenticate (the role ARN), when known.
        db_usernames: Every database username atlasiam manages for this stack, when known.
        user_scopes: Clusters the expected user is scoped to, when known.
        cluster_name: The cluster the URI points at, when known.
        region: The AWS region used.
        instance_found: False when the instance does not exist in the region (None: not checked).
        ssm_ping: The SSM PingStatus when last seen (None: never registered / not applicable).
        command_status: The SSM command invocation status (None: not sent / not applicable).
        stderr: The tail of the command's stderr.
        probe: The parsed probe result, when it printed one.
        probe_error: Why no probe result could be parsed.
        via: ``ssm``, ``assume-role``, ``session-token``, ``env``, or a workload's kind (``lambda``, ``ecs``, ``eks``).
        atlas: What the Atlas Admin API said of the expected user and the cluster, when verify asked.
        atlas_error: Why verify could not ask Atlas, when it tried.
        network_mode: ``private`` (the URI leads through a private endpoint), ``public``, or None (unknown).
        privatelink_endpoint_id: The stack's interface endpoint (``vpce-…``), when known.
        privatelink: What Atlas said of the private path (endpoint states, the cluster's tier), when verify asked.
        vpc_dns: The DNS attributes of the host's VPC, read when a private host name did not resolve there.
        vpc_dns_error: Why they could not be read, when verify tried.
        not_probed: Why verify did not probe on purpose (e.g. no connection string to probe with).
        workload: The workload's name (``[[workloads]] name``), for a workload's row.
        kind: The workload's kind: ``lambda``, ``ecs``, ``eks``.
        workload_target: The workload as verify ran it (its role, subnets, namespace, service account, identity).
        run: What the run in the workload came to (status, the service's words, evidence).
    """

    target: str
    expected_user: str | None = None
    db_usernames: tuple[str, ...] = ()
    user_scopes: tuple[str, ...] = ()
    cluster_name: str | None = None
    region: str | None = None
    instance_found: bool | None = None
    ssm_ping: str | None = None
    command_status: str | None = None
    stderr: str = ""
    probe: ProbeResult | None = None
    probe_error: str | None = None
    via: str = "ssm"
    atlas: AtlasView | None = None
    atlas_error: str | None = None
    network_mode: str | None = None
    privatelink_endpoint_id: str | None = None
    privatelink: PrivateLinkView | None = None
    vpc_dns: VpcDns | None = None
    vpc_dns_error: str | None = None
    not_probed: str | None = None
    workload: str | None = None
    kind: str | None = None
    workload_target: WorkloadTarget | None = None
    run: WorkloadRun | None = None

    @property
    def credential_source(self) -> str | None:
        """How the probe's AWS credentials arrived (its credentials step's ``delivery``), when it said."""
        step = self.probe.step("credentials") if self.probe else None
        delivery = step.detail.get("delivery") if step else None
        return str(delivery) if delivery else None

    def evidence(self, name: str) -> Any:
        """A piece of the workload run's evidence (None when there was no run or it saw nothing of the kind)."""
        return self.run.evidence.get(name) if self.run else None

    @property
    def private(self) -> bool:
        """The connection goes (or should go) through a private endpoint."""
        return self.network_mode == "private"

    @property
    def dns_failed(self) -> bool:
        """The probe stopped at DNS: the cluster's host names (or its SRV record) did not resolve."""
        return self.failed_kind in ("dns_srv_failed", "dns_failed")

    @property
    def failed_kind(self) -> str | None:
        """The kind of the probe's failing gating step, if one failed."""
        step = self.probe.failed if self.probe else None
        return step.error_kind if step else None

    def step_kind(self, name: str) -> str | None:
        """The error kind of the named step, if it ran and failed (advisory steps included)."""
        step = self.probe.failed_step(name) if self.probe else None
        return step.error_kind if step else None

    @property
    def logged_in(self) -> bool:
        """The probe authenticated to the cluster (its auth step passed)."""
        step = self.probe.step("auth") if self.probe else None
        return step is not None and step.ok
