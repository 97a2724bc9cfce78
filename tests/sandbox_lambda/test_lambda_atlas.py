"""A Lambda function logs in to the emulated Atlas cluster with real pymongo MONGODB-AWS, as its network allows.

The deployment package carries pymongo and pymongo-auth-aws (and boto3, dnspython and what they import), copied from
this interpreter's site-packages; the function runs without site-packages, so it uses only what it carries.
Outside a VPC the function connects from Lambda's egress address, which Atlas admits only from the project's IP
access list; in a VPC it reaches the internet only through a NAT gateway, from the NAT's address.
"""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atlasiam_sandbox.atlas_state import DatabaseUser
from atlasiam_sandbox.aws.team_network import team_network
from atlasiam_sandbox.world import LAMBDA_EGRESS_ADDRESS, Sandbox

PROJECT = "0123456789abcdef01234567"
CLUSTER = "Cluster0"
PACKAGES = (
    "pymongo",
    "bson",
    "gridfs",
    "pymongo_auth_aws",
    "boto3",
    "botocore",
    "dateutil",
    "jmespath",
    "s3transfer",
    "urllib3",
    "six.py",
    "dns",
)
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
VPC_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
HANDLER = """
from pymongo import MongoClient
from pymongo.errors import PyMongoError

def handler(event, context):
    client = MongoClient(event["uri"], authMechanism="MONGODB-AWS", authSource="$external",
                         serverSelectionTimeoutMS=event["timeout_ms"])
    try:
        status = client.admin.command("connectionStatus")
        return {"users": [u["user"] for u in status["authInfo"]["authenticatedUsers"]]}
    except PyMongoError as exc:
        return {"error": type(exc).__name__}
    finally:
        client.close()
"""


def _site_packages() -> Path:
    import pymongo

    return Path(pymongo.__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def mongo_package() -> bytes:
    """The handler plus pymongo[aws] and its imports, zipped (copied from this interpreter's site-packages)."""
    site = _site_packages()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("app.py", HANDLER)
        for name in PACKAGES:
            root = site / name
            files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
            for path in files:
                if "__pycache__" not in path.parts:
                    archive.write(path, path.relative_to(site).as_posix())
    return buffer.getvalue()


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(tmp_path_factory.mktemp("sandbox")) as sb:
        yield sb


def _role(sandbox: Sandbox, *policy_arns: str) -> str:
    iam = sandbox.cloud.client("iam")
    name = f"fn-role-{uuid.uuid4().hex[:8]}"
    arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))["Role"]["Arn"]
    for policy_arn in policy_arns:
        iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
    sandbox.atlas.put_user(DatabaseUser(project_id=PROJECT, username=arn, aws_iam_type="ROLE"))
    return arn


def _function(sandbox: Sandbox, package: bytes, role_arn: str, **extra: Any) -> str:
    client = sandbox.cloud.client("lambda")
    name = f"atlas-fn-{uuid.uuid4().hex[:8]}"
    client.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Handler="app.handler",
        Role=role_arn,
        Code={"ZipFile": package},
        Timeout=30,
        MemorySize=512,
        **extra,
    )
    deadline = time.monotonic() + 10
    while client.get_function(FunctionName=name)["Configuration"]["State"] == "Pending":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return name


def _login(sandbox: Sandbox, name: str, uri: str | None = None, timeout_ms: int = 1500) -> dict[str, Any]:
    response = sandbox.cloud.client("lambda").invoke(
        FunctionName=name,
        InvocationType="RequestResponse",
        Payload=json.dumps({"uri": uri or sandbox.cluster_uri(PROJECT, CLUSTER), "timeout_ms": timeout_ms}),
    )
    assert "FunctionError" not in response, response["Payload"].read()
    result: dict[str, Any] = json.loads(response["Payload"].read())
    return result


def test_a_function_outside_a_vpc_gets_in_only_from_the_access_list(sandbox: Sandbox, mongo_package: bytes) -> None:
    role_arn = _role(sandbox)
    name = _function(sandbox, mongo_package, role_arn)
    endpoint = sandbox.endpoint(PROJECT, CLUSTER)

    assert _login(sandbox, name) == {"error": "ServerSelectionTimeoutError"}
    assert any(f"{name} connects from {LAMBDA_EGRESS_ADDRESS}" in reason for reason in endpoint.refusals)

    sandbox.atlas.add_access(PROJECT, "203.0.113.0/24")
    try:
        assert _login(sandbox, name, timeout_ms=10_000) == {"users": [role_arn]}
    finally:
        sandbox.atlas.remove_access(PROJECT, "203.0.113.0/24")


def _vpc(sandbox: Sandbox, *, nat: bool) -> tuple[dict[str, list[str]], str | None]:
    """A VPC with a private subnet (default route to a NAT gateway in a public subnet, if ``nat``) and a group."""
    network = team_network(sandbox.cloud.client("ec2"), "10.9", "fn", nat=nat)
    return {"SubnetIds": [network.private_subnet_id], "SecurityGroupIds": [network.security_group_id]}, network.nat_ip


def test_a_vpc_function_without_a_nat_route_has_no_internet(sandbox: Sandbox, mongo_package: bytes) -> None:
    config, _ = _vpc(sandbox, nat=False)
    name = _function(sandbox, mongo_package, _role(sandbox, VPC_POLICY_ARN), VpcConfig=config)
    sandbox.atlas.add_access(PROJECT, "0.0.0.0/0")
    try:
        assert _login(sandbox, name) == {"error": "ServerSelectionTimeoutError"}
    finally:
        sandbox.atlas.remove_access(PROJECT, "0.0.0.0/0")
    endpoint = sandbox.endpoint(PROJECT, CLUSTER)
    assert any(
        f"{name} in subnet {config['SubnetIds'][0]} has no route to a NAT gateway" in r for r in endpoint.refusals
    )


def test_a_vpc_function_connects_from_its_nat_gateways_address(sandbox: Sandbox, mongo_package: bytes) -> None:
    config, nat_address = _vpc(sandbox, nat=True)
    role_arn = _role(sandbox, VPC_POLICY_ARN)
    name = _function(sandbox, mongo_package, role_arn, VpcConfig=config)
    sandbox.atlas.add_access(PROJECT, f"{LAMBDA_EGRESS_ADDRESS}/32")  # Lambda's own address: not this function's
    try:
        assert _login(sandbox, name) == {"error": "ServerSelectionTimeoutError"}
        sandbox.atlas.add_access(PROJECT, f"{nat_address}/32")
        assert _login(sandbox, name, timeout_ms=10_000) == {"users": [role_arn]}
    finally:
        sandbox.atlas.remove_access(PROJECT, f"{LAMBDA_EGRESS_ADDRESS}/32")
        sandbox.atlas.remove_access(PROJECT, f"{nat_address}/32")


def _private_endpoint(sandbox: Sandbox, vpc_id: str, subnet_id: str) -> str:
    """Atlas's endpoint service, an interface endpoint to it in ``vpc_id``, accepted by Atlas: the endpoint's id."""
    link = sandbox.api.privatelink
    service_id = link.create_service(PROJECT, {"providerName": "AWS", "region": "us-east-1"})["id"]
    deadline = time.monotonic() + 10
    while link.service_status(link.service(PROJECT, "AWS", service_id)) != "AVAILABLE":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    vpce: str = sandbox.cloud.client("ec2").create_vpc_endpoint(
        VpcId=vpc_id,
        ServiceName=link.service(PROJECT, "AWS", service_id).service_name,
        VpcEndpointType="Interface",
        SubnetIds=[subnet_id],
    )["VpcEndpoint"]["VpcEndpointId"]
    link.create_endpoint(PROJECT, "AWS", service_id, {"id": vpce})
    while link.endpoint_doc(*link.endpoint(PROJECT, "AWS", service_id, vpce))["connectionStatus"] != "AVAILABLE":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return vpce


def test_a_vpc_function_reaches_the_private_endpoint_of_its_vpc_only(sandbox: Sandbox, mongo_package: bytes) -> None:
    config, _ = _vpc(sandbox, nat=False)
    ec2 = sandbox.cloud.client("ec2")
    vpc_id = ec2.describe_subnets(SubnetIds=config["SubnetIds"])["Subnets"][0]["VpcId"]
    vpce = _private_endpoint(sandbox, vpc_id, config["SubnetIds"][0])
    private_uri = sandbox.private_uri(PROJECT, CLUSTER, vpce)
    role_arn = _role(sandbox, VPC_POLICY_ARN)
    inside = _function(sandbox, mongo_package, role_arn, VpcConfig=config)
    outside = _function(sandbox, mongo_package, role_arn)  # not in a VPC

    assert _login(sandbox, inside, private_uri, timeout_ms=10_000) == {"users": [role_arn]}
    assert _login(sandbox, outside, private_uri) == {"error": "ServerSelectionTimeoutError"}
    listener = sandbox.private_endpoint(PROJECT, CLUSTER, vpce)
    assert any(f"Lambda function {outside} (no VPC) has no route" in r for r in listener.refusals)
