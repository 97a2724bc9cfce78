"""A team's own network, as it has one before it runs atlasiam: made with boto3 in the emulated account.

The demo and the tests that verify workloads need the same thing: a VPC whose private subnet reaches the internet
only through a NAT gateway (a Lambda function in a VPC has no public IP, so that is its only way out, from the
NAT's Elastic IP), beside a public subnet routed to an internet gateway, and a security group. One function makes
it, through the standard EC2 API, so it works against the sandbox's moto in this process or behind a daemon.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TeamNetwork:
    """What :func:`team_network` made.

    Attributes:
        vpc_id: The VPC (``PREFIX.0.0/16``).
        private_subnet_id: ``PREFIX.1.0/24``: its default route goes to the NAT gateway (none without ``nat``).
        security_group_id: A security group in the VPC.
        public_subnet_id: ``PREFIX.0.0/24``, routed to an internet gateway (None without ``nat``).
        nat_ip: The NAT gateway's Elastic IP, the private subnet's egress address (None without ``nat``).
    """

    vpc_id: str
    private_subnet_id: str
    security_group_id: str
    public_subnet_id: str | None = None
    nat_ip: str | None = None


def team_network(ec2: Any, prefix: str, name: str, *, nat: bool = True) -> TeamNetwork:
    """Make the network in the VPC ``PREFIX.0.0/16`` (``prefix`` like ``"10.60"``); ``name`` names the group.

    Without ``nat`` the private subnet has only the VPC's local route: no internet at all.
    """
    vpc = str(ec2.create_vpc(CidrBlock=f"{prefix}.0.0/16")["Vpc"]["VpcId"])
    private = str(ec2.create_subnet(VpcId=vpc, CidrBlock=f"{prefix}.1.0/24")["Subnet"]["SubnetId"])
    group = str(ec2.create_security_group(GroupName=name, Description=f"{name} workload", VpcId=vpc)["GroupId"])
    private_rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=private_rt, SubnetId=private)
    if not nat:
        return TeamNetwork(vpc, private, group)
    public = str(ec2.create_subnet(VpcId=vpc, CidrBlock=f"{prefix}.0.0/24")["Subnet"]["SubnetId"])
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    public_rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=public_rt, SubnetId=public)
    eip = ec2.allocate_address(Domain="vpc")
    gateway = ec2.create_nat_gateway(SubnetId=public, AllocationId=eip["AllocationId"])["NatGateway"]["NatGatewayId"]
    ec2.create_route(RouteTableId=private_rt, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=gateway)
    return TeamNetwork(vpc, private, group, public, str(eip["PublicIp"]))
