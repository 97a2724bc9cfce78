"""The whole offline cloud in one object: emulated AWS, emulated Atlas, and the cluster endpoints.

- AWS: moto + the SSM Run Command endpoint + per-host IMDSv2 + Lambda (``sandbox.aws.SandboxCloud``).
- Atlas control plane: ``AtlasState`` behind the Admin API emulation (``MONGODB_ATLAS_BASE_URL``).
- Atlas clusters: one MongoDB wire endpoint per cluster, created on first use, doing the genuine
  MONGODB-AWS exchange against moto's STS, behind STS's signature check (always on). Who reaches a listener is
  decided by where the connection comes from (an emulated host, a Lambda function, or anything else).
Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path
from typing import Any

from atlasiam_sandbox.atlas_api import AtlasAdminApi
from atlasiam_sandbox.atlas_privatelink import AwsEndpointFacts
from atlasiam_sandbox.atlas_state import AtlasState
from atlasiam_sandbox.aws import moto_patches, peers
from atlasiam_sandbox.aws.cloud import SandboxCloud
from atlasiam_sandbox.mongo import MongoEndpoint
from atlasiam_sandbox.mongo.tls import TlsFiles, ensure_tls_files

ATLAS_FILE = "atlas.json"
#: Where Lambda functions outside a VPC reach the internet from (sandbox: one address of TEST-NET-3, RFC 5737, which
#: is never anybody's; real Lambda uses many addresses of AWS's own ranges, none of them the customer's).
LAMBDA_EGRESS_ADDRESS = "203.0.113.10"
CA_BUNDLE = "ca-bundle.pem"
# Placeholders the stand-ins accept; never real credentials.
ATLAS_PLACEHOLDER = {"MONGODB_ATLAS_CLIENT_ID": "sandbox-client", "MONGODB_ATLAS_CLIENT_SECRET": "sandbox-secret"}


class Sandbox:
    """Start, use and stop the emulated cloud under ``state_dir``."""

    def __init__(
        self,
        state_dir: Path,
        *,
        region: str = "us-east-1",
        propagation_s: float = 0.0,
        registration_delay: float = 0.0,
        privatelink_delay_s: float = 0.5,
        cloud_options: dict[str, Any] | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.region = region
        self.propagation_s = propagation_s
        self.registration_delay = registration_delay
        self.privatelink_delay_s = privatelink_delay_s
        self._cloud_options = cloud_options or {}
        self.atlas = AtlasState.load(state_dir / ATLAS_FILE)
        self._endpoints: dict[tuple[str, ...], MongoEndpoint] = {}
        self._lock = threading.Lock()
        self._cloud: SandboxCloud | None = None
        self._api: AtlasAdminApi | None = None
        self._tls: TlsFiles | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> Sandbox:
        """Start every emulated service."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        moto_patches.apply()
        self._tls = ensure_tls_files(self.state_dir / "tls")
        bundle = self.state_dir / CA_BUNDLE
        bundle.write_bytes(_system_cas(exclude=bundle) + self._tls.ca_file.read_bytes())
        self._cloud = SandboxCloud(
            self.state_dir / "hosts",
            region=self.region,
            ssl_cert_file=bundle,
            registration_delay=self.registration_delay,
            tls=self._tls,
            **self._cloud_options,
        ).start()
        try:
            self._api = AtlasAdminApi(
                self.atlas,
                self.cluster_uri,
                propagation_s=self.propagation_s,
                on_change=self._save,
                aws_endpoint=self._aws_endpoint,
                private_uri=self.private_uri,
                privatelink_delay_s=self.privatelink_delay_s,
            ).start()
            self._cloud.add_service("atlas-admin-api", self._api.stop)
            # Atlas's endpoint services exist for EC2 too: CreateVpcEndpoint to one is accepted (moto_patches).
            moto_patches.ENDPOINT_SERVICES.append(self._atlas_service_exists)
            self._cloud.add_service(
                "atlas-endpoint-services", lambda: moto_patches.ENDPOINT_SERVICES.remove(self._atlas_service_exists)
            )
            self._cloud.add_service("mongo-endpoints", self._stop_endpoints)
        except BaseException:
            self._cloud.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop everything (host processes, endpoints, servers); the Atlas state stays on disk."""
        if self._cloud is not None:
            self._cloud.stop()
            self._cloud = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- accessors -----------------------------------------------------------------------------
    @property
    def cloud(self) -> SandboxCloud:
        """The emulated AWS."""
        if self._cloud is None:
            raise RuntimeError("the sandbox is not started")
        return self._cloud

    @property
    def api(self) -> AtlasAdminApi:
        """The emulated Atlas Admin API."""
        if self._api is None:
            raise RuntimeError("the sandbox is not started")
        return self._api

    @property
    def ca_bundle(self) -> Path:
        """System CAs plus the sandbox CA (``SSL_CERT_FILE`` for anything talking to the endpoints)."""
        return self.state_dir / CA_BUNDLE

    def endpoint(self, project_id: str, cluster_name: str) -> MongoEndpoint:
        """The cluster's MongoDB endpoint, started on first use."""
        key = (project_id, cluster_name)
        with self._lock:
            ep = self._endpoints.get(key)
            if ep is None:
                ep = MongoEndpoint(
                    self.atlas,
                    project_id=project_id,
                    cluster_name=cluster_name,
                    sts_endpoint=self.cloud.moto_url,
                    keys=self.cloud.moto.view.signing_key,
                    tls_dir=self.state_dir / "tls",
                    admit=lambda conn: self._public_refusal(project_id, conn),
                )
                ep.start()
                self._endpoints[key] = ep
        return ep

    def _public_refusal(self, project_id: str, conn: socket.socket) -> str | None:
        """Why a connection to the cluster's public address goes unanswered, or None.

        An emulated host reaches it only over the internet (an IGW or NAT route); a Lambda function only from an
        egress address on the project's IP access list (:meth:`_lambda_public_refusal`). Anything else on this
        machine (the operator's verify --from-here, the tests) is "the internet" and gets in; for hosts and for
        the operator the IP access list is stored, not enforced (README, sandbox fidelity).
        """
        env = peers.connection_environment(conn) or {}
        function = env.get(peers.FUNCTION_VAR)
        if function:
            return self._lambda_public_refusal(project_id, function)
        instance = env.get(peers.INSTANCE_VAR)
        facts = self.cloud.moto.view.instance(instance) if instance else None
        if facts is None or (
            facts.subnet_id and facts.vpc_id and self.cloud.moto.view.has_internet_route(facts.subnet_id, facts.vpc_id)
        ):
            return None
        return f"instance {instance} has no route to the internet (subnet {facts.subnet_id})"

    def lambda_egress(self, function_name: str) -> list[str] | str:
        """The public addresses a Lambda function's connections to the internet come from, or why it has none.

        A function not in a VPC reaches the internet from Lambda's own addresses, which are not the customer's
        ("a Lambda function ... not connected to a VPC ... has access to the internet"; "Enable internet access for
        VPC-connected Lambda functions", https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc-internet.html):
        the sandbox models them as one fixed documentation address, :data:`LAMBDA_EGRESS_ADDRESS`. A function in a
        VPC never has a public IP address; it reaches the internet only through a NAT gateway on its subnet's
        default route, from the NAT's Elastic IP. Lambda places it in any of its subnets, so every subnet must
        have that route (never kinder: a subnet without one would fail some invocations), and each NAT's address
        counts.
        """
        view = self.cloud.moto.view
        function = view.lambda_function(function_name)
        if function is None:
            return f"Lambda function {function_name} does not exist"
        if not function.subnet_ids:
            return [LAMBDA_EGRESS_ADDRESS]
        addresses: list[str] = []
        for subnet_id in function.subnet_ids:
            nat = view.nat_egress(subnet_id)
            if not nat:
                return f"Lambda function {function_name} in subnet {subnet_id} has no route to a NAT gateway"
            addresses.extend(a for a in nat if a not in addresses)
        return addresses

    def _lambda_public_refusal(self, project_id: str, function_name: str) -> str | None:
        """A Lambda function gets in only from egress addresses all on the project's IP access list."""
        egress = self.lambda_egress(function_name)
        if isinstance(egress, str):
            return egress
        for address in egress:
            if not self.atlas.access_admits(project_id, address):
                return (
                    f"Lambda function {function_name} connects from {address}, "
                    f"which is not on the IP access list of project {project_id}"
                )
        return None

    def cluster_uri(self, project_id: str, cluster_name: str) -> str:
        """The connection string of an emulated cluster (no SRV: the sandbox has no DNS)."""
        return self.endpoint(project_id, cluster_name).uri

    def private_endpoint(self, project_id: str, cluster_name: str, vpce_id: str) -> MongoEndpoint:
        """The cluster as reached through one AWS interface endpoint: a listener of its own, started on first use.

        It has its own address (a port of its own), published only in the cluster's
        ``connectionStrings.privateEndpoint[]``, and lets a connection in only while that endpoint is an AVAILABLE
        private endpoint of the project, still exists in AWS, and the cluster is a dedicated one; anything else is
        closed unanswered, as a private endpoint without a working PrivateLink connection answers nothing. The IP
        access list plays no part: Atlas lets a private endpoint in by itself (the Architecture Center's "Guidance for
        Atlas Network Security": access is blocked by default and opened by adding a private endpoint, which Atlas
        adds to the access list automatically, or by peering, or by IP access-list entries;
        https://www.mongodb.com/docs/atlas/architecture/current/network-security/), so this listener never looks at
        it.
        """
        key = (project_id, cluster_name, vpce_id)
        with self._lock:
            ep = self._endpoints.get(key)
            if ep is None:
                ep = MongoEndpoint(
                    self.atlas,
                    project_id=project_id,
                    cluster_name=cluster_name,
                    sts_endpoint=self.cloud.moto_url,
                    keys=self.cloud.moto.view.signing_key,
                    tls_dir=self.state_dir / "tls",
                    admit=lambda conn: self._private_refusal(project_id, cluster_name, vpce_id, conn),
                )
                ep.start()
                self._endpoints[key] = ep
        return ep

    def private_uri(self, project_id: str, cluster_name: str, vpce_id: str) -> str:
        """The cluster's connection string through interface endpoint ``vpce_id`` (no SRV: the sandbox has no DNS)."""
        return self.private_endpoint(project_id, cluster_name, vpce_id).uri

    def _private_refusal(self, project_id: str, cluster_name: str, vpce_id: str, conn: socket.socket) -> str | None:
        """Why a connection to the private listener goes unanswered, or None.

        Only an emulated host, or a Lambda function attached to subnets, in the interface endpoint's VPC reaches its
        private IPs (``aws.peers`` finds the process behind the connection); then the endpoint must be an AVAILABLE
        private endpoint of the project and the cluster a dedicated one.
        """
        if not self.atlas.cluster(project_id, cluster_name).dedicated:
            return f"cluster {cluster_name} is not a dedicated cluster: no private endpoints"
        endpoint = self._aws_endpoint(vpce_id)
        where, vpc_id = self._private_origin(peers.connection_environment(conn) or {})
        if endpoint is None or vpc_id is None or vpc_id != endpoint.vpc_id:
            return f"{where} has no route to interface endpoint {vpce_id}"
        return self.api.privatelink.refusal(project_id, vpce_id)

    def _private_origin(self, env: dict[str, str]) -> tuple[str, str | None]:
        """Who a connecting process is, and the VPC its packets are in (None: no VPC of this sandbox)."""
        view = self.cloud.moto.view
        function_name = env.get(peers.FUNCTION_VAR)
        if function_name:
            function = view.lambda_function(function_name)
            vpcs = {view.subnet_vpc(s) for s in function.subnet_ids} if function else set()
            vpc_id = vpcs.pop() if len(vpcs) == 1 else None
            return f"Lambda function {function_name}" + (f" in {vpc_id}" if vpc_id else " (no VPC)"), vpc_id
        instance = env.get(peers.INSTANCE_VAR)
        facts = view.instance(instance) if instance else None
        if facts is None:
            return "a process that is no emulated host", None
        return f"instance {instance} in {facts.vpc_id}", facts.vpc_id

    def _atlas_service_exists(self, name: str) -> bool:
        """Whether ``name`` is an AVAILABLE private endpoint service of the Atlas emulation."""
        link = self.api.privatelink
        services = self.atlas.all_services()
        return any(s.service_name == name and link.service_status(s) == "AVAILABLE" for s in services)

    def _aws_endpoint(self, vpce_id: str) -> AwsEndpointFacts | None:
        """What Atlas sees of an AWS VPC endpoint (moto's state)."""
        found = self.cloud.moto.view.vpc_endpoint(vpce_id)
        return AwsEndpointFacts(**found) if found else None

    def env(self) -> dict[str, str]:
        """The environment a CLI process (or Terraform and its providers) needs to use the sandbox."""
        return (
            self.cloud.env()
            | ATLAS_PLACEHOLDER
            | {
                "MONGODB_ATLAS_BASE_URL": self.api.url,
                "SSL_CERT_FILE": str(self.ca_bundle),
            }
        )

    def _save(self) -> None:
        self.atlas.save(self.state_dir / ATLAS_FILE)

    def _stop_endpoints(self) -> None:
        with self._lock:
            endpoints, self._endpoints = list(self._endpoints.values()), {}
        for ep in endpoints:
            ep.stop()


def _system_cas(exclude: Path) -> bytes:
    """The machine's CA bundle, so SSL_CERT_FILE=bundle breaks nothing else in a sandbox shell."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile):
        if candidate and Path(candidate).is_file() and Path(candidate).resolve() != exclude.resolve():
            return Path(candidate).read_bytes() + b"\n"
    return b""
