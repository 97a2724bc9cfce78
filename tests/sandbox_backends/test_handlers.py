"""Handlers and the dispatch glue against a moto server, without Terraform (fast)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from atlasiam_sandbox.mirror import SCHEMA_DIR
from atlasiam_sandbox.provider import backends
from atlasiam_sandbox.provider.backends import dispatch
from atlasiam_sandbox.provider.backends.base import Handler
from atlasiam_sandbox.provider.codec import UNKNOWN
from atlasiam_sandbox.provider.fill import empty_blocks
from atlasiam_sandbox.provider.planning import plan_resource
from atlasiam_sandbox.provider.schema import ProviderSchema
from tests.sandbox_backends.conftest import Moto

PROVIDER = {"region": "us-east-1"}
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)


@pytest.fixture(scope="module")
def schema() -> ProviderSchema:
    return ProviderSchema.load(Path(SCHEMA_DIR) / "aws.json")


@pytest.fixture(autouse=True)
def aws_env(moto: Moto, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "AWS_ENDPOINT_URL": moto.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)


def _handler(type_name: str) -> Handler:
    handler = backends.resource_handler(type_name)
    assert handler is not None
    return handler


def _create(schema: ProviderSchema, type_name: str, config: dict[str, object]) -> dispatch.Outcome:
    block = schema.resource(type_name).block
    config = empty_blocks(block, config)
    planned = plan_resource(block, config)
    return dispatch.apply_change(_handler(type_name), type_name, block, (None, planned, config), PROVIDER)


def test_create_refresh_and_drift_of_a_vpc(schema: ProviderSchema, moto: Moto) -> None:
    created = _create(
        schema, "aws_vpc", {"cidr_block": "10.9.0.0/16", "enable_dns_hostnames": True, "tags": {"t": "1"}}
    )
    assert created.error is None
    state = created.state
    vpc = moto.client("ec2").describe_vpcs(VpcIds=[state["id"]])["Vpcs"][0]
    assert vpc["CidrBlock"] == "10.9.0.0/16" and {"Key": "t", "Value": "1"} in vpc["Tags"]
    assert state["main_route_table_id"].startswith("rtb-") and state["default_security_group_id"].startswith("sg-")
    assert UNKNOWN not in state.values()

    assert dispatch.refresh(_handler("aws_vpc"), state, PROVIDER).state == state
    moto.client("ec2").delete_vpc(VpcId=state["id"])
    assert dispatch.refresh(_handler("aws_vpc"), state, PROVIDER).state is None


def test_cloud_errors_become_diagnostics(schema: ProviderSchema) -> None:
    outcome = _create(
        schema,
        "aws_instance",
        {"ami": "ami-12c6146b", "instance_type": "t3.micro", "subnet_id": "subnet-00000000000000000"},
    )
    assert outcome.state is None
    assert outcome.error is not None
    assert outcome.error.summary.startswith("creating EC2 Instance: InvalidSubnetID.NotFound"), outcome.error.summary


def test_unknown_ami_launches_a_moto_image_and_keeps_the_configured_one(schema: ProviderSchema, moto: Moto) -> None:
    ec2 = moto.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.11.0.0/16")["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.11.0.0/24")["Subnet"]["SubnetId"]
    outcome = _create(
        schema,
        "aws_instance",
        {
            "ami": "ami-0123456789abcdef0",
            "instance_type": "t3.micro",
            "subnet_id": subnet_id,
            "associate_public_ip_address": True,
        },
    )
    assert outcome.error is None, outcome.error
    state = outcome.state
    assert state["ami"] == "ami-0123456789abcdef0"
    inst = ec2.describe_instances(InstanceIds=[state["id"]])["Reservations"][0]["Instances"][0]
    assert inst["ImageId"] != state["ami"] and inst["State"]["Name"] == "running"
    assert state["public_ip"] == inst["PublicIpAddress"] and state["instance_state"] == "running"

    block = schema.resource("aws_instance").block
    gone = dispatch.apply_change(_handler("aws_instance"), "aws_instance", block, (state, None, None), PROVIDER)
    assert gone.state is None and gone.error is None
    assert dispatch.refresh(_handler("aws_instance"), state, PROVIDER).state is None  # terminated counts as gone


def test_import_a_role_by_name(schema: ProviderSchema, moto: Moto) -> None:
    name = f"r-{uuid.uuid4().hex[:8]}"
    moto.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=TRUST, Description="d")
    block = schema.resource("aws_iam_role").block
    found = dispatch.import_state(_handler("aws_iam_role"), "aws_iam_role", block, name, PROVIDER)
    assert found.error is None
    assert found.state["arn"] == f"arn:aws:iam::123456789012:role/{name}" and found.state["description"] == "d"
    missing = dispatch.import_state(_handler("aws_iam_role"), "aws_iam_role", block, "nope", PROVIDER)
    assert missing.error is not None and "non-existent" in missing.error.summary


def test_role_update_changes_description_and_session_duration(schema: ProviderSchema, moto: Moto) -> None:
    name = f"r-{uuid.uuid4().hex[:8]}"
    created = _create(schema, "aws_iam_role", {"name": name, "assume_role_policy": TRUST, "path": "/"})
    assert created.error is None
    block = schema.resource("aws_iam_role").block
    planned = {**created.state, "description": "new", "max_session_duration": 7200}
    updated = dispatch.apply_change(
        _handler("aws_iam_role"), "aws_iam_role", block, (created.state, planned, planned), PROVIDER
    )
    assert updated.error is None
    role = moto.client("iam").get_role(RoleName=name)["Role"]
    assert (role["Description"], role["MaxSessionDuration"]) == ("new", 7200)


def _read_data(schema: ProviderSchema, type_name: str, config: dict[str, object]) -> dispatch.Outcome:
    block = schema.data_source(type_name).block
    handler = backends.data_handler(type_name)
    assert handler is not None
    return dispatch.read_data(handler, type_name, block, empty_blocks(block, config), PROVIDER)


def test_data_sources(schema: ProviderSchema, moto: Moto) -> None:
    missing = _read_data(schema, "aws_vpc", {"id": "vpc-0a1b2c3d4e5f60718"})
    assert missing.error is not None and "no matching EC2 VPC found" in missing.error.summary

    vpc_id = moto.client("ec2").create_vpc(CidrBlock="10.12.0.0/16")["Vpc"]["VpcId"]
    found = _read_data(schema, "aws_vpc", {"id": vpc_id})
    assert found.error is None and found.state["cidr_block"] == "10.12.0.0/16"

    me = _read_data(schema, "aws_caller_identity", {})
    assert me.state["account_id"] == "123456789012" and me.state["arn"].startswith("arn:aws:")

    real = _read_data(
        schema, "aws_ssm_parameter", {"name": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"}
    )
    assert real.error is None and real.state["value"].startswith("ami-") and real.state["version"] > 1
    synthetic = _read_data(schema, "aws_ssm_parameter", {"name": "/atlasiam/not-in-moto"})
    assert synthetic.error is None and synthetic.state["value"].startswith("ami-0")


def test_log_group_and_flow_log(schema: ProviderSchema, moto: Moto) -> None:
    name = f"/atlasiam/{uuid.uuid4().hex[:8]}"
    group = _create(schema, "aws_cloudwatch_log_group", {"name": name, "retention_in_days": 7})
    assert group.error is None
    assert group.state["arn"] == f"arn:aws:logs:us-east-1:123456789012:log-group:{name}"
    vpc_id = moto.client("ec2").create_vpc(CidrBlock="10.13.0.0/16")["Vpc"]["VpcId"]
    flow = _create(
        schema,
        "aws_flow_log",
        {
            "vpc_id": vpc_id,
            "traffic_type": "ALL",
            "log_destination": group.state["arn"],
            "iam_role_arn": "arn:aws:iam::123456789012:role/flow",
        },
    )
    assert flow.error is None, flow.error
    assert flow.state["id"].startswith("fl-")
    flows = moto.client("ec2").describe_flow_logs(FlowLogIds=[flow.state["id"]])["FlowLogs"]
    assert flows[0]["ResourceId"] == vpc_id
    for type_name, state in (("aws_flow_log", flow.state), ("aws_cloudwatch_log_group", group.state)):
        block = schema.resource(type_name).block
        assert dispatch.apply_change(_handler(type_name), type_name, block, (state, None, None), PROVIDER).error is None
        assert dispatch.refresh(_handler(type_name), state, PROVIDER).state is None


def test_instance_type_change_is_applied_in_place(schema: ProviderSchema, moto: Moto) -> None:
    ec2 = moto.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.14.0.0/16")["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.14.0.0/24")["Subnet"]["SubnetId"]
    created = _create(
        schema, "aws_instance", {"ami": "ami-12c6146b", "instance_type": "t3.micro", "subnet_id": subnet_id}
    )
    assert created.error is None
    block = schema.resource("aws_instance").block
    prior = created.state
    planned = {**prior, "instance_type": "t3.small", "tags": {"Name": "x"}}
    handler = _handler("aws_instance")
    assert "instance_type" not in handler.replace and "user_data" in handler.replace
    updated = dispatch.apply_change(handler, "aws_instance", block, (prior, planned, planned), PROVIDER)
    assert updated.error is None and updated.state["id"] == prior["id"]
    inst = ec2.describe_instances(InstanceIds=[prior["id"]])["Reservations"][0]["Instances"][0]
    assert (inst["InstanceType"], inst["State"]["Name"]) == ("t3.small", "running")
    assert {"Key": "Name", "Value": "x"} in inst["Tags"]
