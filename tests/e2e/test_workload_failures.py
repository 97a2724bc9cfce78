"""Each workload's classic failure (issue 12), injected in the sandbox and diagnosed by the real product.

Roles, clusters, service accounts and networks are set up with boto3 and the kubernetes client; verify runs as the
CLI runs it (``run_verify``: real boto3, the real Lambda package, the real probe and pymongo, the real kubernetes
client). Every failure has a control case that passes, so a rule that always fired would be caught.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from atlas_iam_tf.verify.report import HostReport
from atlas_iam_tf.verify.request import VerifyOptions, VerifyRequest
from atlas_iam_tf.verify.service import run_verify
from atlas_iam_tf.verify.workload import WorkloadTarget
from atlasiam_sandbox.aws.team_network import team_network
from atlasiam_sandbox.world import LAMBDA_EGRESS_ADDRESS, Sandbox
from tests.e2e.conftest import CLUSTER, PROJECT, add_user

ACCOUNT = "123456789012"
EKS_CLUSTER = "shop"
ECS_CLUSTER = "apps"
LOG_GROUP = "/atlasiam/verify"
EXECUTION_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
LAMBDA_VPC_POLICY = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"


def _trust(service: str, *actions: str) -> str:
    action = list(actions) if len(actions) > 1 else (actions[0] if actions else "sts:AssumeRole")
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": action}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _role(sandbox: Sandbox, prefix: str, trust: str, *policies: str, user: bool = True) -> str:
    """A fresh IAM role (with ``policies`` attached), and its Atlas ROLE user unless ``user`` is False."""
    iam = sandbox.cloud.client("iam")
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    for policy in policies:
        iam.attach_role_policy(RoleName=name, PolicyArn=policy)
    if user:
        add_user(sandbox, arn)
    return arn


@pytest.fixture(scope="module")
def lambda_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the module: the Lambda probe package is built (pip, a few seconds) once, not per test."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def verify_env(
    sandbox_env: dict[str, str],  # noqa: ARG001 - requested for its effect: the sandbox's settings
    lambda_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The sandbox's settings in the process environment, and the module's cache (tests get their own HOME)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(lambda_cache))


def _verify(sandbox: Sandbox, target: WorkloadTarget, tmp_path: Path) -> HostReport:
    """``atlasiam verify`` for one workload, with short waits; its one row."""
    req = VerifyRequest(
        uri=sandbox.cluster_uri(PROJECT, CLUSTER),
        region="us-east-1",
        cluster_name=CLUSTER,
        atlas_project_id=PROJECT,
        network_mode="public",
        wait_s=5.0,
        retry_interval_s=1.0,
        connect_timeout_s=2.0,
        workloads=(target,),
    )
    report = run_verify(VerifyOptions(config_path=tmp_path / "atlasiam.toml"), req)
    [row] = report.hosts
    return row


def _codes(row: HostReport) -> list[str]:
    return [f.code for f in row.findings]


def _finding(row: HostReport, code: str) -> dict[str, str]:
    found = [f for f in row.to_dict()["findings"] if f["code"] == code]
    assert found, json.dumps(row.to_dict(), indent=1)[:4000]
    return dict(found[0])


def _passes(row: HostReport, kind: str, source: str) -> None:
    doc = row.to_dict()
    assert row.ok, json.dumps(doc, indent=1)[:4000]
    assert (doc["kind"], doc["credential_source"], doc["findings"]) == (kind, source, [])


# -- networks -------------------------------------------------------------------------------------------------------
def _vpc(sandbox: Sandbox, cidr: str, *, nat: bool) -> tuple[str, str]:
    """(private subnet, security group) in a fresh VPC; its default route goes to a NAT gateway if ``nat``."""
    network = team_network(sandbox.cloud.client("ec2"), cidr, f"sg-{uuid.uuid4().hex[:6]}", nat=nat)
    return network.private_subnet_id, network.security_group_id


# -- EKS ------------------------------------------------------------------------------------------------------------
class Eks:
    """One EKS cluster with a managed node group, and a CoreV1Api in its kubeconfig context."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        node_trust = _trust("ec2.amazonaws.com")
        cluster_role = _role(sandbox, "eks-cluster", _trust("eks.amazonaws.com"), user=False)
        self.node_role = _role(sandbox, "eks-node", node_trust, user=False)
        subnet, _ = _vpc(sandbox, "10.20", nat=True)
        eks = sandbox.cloud.client("eks")
        eks.create_cluster(name=EKS_CLUSTER, roleArn=cluster_role, resourcesVpcConfig={"subnetIds": [subnet]})
        eks.create_nodegroup(clusterName=EKS_CLUSTER, nodegroupName="ng", nodeRole=self.node_role, subnets=[subnet])
        arn = f"arn:aws:eks:us-east-1:{ACCOUNT}:cluster/{EKS_CLUSTER}"
        api = k8s_config.new_client_from_config(config_file=str(sandbox.cloud.eks.kubeconfig), context=arn)
        self.core = k8s.CoreV1Api(api)

    def workload(self, name: str, *, associated: bool) -> WorkloadTarget:
        """A Pod Identity workload: its role, its service account, and (if ``associated``) the association."""
        role = _role(self.sandbox, name, _trust("pods.eks.amazonaws.com", "sts:AssumeRole", "sts:TagSession"))
        self.core.create_namespaced_service_account("default", {"metadata": {"name": name}})
        if associated:
            self.sandbox.cloud.client("eks").create_pod_identity_association(
                clusterName=EKS_CLUSTER, namespace="default", serviceAccount=name, roleArn=role
            )
        return WorkloadTarget(
            name=name,
            kind="eks",
            role_arn=role,
            cluster=EKS_CLUSTER,
            namespace="default",
            service_account=name,
            identity="pod-identity",
        )

    def irsa_workload(self, name: str, *, annotated: bool, annotate_with: str | None = None) -> WorkloadTarget:
        """An IRSA workload: its role trusting the cluster's OIDC provider for its service account, which is
        annotated with the role (``annotated``; with ``annotate_with``, that ARN instead) or not."""
        issuer = self.sandbox.cloud.client("eks").describe_cluster(name=EKS_CLUSTER)["cluster"]["identity"]["oidc"]
        provider = str(issuer["issuer"]).removeprefix("https://")
        provider_arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{provider}"
        iam = self.sandbox.cloud.client("iam")
        if provider_arn not in [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]:
            iam.create_open_id_connect_provider(
                Url=issuer["issuer"], ClientIDList=["sts.amazonaws.com"], ThumbprintList=["9" * 40]
            )
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{provider}:sub": f"system:serviceaccount:default:{name}",
                            f"{provider}:aud": "sts.amazonaws.com",
                        }
                    },
                }
            ],
        }
        role = _role(self.sandbox, name, json.dumps(trust))
        annotations = {"eks.amazonaws.com/role-arn": annotate_with or role} if annotated else {}
        self.core.create_namespaced_service_account("default", {"metadata": {"name": name, "annotations": annotations}})
        return WorkloadTarget(
            name=name,
            kind="eks",
            role_arn=role,
            cluster=EKS_CLUSTER,
            namespace="default",
            service_account=name,
            identity="irsa",
        )


@pytest.fixture(scope="module")
def eks(sandbox: Sandbox) -> Eks:
    return Eks(sandbox)


@pytest.mark.usefixtures("verify_env")
def test_pod_identity_passes_and_without_its_association_the_pod_used_the_node_role(
    sandbox: Sandbox, eks: Eks, tmp_path: Path
) -> None:
    _passes(_verify(sandbox, eks.workload("web", associated=True), tmp_path), "eks", "eks-pod-identity-agent")

    row = _verify(sandbox, eks.workload("orphan", associated=False), tmp_path)
    assert row.to_dict()["credential_source"] == "imds"
    assert row.to_dict()["identity"] == eks.node_role
    found = _finding(row, "pod_used_node_role")
    assert f"as {eks.node_role}" in found["message"]
    assert "no EKS Pod Identity association covers default/orphan on cluster shop" in found["message"]
    assert "--namespace default --service-account orphan" in found["message"]
    assert "imds_hop_limit" not in _codes(row)  # hop limit 2: the pod got the node role, it did not time out


@pytest.mark.usefixtures("verify_env")
def test_irsa_passes_and_without_the_annotation_the_pod_used_the_node_role(
    sandbox: Sandbox, eks: Eks, tmp_path: Path
) -> None:
    _passes(_verify(sandbox, eks.irsa_workload("search", annotated=True), tmp_path), "eks", "web-identity-token-file")

    row = _verify(sandbox, eks.irsa_workload("unannotated", annotated=False), tmp_path)
    assert row.to_dict()["identity"] == eks.node_role
    found = _finding(row, "pod_used_node_role")
    assert "service account default/unannotated has no eks.amazonaws.com/role-arn annotation" in found["message"]
    assert "kubectl annotate serviceaccount -n default unannotated eks.amazonaws.com/role-arn=" in found["message"]


@pytest.mark.usefixtures("verify_env")
def test_irsa_annotated_with_a_role_that_does_not_trust_the_service_account(
    sandbox: Sandbox, eks: Eks, tmp_path: Path
) -> None:
    other = eks.irsa_workload("billing", annotated=False).role_arn  # trusts system:serviceaccount:default:billing
    row = _verify(sandbox, eks.irsa_workload("misannotated", annotated=True, annotate_with=other), tmp_path)
    codes = _codes(row)
    assert "irsa_role_refused" in codes and "credentials_rejected" not in codes, codes
    found = _finding(row, "irsa_role_refused")
    assert f"service account default/misannotated for the role its annotation names ({other})" in found["message"]


@pytest.mark.usefixtures("verify_env")
def test_pod_identity_agent_down(sandbox: Sandbox, eks: Eks, tmp_path: Path) -> None:
    target = eks.workload("agentless", associated=True)
    sandbox.cloud.eks.agent.stop()
    try:
        row = _verify(sandbox, target, tmp_path)
    finally:
        sandbox.cloud.eks.agent.start()
    assert row.to_dict()["credential_source"] == "eks-pod-identity-agent"  # the way it tried, and failed
    found = _finding(row, "pod_identity_agent_down")
    assert "(refused)" in found["message"]
    assert "eks-pod-identity-agent" in found["fix"]
    assert "pod_used_node_role" not in _codes(row)
    # Control: the same workload with the agent running logs in.
    _passes(_verify(sandbox, target, tmp_path), "eks", "eks-pod-identity-agent")


@pytest.mark.usefixtures("verify_env")
def test_imds_hop_limit_1_seen_from_a_pod(sandbox: Sandbox, eks: Eks, tmp_path: Path) -> None:
    target = eks.workload("hoplimit", associated=False)
    sandbox.cloud.eks.set_hop_limit(EKS_CLUSTER, 1)
    try:
        row = _verify(sandbox, target, tmp_path)
    finally:
        sandbox.cloud.eks.set_hop_limit(EKS_CLUSTER, 2)
    found = _finding(row, "imds_hop_limit")
    assert "HttpPutResponseHopLimit is 1" in found["message"]
    assert "http-put-response-hop-limit 2" in found["fix"]
    # Control: at hop limit 2 the same pod gets the node's role (another finding), and no hop-limit one.
    row = _verify(sandbox, target, tmp_path)
    assert "pod_used_node_role" in _codes(row)
    assert "imds_hop_limit" not in _codes(row)


# -- ECS ------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ecs(sandbox: Sandbox) -> dict[str, str]:
    """The ECS cluster, the probe's log group, the stack's execution role, and subnets with and without NAT."""
    sandbox.cloud.client("ecs").create_cluster(clusterName=ECS_CLUSTER)
    sandbox.cloud.client("logs").create_log_group(logGroupName=LOG_GROUP)
    execution = _role(sandbox, "verify-exec", _trust("ecs-tasks.amazonaws.com"), EXECUTION_POLICY, user=False)
    online, online_group = _vpc(sandbox, "10.30", nat=True)
    offline, offline_group = _vpc(sandbox, "10.31", nat=False)
    return {
        "execution": execution,
        "online": online,
        "online_group": online_group,
        "offline": offline,
        "offline_group": offline_group,
    }


def _ecs_target(ecs: dict[str, str], name: str, role: str, *, online: bool = True) -> WorkloadTarget:
    where = "online" if online else "offline"
    return WorkloadTarget(
        name=name,
        kind="ecs",
        role_arn=role,
        subnet_ids=(ecs[where],),
        security_group_ids=(ecs[f"{where}_group"],),
        cluster=ECS_CLUSTER,
        execution_role_arn=ecs["execution"],
        log_group=LOG_GROUP,
    )


@pytest.mark.usefixtures("verify_env")
def test_ecs_task_role_passes_and_an_execution_role_is_named(
    sandbox: Sandbox, ecs: dict[str, str], tmp_path: Path
) -> None:
    task_role = _role(sandbox, "orders-task", _trust("ecs-tasks.amazonaws.com"))
    _passes(_verify(sandbox, _ecs_target(ecs, "orders", task_role), tmp_path), "ecs", "ecs-container-endpoint")

    execution = _role(sandbox, "orders-exec", _trust("ecs-tasks.amazonaws.com"), EXECUTION_POLICY)
    row = _verify(sandbox, _ecs_target(ecs, "orders", execution), tmp_path)
    assert row.to_dict()["credential_source"] == "ecs-container-endpoint"
    found = _finding(row, "ecs_execution_role")
    assert found["message"] == (
        f"{execution} looks like a task EXECUTION role: it has AmazonECSTaskExecutionRolePolicy attached, "
        "the task execution role's policy"
    )
    assert "taskRoleArn" in found["fix"]
    assert not row.ok


@pytest.mark.usefixtures("verify_env")
def test_ecs_task_without_an_internet_route_cannot_pull_the_image(
    sandbox: Sandbox, ecs: dict[str, str], tmp_path: Path
) -> None:
    role = _role(sandbox, "offline-task", _trust("ecs-tasks.amazonaws.com"))
    row = _verify(sandbox, _ecs_target(ecs, "offline", role, online=False), tmp_path)
    assert _codes(row) == ["workload_no_egress"]
    found = _finding(row, "workload_no_egress")
    assert "could not pull the probe's image public.ecr.aws/docker/library/python:3.12-slim" in found["message"]
    assert "CannotPullContainerError" in found["message"]
    assert "NAT gateway" in found["fix"]
    assert row.to_dict()["kind"] == "ecs" and row.to_dict()["credential_source"] is None  # no probe ran


# -- Lambda ---------------------------------------------------------------------------------------------------------
@pytest.mark.usefixtures("verify_env")
def test_lambda_outside_a_vpc_passes_only_with_its_egress_on_the_access_list(sandbox: Sandbox, tmp_path: Path) -> None:
    role = _role(sandbox, "api", _trust("lambda.amazonaws.com"))
    target = WorkloadTarget(name="api", kind="lambda", role_arn=role)
    row = _verify(sandbox, target, tmp_path)
    assert row.to_dict()["credential_source"] == "lambda-environment"
    found = _finding(row, "lambda_egress_not_listed")
    assert "the function runs outside any VPC" in found["message"]
    assert "NAT gateway" in found["fix"]

    sandbox.atlas.add_access(PROJECT, f"{LAMBDA_EGRESS_ADDRESS}/32")
    try:
        _passes(_verify(sandbox, target, tmp_path), "lambda", "lambda-environment")
    finally:
        sandbox.atlas.remove_access(PROJECT, f"{LAMBDA_EGRESS_ADDRESS}/32")


@pytest.mark.usefixtures("verify_env")
def test_lambda_in_a_vpc_without_a_nat_route(sandbox: Sandbox, tmp_path: Path) -> None:
    subnet, group = _vpc(sandbox, "10.40", nat=False)
    role = _role(sandbox, "vpc-api", _trust("lambda.amazonaws.com"), LAMBDA_VPC_POLICY)
    target = WorkloadTarget(
        name="vpc-api", kind="lambda", role_arn=role, subnet_ids=(subnet,), security_group_ids=(group,)
    )
    sandbox.atlas.add_access(PROJECT, f"{LAMBDA_EGRESS_ADDRESS}/32")  # Lambda's own address: not this function's
    try:
        row = _verify(sandbox, target, tmp_path)
    finally:
        sandbox.atlas.remove_access(PROJECT, f"{LAMBDA_EGRESS_ADDRESS}/32")
    found = _finding(row, "lambda_egress_not_listed")
    assert f"(subnets {subnet})" in found["message"]
    assert "NAT gateway" in found["message"]


@pytest.mark.usefixtures("verify_env")
def test_lambda_role_lambda_cannot_assume(sandbox: Sandbox, tmp_path: Path) -> None:
    role = _role(sandbox, "ecs-role-for-lambda", _trust("ecs-tasks.amazonaws.com"))
    row = _verify(sandbox, WorkloadTarget(name="misrole", kind="lambda", role_arn=role), tmp_path)
    assert _codes(row) == ["lambda_role_not_assumable"]
    found = _finding(row, "lambda_role_not_assumable")
    assert "The role defined for the function cannot be assumed by Lambda" in found["message"]
    assert "lambda.amazonaws.com" in found["fix"]
    assert row.to_dict()["kind"] == "lambda" and row.to_dict()["credential_source"] is None
