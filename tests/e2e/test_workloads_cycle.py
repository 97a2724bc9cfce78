"""Every workload kind from one atlasiam.toml: apply, verify where each runs, destroy (issue 12's "Done when").

One config holds the EC2 host and a workload of each kind: a Lambda function in a VPC behind NAT, an ECS task on
the team's Fargate cluster in a public subnet, an EKS pod with Pod Identity and one with IRSA (on the team's EKS
cluster, whose service accounts are made with the real ``kubernetes`` client). Real Terraform applies it against
the sandbox; ``atlasiam verify`` then runs the probe as each workload in the service's own way and reports how the
credentials reached it; destroy removes every role, the association, the Atlas users and the access-list entry.
A second, small config has no host and one Lambda function outside a VPC.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from atlas_iam_tf.cli import main
from atlasiam_sandbox.aws.team_network import team_network
from atlasiam_sandbox.mirror import build_mirror
from atlasiam_sandbox.provider.backends import atlas as atlas_backend
from atlasiam_sandbox.world import LAMBDA_EGRESS_ADDRESS, Sandbox
from tests.conftest import CONFIGS
from tests.e2e.conftest import PROJECT

pytestmark = pytest.mark.terraform

NAME = "kinds"  # the app of the full cycle (its IAM names, its namespace)
ECS_CLUSTER = "kinds-team"
EKS_CLUSTER = "kinds-eks"
TRUST_EC2 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
TRUST_EKS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
SOURCES = {
    "host": "imds",
    "fn": "lambda-environment",
    "worker": "ecs-container-endpoint",
    "web": "eks-pod-identity-agent",
    "search": "web-identity-token-file",
}


@dataclass(frozen=True)
class Team:
    """What the team has before atlasiam: the networks, the ECS cluster, the EKS cluster and its OIDC provider."""

    private_subnet: str  # behind NAT: the Lambda function's
    public_subnet: str  # with an internet gateway: the ECS task's
    group: str
    nat_ip: str
    oidc_provider_arn: str
    kube: Any  # kubernetes.client.CoreV1Api (bodies as dicts, as the client accepts them)
    batch: Any  # kubernetes.client.BatchV1Api


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, dict[str, str]]]:
    """The module's own sandbox and provider mirror; the Lambda package cache shared by the module's tests."""
    with Sandbox(tmp_path_factory.mktemp("sandbox")) as sb:
        atlas_backend._TOKEN.clear()
        mirror = build_mirror(tmp_path_factory.mktemp("mirror"))
        env = sb.env() | {
            "TF_CLI_CONFIG_FILE": str(mirror.cli_config),
            "AWS_EC2_METADATA_DISABLED": "true",
            "XDG_CACHE_HOME": str(tmp_path_factory.mktemp("cache")),  # the real pip build runs once
        }
        yield sb, env
        atlas_backend._TOKEN.clear()


@pytest.fixture
def sb(world: tuple[Sandbox, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """The sandbox, with its environment set for the CLI run in-process (after conftest's clean_env)."""
    for key, value in world[1].items():
        monkeypatch.setenv(key, value)
    return world[0]


def _cli(capsys: pytest.CaptureFixture[str], config: Path, *args: str, expect: int = 0) -> dict[str, Any]:
    capsys.readouterr()
    code = main([*args, "--config", str(config), "--json"])
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert code == expect, _shown(doc)
    return doc


def _shown(doc: dict[str, Any]) -> str:
    """A failed command's document; verify's rows cut to what tells them apart (the whole is too long to read)."""
    rows = (doc.get("data") or {}).get("hosts")
    if not rows:
        return json.dumps(doc, indent=1)[:6000]
    keep = ("workload", "kind", "ok", "credential_source", "identity", "db_user", "command_status")
    return json.dumps(
        [
            {k: row[k] for k in keep}
            | {"failed_steps": [s for s in row["steps"] if not s["ok"]], "findings": row["findings"]}
            for row in rows
        ],
        indent=1,
    )


def _team(sb: Sandbox) -> Team:
    """Build, with boto3 and the kubernetes client, what a team has before it runs atlasiam."""
    ec2, iam, eks = sb.cloud.client("ec2"), sb.cloud.client("iam"), sb.cloud.client("eks")
    network = team_network(ec2, "10.61", "kinds-apps")
    private, public, group = network.private_subnet_id, str(network.public_subnet_id), network.security_group_id

    sb.cloud.client("ecs").create_cluster(clusterName=ECS_CLUSTER)

    cluster_role = iam.create_role(RoleName="kinds-eks-cluster", AssumeRolePolicyDocument=json.dumps(TRUST_EKS))
    node_role = iam.create_role(RoleName="kinds-eks-node", AssumeRolePolicyDocument=json.dumps(TRUST_EC2))
    cluster = eks.create_cluster(
        name=EKS_CLUSTER,
        roleArn=cluster_role["Role"]["Arn"],
        resourcesVpcConfig={"subnetIds": [private, public]},
    )["cluster"]
    eks.create_nodegroup(
        clusterName=EKS_CLUSTER, nodegroupName="ng", nodeRole=node_role["Role"]["Arn"], subnets=[private]
    )
    oidc = iam.create_open_id_connect_provider(
        Url=cluster["identity"]["oidc"]["issuer"], ClientIDList=["sts.amazonaws.com"], ThumbprintList=["9" * 40]
    )["OpenIDConnectProviderArn"]

    kubeconfig = os.environ["KUBECONFIG"]  # Sandbox.env()'s, which atlasiam's verify reads too
    api = k8s_config.new_client_from_config(config_file=kubeconfig, context=cluster["arn"])  # type: ignore[no-untyped-call]
    core: Any = k8s.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": NAME}})
    for account in ("web", "search"):
        core.create_namespaced_service_account(NAME, {"metadata": {"name": account}})
    return Team(private, public, group, str(network.nat_ip), oidc, core, k8s.BatchV1Api(api))


def _config(path: Path, team: Team) -> Path:
    text = (CONFIGS / "new_vpc.toml").read_text().replace('name = "orders"', f'name = "{NAME}"')
    assert f'name = "{NAME}"' in text and f'project_id = "{PROJECT}"' in text
    text += f"""
[[workloads]]
name = "fn"
kind = "lambda"
subnet_ids = ["{team.private_subnet}"]
security_group_ids = ["{team.group}"]
egress_cidrs = ["{team.nat_ip}/32"]

[[workloads]]
name = "worker"
kind = "ecs"
cluster = "{ECS_CLUSTER}"
subnet_ids = ["{team.public_subnet}"]
security_group_ids = ["{team.group}"]
assign_public_ip = true

[[workloads]]
name = "web"
kind = "eks"
cluster_name = "{EKS_CLUSTER}"
namespace = "{NAME}"
service_account = "web"
identity = "pod-identity"

[[workloads]]
name = "search"
kind = "eks"
cluster_name = "{EKS_CLUSTER}"
namespace = "{NAME}"
service_account = "search"
identity = "irsa"
oidc_provider_arn = "{team.oidc_provider_arn}"
"""
    config = path / "atlasiam.toml"
    config.write_text(text)
    return config


def _annotate(team: Team, role_arn: str) -> None:
    """What the user does after apply for IRSA: annotate the service account with the role's ARN."""
    team.kube.patch_namespaced_service_account(
        "search",
        NAME,
        {"metadata": {"annotations": {"eks.amazonaws.com/role-arn": role_arn}}},
        _content_type="application/merge-patch+json",
    )


def _left_in_namespace(team: Team, timeout_s: float = 5.0) -> tuple[list[str], list[str]]:
    """The Jobs and pods still in the namespace once deletion (Background propagation) has had its moment."""
    deadline = time.monotonic() + timeout_s
    while True:
        jobs = [str(j.metadata.name) for j in team.batch.list_namespaced_job(NAME).items]
        pods = [str(p.metadata.name) for p in team.kube.list_namespaced_pod(NAME).items]
        if not (jobs or pods) or time.monotonic() > deadline:
            return jobs, pods
        time.sleep(0.1)


def _role_exists(sb: Sandbox, arn: str) -> bool:
    try:
        sb.cloud.client("iam").get_role(RoleName=arn.rsplit("/", 1)[-1])
    except ClientError as err:
        assert err.response["Error"]["Code"] == "NoSuchEntity", err
        return False
    return True


def test_host_and_a_workload_of_each_kind_apply_verify_where_they_run_and_destroy(
    sb: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    team = _team(sb)
    config = _config(tmp_path, team)

    outputs = _cli(capsys, config, "apply", "--yes")["data"]["outputs"]
    roles = {name: w["role_arn"] for name, w in outputs["workloads"].items()} | {"host": outputs["role_arn"]}
    assert sorted(roles) == sorted(SOURCES) and len(set(roles.values())) == len(SOURCES), roles
    assert (PROJECT, f"{team.nat_ip}/32") in sb.atlas.access_list
    _annotate(team, roles["search"])

    verified = _cli(capsys, config, "verify", "--wait", "60")["data"]
    rows = {row["workload"] or "host": row for row in verified["hosts"]}
    assert list(rows) == list(SOURCES), rows.keys()  # the host first, then the workloads in config order
    for name, row in rows.items():
        assert row["ok"], json.dumps(row, indent=1)
        assert row["db_user"] == roles[name], (name, row["db_user"])
        assert row["kind"] == ("ec2" if name == "host" else outputs["workloads"][name]["kind"]), row
        assert row["credential_source"] == SOURCES[name], (name, row["credential_source"])
    assert [rows[n]["kind"] for n in SOURCES] == ["ec2", "lambda", "ecs", "eks", "eks"]

    # The probe's Lambda package was built for real (pip for Lambda's platform) into the module's cache.
    assert [p.suffix for p in (Path(os.environ["XDG_CACHE_HOME"]) / "atlasiam" / "lambda").iterdir()] == [".zip"]
    # verify cleaned up after itself in the team's account and cluster.
    assert sb.cloud.client("lambda").list_functions()["Functions"] == []
    ecs = sb.cloud.client("ecs")
    assert ecs.list_task_definitions(familyPrefix="atlasiam-verify-worker", status="ACTIVE")["taskDefinitionArns"] == []
    assert ecs.list_task_definitions(familyPrefix="atlasiam-verify-worker", status="INACTIVE")["taskDefinitionArns"]
    assert ecs.list_tasks(cluster=ECS_CLUSTER, desiredStatus="RUNNING")["taskArns"] == []
    assert _left_in_namespace(team) == ([], [])

    [one] = _cli(capsys, config, "verify", "--workload", "worker")["data"]["hosts"]
    assert (one["workload"], one["ok"], one["db_user"]) == ("worker", True, roles["worker"]), one
    assert one["credential_source"] == "ecs-container-endpoint"

    _cli(capsys, config, "destroy", "--yes")
    assert [name for name, arn in roles.items() if _role_exists(sb, arn)] == []
    associations = sb.cloud.client("eks").list_pod_identity_associations(clusterName=EKS_CLUSTER)["associations"]
    assert associations == []
    assert [name for name, arn in roles.items() if sb.atlas.find_user(PROJECT, arn) is not None] == []
    assert (PROJECT, f"{team.nat_ip}/32") not in sb.atlas.access_list


def test_no_host_one_lambda_outside_a_vpc_applies_verifies_and_destroys(
    sb: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Outside a VPC a function reaches Atlas from Lambda's own addresses, which config cannot list (egress_cidrs
    # needs subnet_ids): the project's owner has put the sandbox's Lambda address on the access list already.
    sb.atlas.add_access(PROJECT, f"{LAMBDA_EGRESS_ADDRESS}/32", "Lambda egress (sandbox)")
    text = (CONFIGS / "new_vpc.toml").read_text().replace('name = "orders"', 'name = "solofn"')
    text = text.replace('vpc_cidr = "10.42.0.0/16"\n', "create_host = false\n")
    assert "create_host = false" in text and "vpc_cidr" not in text
    config = tmp_path / "atlasiam.toml"
    config.write_text(text + '\n[[workloads]]\nname = "solo"\nkind = "lambda"\n')

    outputs = _cli(capsys, config, "apply", "--yes")["data"]["outputs"]
    role = outputs["workloads"]["solo"]["role_arn"]
    assert outputs.get("instance_id") is None

    [row] = _cli(capsys, config, "verify")["data"]["hosts"]
    assert (row["workload"], row["kind"], row["ok"]) == ("solo", "lambda", True), json.dumps(row, indent=1)
    assert (row["db_user"], row["credential_source"]) == (role, "lambda-environment")
    assert sb.cloud.client("lambda").list_functions()["Functions"] == []

    _cli(capsys, config, "destroy", "--yes")
    assert not _role_exists(sb, role)
    assert sb.atlas.find_user(PROJECT, role) is None
