"""EKS in the sandbox through the official kubernetes client and real boto3: kubeconfig, service accounts, Jobs
whose pod prints its STS identity (IRSA, Pod Identity, node role through IMDS), refusals, logs, deletion."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from atlasiam_sandbox.aws import SandboxCloud
from atlasiam_sandbox.aws.containers import PROBE_IMAGE

PINS = "'pymongo[aws]==4.20.1' 'pymongo-auth-aws==1.3.0'"
PIP = f"python3 -m pip install --quiet --no-cache-dir --disable-pip-version-check --root-user-action=ignore {PINS}"
WHOAMI = """
import json
import boto3
try:
    arn = boto3.client("sts", region_name="us-east-1").get_caller_identity()["Arn"]
    print(json.dumps({"arn": arn}))
except Exception as err:
    print(json.dumps({"error": type(err).__name__, "message": str(err)}))
"""
NODE_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


class Cluster:
    """One EKS cluster in moto with a node group, and kubernetes clients for its kubeconfig context."""

    def __init__(self, cloud: SandboxCloud, name: str) -> None:
        self.cloud = cloud
        self.name = name
        iam, ec2, eks = cloud.client("iam"), cloud.client("ec2"), cloud.client("eks")
        role = iam.create_role(RoleName=f"{name}-cluster", AssumeRolePolicyDocument=json.dumps(NODE_TRUST))["Role"]
        node_role = iam.create_role(RoleName=f"{name}-node", AssumeRolePolicyDocument=json.dumps(NODE_TRUST))["Role"]
        self.node_role = node_role["RoleName"]
        vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.8.1.0/24")["Subnet"]["SubnetId"]
        cluster = eks.create_cluster(name=name, roleArn=role["Arn"], resourcesVpcConfig={"subnetIds": [subnet]})
        self.arn = cluster["cluster"]["arn"]
        self.issuer = cluster["cluster"]["identity"]["oidc"]["issuer"]
        eks.create_nodegroup(clusterName=name, nodegroupName="ng", nodeRole=node_role["Arn"], subnets=[subnet])
        api = k8s_config.new_client_from_config(config_file=str(cloud.eks.kubeconfig), context=self.arn)
        self.core = k8s.CoreV1Api(api)
        self.batch = k8s.BatchV1Api(api)

    def role(self, name: str, trust: dict[str, Any]) -> str:
        iam = self.cloud.client("iam")
        return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])

    def service_account(self, name: str, role_arn: str | None = None, namespace: str = "default") -> None:
        self.core.create_namespaced_service_account(namespace, {"metadata": {"name": name}})
        if role_arn:
            self.core.patch_namespaced_service_account(
                name,
                namespace,
                {"metadata": {"annotations": {"eks.amazonaws.com/role-arn": role_arn}}},
                _content_type="application/merge-patch+json",
            )

    def run(self, job: str, sa: str, script: str = WHOAMI, image: str = PROBE_IMAGE, timeout: float = 60) -> Any:
        """Create the Job, wait for its pod to finish, return (pod, log lines)."""
        self.batch.create_namespaced_job(
            "default",
            {
                "metadata": {"name": job, "labels": {"app.kubernetes.io/managed-by": "atlasiam"}},
                "spec": {
                    "backoffLimit": 0,
                    "activeDeadlineSeconds": int(timeout),
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "serviceAccountName": sa,
                            "containers": [
                                {
                                    "name": "probe",
                                    "image": image,
                                    "command": ["/bin/sh", "-c", f'{PIP} >&2 && exec python3 -c "$1"', "x", script],
                                }
                            ],
                        }
                    },
                },
            },
        )
        pod = self.wait_pod(job, timeout)
        return pod, self.core.read_namespaced_pod_log(pod.metadata.name, "default").splitlines()

    def wait_pod(self, job: str, timeout: float, phases: tuple[str, ...] = ("Succeeded", "Failed")) -> Any:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pods = self.core.list_namespaced_pod("default", label_selector=f"job-name={job}").items
            if pods and pods[0].status.phase in phases:
                return pods[0]
            time.sleep(0.2)
        raise AssertionError(f"job {job} did not finish")


def _identity(lines: list[str]) -> dict[str, Any]:
    return dict(json.loads(lines[-1]))


@pytest.fixture(scope="module")
def cluster(cloud: SandboxCloud) -> Iterator[Cluster]:
    yield Cluster(cloud, "apps")


def _irsa_trust(cluster: Cluster, sub: str) -> dict[str, Any]:
    provider = cluster.issuer.removeprefix("https://")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": f"arn:aws:iam::123456789012:oidc-provider/{provider}"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {f"{provider}:sub": sub, f"{provider}:aud": "sts.amazonaws.com"}},
            }
        ],
    }


POD_IDENTITY_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }
    ],
}


def test_kubeconfig_context_is_the_cluster_arn_and_env_exports_it(cloud: SandboxCloud, cluster: Cluster) -> None:
    contexts, _ = k8s_config.list_kube_config_contexts(config_file=str(cloud.eks.kubeconfig))
    assert cluster.arn in [c["name"] for c in contexts]
    assert cloud.env()["KUBECONFIG"] == str(cloud.eks.kubeconfig)
    names = [ns.metadata.name for ns in cluster.core.list_namespace().items]
    assert "default" in names


def test_a_wrong_token_is_unauthorized(cloud: SandboxCloud, cluster: Cluster, tmp_path: Path) -> None:
    config = json.loads(cloud.eks.kubeconfig.read_text())
    for user in config["users"]:
        user["user"]["token"] = "not-the-token"
    wrong = tmp_path / "kubeconfig"
    wrong.write_text(json.dumps(config))
    api = k8s_config.new_client_from_config(config_file=str(wrong), context=cluster.arn)
    with pytest.raises(ApiException) as err:
        k8s.CoreV1Api(api).list_namespace()
    assert err.value.status == 401


def test_service_account_annotation_is_patched_and_read_back(cluster: Cluster) -> None:
    cluster.service_account("annotated", "arn:aws:iam::123456789012:role/some-role")
    sa = cluster.core.read_namespaced_service_account("annotated", "default")
    assert sa.metadata.annotations == {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/some-role"}
    listed = [s.metadata.name for s in cluster.core.list_namespaced_service_account("default").items]
    assert {"default", "annotated"} <= set(listed)


def test_irsa_pod_assumes_the_role_through_web_identity(cloud: SandboxCloud, cluster: Cluster) -> None:
    cloud.client("iam").create_open_id_connect_provider(
        Url=cluster.issuer, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["9" * 40]
    )
    role = cluster.role("irsa-app", _irsa_trust(cluster, "system:serviceaccount:default:irsa-app"))
    cluster.service_account("irsa-app", role)
    pod, lines = cluster.run("irsa-ok", "irsa-app")
    assert pod.status.phase == "Succeeded", lines
    assert pod.status.container_statuses[0].state.terminated.exit_code == 0
    assert _identity(lines)["arn"].startswith("arn:aws:sts::123456789012:assumed-role/irsa-app/")
    job = cluster.batch.read_namespaced_job("irsa-ok", "default")
    assert job.status.succeeded == 1
    assert "Complete" in [c.type for c in job.status.conditions]


def test_irsa_with_another_service_accounts_subject_is_refused(cluster: Cluster) -> None:
    role = cluster.role("irsa-other", _irsa_trust(cluster, "system:serviceaccount:default:someone-else"))
    cluster.service_account("irsa-wrong-sub", role)
    _, lines = cluster.run("irsa-wrong-sub", "irsa-wrong-sub")
    found = _identity(lines)
    assert "AccessDenied" in found["message"], found
    assert "Not authorized to perform sts:AssumeRoleWithWebIdentity" in found["message"]


def test_pod_identity_pod_gets_the_associated_role(cloud: SandboxCloud, cluster: Cluster) -> None:
    role = cluster.role("podid-app", POD_IDENTITY_TRUST)
    cluster.service_account("podid-app")
    eks = cloud.client("eks")
    association = eks.create_pod_identity_association(
        clusterName="apps", namespace="default", serviceAccount="podid-app", roleArn=role
    )["association"]
    listed = eks.list_pod_identity_associations(clusterName="apps", namespace="default")["associations"]
    assert association["associationId"] in [a["associationId"] for a in listed]
    pod, lines = cluster.run("podid-ok", "podid-app")
    assert _identity(lines)["arn"].startswith("arn:aws:sts::123456789012:assumed-role/podid-app/eks-apps-"), lines
    assert pod.status.phase == "Succeeded"


def test_pod_identity_role_without_tag_session_is_refused(cloud: SandboxCloud, cluster: Cluster) -> None:
    trust = json.loads(json.dumps(POD_IDENTITY_TRUST))
    trust["Statement"][0]["Action"] = "sts:AssumeRole"
    role = cluster.role("podid-notag", trust)
    cluster.service_account("podid-notag")
    cloud.client("eks").create_pod_identity_association(
        clusterName="apps", namespace="default", serviceAccount="podid-notag", roleArn=role
    )
    _, lines = cluster.run("podid-notag", "podid-notag")
    found = _identity(lines)
    assert "arn" not in found, found
    # botocore reports the agent's refusal as a credential retrieval failure; no node role stands in.
    assert found["error"] == "CredentialRetrievalError", found
    assert "pods.eks.amazonaws.com to perform sts:TagSession" in found["message"], found


def test_pod_identity_agent_down_refuses_connections(cloud: SandboxCloud, cluster: Cluster) -> None:
    role = cluster.role("podid-down", POD_IDENTITY_TRUST)
    cluster.service_account("podid-down")
    cloud.client("eks").create_pod_identity_association(
        clusterName="apps", namespace="default", serviceAccount="podid-down", roleArn=role
    )
    cloud.eks.agent.stop()
    try:
        _, lines = cluster.run("podid-down", "podid-down")
    finally:
        cloud.eks.agent.start()
    found = _identity(lines)
    assert "arn" not in found, found
    assert found["error"] == "CredentialRetrievalError", found
    assert "Could not connect to the endpoint URL" in found["message"], found


def test_no_identity_falls_back_to_the_node_role_with_hop_limit_2(cluster: Cluster) -> None:
    cluster.service_account("plain")
    pod, lines = cluster.run("node-role", "plain")
    assert _identity(lines)["arn"].startswith(f"arn:aws:sts::123456789012:assumed-role/{cluster.node_role}/i-"), lines


def test_no_identity_and_hop_limit_1_gets_no_credentials(cloud: SandboxCloud, cluster: Cluster) -> None:
    cloud.eks.set_hop_limit("apps", 1)
    try:
        _, lines = cluster.run("hop-1", "plain", timeout=90)
    finally:
        cloud.eks.set_hop_limit("apps", 2)
    assert _identity(lines)["error"] == "NoCredentialsError", lines


def test_wrong_image_waits_with_err_image_pull(cluster: Cluster) -> None:
    cluster.batch.create_namespaced_job(
        "default",
        {
            "metadata": {"name": "bad-image"},
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "probe", "image": "example.invalid/nope:1", "command": ["true"]}],
                    }
                },
            },
        },
    )
    end = time.monotonic() + 10
    reason = None
    while time.monotonic() < end and reason is None:
        pods = cluster.core.list_namespaced_pod("default", label_selector="job-name=bad-image").items
        statuses = pods[0].status.container_statuses if pods else None
        if statuses and statuses[0].state.waiting and statuses[0].state.waiting.reason != "ContainerCreating":
            reason = statuses[0].state.waiting.reason
        time.sleep(0.1)
    assert reason == "ErrImagePull"
    assert pods[0].status.phase == "Pending"


def test_job_delete_with_background_propagation_removes_the_pod(cluster: Cluster) -> None:
    cluster.batch.create_namespaced_job(
        "default",
        {
            "metadata": {"name": "sleeper"},
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "terminationGracePeriodSeconds": 1,
                        "containers": [
                            {"name": "probe", "image": PROBE_IMAGE, "command": ["/bin/sh", "-c", "echo up; sleep 60"]}
                        ],
                    }
                },
            },
        },
    )
    pod = cluster.wait_pod("sleeper", 20, phases=("Running",))
    assert cluster.core.read_namespaced_pod_log(pod.metadata.name, "default") in ("", "up\n")
    cluster.batch.delete_namespaced_job("sleeper", "default", propagation_policy="Background")
    with pytest.raises(ApiException) as err:
        cluster.batch.read_namespaced_job("sleeper", "default")
    assert err.value.status == 404
    end = time.monotonic() + 10
    while (
        time.monotonic() < end and cluster.core.list_namespaced_pod("default", label_selector="job-name=sleeper").items
    ):
        time.sleep(0.1)
    assert cluster.core.list_namespaced_pod("default", label_selector="job-name=sleeper").items == []


def test_a_job_needs_restart_policy_never_or_on_failure(cluster: Cluster) -> None:
    with pytest.raises(ApiException) as err:
        cluster.batch.create_namespaced_job(
            "default",
            {
                "metadata": {"name": "always"},
                "spec": {
                    "template": {
                        "spec": {"restartPolicy": "Always", "containers": [{"name": "c", "image": PROBE_IMAGE}]}
                    }
                },
            },
        )
    assert err.value.status == 422
    assert json.loads(err.value.body)["reason"] == "Invalid"
