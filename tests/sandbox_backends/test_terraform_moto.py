"""Real Terraform, the real templates, and the stand-in aws provider backed by moto (AWS_ENDPOINT_URL)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CONFIGS
from tests.sandbox_backends.conftest import Moto, Stopwatch, project_config
from tests.tf.conftest import Cli, iam_name, state_resources

pytestmark = [pytest.mark.terraform, pytest.mark.usefixtures("cloud_env")]

SSM_CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"


def _data(doc: dict[str, object]) -> dict[str, Any]:
    data = doc["data"]
    assert isinstance(data, dict)
    return data


def _changes(doc: dict[str, object]) -> dict[str, str]:
    return {c["address"]: c["action"] for c in _data(doc)["changes"]}


def _instance(moto: Moto, instance_id: str, region: str) -> dict[str, Any]:
    reservations = moto.client("ec2", region).describe_instances(InstanceIds=[instance_id])["Reservations"]
    return dict(reservations[0]["Instances"][0])


def _live_instances(moto: Moto, region: str, vpc_id: str) -> list[str]:
    filters = [{"Name": "vpc-id", "Values": [vpc_id]}]
    pages = moto.client("ec2", region).describe_instances(Filters=filters)["Reservations"]
    return [
        i["InstanceId"]
        for r in pages
        for i in r["Instances"]
        if i["State"]["Name"] not in ("terminated", "shutting-down")
    ]


def _role_names(moto: Moto) -> list[str]:
    return [r["RoleName"] for r in moto.client("iam").list_roles()["Roles"]]


def test_new_vpc_lifecycle(
    moto: Moto, tmp_path: Path, capsys: pytest.CaptureFixture[str], stopwatch: Stopwatch, unique_name: str
) -> None:
    config = project_config(
        CONFIGS / "new_vpc.toml", tmp_path / "project", {'name = "orders"': f'name = "{unique_name}"'}
    )
    cli = Cli(capsys, config)
    workdir = tmp_path / "project" / ".atlasiam" / "dev"
    ec2, iam = moto.client("ec2"), moto.client("iam")

    with stopwatch("apply"):
        outputs = _data(cli("apply", "--yes"))["outputs"]

    # The network exists in moto, wired as the templates say.
    vpc_id, [subnet_id] = outputs["vpc_id"], outputs["subnet_ids"]
    vpc = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
    assert vpc["CidrBlock"] == "10.42.0.0/16"
    assert ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsHostnames")["EnableDnsHostnames"]["Value"]
    assert ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]["VpcId"] == vpc_id
    igws = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}])
    igw_id = igws["InternetGateways"][0]["InternetGatewayId"]
    tables = ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}])
    routes = tables["RouteTables"][0]["Routes"]
    assert {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": igw_id} in [
        {k: r.get(k) for k in ("DestinationCidrBlock", "GatewayId")} for r in routes
    ]
    default_sg = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]
    assert default_sg["IpPermissions"] == [] and default_sg["IpPermissionsEgress"] == []
    host_sg = ec2.describe_security_groups(GroupIds=[outputs["security_group_id"]])["SecurityGroups"][0]
    assert sorted((p.get("FromPort"), p.get("ToPort")) for p in host_sg["IpPermissionsEgress"]) == [
        (443, 443),
        (27015, 27017),
    ]
    assert host_sg["IpPermissions"] == []

    # The role: path "/", the SSM core policy, in the instance profile the instance runs with.
    role = iam.get_role(RoleName=outputs["role_name"])["Role"]
    assert role["Path"] == "/" and role["Arn"] == outputs["role_arn"]
    attached = [
        p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=outputs["role_name"])["AttachedPolicies"]
    ]
    assert attached == [SSM_CORE]
    instance = _instance(moto, outputs["instance_id"], "us-east-1")
    assert instance["State"]["Name"] == "running"
    assert instance["SubnetId"] == subnet_id
    assert instance["IamInstanceProfile"]["Arn"] == outputs["instance_profile_arn"]
    assert instance["PublicIpAddress"] == outputs["public_ip"]
    assert instance["MetadataOptions"]["HttpTokens"] == "required"
    assert {"Key": "managed-by", "Value": "atlasiam"} in instance["Tags"]
    profile = iam.get_instance_profile(InstanceProfileName=outputs["role_name"])["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == [outputs["role_name"]]

    # Nothing drifted: the next plan is empty.
    with stopwatch("plan (no changes)"):
        again = cli("plan", "--detailed-exitcode")
    assert _data(again)["has_changes"] is False

    # The instance is terminated behind Terraform's back: the next plan recreates it.
    ec2.terminate_instances(InstanceIds=[outputs["instance_id"]])
    with stopwatch("plan (drift)"):
        drift = _changes(cli("plan", "--detailed-exitcode", expect=4))
    assert drift["module.atlasiam.aws_instance.this[0]"] == "create"
    allowed = {"module.atlasiam.aws_instance.this[0]", "module.atlasiam.mongodbatlas_project_ip_access_list.host[0]"}
    assert set(drift) <= allowed, drift

    with stopwatch("destroy"):
        cli("destroy", "--yes")
    assert state_resources(workdir) == []
    assert _live_instances(moto, "us-east-1", vpc_id) == []
    assert outputs["role_name"] not in _role_names(moto)
    assert outputs["role_name"] not in [
        p["InstanceProfileName"] for p in iam.list_instance_profiles()["InstanceProfiles"]
    ]
    assert vpc_id not in [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]]
    stopwatch.report("new_vpc on moto")


def test_existing_vpc_lifecycle(
    moto: Moto, tmp_path: Path, capsys: pytest.CaptureFixture[str], stopwatch: Stopwatch, unique_name: str
) -> None:
    ec2 = moto.client("ec2", "eu-west-1")
    vpc_id = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.7.1.0/24")["Subnet"]["SubnetId"]
    config = project_config(
        CONFIGS / "existing_vpc.toml",
        tmp_path / "project",
        {
            "vpc-0a1b2c3d4e5f60718": vpc_id,
            "subnet-0a1b2c3d4e5f60718": subnet_id,
            'name = "billing"': f'name = "{unique_name}"',
        },
    )
    cli = Cli(capsys, config)

    with stopwatch("apply"):
        outputs = _data(cli("apply", "--yes"))["outputs"]
    assert (outputs["vpc_id"], outputs["subnet_ids"]) == (vpc_id, [subnet_id])
    instance = _instance(moto, outputs["instance_id"], "eu-west-1")
    assert instance["State"]["Name"] == "running" and instance["SubnetId"] == subnet_id
    assert ec2.describe_security_groups(GroupIds=[outputs["security_group_id"]])["SecurityGroups"][0]["VpcId"] == vpc_id

    with stopwatch("plan (no changes)"):
        assert _data(cli("plan", "--detailed-exitcode"))["has_changes"] is False
    with stopwatch("destroy"):
        cli("destroy", "--yes")
    assert _live_instances(moto, "eu-west-1", vpc_id) == []
    assert outputs["role_name"] not in _role_names(moto)
    # The reused network is not Terraform's: it survives the destroy.
    assert ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]["VpcId"] == vpc_id
    stopwatch.report("existing_vpc on moto")


def test_unknown_existing_vpc_is_a_clear_error(moto: Moto, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert moto.endpoint
    cli = Cli(capsys, project_config(CONFIGS / "existing_vpc.toml", tmp_path / "project"))
    doc = cli("plan", expect=1)
    text = json.dumps(doc)
    assert "no matching EC2 VPC found" in text, text


def test_injected_failure_leaves_a_partial_apply(
    moto: Moto,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    unique_name: str,
) -> None:
    config = project_config(
        CONFIGS / "new_vpc.toml", tmp_path / "project", {'name = "orders"': f'name = "{unique_name}"'}
    )
    cli = Cli(capsys, config)
    workdir = tmp_path / "project" / ".atlasiam" / "dev"
    monkeypatch.setenv("ATLASIAM_SANDBOX_FAIL_ON", "aws_vpc")
    doc = cli("apply", "--yes", expect=1)
    assert "creating aws_vpc: injected failure" in json.dumps(doc)
    created = set(state_resources(workdir))
    # What does not depend on the VPC was created (and is in state); the VPC and its dependents were not.
    host = {"aws_iam_role.host", "aws_iam_role_policy_attachment.ssm", "aws_iam_instance_profile.host"}
    assert {f"module.atlasiam.{a}" for a in host} <= created
    assert not created & {f"module.atlasiam.{a}" for a in ("aws_vpc.this", "aws_subnet.this", "aws_instance.this")}
    role_name = f"{iam_name(unique_name, 'dev', 'us-east-1')}-host"
    assert role_name in _role_names(moto)
    assert unique_name not in json.dumps(moto.client("ec2").describe_vpcs()["Vpcs"])

    monkeypatch.delenv("ATLASIAM_SANDBOX_FAIL_ON")
    cli("destroy", "--yes")
    assert state_resources(workdir) == []
    assert role_name not in _role_names(moto)
