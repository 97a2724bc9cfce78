"""The stand-in provider's aws_eks_pod_identity_association on the sandbox's EKS API (create, read, update, delete)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from atlasiam_sandbox.aws import SandboxCloud, pod_identity
from atlasiam_sandbox.mirror import SCHEMA_DIR
from atlasiam_sandbox.provider import backends
from atlasiam_sandbox.provider.backends import dispatch
from atlasiam_sandbox.provider.backends.base import Handler
from atlasiam_sandbox.provider.fill import empty_blocks
from atlasiam_sandbox.provider.planning import plan_resource
from atlasiam_sandbox.provider.schema import ProviderSchema

TYPE = "aws_eks_pod_identity_association"
PROVIDER = {"region": "us-east-1"}
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)


@pytest.fixture(autouse=True)
def aws_env(cloud: SandboxCloud, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in cloud.env().items():
        monkeypatch.setenv(key, value)


def _handler() -> Handler:
    handler = backends.resource_handler(TYPE)
    assert handler is not None
    return handler


def test_association_lifecycle_through_the_eks_api(cloud: SandboxCloud) -> None:
    schema = ProviderSchema.load(Path(SCHEMA_DIR) / "aws.json")
    block = schema.resource(TYPE).block
    iam = cloud.client("iam")
    role = iam.create_role(RoleName="backend-cluster", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    cloud.client("eks").create_cluster(name="tf", roleArn=role, resourcesVpcConfig={"subnetIds": []})
    config = empty_blocks(
        block, {"cluster_name": "tf", "namespace": "apps", "service_account": "probe", "role_arn": role}
    )
    created = dispatch.apply_change(_handler(), TYPE, block, (None, plan_resource(block, config), config), PROVIDER)
    assert created.error is None, created.error
    ident = created.state["id"]
    assert created.state["association_arn"] == f"arn:aws:eks:us-east-1:123456789012:podidentityassociation/tf/{ident}"
    found = pod_identity.find("123456789012", "us-east-1", "tf", "apps", "probe")
    assert found is not None
    assert found.role_arn == role
    deleted = dispatch.apply_change(_handler(), TYPE, block, (created.state, None, None), PROVIDER)
    assert deleted.error is None
    assert pod_identity.find("123456789012", "us-east-1", "tf", "apps", "probe") is None
    assert dispatch.refresh(_handler(), created.state, PROVIDER).state is None


def test_an_association_needs_an_existing_cluster(cloud: SandboxCloud) -> None:
    eks = cloud.client("eks")
    with pytest.raises(eks.exceptions.ResourceNotFoundException):
        eks.create_pod_identity_association(
            clusterName="nope", namespace="a", serviceAccount="b", roleArn="arn:aws:iam::123456789012:role/r"
        )
