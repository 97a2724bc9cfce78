"""The offline AWS of the sandbox: moto + SSM + per-host IMDS + the hosts' STS and boot + ECS tasks + Lambda.

Usage::

    with SandboxCloud(tmp_path) as cloud:
        host = cloud.launch_host(name="web")
        env = cloud.env()  # what a CLI process needs: AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_SSM, keys, region
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from atlasiam_sandbox.aws import lambda_service, pod_identity
from atlasiam_sandbox.aws.boot import HostBoot
from atlasiam_sandbox.aws.ecs_tasks import EcsTasks
from atlasiam_sandbox.aws.eks import EksEmulation
from atlasiam_sandbox.aws.hosts import HostRegistry, HostSettings
from atlasiam_sandbox.aws.imds import ImdsManager
from atlasiam_sandbox.aws.lambda_runtime import LambdaRuntime
from atlasiam_sandbox.aws.moto_server import (
    DEFAULT_ACCOUNT,
    DEFAULT_AMI,
    DEFAULT_REGION,
    SSM_CORE_POLICY_ARN,
    MotoServer,
    start_moto,
)
from atlasiam_sandbox.aws.runcommand import SsmTiming, default_python_bin
from atlasiam_sandbox.aws.ssm import SsmEndpoint
from atlasiam_sandbox.aws.sts_gate import StsGate
from atlasiam_sandbox.mongo.tls import TlsFiles, ensure_tls_files

_T = TypeVar("_T")

logger = logging.getLogger(__name__)

TEST_KEY = "testing"
EC2_TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"},
        ],
    }
)


def _stop_quietly(name: str, stop_fn: Callable[[], None]) -> Exception | None:
    """Stop one service; log and return its error so the others still stop."""
    try:
        stop_fn()
    except Exception as exc:
        logger.exception("stopping %s failed", name)
        return exc
    return None


@dataclass(frozen=True)
class LaunchedHost:
    """What :meth:`SandboxCloud.launch_host` created."""

    instance_id: str
    role_name: str
    role_arn: str
    profile_name: str | None
    vpc_id: str
    subnet_id: str


@dataclass(frozen=True)
class _Network:
    vpc_id: str
    subnet_id: str


class SandboxCloud:
    """moto + SSM endpoint + IMDS manager + the hosts' STS and boot under one state dir; a context manager.

    Args:
        state_dir: Where hosts get their home/working directories.
        region: The region everything lives in.
        ssl_cert_file: CA bundle hosts trust (``SSL_CERT_FILE`` in host commands), e.g. the emulated Atlas CA.
        registration_delay: Default seconds from launch until a host's SSM agent is Online.
        bootstrap_delay: Default seconds from launch until a host's user data has installed its packages (a real
            AL2023 host takes a minute or two; short here so that tests stay fast, long enough to be seen).
        timing: Run Command timing (InvocationDoesNotExist window, Pending and InProgress minimums).
        python_bin: The bin dir first on hosts' PATH (default: this interpreter's venv).
        reset_moto: Wipe moto's process-global state on start (False: share it with a live SandboxCloud).
        tls: The certificate the EKS clusters' Kubernetes API serves (default: a CA of its own under state_dir).
    """

    def __init__(
        self,
        state_dir: Path,
        *,
        region: str = DEFAULT_REGION,
        ssl_cert_file: Path | None = None,
        registration_delay: float = 0.0,
        bootstrap_delay: float = 1.0,
        timing: SsmTiming | None = None,
        python_bin: Path | None = None,
        reset_moto: bool = True,
        tls: TlsFiles | None = None,
    ) -> None:
        self.state_dir = state_dir
        self._tls = tls
        self._reset_moto = reset_moto
        self.region = region
        self.account_id = DEFAULT_ACCOUNT
        self._ssl_cert_file = ssl_cert_file
        self._registration_delay = registration_delay
        self._bootstrap_delay = bootstrap_delay
        self._timing = timing
        self._python_bin = python_bin
        self._services: list[tuple[str, Callable[[], None]]] = []
        self._lock = threading.Lock()
        self._network: _Network | None = None
        self._moto: MotoServer | None = None
        self._sts_gate: StsGate | None = None
        self._hosts: HostRegistry | None = None
        self._boot: HostBoot | None = None
        self._imds: ImdsManager | None = None
        self._ssm: SsmEndpoint | None = None
        self._ecs: EcsTasks | None = None
        self._eks: EksEmulation | None = None
        self._lambda: LambdaRuntime | None = None
        self._credentials = (TEST_KEY, TEST_KEY)
        self._clients: dict[tuple[str, tuple[str, str], str], Any] = {}
        self._clients_lock = threading.Lock()

    # --- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> SandboxCloud:
        """Start moto, the hosts' STS, the IMDS manager, the hosts' boot and the SSM endpoint."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._moto = start_moto(DEFAULT_ACCOUNT, self.region, reset=self._reset_moto)
            self.add_service("moto", self._moto.stop)
            self._sts_gate = StsGate(self._moto.url, self._moto.view.signing_key, self.region)
            self.add_service("sts-gate", self._sts_gate.stop)
            self._hosts = HostRegistry(
                self._moto.view,
                self.state_dir,
                registration_delay=self._registration_delay,
                bootstrap_delay=self._bootstrap_delay,
                sts_endpoint=self._sts_gate.url,
            )
            self._imds = ImdsManager(self._hosts)
            self.add_service("imds", self._imds.stop)
            python = (self._python_bin or default_python_bin()) / "python3"
            self._boot = HostBoot(
                self._hosts, self._user_data, python, imds_endpoint=self._imds.endpoint, moto_url=self._moto.url
            )
            self._hosts.on_boot = self._boot.on_boot
            self.add_service("boot", self._boot.stop)
            self._ecs = EcsTasks(
                self._moto.view,
                self.state_dir / "ecs",
                sts_endpoint=self._sts_gate.url,
                ssl_cert_file=self._ssl_cert_file,
            )
            self.add_service("ecs", self._ecs.stop)
            self._ssm = SsmEndpoint(
                self._hosts,
                self._imds.endpoint,
                moto_url=self._moto.url,
                account_id=self.account_id,
                region=self.region,
                ssl_cert_file=self._ssl_cert_file,
                python_bin=self._python_bin,
                timing=self._timing,
            )
            self.add_service("ssm", self._ssm.stop)
            if self._reset_moto:
                pod_identity.reset()
            self._eks = EksEmulation(
                self._moto.view,
                self.state_dir / "eks",
                self._tls or ensure_tls_files(self.state_dir / "tls"),
                self._hosts,
                self._imds,
                self.client,
                self._sts_gate.url,
                self._ssl_cert_file,
            ).start()
            self.add_service("eks", self._eks.stop)
            self._lambda = LambdaRuntime(
                self.state_dir / "lambda",
                python,
                sts_endpoint=self._sts_gate.url,
                ssl_cert_file=self._ssl_cert_file,
            )
            lambda_service.install(self._lambda)
            runtime = self._lambda
            self.add_service("lambda", lambda: lambda_service.uninstall(runtime))
        except BaseException:
            self.stop()
            raise
        return self

    def add_service(self, name: str, stop_fn: Callable[[], None]) -> None:
        """Tie another emulator (e.g. the MongoDB endpoint) to this cloud's lifecycle; stopped first-in-last-out."""
        with self._lock:
            self._services.append((name, stop_fn))

    def stop(self) -> None:
        """Stop every service in reverse start order (kills host processes, joins threads). Idempotent."""
        with self._lock:
            services, self._services = self._services, []
        errors = [err for name, stop_fn in reversed(services) if (err := _stop_quietly(name, stop_fn))]
        if errors:
            raise errors[0]

    def __enter__(self) -> SandboxCloud:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- accessors -----------------------------------------------------------------------------------
    @property
    def moto(self) -> MotoServer:
        """The moto server."""
        return _started(self._moto)

    @property
    def ssm(self) -> SsmEndpoint:
        """The SSM endpoint (``.faults`` for fault injection, ``.backend`` for its state)."""
        return _started(self._ssm)

    @property
    def hosts(self) -> HostRegistry:
        """Per-host settings and the Online model."""
        return _started(self._hosts)

    @property
    def boot(self) -> HostBoot:
        """The hosts' cloud-init (``wait`` for a host's user data to finish)."""
        return _started(self._boot)

    @property
    def ecs(self) -> EcsTasks:
        """ECS on Fargate: RunTask's tasks as local containers, their credentials and metadata endpoint."""
        return _started(self._ecs)

    @property
    def sts_gate(self) -> StsGate:
        """The STS endpoint hosts reach (checks every signature)."""
        return _started(self._sts_gate)

    @property
    def imds(self) -> ImdsManager:
        """The per-host IMDS servers."""
        return _started(self._imds)

    @property
    def eks(self) -> EksEmulation:
        """The EKS clusters' Kubernetes side (API server, pods, Pod Identity agent, node knobs)."""
        return _started(self._eks)

    @property
    def moto_url(self) -> str:
        """The moto URL (``AWS_ENDPOINT_URL``)."""
        return self.moto.url

    @property
    def ssm_url(self) -> str:
        """The SSM endpoint's URL (``AWS_ENDPOINT_URL_SSM``)."""
        return self.ssm.url

    def env(self) -> dict[str, str]:
        """The environment a CLI process needs to use this cloud (and nothing else)."""
        key, secret = self._credentials
        return {
            "AWS_ENDPOINT_URL": self.moto_url,
            "AWS_ENDPOINT_URL_SSM": self.ssm_url,
            "AWS_ACCESS_KEY_ID": key,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "KUBECONFIG": str(self.eks.kubeconfig),
        }

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client wired like the CLI would be (explicit endpoint, keys and region); cached per service."""
        cache_key = (service, self._credentials, repr(sorted(kwargs.items())))
        with self._clients_lock:
            cached = self._clients.get(cache_key)
        if cached is not None:
            return cached
        import boto3

        key, secret = self._credentials
        settings: dict[str, Any] = {
            "endpoint_url": self.ssm_url if service == "ssm" else self.moto_url,
            "region_name": self.region,
            "aws_access_key_id": key,
            "aws_secret_access_key": secret,
        }
        client = boto3.session.Session().client(service, **{**settings, **kwargs})
        with self._clients_lock:
            self._clients[cache_key] = client
        return client

    def enable_auth(self, user_name: str = "sandbox-admin") -> tuple[str, str]:
        """Turn on moto's signature/IAM checks for every API; env()/client() switch to a fresh admin user's keys.

        Only stricter: what hosts send to STS and every MONGODB-AWS login are signature-checked regardless
        (:class:`StsGate`, ``MongoEndpoint``); this adds the CLI's own calls and IAM policy checks.

        Returns:
            The admin user's (access key id, secret access key).
        """
        iam = self.client("iam")
        iam.create_user(UserName=user_name)
        iam.attach_user_policy(UserName=user_name, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
        key = iam.create_access_key(UserName=user_name)["AccessKey"]
        self._credentials = (key["AccessKeyId"], key["SecretAccessKey"])
        self.moto.enable_auth()
        return self._credentials

    def disable_auth(self) -> None:
        """Turn moto's checks off again; env()/client() go back to the ``testing`` keys."""
        self.moto.disable_auth()
        self._credentials = (TEST_KEY, TEST_KEY)

    def _user_data(self, instance_id: str) -> str | None:
        """The instance's user data, as the instance would fetch it (EC2 DescribeInstanceAttribute)."""
        attribute = self.client("ec2").describe_instance_attribute(InstanceId=instance_id, Attribute="userData")
        value = (attribute.get("UserData") or {}).get("Value")
        return base64.b64decode(value).decode("utf-8", errors="replace") if value else None

    # --- test helpers --------------------------------------------------------------------------------
    def launch_host(
        self,
        name: str = "host",
        *,
        role_name: str | None = None,
        role_path: str = "/",
        ssm_policy: bool = True,
        instance_profile: bool = True,
        internet_route: bool = True,
        tags: dict[str, str] | None = None,
        settings: HostSettings | None = None,
        count: int = 1,
        user_data: str | None = None,
    ) -> LaunchedHost:
        """Create role (+ SSM policy, + instance profile), network and instance(s) in moto.

        With ``internet_route=False`` the host lands in its own VPC whose subnet has no default route.
        With ``count > 1`` the instances share the role; the first one is returned (see :meth:`launch_hosts`).
        With ``user_data`` the host boots it (:class:`HostBoot`), as atlasiam's hosts boot ``user_data.sh``;
        without, it models a host someone prepared (python3 with pymongo, nothing to wait for).
        """
        return self.launch_hosts(
            name,
            role_name=role_name,
            role_path=role_path,
            ssm_policy=ssm_policy,
            instance_profile=instance_profile,
            internet_route=internet_route,
            tags=tags,
            settings=settings,
            count=count,
            user_data=user_data,
        )[0]

    def launch_hosts(
        self,
        name: str = "host",
        *,
        role_name: str | None = None,
        role_path: str = "/",
        ssm_policy: bool = True,
        instance_profile: bool = True,
        internet_route: bool = True,
        tags: dict[str, str] | None = None,
        settings: HostSettings | None = None,
        count: int = 1,
        user_data: str | None = None,
    ) -> list[LaunchedHost]:
        """Like :meth:`launch_host`, returning every instance launched (one RunInstances call)."""
        iam, ec2 = self.client("iam"), self.client("ec2")
        role_name = role_name or f"{name}-role"
        role = iam.create_role(RoleName=role_name, Path=role_path, AssumeRolePolicyDocument=EC2_TRUST_POLICY)["Role"]
        if ssm_policy:
            iam.attach_role_policy(RoleName=role_name, PolicyArn=SSM_CORE_POLICY_ARN)
        profile_name = None
        if instance_profile:
            profile_name = f"{role_name}-profile"
            iam.create_instance_profile(InstanceProfileName=profile_name)
            iam.add_role_to_instance_profile(InstanceProfileName=profile_name, RoleName=role_name)
        network = self._public_network() if internet_route else self._private_network(name)
        run_args: dict[str, Any] = {
            "ImageId": DEFAULT_AMI,
            "InstanceType": "t3.micro",
            "MinCount": count,
            "MaxCount": count,
            "SubnetId": network.subnet_id,
            "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2},
            "TagSpecifications": [
                {
                    "ResourceType": "instance",
                    "Tags": [{"Key": k, "Value": v} for k, v in {"Name": name, **(tags or {})}.items()],
                }
            ],
        }
        if profile_name:
            run_args["IamInstanceProfile"] = {"Name": profile_name}
        if user_data is not None:
            run_args["UserData"] = user_data
        instances = ec2.run_instances(**run_args)["Instances"]
        if profile_name:
            # moto associates the profile with the first instance of a multi-count launch only.
            for inst in instances:
                if not inst.get("IamInstanceProfile"):
                    ec2.associate_iam_instance_profile(
                        IamInstanceProfile={"Name": profile_name}, InstanceId=inst["InstanceId"]
                    )
        launched = [
            LaunchedHost(i["InstanceId"], role_name, role["Arn"], profile_name, network.vpc_id, network.subnet_id)
            for i in instances
        ]
        if settings is not None:
            for host in launched:
                self.hosts.configure(host.instance_id, **settings.__dict__)
        return launched

    def _public_network(self) -> _Network:
        """One shared VPC + subnet whose route table sends 0.0.0.0/0 to an internet gateway."""
        with self._lock:
            if self._network is None:
                ec2 = self.client("ec2")
                vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
                subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
                igw_id = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
                ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
                rtb_id = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
                ec2.create_route(RouteTableId=rtb_id, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)
                ec2.associate_route_table(RouteTableId=rtb_id, SubnetId=subnet_id)
                self._network = _Network(vpc_id, subnet_id)
            return self._network

    def _private_network(self, name: str) -> _Network:
        """A fresh VPC + subnet with only the local route."""
        ec2 = self.client("ec2")
        vpc_id = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
        subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.1.1.0/24")["Subnet"]["SubnetId"]
        ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "Name", "Value": f"{name}-private"}])
        return _Network(vpc_id, subnet_id)


def _started(service: _T | None) -> _T:
    """A service of the running cloud; None means the cloud was never started (or was stopped)."""
    if service is None:
        raise RuntimeError("SandboxCloud is not started")
    return service
