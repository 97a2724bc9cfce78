"""Plausible generated values for hashicorp/aws resources and data sources (data + small hooks)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from atlasiam_sandbox.provider import policy_doc
from atlasiam_sandbox.provider.gen import ACCOUNT_ID, FillContext, Hook
from atlasiam_sandbox.provider.planning import default_tags

CREATE_DATE = "2026-01-01T00:00:00Z"

# type -> (id prefix, ARN service, ARN resource kind); ids are prefix + 17 hex digits.
EC2_LIKE: dict[str, tuple[str, str, str]] = {
    "aws_vpc": ("vpc-", "ec2", "vpc"),
    "aws_subnet": ("subnet-", "ec2", "subnet"),
    "aws_internet_gateway": ("igw-", "ec2", "internet-gateway"),
    "aws_egress_only_internet_gateway": ("eigw-", "ec2", "egress-only-internet-gateway"),
    "aws_nat_gateway": ("nat-", "ec2", "natgateway"),
    "aws_route_table": ("rtb-", "ec2", "route-table"),
    "aws_default_route_table": ("rtb-", "ec2", "route-table"),
    "aws_route_table_association": ("rtbassoc-", "ec2", "route-table-association"),
    "aws_main_route_table_association": ("rtbassoc-", "ec2", "route-table-association"),
    "aws_security_group": ("sg-", "ec2", "security-group"),
    "aws_default_security_group": ("sg-", "ec2", "security-group"),
    "aws_security_group_rule": ("sgr-", "ec2", "security-group-rule"),
    "aws_vpc_security_group_ingress_rule": ("sgr-", "ec2", "security-group-rule"),
    "aws_vpc_security_group_egress_rule": ("sgr-", "ec2", "security-group-rule"),
    "aws_instance": ("i-", "ec2", "instance"),
    "aws_eip": ("eipalloc-", "ec2", "elastic-ip"),
    "aws_eip_association": ("eipassoc-", "ec2", "elastic-ip-association"),
    "aws_network_interface": ("eni-", "ec2", "network-interface"),
    "aws_vpc_endpoint": ("vpce-", "ec2", "vpc-endpoint"),
    "aws_network_acl": ("acl-", "ec2", "network-acl"),
    "aws_launch_template": ("lt-", "ec2", "launch-template"),
    "aws_ebs_volume": ("vol-", "ec2", "volume"),
    "aws_key_pair": ("key-", "ec2", "key-pair"),
    "aws_vpc_peering_connection": ("pcx-", "ec2", "vpc-peering-connection"),
}

# Attributes whose change forces replacement (ForceNew in the real provider).
REQUIRES_REPLACE: dict[str, tuple[str, ...]] = {
    "aws_vpc": ("cidr_block", "instance_tenancy", "ipv4_ipam_pool_id"),
    "aws_subnet": ("vpc_id", "cidr_block", "availability_zone", "availability_zone_id"),
    "aws_instance": ("ami", "subnet_id", "availability_zone", "key_name", "private_ip", "tenancy"),
    "aws_security_group": ("name", "name_prefix", "vpc_id", "description"),
    "aws_security_group_rule": (
        "security_group_id",
        "type",
        "from_port",
        "to_port",
        "protocol",
        "cidr_blocks",
    ),
    "aws_route_table": ("vpc_id",),
    "aws_route_table_association": ("subnet_id", "gateway_id"),
    "aws_iam_role": ("name", "name_prefix", "path"),
    "aws_iam_instance_profile": ("name", "name_prefix", "path"),
    "aws_iam_policy": ("name", "name_prefix", "path", "description"),
    "aws_iam_user": (),
    "aws_iam_role_policy_attachment": ("role", "policy_arn"),
    "aws_iam_role_policy": ("name", "name_prefix", "role"),
    "aws_eip": ("domain",),
}


def _iam_name(ctx: FillContext) -> str:
    name = ctx.known("name")
    if name:
        return str(name)
    prefix = ctx.known("name_prefix") or "terraform-"
    return f"{prefix}{ctx.number('name', 10**26):026d}"


def _iam_unique_id(ctx: FillContext, prefix: str) -> str:
    return prefix + ctx.hex("unique_id", 17).upper()


def _iam_path(ctx: FillContext) -> str:
    return str(ctx.known("path") or "/")


def iam_role(ctx: FillContext) -> Mapping[str, Any]:
    """aws_iam_role: name, path-aware role ARN, unique id."""
    name = _iam_name(ctx)
    return {
        "id": name,
        "name": name,
        "path": _iam_path(ctx),
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:role{_iam_path(ctx)}{name}",
        "unique_id": _iam_unique_id(ctx, "AROA"),
        "create_date": CREATE_DATE,
        "max_session_duration": 3600,
    }


def iam_instance_profile(ctx: FillContext) -> Mapping[str, Any]:
    """aws_iam_instance_profile: name and instance-profile ARN."""
    name = _iam_name(ctx)
    return {
        "id": name,
        "name": name,
        "path": _iam_path(ctx),
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:instance-profile{_iam_path(ctx)}{name}",
        "unique_id": _iam_unique_id(ctx, "AIPA"),
        "create_date": CREATE_DATE,
    }


def iam_policy(ctx: FillContext) -> Mapping[str, Any]:
    """aws_iam_policy: the ARN is also the id."""
    name = _iam_name(ctx)
    arn = f"arn:aws:iam::{ACCOUNT_ID}:policy{_iam_path(ctx)}{name}"
    return {
        "id": arn,
        "arn": arn,
        "name": name,
        "path": _iam_path(ctx),
        "policy_id": _iam_unique_id(ctx, "ANPA"),
    }


def iam_user(ctx: FillContext) -> Mapping[str, Any]:
    """aws_iam_user: user ARN and unique id."""
    name = _iam_name(ctx)
    return {
        "id": name,
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:user{_iam_path(ctx)}{name}",
        "unique_id": _iam_unique_id(ctx, "AIDA"),
        "path": _iam_path(ctx),
    }


def iam_role_policy_attachment(ctx: FillContext) -> Mapping[str, Any]:
    """aws_iam_role_policy_attachment: `<role>-<timestamp-like digits>`."""
    return {"id": f"{ctx.known('role') or 'role'}-{ctx.number('id', 10**26):026d}"}


def iam_role_policy(ctx: FillContext) -> Mapping[str, Any]:
    """aws_iam_role_policy: `<role>:<name>`."""
    name = _iam_name(ctx)
    return {"id": f"{ctx.known('role') or 'role'}:{name}", "name": name}


def _ip_octet(ctx: FillContext, label: str) -> int:
    return 10 + ctx.number(label, 240)


def instance(ctx: FillContext) -> Mapping[str, Any]:
    """aws_instance: public/private IPs and DNS names from documentation/private ranges."""
    pub = f"203.0.113.{_ip_octet(ctx, 'public_ip')}"
    priv = f"10.0.{ctx.number('private_ip3', 256)}.{_ip_octet(ctx, 'private_ip')}"
    return {
        "public_ip": pub,
        "private_ip": priv,
        "public_dns": f"ec2-{pub.replace('.', '-')}.compute-1.amazonaws.com",
        "private_dns": f"ip-{priv.replace('.', '-')}.ec2.internal",
        "instance_state": "running",
        "availability_zone": f"{ctx.region}a",
        "primary_network_interface_id": f"eni-{ctx.hex('eni')}",
        "owner_id": ACCOUNT_ID,
        "subnet_id": f"subnet-{ctx.hex('subnet')}",
    }


def vpc(ctx: FillContext) -> Mapping[str, Any]:
    """aws_vpc: the default route table, security group, network ACL and DHCP options."""
    rtb = f"rtb-{ctx.hex('main_route_table')}"
    return {
        "main_route_table_id": rtb,
        "default_route_table_id": rtb,
        "default_security_group_id": f"sg-{ctx.hex('default_sg')}",
        "default_network_acl_id": f"acl-{ctx.hex('default_acl')}",
        "dhcp_options_id": f"dopt-{ctx.hex('dopt')}",
        "instance_tenancy": "default",
        "enable_dns_support": True,
    }


def subnet(ctx: FillContext) -> Mapping[str, Any]:
    """aws_subnet: availability zone in the provider's region."""
    return {"availability_zone": f"{ctx.region}a", "availability_zone_id": "use1-az1"}


def eip(ctx: FillContext) -> Mapping[str, Any]:
    """aws_eip: allocation id and a documentation-range public IP."""
    pub = f"203.0.113.{_ip_octet(ctx, 'public_ip')}"
    return {
        "allocation_id": f"eipalloc-{ctx.hex('id')}",
        "public_ip": pub,
        "public_dns": f"ec2-{pub.replace('.', '-')}.compute-1.amazonaws.com",
        "domain": "vpc",
    }


def common(ctx: FillContext) -> Mapping[str, Any]:
    """Values shared by all aws resources: ids/ARNs from `EC2_LIKE`, owner, region, tags_all."""
    tags_all = {**default_tags(ctx.provider_config), **(ctx.known("tags") or {})}
    out: dict[str, Any] = {"owner_id": ACCOUNT_ID, "region": ctx.region, "tags_all": tags_all}
    shape = EC2_LIKE.get(ctx.type_name)
    if shape is not None:
        prefix, service, kind = shape
        ident = f"{prefix}{ctx.hex('id')}"
        out["id"] = ident
        out["arn"] = f"arn:aws:{service}:{ctx.region}:{ACCOUNT_ID}:{kind}/{ident}"
        if ctx.type_name.startswith("aws_vpc_security_group_"):
            out["security_group_rule_id"] = ident
    else:
        service, _, kind = ctx.type_name.removeprefix("aws_").partition("_")
        ident = f"{ctx.type_name}-{ctx.hex('id', 8)}"
        out["arn"] = f"arn:aws:{service}:{ctx.region}:{ACCOUNT_ID}:{kind.replace('_', '-') or service}/{ident}"
    return out


def data_partition(ctx: FillContext) -> Mapping[str, Any]:  # noqa: ARG001 - hook signature
    """Data aws_partition."""
    return {
        "id": "aws",
        "partition": "aws",
        "dns_suffix": "amazonaws.com",
        "reverse_dns_prefix": "com.amazonaws",
    }


def data_region(ctx: FillContext) -> Mapping[str, Any]:
    """Data aws_region: the configured region."""
    region = ctx.known("region") or ctx.known("name") or ctx.region
    return {
        "id": region,
        "name": region,
        "region": region,
        "endpoint": f"ec2.{region}.amazonaws.com",
        "description": "US East (N. Virginia)" if region == "us-east-1" else region,
    }


def data_caller_identity(ctx: FillContext) -> Mapping[str, Any]:
    """Data aws_caller_identity."""
    return {
        "id": ACCOUNT_ID,
        "account_id": ACCOUNT_ID,
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/sandbox",
        "user_id": "AIDA" + ctx.hex("user_id", 17).upper(),
    }


def data_ssm_parameter(ctx: FillContext) -> Mapping[str, Any]:
    """Data aws_ssm_parameter: an AMI-id-looking String parameter."""
    name = str(ctx.known("name") or "parameter")
    value = f"ami-0{ctx.hex('value', 16)}"
    return {
        "id": name,
        "arn": f"arn:aws:ssm:{ctx.region}:{ACCOUNT_ID}:parameter/{name.lstrip('/')}",
        "type": "String",
        "value": value,
        "insecure_value": value,
        "version": 1,
        "data_type": "text",
    }


def data_iam_policy_document(ctx: FillContext) -> Mapping[str, Any]:
    """Data aws_iam_policy_document: real policy JSON from the statement blocks."""
    plain = {k: ctx.known(k) for k in ctx.state}
    text, minified = policy_doc.render(plain)
    return {
        "json": text,
        "minified_json": minified,
        "id": str(int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)),
    }


def data_availability_zones(ctx: FillContext) -> Mapping[str, Any]:
    """Data aws_availability_zones: three zones in the region."""
    return {
        "id": ctx.region,
        "names": [f"{ctx.region}{s}" for s in "abc"],
        "zone_ids": [f"use1-az{i}" for i in (1, 2, 4)],
        "group_names": [ctx.region],
    }


def data_ec2_instance_type_offerings(ctx: FillContext) -> Mapping[str, Any]:
    """Data aws_ec2_instance_type_offerings: every filtered instance type in the three zones above.

    Parallel lists, one entry per (instance type, location), as DescribeInstanceTypeOfferings answers;
    `location_type` defaults to `region` (EC2 API reference, DescribeInstanceTypeOfferings).
    """
    region = str(ctx.known("region") or ctx.region)
    zones = data_availability_zones(ctx)
    location_type = str(ctx.known("location_type") or "region")
    locations = {
        "availability-zone": [f"{region}{s}" for s in "abc"],
        "availability-zone-id": list(zones["zone_ids"]),
    }.get(location_type, [region])
    types = [
        str(value)
        for entry in ctx.known("filter") or []
        if entry.get("name") == "instance-type"
        for value in sorted(entry.get("values") or [])
    ] or ["t3.micro"]
    pairs = [(t, loc) for t in types for loc in locations]
    return {
        "id": region,
        "instance_types": [t for t, _ in pairs],
        "locations": [loc for _, loc in pairs],
        "location_types": [location_type] * len(pairs),
    }


def data_ami(ctx: FillContext) -> Mapping[str, Any]:
    """Data aws_ami: an AMI id."""
    ident = f"ami-0{ctx.hex('id', 16)}"
    return {
        "id": ident,
        "image_id": ident,
        "arn": f"arn:aws:ec2:{ctx.region}::image/{ident}",
        "architecture": "x86_64",
    }


RESOURCE_HOOKS: dict[str, Hook] = {
    "aws_iam_role": iam_role,
    "aws_iam_instance_profile": iam_instance_profile,
    "aws_iam_policy": iam_policy,
    "aws_iam_user": iam_user,
    "aws_iam_role_policy_attachment": iam_role_policy_attachment,
    "aws_iam_role_policy": iam_role_policy,
    "aws_instance": instance,
    "aws_vpc": vpc,
    "aws_subnet": subnet,
    "aws_eip": eip,
}

DATA_HOOKS: dict[str, Hook] = {
    "aws_partition": data_partition,
    "aws_region": data_region,
    "aws_caller_identity": data_caller_identity,
    "aws_ssm_parameter": data_ssm_parameter,
    "aws_iam_policy_document": data_iam_policy_document,
    "aws_availability_zones": data_availability_zones,
    "aws_ami": data_ami,
    "aws_ec2_instance_type_offerings": data_ec2_instance_type_offerings,
}
