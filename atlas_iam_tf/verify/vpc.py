"""The host's VPC DNS attributes, read when a private-endpoint host name did not resolve on the host.

A VPC resolves names through the Amazon-provided DNS server only with ``enableDnsSupport``, and gives private
DNS names only with ``enableDnsHostnames`` as well; interface endpoints with private DNS need both
(https://docs.aws.amazon.com/vpc/latest/userguide/AmazonDNS-concepts.html#vpc-dns-support). EC2
``DescribeInstances`` names the instance's VPC and ``DescribeVpcAttribute`` (one attribute per call) answers
``{"EnableDnsSupport": {"Value": true}}`` or ``{"EnableDnsHostnames": {"Value": false}}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class VpcDns:
    """The DNS attributes of the VPC a host is in."""

    vpc_id: str
    dns_support: bool
    dns_hostnames: bool

    @property
    def off(self) -> tuple[str, ...]:
        """The attributes that are off, by their API names."""
        return tuple(
            name
            for name, on in (("enableDnsSupport", self.dns_support), ("enableDnsHostnames", self.dns_hostnames))
            if not on
        )


def read_vpc_dns(ec2: Any, instance_id: str) -> tuple[VpcDns | None, str | None]:
    """The instance's VPC DNS attributes, or None and why they could not be read (the AWS error, in one line)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        reservations = ec2.describe_instances(InstanceIds=[instance_id]).get("Reservations", [])
        vpc_id = next((i.get("VpcId") for r in reservations for i in r.get("Instances", []) if i.get("VpcId")), None)
        if not vpc_id:
            return None, f"EC2 names no VPC for {instance_id}"
        support = ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsSupport")
        hostnames = ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsHostnames")
    except (BotoCoreError, ClientError) as err:
        return None, f"EC2 did not say (DescribeInstances, DescribeVpcAttribute): {err}"
    return (
        VpcDns(
            vpc_id=str(vpc_id),
            dns_support=bool(support.get("EnableDnsSupport", {}).get("Value")),
            dns_hostnames=bool(hostnames.get("EnableDnsHostnames", {}).get("Value")),
        ),
        None,
    )
