"""The emulated hosts: which instance has which role, when SSM sees it Online, and per-host knobs.

Online model (FACTS "SSM Run Command"): the agent registers when the instance is running, its instance
profile's role has ``AmazonSSMManagedInstanceCore`` attached, its subnet can reach SSM, and the
registration delay has passed. An instance that was Online once and then fails a condition shows as
``ConnectionLost``; one that never registered is not listed at all (as in AWS).

Each host has a directory of its own: its root user's home (``HOME``, the commands' working directory) and, under
``fs/``, its own copy of the trees a bootstrap writes (:data:`HOST_ROOTS`: ``/opt``, ``/var/log``,
``/var/lib/cloud``). Without root there is no chroot, so the emulated agent and cloud-init map those absolute
paths in the script text onto ``fs/`` (:meth:`HostRegistry.map_paths`); every other path is the machine's.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from atlasiam_sandbox.aws import trust_policy
from atlasiam_sandbox.aws.moto_server import SSM_CORE_POLICY_ARN, InstanceFacts, MotoView, RoleRef

PingStatus = Literal["Online", "ConnectionLost"]
#: Trees each emulated host has its own copy of (under ``<host dir>/fs``).
HOST_ROOTS = ("/opt", "/var/log", "/var/lib/cloud")
# An absolute path starting with a host root, not part of a longer path or word before it.
_HOST_PATH = re.compile(r"(?<![\w./~$-])(" + "|".join(re.escape(r) for r in HOST_ROOTS) + r")(?=[/\s\"';:)|&<>]|$)")


@dataclass(frozen=True)
class HostSettings:
    """Per-instance knobs for cases moto can't model or tests want to force.

    Attributes:
        extra_env: Extra environment for commands run on this host (e.g. a stray ``AWS_PROFILE``).
        python: Interpreter that ``python3``/``python`` run on this host (default: the sandbox venv's).
        registration_delay: Seconds after launch before the agent is Online (None: the registry default).
        network_ok: Force the SSM network path on/off (None: derive it from moto's route tables).
        imds_hop_limit_ok: False makes the IMDS token PUT go unanswered, as with hop limit 1 in a container.
        imds_secret_tampered: True makes IMDS hand out the role's credentials with a wrong secret (fault
            injection: every signature the host makes is then wrong, and STS and Atlas must refuse it).
        sts_reachable: False gives the host no route to STS: its STS endpoint refuses connections.
        bootstrap_delay: Seconds from launch until the user data's package install is done (None: the registry
            default). Only hosts launched with user data boot one.
        bootstrap_fails: The user data's package install fails, as with no route to the package repositories.
    """

    extra_env: dict[str, str] = field(default_factory=dict)
    python: str | None = None
    registration_delay: float | None = None
    network_ok: bool | None = None
    imds_hop_limit_ok: bool = True
    imds_secret_tampered: bool = False
    sts_reachable: bool = True
    bootstrap_delay: float | None = None
    bootstrap_fails: bool = False


def _policy(text: str) -> dict[str, Any]:
    """A policy document; text that is no JSON object counts as an empty policy (it allows nothing)."""
    try:
        doc = json.loads(text)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


@dataclass(frozen=True)
class HostStatus:
    """The SSM agent's view of one instance at one moment."""

    facts: InstanceFacts
    role: RoleRef | None
    problems: tuple[str, ...]
    registered_at: datetime | None

    @property
    def online(self) -> bool:
        """True when nothing stops the agent from talking to SSM."""
        return not self.problems

    @property
    def ping_status(self) -> PingStatus:
        """Online or ConnectionLost (only meaningful for registered hosts)."""
        return "Online" if self.online else "ConnectionLost"


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Egress:
    """Whether one request from a host gets through the network (the service's own checks come after).

    Attributes:
        ok: The request reaches the service and no endpoint or bucket policy refuses it.
        reason: Why not: ``no-route`` (nothing in the subnet's route table leads there) or ``AccessDenied``.
        detail: A sentence for the stand-in's error message.
        via: ``internet`` or ``gateway`` when there is a route.
        vpce: The gateway endpoint the request goes through (its ``aws:SourceVpce``), and ``vpc`` its VPC.
    """

    ok: bool
    reason: str | None = None
    detail: str = ""
    via: str | None = None
    vpce: str | None = None
    vpc: str | None = None

    def to_json(self) -> str:
        """The JSON the host's stand-in commands read."""
        return json.dumps(
            {
                "ok": self.ok,
                "reason": self.reason,
                "detail": self.detail,
                "via": self.via,
                "vpce": self.vpce,
                "vpc": self.vpc,
            }
        )


#: The S3 bucket AL2023's dnf repositories are served from in a region (dnf's mirror list resolves to
#: al2023-repos-REGION-de612dc2.s3.dualstack.REGION.amazonaws.com; AWS MGN's note on AL2023 asks restrictive S3
#: gateway endpoint policies to allow arn:aws:s3:::al2023-repos-{region}-de612dc2/*).
AL2023_REPO_BUCKET = "al2023-repos-{region}-de612dc2"


class HostRegistry:
    """Host settings plus the Online model, evaluated against moto's current state.

    Args:
        view: moto's state.
        state_dir: Where the hosts' directories live.
        registration_delay: Default seconds from launch until the SSM agent is Online.
        bootstrap_delay: Default seconds from launch until a user-data bootstrap's package install is done.
        sts_endpoint: The STS endpoint hosts reach (``AWS_ENDPOINT_URL_STS``), e.g. a :class:`StsGate`'s URL.
    """

    def __init__(
        self,
        view: MotoView,
        state_dir: Path,
        *,
        registration_delay: float = 0.0,
        bootstrap_delay: float = 0.0,
        sts_endpoint: str | None = None,
    ) -> None:
        self.view = view
        self.state_dir = state_dir
        self.default_registration_delay = registration_delay
        self.default_bootstrap_delay = bootstrap_delay
        self.sts_endpoint = sts_endpoint
        #: Called once per instance, the first time it is seen running (its boot): cloud-init's hook.
        self.on_boot: Callable[[InstanceFacts], None] | None = None
        self._settings: dict[str, HostSettings] = {}
        self._registered: dict[str, datetime] = {}
        self._running_since: dict[str, datetime | None] = {}
        self._booted: set[str] = set()
        self._lock = threading.Lock()

    # --- settings ----------------------------------------------------------------------------------
    def settings(self, instance_id: str) -> HostSettings:
        """The settings of one host (defaults when never configured)."""
        with self._lock:
            return self._settings.get(instance_id, HostSettings())

    def configure(self, instance_id: str, **changes: Any) -> HostSettings:
        """Change some settings of one host, e.g. ``configure(iid, network_ok=False)``."""
        with self._lock:
            updated = replace(self._settings.get(instance_id, HostSettings()), **changes)
            self._settings[instance_id] = updated
            return updated

    def host_dir(self, instance_id: str) -> Path:
        """The host's working and home directory (created on first use)."""
        path = self.state_dir / "hosts" / instance_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def fs_root(self, instance_id: str) -> Path:
        """Where the host's own :data:`HOST_ROOTS` live: ``/opt/x`` on the host is ``fs_root / "opt/x"``."""
        path = self.host_dir(instance_id) / "fs"
        path.mkdir(exist_ok=True)
        return path

    def map_paths(self, instance_id: str, script: str) -> str:
        """``script`` with each absolute path under a :data:`HOST_ROOTS` tree moved into the host's ``fs_root``."""
        root = str(self.fs_root(instance_id))
        return _HOST_PATH.sub(lambda m: root + m.group(1), script)

    def os_bin(self, instance_id: str) -> Path:
        """The host's own system commands (``python3``, ``dnf``); present only for hosts that booted user data."""
        return self.host_dir(instance_id) / ".sandbox-os"

    # --- the host's network -----------------------------------------------------------------------------
    def internet_egress(self, instance_id: str) -> Egress:
        """Whether the host reaches the internet (PyPI, the AL2023 CDN): a default route to an IGW or NAT."""
        facts = self.view.instance(instance_id)
        if facts is None or not facts.subnet_id or not facts.vpc_id:
            return Egress(False, "no-route", "the instance is gone")
        if not self.view.has_internet_route(facts.subnet_id, facts.vpc_id):
            return Egress(False, "no-route", f"subnet {facts.subnet_id} has no route to an internet or NAT gateway")
        return Egress(True, via="internet")

    def s3_egress(self, instance_id: str, bucket: str, key: str | None, action: str, *, signed: bool = True) -> Egress:
        """Whether an S3 request from the host gets through: a route to S3, then the policies on the way.

        Through a Gateway endpoint the endpoint's policy must allow the request ("Control access to VPC
        endpoints using endpoint policies": the endpoint policy does not grant, it limits; the default policy
        allows everything) and the request carries ``aws:SourceVpce``/``aws:SourceVpc``, which bucket policies
        test. An explicit Deny in the bucket's policy refuses it (IAM policy evaluation logic). ``signed=False``
        is an anonymous request (dnf's); a signed one is the host's role session.
        """
        facts = self.view.instance(instance_id)
        if facts is None:
            return Egress(False, "no-route", "the instance is gone")
        route = self.view.s3_route(facts.subnet_id, facts.vpc_id)
        if route is None:
            return Egress(
                False,
                "no-route",
                f"subnet {facts.subnet_id} has no route to S3 (no internet or NAT "
                "gateway, no S3 gateway endpoint on its route table)",
            )
        via, info = route
        caller, context = self._s3_caller(facts, signed)
        resource = f"arn:aws:s3:::{bucket}" + (f"/{key}" if key is not None else "")
        if via == "gateway":
            context |= {"aws:sourcevpce": info["vpce_id"], "aws:sourcevpc": info["vpc_id"]}
            policy = _policy(info["policy"])
            if trust_policy.resource_decision(policy, caller, action, resource, context) != "Allow":
                return Egress(
                    False, "AccessDenied", f"no VPC endpoint policy of {info['vpce_id']} allows {action}", via
                )
        exists, bucket_policy = self.view.bucket_policy(bucket)
        denied = exists and bool(bucket_policy)
        denied = (
            denied
            and trust_policy.resource_decision(_policy(str(bucket_policy)), caller, action, resource, context) == "Deny"
        )
        if denied:
            return Egress(False, "AccessDenied", f"an explicit deny in the policy of bucket {bucket}", via)
        return Egress(True, via=via, vpce=info.get("vpce_id"), vpc=info.get("vpc_id"))

    def al2023_repo_egress(self, instance_id: str) -> Egress:
        """What dnf asks of S3: an anonymous GetObject on the region's AL2023 repository bucket."""
        bucket = AL2023_REPO_BUCKET.format(region=self.view.region)
        return self.s3_egress(
            instance_id, bucket, "core/mirrors/latest/x86_64/mirror.list", "s3:GetObject", signed=False
        )

    def _s3_caller(self, facts: InstanceFacts, signed: bool) -> tuple[trust_policy.Caller, dict[str, str]]:
        if not signed:
            return trust_policy.Caller(arn="anonymous", account=""), {}
        role = self.view.profile_role(facts.profile_arn)
        account = self.view.account_id
        if role is None:
            return trust_policy.Caller(arn="anonymous", account=""), {}
        session = f"arn:aws:sts::{account}:assumed-role/{role.name}/{facts.instance_id}"
        caller = trust_policy.Caller(session, account, frozenset({role.arn, session}), role.arn)
        return caller, {"aws:principalaccount": account, "aws:principalarn": role.arn}

    # --- Online model --------------------------------------------------------------------------------
    def status(self, instance_id: str) -> HostStatus | None:
        """The agent's status for one instance, or None when moto doesn't know the instance."""
        facts = self.view.instance(instance_id)
        return None if facts is None else self._evaluate(facts, _now())

    def statuses(self) -> list[HostStatus]:
        """Statuses of all instances moto knows (terminated ones excluded)."""
        now = _now()
        return [self._evaluate(f, now) for f in self.view.instances() if f.state != "terminated"]

    def registered(self) -> list[HostStatus]:
        """Hosts the SSM service lists: those that have been Online at least once (DescribeInstanceInformation)."""
        statuses = self.statuses()  # evaluating registers the hosts that are Online now
        with self._lock:
            known = set(self._registered)
        return [s for s in statuses if s.facts.instance_id in known]

    def _evaluate(self, facts: InstanceFacts, now: datetime) -> HostStatus:
        self._notice_boot(facts)
        settings = self.settings(facts.instance_id)
        role = self.view.profile_role(facts.profile_arn)
        problems = self._agent_problems(facts, role, settings)
        booted_at = self._booted_at(facts, now)
        if not problems:
            delay = (
                self.default_registration_delay if settings.registration_delay is None else settings.registration_delay
            )
            waited = (now - booted_at).total_seconds()
            if waited < delay:
                problems.append(f"agent registering ({waited:.1f}s of {delay:.1f}s)")
        with self._lock:
            if not problems:
                self._registered.setdefault(facts.instance_id, now)
            registered_at = self._registered.get(facts.instance_id)
        return HostStatus(facts=facts, role=role, problems=tuple(problems), registered_at=registered_at)

    def _notice_boot(self, facts: InstanceFacts) -> None:
        """The first time an instance is seen running, it boots: run the boot hook, once per instance."""
        hook = self.on_boot
        if hook is None or facts.state != "running":
            return
        with self._lock:
            if facts.instance_id in self._booted:
                return
            self._booted.add(facts.instance_id)
        hook(facts)

    def _agent_problems(self, facts: InstanceFacts, role: RoleRef | None, settings: HostSettings) -> list[str]:
        problems: list[str] = []
        if facts.state != "running":
            problems.append(f"instance is {facts.state}")
        if role is None:
            problems.append("no instance profile with a role")
        elif SSM_CORE_POLICY_ARN not in self.view.attached_policy_arns(role.name):
            problems.append(f"role {role.name} lacks AmazonSSMManagedInstanceCore")
        network_ok = settings.network_ok
        if network_ok is None:
            network_ok = self.view.has_ssm_network_path(facts.subnet_id, facts.vpc_id)
        if not network_ok:
            problems.append("no network path to SSM (no 0.0.0.0/0 route to an IGW/NAT, no SSM endpoints)")
        return problems

    def _booted_at(self, facts: InstanceFacts, now: datetime) -> datetime:
        """Launch time; after a stop/start cycle we observed, the moment we saw it running again."""
        with self._lock:
            if facts.state != "running":
                self._running_since[facts.instance_id] = None
                return now
            since = self._running_since.get(facts.instance_id, facts.launch_time) or now
            self._running_since[facts.instance_id] = since
            return since
