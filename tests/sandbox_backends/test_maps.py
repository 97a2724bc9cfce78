"""The pure pieces: response -> state mappings, request builders, the registry switch and fault parsing."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from atlasiam_sandbox.provider import backends
from atlasiam_sandbox.provider.backends import maps
from atlasiam_sandbox.provider.backends.aws_ec2 import metadata_options, run_instances_args
from atlasiam_sandbox.provider.backends.base import AwsContext, describe_error, is_not_found
from atlasiam_sandbox.provider.backends.dispatch import merge_observed
from atlasiam_sandbox.provider.codec import UNKNOWN

INSTANCE = {
    "InstanceId": "i-0abc",
    "InstanceType": "t3.micro",
    "State": {"Code": 16, "Name": "running"},
    "Placement": {"AvailabilityZone": "us-east-1d", "Tenancy": "default"},
    "SubnetId": "subnet-1",
    "PrivateIpAddress": "10.42.0.4",
    "PrivateDnsName": "ip-10-42-0-4.ec2.internal",
    "PublicIpAddress": "54.214.216.27",
    "PublicDnsName": "ec2-54-214-216-27.compute-1.amazonaws.com",
    "IamInstanceProfile": {"Arn": "arn:aws:iam::123456789012:instance-profile/app/orders-dev-host", "Id": "x"},
    "SecurityGroups": [],
    "NetworkInterfaces": [
        {
            "NetworkInterfaceId": "eni-1",
            "OwnerId": "123456789012",
            "Attachment": {"DeviceIndex": 0},
            "Groups": [{"GroupId": "sg-2"}, {"GroupId": "sg-1"}],
        }
    ],
    "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2, "HttpEndpoint": "enabled"},
    "Monitoring": {"State": "enabled"},
    "Tags": [{"Key": "Name", "Value": "orders-dev"}],
}


def test_instance_state_maps_network_profile_and_metadata() -> None:
    state = maps.instance_state(INSTANCE, "us-east-1")
    assert state["arn"] == "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"
    assert state["public_ip"] == "54.214.216.27" and state["private_ip"] == "10.42.0.4"
    assert state["iam_instance_profile"] == "orders-dev-host"
    assert state["vpc_security_group_ids"] == ["sg-1", "sg-2"]
    assert state["primary_network_interface_id"] == "eni-1"
    assert state["owner_id"] == "123456789012"
    assert state["metadata_options"]["http_tokens"] == "required"
    assert state["monitoring"] is True
    assert state["tags_all"] == {"Name": "orders-dev"}


@pytest.mark.parametrize(
    ("inst", "gone"),
    [
        (None, True),
        ({"State": {"Name": "terminated"}}, True),
        ({"State": {"Name": "shutting-down"}}, True),
        ({"State": {"Name": "stopped"}}, False),
        ({"State": {"Name": "running"}}, False),
    ],
)
def test_terminated_instances_count_as_gone(inst: dict[str, object] | None, gone: bool) -> None:
    assert maps.instance_is_gone(inst) is gone


def test_vpc_state_uses_the_default_objects() -> None:
    vpc = {"VpcId": "vpc-1", "OwnerId": "123456789012", "CidrBlock": "10.0.0.0/16", "DhcpOptionsId": "dopt-1"}
    defaults = {"main_route_table_id": "rtb-1", "default_security_group_id": "sg-1", "default_network_acl_id": "acl-1"}
    state = maps.vpc_state(vpc, "eu-west-1", defaults, {"enable_dns_support": True})
    assert state["arn"] == "arn:aws:ec2:eu-west-1:123456789012:vpc/vpc-1"
    assert state["main_route_table_id"] == state["default_route_table_id"] == "rtb-1"
    assert state["default_security_group_id"] == "sg-1" and state["enable_dns_support"] is True


def test_role_state_formats_dates_and_policies() -> None:
    role = {
        "RoleName": "r",
        "Path": "/",
        "Arn": "arn:aws:iam::123456789012:role/r",
        "RoleId": "AROA1",
        "CreateDate": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
        "MaxSessionDuration": 3600,
    }
    state = maps.role_state(role)
    assert state["create_date"] == "2026-01-02T03:04:05Z"
    assert state["assume_role_policy"] == '{"Version":"2012-10-17","Statement":[]}'
    assert state["id"] == state["name"] == "r" and state["unique_id"] == "AROA1"


def test_policy_comparison_ignores_formatting_and_url_encoding() -> None:
    assert maps.same_policy('{"Version": "2012-10-17"}', "%7B%22Version%22%3A%222012-10-17%22%7D")
    assert not maps.same_policy('{"Version": "2012-10-17"}', '{"Version": "2008-10-17"}')


def test_security_group_rule_state_and_permission_round_trip() -> None:
    config = {"ip_protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_ipv4": "0.0.0.0/0", "description": "h"}
    perm = maps.rule_permission(config)
    assert perm == {
        "IpProtocol": "tcp",
        "FromPort": 443,
        "ToPort": 443,
        "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "h"}],
    }
    rule = {"SecurityGroupRuleId": "sgr-1", "GroupId": "sg-1", "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443}
    state = maps.security_group_rule_state(rule | {"CidrIpv4": "0.0.0.0/0"}, "us-east-1", "123456789012")
    assert state["id"] == state["security_group_rule_id"] == "sgr-1"
    assert state["arn"] == "arn:aws:ec2:us-east-1:123456789012:security-group-rule/sgr-1"
    assert maps.security_group_rule_state({**rule, "IpProtocol": "-1"}, "r", "a")["from_port"] is None


def test_route_ids_and_lookup() -> None:
    rtb = {
        "Routes": [
            {"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local"},
            {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1"},
        ]
    }
    route = maps.find_route(rtb, "0.0.0.0/0")
    assert route is not None and route["GatewayId"] == "igw-1"
    assert maps.route_id("rtb-1", "0.0.0.0/0") == "r-rtb-11080289494"  # the real provider's id for this route
    assert maps.find_route(rtb, "192.168.0.0/16") is None


def test_log_group_arn_drops_the_wildcard() -> None:
    group = {"logGroupName": "/x", "arn": "arn:aws:logs:us-east-1:1:log-group:/x:*", "retentionInDays": 7}
    assert maps.log_group_state(group)["arn"] == "arn:aws:logs:us-east-1:1:log-group:/x"


def test_run_instances_args_from_the_template_shape() -> None:
    state = {
        "ami": "ami-unknown",
        "instance_type": "t3.micro",
        "subnet_id": "subnet-1",
        "vpc_security_group_ids": ["sg-1"],
        "associate_public_ip_address": True,
        "iam_instance_profile": "orders-dev-host",
        "user_data": "#!/bin/sh\n",
        "monitoring": True,
        "ebs_optimized": True,
        "metadata_options": [
            {
                "http_endpoint": "enabled",
                "http_tokens": "required",
                "http_put_response_hop_limit": 2,
                "http_protocol_ipv6": UNKNOWN,
            }
        ],
        "root_block_device": [{"encrypted": True, "volume_type": "gp3", "volume_size": 20, "volume_id": UNKNOWN}],
        "private_ip": UNKNOWN,
    }
    args = run_instances_args(state, {"ImageId": "ami-12c6146b", "RootDeviceName": "/dev/xvda"}, {"Name": "n"})
    assert args["ImageId"] == "ami-12c6146b"
    assert args["NetworkInterfaces"] == [
        {
            "DeviceIndex": 0,
            "SubnetId": "subnet-1",
            "AssociatePublicIpAddress": True,
            "DeleteOnTermination": True,
            "Groups": ["sg-1"],
        }
    ]
    assert "SubnetId" not in args and "PrivateIpAddress" not in args
    assert args["IamInstanceProfile"] == {"Name": "orders-dev-host"}
    assert args["MetadataOptions"] == {
        "HttpEndpoint": "enabled",
        "HttpTokens": "required",
        "HttpPutResponseHopLimit": 2,
    }
    assert args["BlockDeviceMappings"] == [
        {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 20, "VolumeType": "gp3", "Encrypted": True}}
    ]
    assert args["TagSpecifications"] == [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "n"}]}]
    assert metadata_options({}) == {}


def test_merge_observed_fills_only_unknowns() -> None:
    planned = [{"device_name": UNKNOWN, "volume_size": 20, "volume_id": UNKNOWN, "kms_key_id": None}]
    observed = {"device_name": "/dev/sda1", "volume_size": 8, "volume_id": "vol-1", "kms_key_id": "k"}
    assert merge_observed(planned, observed) == [
        {"device_name": "/dev/sda1", "volume_size": 20, "volume_id": "vol-1", "kms_key_id": None}
    ]
    assert merge_observed(UNKNOWN, None) is UNKNOWN and merge_observed("a", "b") == "a"


def test_backends_switch_on_endpoint_only() -> None:
    assert backends.resource_handler("aws_vpc", {}) is None
    handler = backends.resource_handler("aws_vpc", {"AWS_ENDPOINT_URL": "http://127.0.0.1:1"})
    assert handler is not None and handler.label == "EC2 VPC"
    assert backends.resource_handler("aws_eip", {"AWS_ENDPOINT_URL": "http://x"}) is None  # stays schema-only
    assert backends.data_handler("aws_vpc", {"AWS_ENDPOINT_URL": "http://x"}) is not None
    assert "user_data" in backends.replace_attributes("aws_instance", {"AWS_ENDPOINT_URL": "http://x"})
    assert backends.replace_attributes("aws_instance", {}) == ()


def test_registry_entries_all_load() -> None:
    env = {"AWS_ENDPOINT_URL": "http://x", "MONGODB_ATLAS_BASE_URL": "http://y"}
    for type_name in backends.RESOURCES:
        assert backends.resource_handler(type_name, env) is not None, type_name
    for type_name in backends.DATA_SOURCES:
        assert backends.data_handler(type_name, env) is not None, type_name


def test_each_cloud_switches_on_with_its_own_endpoint() -> None:
    assert backends.resource_handler("mongodbatlas_database_user", {"AWS_ENDPOINT_URL": "http://x"}) is None
    assert backends.resource_handler("aws_vpc", {"MONGODB_ATLAS_BASE_URL": "http://y"}) is None
    assert backends.resource_handler("mongodbatlas_database_user", {"MONGODB_ATLAS_BASE_URL": "http://y"}) is not None


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [("", None), ("  ", None), ("aws_instance", ("aws_instance", 0)), ("aws_route:2", ("aws_route", 2))],
)
def test_parse_fault(spec: str, parsed: tuple[str, int] | None) -> None:
    assert backends.parse_fault(spec) == parsed


def test_injected_fault_counts_creates() -> None:
    env = {backends.FAIL_ON_ENV: "aws_test_only:2"}
    assert backends.injected_fault("aws_vpc", env) is None
    assert backends.injected_fault("aws_test_only", env) is None
    message = backends.injected_fault("aws_test_only", env)
    assert message is not None and "injected failure" in message
    assert backends.injected_fault("aws_test_only", env) is None


def test_context_region_and_default_tags() -> None:
    aws = AwsContext({"region": "eu-west-1", "default_tags": [{"tags": {"a": "1", "b": "2"}}]}, environ={})
    assert aws.region == "eu-west-1"
    assert aws.tags({"tags": {"b": "x"}}) == {"a": "1", "b": "x"}
    assert AwsContext({}, environ={"AWS_DEFAULT_REGION": "ap-south-1"}).region == "ap-south-1"


class _ClientError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.response = {"Error": {"Code": code, "Message": message}}


def test_error_helpers() -> None:
    assert is_not_found(_ClientError("InvalidVpcID.NotFound", "gone"))
    assert is_not_found(_ClientError("NoSuchEntity", "gone"))
    assert not is_not_found(_ClientError("DependencyViolation", "busy"))
    assert describe_error(_ClientError("InvalidAMIID.Malformed", "bad ami")) == "InvalidAMIID.Malformed: bad ami"
    assert describe_error(ValueError("plain")) == "plain"
