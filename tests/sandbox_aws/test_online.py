"""The Online model: SSM only sees running instances whose role has the SSM policy and whose subnet reaches SSM."""

from __future__ import annotations

import time
from typing import Any

import pytest

from atlasiam_sandbox.aws import HostSettings, SandboxCloud

from ._helpers import run

# moto's state is process-global: keep this package's tests on one xdist worker (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("sandbox_aws")


def _ping(ssm: Any, instance_id: str) -> str | None:
    rows = ssm.describe_instance_information(Filters=[{"Key": "InstanceIds", "Values": [instance_id]}])[
        "InstanceInformationList"
    ]
    return rows[0]["PingStatus"] if rows else None


def _send(ssm: Any, instance_id: str) -> str:
    command: dict[str, Any] = ssm.send_command(
        InstanceIds=[instance_id], DocumentName="AWS-RunShellScript", Parameters={"commands": ["true"]}
    )["Command"]
    return str(command["CommandId"])


def test_online_host_is_described(ssm: Any, cloud: SandboxCloud) -> None:
    host = cloud.launch_host("online")
    info = ssm.describe_instance_information(
        InstanceInformationFilterList=[{"key": "InstanceIds", "valueSet": [host.instance_id]}]
    )["InstanceInformationList"]
    assert len(info) == 1
    row = info[0]
    assert row["InstanceId"] == host.instance_id
    assert row["PingStatus"] == "Online"
    assert row["PlatformName"] == "Amazon Linux"
    assert row["IsLatestVersion"] is True
    assert row["ResourceType"] == "EC2Instance"


def test_role_without_ssm_policy_never_registers(ssm: Any, cloud: SandboxCloud) -> None:
    host = cloud.launch_host("nopolicy", ssm_policy=False)
    assert _ping(ssm, host.instance_id) is None
    with pytest.raises(ssm.exceptions.InvalidInstanceId):
        _send(ssm, host.instance_id)
    status = cloud.hosts.status(host.instance_id)
    assert status is not None
    assert any("AmazonSSMManagedInstanceCore" in p for p in status.problems)
    # Attaching the policy later is enough (no relaunch), as with the real agent's retry.
    cloud.client("iam").attach_role_policy(
        RoleName=host.role_name, PolicyArn="arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    )
    assert _ping(ssm, host.instance_id) == "Online"


def test_no_instance_profile(ssm: Any, cloud: SandboxCloud) -> None:
    host = cloud.launch_host("noprofile", instance_profile=False)
    with pytest.raises(ssm.exceptions.InvalidInstanceId):
        _send(ssm, host.instance_id)


def test_stopped_instance_loses_connection(ssm: Any, cloud: SandboxCloud) -> None:
    host = cloud.launch_host("stopper")
    assert _ping(ssm, host.instance_id) == "Online"
    ec2 = cloud.client("ec2")
    ec2.stop_instances(InstanceIds=[host.instance_id])
    assert _ping(ssm, host.instance_id) == "ConnectionLost"
    with pytest.raises(ssm.exceptions.InvalidInstanceId):
        _send(ssm, host.instance_id)
    ec2.start_instances(InstanceIds=[host.instance_id])
    assert _ping(ssm, host.instance_id) == "Online"


def test_subnet_without_route(ssm: Any, cloud: SandboxCloud) -> None:
    host = cloud.launch_host("private", internet_route=False)
    assert _ping(ssm, host.instance_id) is None
    with pytest.raises(ssm.exceptions.InvalidInstanceId):
        _send(ssm, host.instance_id)
    # Adding an IGW route to the VPC's main route table fixes it.
    ec2 = cloud.client("ec2")
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=host.vpc_id)
    main = ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [host.vpc_id]}, {"Name": "association.main", "Values": ["true"]}]
    )["RouteTables"][0]["RouteTableId"]
    ec2.create_route(RouteTableId=main, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    assert _ping(ssm, host.instance_id) == "Online"


def test_network_override(ssm: Any, cloud: SandboxCloud) -> None:
    host = cloud.launch_host("override", settings=HostSettings(network_ok=False))
    with pytest.raises(ssm.exceptions.InvalidInstanceId):
        _send(ssm, host.instance_id)
    cloud.hosts.configure(host.instance_id, network_ok=None)
    assert run(ssm, host.instance_id, "true")["Status"] == "Success"


def test_registration_delay(ssm: Any, cloud: SandboxCloud) -> None:
    host = cloud.launch_host("slowagent", settings=HostSettings(registration_delay=0.6))
    with pytest.raises(ssm.exceptions.InvalidInstanceId):
        _send(ssm, host.instance_id)
    assert _ping(ssm, host.instance_id) is None
    deadline = time.monotonic() + 5
    while _ping(ssm, host.instance_id) != "Online":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert run(ssm, host.instance_id, "true")["Status"] == "Success"
