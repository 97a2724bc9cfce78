"""moto in server mode on 127.0.0.1, plus a read-only, in-process view of the moto state the sandbox needs.

The view reads moto's backend objects directly (same process as the server thread). That keeps the SSM
Online model and the IMDS endpoint fast (no HTTP round trips per poll) and independent of moto's
authentication switch. Every use of a moto internal lives in :class:`MotoView` and ``moto_patches``.
Instance credentials are minted in-process through ``moto.sts.models.sts_backends``, as EC2 itself (not a
caller of AssumeRole) hands them to an instance; every AssumeRole over HTTP has the role's trust policy
checked (``moto_patches``, applied by :func:`start_moto`).
"""

from __future__ import annotations

import http.client
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar
from urllib.parse import urlsplit

from atlasiam_sandbox.aws import moto_patches
from atlasiam_sandbox.aws.sigv4 import SigningKey

logger = logging.getLogger(__name__)

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
#: An AMI id from moto's bundled default image list (moto accepts any id; this one also describes).
DEFAULT_AMI = "ami-12c6146b"
SSM_CORE_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
#: Interface endpoints that let a private subnet reach SSM without an internet route ("Improve the security of EC2
#: instances by using VPC endpoints for Systems Manager": com.amazonaws.REGION.ssm, .ssmmessages, .ec2messages;
#: https://docs.aws.amazon.com/systems-manager/latest/userguide/setup-create-vpc.html). The agent calls the services'
#: regional host names, which reach an interface endpoint only through its private DNS names (private DNS enabled on
#: the endpoint and DNS support on the VPC; AWS PrivateLink guide, "Private DNS for interface endpoints").
SSM_ENDPOINT_SERVICES = ("ssm", "ssmmessages", "ec2messages")

_T = TypeVar("_T")


@dataclass(frozen=True)
class InstanceFacts:
    """What the sandbox needs to know about one EC2 instance, copied out of moto."""

    instance_id: str
    state: str
    subnet_id: str | None
    vpc_id: str | None
    tags: dict[str, str]
    launch_time: datetime
    profile_arn: str | None
    private_ip: str | None
    private_dns_name: str
    availability_zone: str
    image_id: str
    instance_type: str


@dataclass(frozen=True)
class FunctionFacts:
    """What the sandbox's network needs to know about one Lambda function, copied out of moto."""

    name: str
    arn: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]


@dataclass(frozen=True)
class RoleRef:
    """An IAM role by name and ARN."""

    name: str
    arn: str


@dataclass(frozen=True)
class RoleCredentials:
    """Temporary credentials for an assumed role, as moto STS knows them."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime
    arn: str


@dataclass(frozen=True)
class EksNodegroupFacts:
    """One EKS managed node group: name, node role ARN, subnets."""

    name: str
    node_role: str
    subnets: tuple[str, ...]


@dataclass(frozen=True)
class EksClusterFacts:
    """One EKS cluster as the sandbox needs it, copied out of moto."""

    name: str
    arn: str
    issuer: str
    nodegroups: tuple[EksNodegroupFacts, ...]


def _read(fn: Callable[[], _T], attempts: int = 5) -> _T:
    """Read moto state, retrying when a server thread mutates a dict we iterate over ("changed size")."""
    for _ in range(attempts - 1):
        try:
            return fn()
        except RuntimeError:  # noqa: PERF203 - retrying is the point
            time.sleep(0.001)
    return fn()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


class MotoView:
    """Read-only view of moto's EC2/IAM state and an in-process STS minter for one account and region."""

    def __init__(self, account_id: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION) -> None:
        self.account_id = account_id
        self.region = region

    # --- backends (moto internals) -------------------------------------------------------------
    def _ec2(self) -> Any:
        from moto.ec2.models import ec2_backends

        return ec2_backends[self.account_id][self.region]

    def _iam(self) -> Any:
        from moto.iam.models import iam_backends
        from moto.utilities.utils import get_partition

        return iam_backends[self.account_id][get_partition(self.region)]

    def _sts(self) -> Any:
        from moto.sts.models import sts_backends
        from moto.utilities.utils import get_partition

        return sts_backends[self.account_id][get_partition(self.region)]

    # --- EC2 ---------------------------------------------------------------------------------------
    def instances(self) -> list[InstanceFacts]:
        """All instances moto knows in this region (any state), in launch order."""
        return _read(lambda: [self._facts(i) for i in self._ec2().all_instances()])

    def instance(self, instance_id: str) -> InstanceFacts | None:
        """One instance, or None when moto does not know it."""
        from moto.ec2.exceptions import InvalidInstanceIdError

        try:
            inst = _read(lambda: self._ec2().get_instance(instance_id))
        except InvalidInstanceIdError:
            return None
        return _read(lambda: self._facts(inst))

    @staticmethod
    def _facts(inst: Any) -> InstanceFacts:
        tags = {t["key"]: t["value"] for t in inst.get_tags()}
        profile = inst.iam_instance_profile or {}
        return InstanceFacts(
            instance_id=inst.id,
            state=inst.state,
            subnet_id=inst.subnet_id,
            vpc_id=inst.vpc_id,
            tags=tags,
            launch_time=_aware(inst.launch_time),
            profile_arn=profile.get("Arn"),
            private_ip=inst.private_ip,
            private_dns_name=inst.private_dns_name,
            availability_zone=inst.placement.zone or "",
            image_id=inst.image_id,
            instance_type=inst.instance_type,
        )

    def has_ssm_network_path(self, subnet_id: str | None, vpc_id: str | None) -> bool:
        """True when the subnet reaches SSM: a default route to an IGW/NAT, or SSM interface endpoints."""
        if not subnet_id or not vpc_id:
            return False
        return _read(lambda: self._default_route_ok(subnet_id, vpc_id) or self._has_ssm_endpoints(vpc_id))

    def has_internet_route(self, subnet_id: str, vpc_id: str) -> bool:
        """A default route to an internet or NAT gateway in the subnet's route table."""
        return _read(lambda: self._default_route_ok(subnet_id, vpc_id))

    def _route_tables(self, subnet_id: str, vpc_id: str) -> list[Any]:
        """The subnet's route table: its explicit association, else the VPC's main table."""
        ec2 = self._ec2()
        tables = ec2.describe_route_tables(filters={"association.subnet-id": [subnet_id]})
        if not tables:
            tables = ec2.describe_route_tables(filters={"vpc-id": [vpc_id], "association.main": ["true"]})
        return list(tables)

    def _default_route_ok(self, subnet_id: str, vpc_id: str) -> bool:
        return self._default_route_target(subnet_id, vpc_id) is not None

    def default_route_target(self, subnet_id: str, vpc_id: str) -> str | None:
        """Where the subnet's default route leads: ``"igw"`` (an internet gateway), ``"nat"`` or None.

        A public subnet's route to an internet gateway carries only traffic from an address with a public IP (a
        host's public address, a Fargate task's with assignPublicIp ENABLED); a NAT gateway's carries anyone's.
        """
        return _read(lambda: self._default_route_target(subnet_id, vpc_id))

    def _default_route_target(self, subnet_id: str, vpc_id: str) -> str | None:
        found: str | None = None
        for table in self._route_tables(subnet_id, vpc_id):
            for route in table.routes:
                if route.destination_cidr_block != "0.0.0.0/0":
                    continue
                if route.nat_gateway is not None:
                    return "nat"
                if (route.gateway_id or "").startswith("igw-"):
                    found = "igw"
        return found

    def subnet_vpc(self, subnet_id: str) -> str | None:
        """The VPC of a subnet moto knows, or None."""
        from moto.ec2.exceptions import InvalidSubnetIdError

        try:
            return str(_read(lambda: self._ec2().get_subnet(subnet_id)).vpc_id)
        except InvalidSubnetIdError:
            return None

    def security_group_exists(self, group_id: str) -> bool:
        """Whether moto knows a security group by id."""
        return _read(lambda: self._ec2().get_security_group_from_id(group_id)) is not None

    def nat_egress(self, subnet_id: str) -> list[str] | None:
        """The public addresses the subnet's traffic leaves by: its default route's NAT gateway's, or None.

        A NAT gateway translates to its Elastic IP and reaches the internet only from a public subnet (one whose
        default route goes to an internet gateway) ("NAT gateway basics",
        https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-basics.html). A default route to an internet
        gateway gives nothing here: it needs a public address on the interface, which a Lambda function's
        interface never has ("Enable internet access for VPC-connected Lambda functions",
        https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc-internet.html).
        """
        vpc_id = self.subnet_vpc(subnet_id)
        if vpc_id is None:
            return None

        def lookup() -> list[str] | None:
            for table in self._route_tables(subnet_id, vpc_id):
                for route in table.routes:
                    nat = route.nat_gateway
                    if route.destination_cidr_block != "0.0.0.0/0" or nat is None or nat.state != "available":
                        continue
                    if getattr(nat, "connectivity_type", "public") == "private":
                        continue
                    if not self._igw_route(nat.subnet_id, nat.vpc_id):
                        continue
                    ips = [str(a["publicIp"]) for a in nat.address_set if a.get("publicIp")]
                    return ips or None
            return None

        return _read(lookup)

    def _igw_route(self, subnet_id: str, vpc_id: str) -> bool:
        return any(
            route.destination_cidr_block == "0.0.0.0/0" and (route.gateway_id or "").startswith("igw-")
            for table in self._route_tables(subnet_id, vpc_id)
            for route in table.routes
        )

    # --- Lambda --------------------------------------------------------------------------------------
    def lambda_function(self, name: str) -> FunctionFacts | None:
        """One Lambda function ($LATEST) by name, or None when moto does not know it."""
        from moto.awslambda.models import lambda_backends

        def lookup() -> FunctionFacts | None:
            storage = lambda_backends[self.account_id][self.region]._lambdas
            entry = storage._functions.get(name)
            if entry is None:
                return None
            fn = entry["latest"]
            vpc = fn._vpc_config or {}
            return FunctionFacts(
                name=fn.function_name,
                arn=fn.function_arn,
                subnet_ids=tuple(vpc.get("SubnetIds") or ()),
                security_group_ids=tuple(vpc.get("SecurityGroupIds") or ()),
            )

        return _read(lookup)

    def vpc_endpoint(self, vpce_id: str) -> dict[str, str] | None:
        """One VPC endpoint (id, service name, VPC, type, state), or None when moto does not know it."""

        def lookup() -> dict[str, str] | None:
            endpoint = self._ec2().vpc_end_points.get(vpce_id)
            if endpoint is None:
                return None
            return {
                "vpce_id": endpoint.id,
                "service_name": str(endpoint.service_name),
                "vpc_id": str(endpoint.vpc_id),
                "endpoint_type": str(endpoint.vpc_endpoint_type or "Gateway"),
                "state": str(endpoint.state),
            }

        return _read(lookup)

    def _has_ssm_endpoints(self, vpc_id: str) -> bool:
        """Available Interface endpoints with private DNS for ssm, ssmmessages and ec2messages, DNS support on."""
        vpc = self._ec2().vpcs.get(vpc_id)
        if vpc is None or str(getattr(vpc, "enable_dns_support", True)).lower() != "true":
            return False
        prefix = f"com.amazonaws.{self.region}."
        names = {
            str(ep.service_name).removeprefix(prefix)
            for ep in self._ec2().describe_vpc_endpoints(vpc_end_point_ids=None, filters={"vpc-id": [vpc_id]})
            if ep.vpc_id == vpc_id
            and getattr(ep, "state", "available") == "available"
            and str(ep.vpc_endpoint_type or "").lower() == "interface"
            and bool(ep.private_dns_enabled)
        }
        return all(svc in names for svc in SSM_ENDPOINT_SERVICES)

    def s3_route(self, subnet_id: str | None, vpc_id: str | None) -> tuple[str, dict[str, str]] | None:
        """How the subnet reaches S3 in this region, or None.

        ("gateway", {"vpce_id", "vpc_id", "policy"}) over a Gateway endpoint for S3 that the subnet's route table
        carries ("Gateway endpoints for Amazon S3": a route to the service's prefix list, which as the more specific
        route wins over a default route; https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-s3.html);
        else ("internet", {}) over a default route to an internet or NAT gateway.
        """
        if not subnet_id or not vpc_id:
            return None

        def lookup() -> tuple[str, dict[str, str]] | None:
            tables = {t.id for t in self._route_tables(subnet_id, vpc_id)}
            for ep in self._ec2().vpc_end_points.values():
                if (
                    ep.vpc_id == vpc_id
                    and ep.state == "available"
                    and str(ep.vpc_endpoint_type or "gateway").lower() == "gateway"
                    and ep.service_name == f"com.amazonaws.{self.region}.s3"
                    and tables & set(ep.route_table_ids or ())
                ):
                    return "gateway", {"vpce_id": ep.id, "vpc_id": vpc_id, "policy": str(ep.policy_document or "")}
            return ("internet", {}) if self._default_route_ok(subnet_id, vpc_id) else None

        return _read(lookup)

    def bucket_policy(self, bucket: str) -> tuple[bool, str | None]:
        """(whether the bucket exists, its policy text or None)."""
        from moto.s3.models import s3_backends
        from moto.utilities.utils import get_partition

        def lookup() -> tuple[bool, str | None]:
            backend = s3_backends[self.account_id][get_partition(self.region)]
            found = backend.buckets.get(bucket)
            if found is None:
                return False, None
            return True, found.policy.decode() if found.policy else None

        return _read(lookup)

    # --- EKS ---------------------------------------------------------------------------------------
    def eks_clusters(self) -> list[EksClusterFacts]:
        """Every EKS cluster in this account and region, in creation order."""
        from moto.eks.models import eks_backends

        def lookup() -> list[EksClusterFacts]:
            return [
                EksClusterFacts(
                    name=c.name,
                    arn=c.arn,
                    issuer=str(c.identity["oidc"]["issuer"]),
                    nodegroups=tuple(
                        EksNodegroupFacts(n.nodegroup_name, n.node_role, tuple(n.subnets or ()))
                        for n in list(c.nodegroups.values())
                    ),
                )
                for c in list(eks_backends[self.account_id][self.region].clusters.values())
            ]

        return _read(lookup)

    def eks_cluster(self, name: str) -> EksClusterFacts | None:
        """One EKS cluster, or None."""
        return next((c for c in self.eks_clusters() if c.name == name), None)

    def role_trust_policy(self, role_arn: str) -> dict[str, Any] | None:
        """The trust policy of the role ``role_arn`` names, or None when there is no such role."""
        return _read(lambda: moto_patches.role_trust_policy(role_arn))

    # --- IAM ---------------------------------------------------------------------------------------
    def profile_role(self, profile_arn: str | None) -> RoleRef | None:
        """The (first) role of an instance profile, or None when the profile is missing or empty."""
        if not profile_arn:
            return None

        def lookup() -> RoleRef | None:
            for profile in self._iam().get_instance_profiles():
                if profile.arn == profile_arn and profile.roles:
                    role = profile.roles[0]
                    return RoleRef(name=role.name, arn=role.arn)
            return None

        return _read(lookup)

    def attached_policy_arns(self, role_name: str) -> set[str]:
        """ARNs of the managed policies attached to a role (empty when the role is gone)."""

        def lookup() -> set[str]:
            iam = self._iam()
            if not any(r.name == role_name for r in iam.get_roles()):
                return set()
            policies, _ = iam.list_attached_role_policies(role_name, max_items=1000)
            return {p.arn for p in policies}

        return _read(lookup)

    # --- STS ---------------------------------------------------------------------------------------
    def mint_role_credentials(self, role_arn: str, session_name: str, duration: int = 3600) -> RoleCredentials:
        """Assume ``role_arn`` in-process, as EC2 does for an instance profile (no trust-policy check)."""
        assumed = self._sts().assume_role(
            region_name=self.region,
            role_session_name=session_name,
            role_arn=role_arn,
            policy=None,
            duration=duration,
            external_id=None,
        )
        return RoleCredentials(
            access_key_id=assumed.access_key_id,
            secret_access_key=assumed.secret_access_key,
            session_token=assumed.session_token,
            expiration=_aware(assumed.expiration),
            arn=assumed.arn,
        )

    def signing_key(self, access_key_id: str) -> SigningKey | None:
        """What STS knows about an access key (a :data:`~atlasiam_sandbox.aws.sigv4.KeyLookup`).

        IAM user keys (long-term, may be inactive), assumed-role credentials (AssumeRole, and the instance
        credentials minted for IMDS) and GetSessionToken credentials (``moto_patches``); None for any other id.
        """

        def lookup() -> SigningKey | None:
            for user in list(self._iam().users.values()):
                for key in list(user.access_keys):
                    if key.access_key_id == access_key_id:
                        return SigningKey(access_key_id, key.secret_access_key, active=key.status == "Active")
            for role in list(self._sts().assumed_roles):
                if role.access_key_id == access_key_id:
                    expires = _aware(role.expiration)
                    return SigningKey(access_key_id, role.secret_access_key, role.session_token, expires)
            session = moto_patches.SESSION_CREDENTIALS.get(access_key_id)
            if session is not None:
                return SigningKey(access_key_id, session[0], session[1], _aware(session[2]))
            return None

        return _read(lookup)


class MotoServer:
    """A running moto server (threaded, in this process) and the view onto its state."""

    def __init__(self, server: Any, account_id: str, region: str) -> None:
        self._server = server
        host, port = server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        self.account_id = account_id
        self.region = region
        self.view = MotoView(account_id, region)
        self._auth_before: str | None = None
        self._stopped = False

    def mint_role_credentials(self, role_arn: str, session_name: str, duration: int = 3600) -> RoleCredentials:
        """Credentials for ``role_arn`` as EC2 hands them to an instance (no trust-policy check)."""
        return self.view.mint_role_credentials(role_arn, session_name, duration)

    def warm(self) -> None:
        """Build the EC2, IAM and STS backends now (≈2 s on first use: default AMIs, managed policies)."""
        self.view.instances()
        self.view.attached_policy_arns("-")
        self.view.profile_role("-")

    def _post(self, path: str, body: str) -> bytes:
        parts = urlsplit(self.url)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        try:
            # A form content type would make werkzeug swallow the body; moto reads the raw data.
            conn.request("POST", path, body=body.encode(), headers={"Content-Type": "text/plain"})
            response = conn.getresponse()
            data = response.read()
            if response.status != 200:
                raise RuntimeError(f"moto {path} -> HTTP {response.status}: {data[:200]!r}")
            return data
        finally:
            conn.close()

    def enable_auth(self) -> None:
        """From now on moto checks signatures, access keys and IAM policies (process-wide switch)."""
        import json

        previous = json.loads(self._post("/moto-api/reset-auth", "0"))["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"]
        if self._auth_before is None:
            self._auth_before = str(previous)

    def disable_auth(self) -> None:
        """Restore the authentication setting moto had before :meth:`enable_auth`."""
        if self._auth_before is not None:
            self._post("/moto-api/reset-auth", self._auth_before)
            self._auth_before = None

    def reset(self) -> None:
        """Forget every resource in every moto backend (process-wide)."""
        self._post("/moto-api/reset", "")

    def stop(self) -> None:
        """Restore auth and stop the server thread. Idempotent.

        moto's state stays in memory until the next :func:`start_moto` resets it: a reset re-builds every
        backend in use (≈1 s), which is wasted work at the end of a process.
        """
        if self._stopped:
            return
        self._stopped = True
        try:
            self.disable_auth()
        except (OSError, RuntimeError):  # pragma: no cover - best effort on teardown
            logger.warning("could not restore moto's auth setting", exc_info=True)
        self._server.stop()


def start_moto(
    account_id: str = DEFAULT_ACCOUNT,
    region: str = DEFAULT_REGION,
    *,
    quiet: bool = True,
    warm: bool = True,
    reset: bool = True,
) -> MotoServer:
    """Start moto on 127.0.0.1 with a random free port and AWS managed policies loaded.

    Args:
        account_id: The account the view reads; moto serves 123456789012 to unknown credentials.
        region: The region the view reads EC2 state from.
        quiet: Silence werkzeug's per-request log lines.
        warm: Build the EC2/IAM/STS backends before returning, so the first API call isn't the slow one.
        reset: Wipe moto's process-global state first. Pass False only to run beside another live server
            in this process (both then share one set of resources).

    Returns:
        The running server; call :meth:`MotoServer.stop` when done.
    """
    # Must be set before moto builds its IAM backend; moto reads it when the backend is created.
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    if quiet:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from moto.server import ThreadedMotoServer

    from atlasiam_sandbox.aws import moto_patches

    moto_patches.apply()  # every sandbox moto refuses what STS refuses (trust policies, GetSessionToken)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    # --- model check: every request is checked against botocore's service model, as AWS checks it ---
    from atlasiam_sandbox.aws import model_check

    model_check.install(server)
    # --- end model check ---
    moto = MotoServer(server, account_id, region)
    # Start from a clean slate: moto's backends are process-global and may hold an earlier sandbox's state.
    if reset:
        moto.reset()
    if warm:
        moto.warm()
    return moto
