"""Pure mappings from AWS API responses (as boto3 returns them) to Terraform attribute values.

No I/O here: the handlers in `aws_*` call the API and hand the response dicts to these functions.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

from atlasiam_sandbox.provider.backends.base import Observed

# Attribute values for the EC2 rule protocols the provider normalizes.
_PROTOCOL_NAMES = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}


def tag_dict(tags: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    """`[{"Key": k, "Value": v}]` (EC2/IAM style) -> `{k: v}`."""
    return {str(t["Key"]): str(t.get("Value", "")) for t in tags or ()}


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """`{k: v}` -> `[{"Key": k, "Value": v}]`, sorted by key."""
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def rfc3339(value: Any) -> str | None:
    """A boto3 timestamp (datetime) or string as RFC 3339 UTC with a `Z` suffix."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return aware.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value) if value else None


def policy_json(document: Any) -> str:
    """An IAM policy document as boto3 returns it (dict or URL-encoded text) -> compact JSON text."""
    if isinstance(document, str):
        text = unquote(document)
        try:
            document = json.loads(text)
        except ValueError:
            return text
    return json.dumps(document, separators=(",", ":"), sort_keys=False)


def same_policy(a: Any, b: Any) -> bool:
    """Whether two policy documents (text or data) are equivalent JSON."""
    try:
        return bool(json.loads(policy_json(a)) == json.loads(policy_json(b)))
    except ValueError:
        return policy_json(a) == policy_json(b)


def ec2_arn(region: str, account: str, kind: str, ident: str) -> str:
    """`arn:aws:ec2:<region>:<account>:<kind>/<id>`."""
    return f"arn:aws:ec2:{region}:{account}:{kind}/{ident}"


def vpc_state(
    vpc: Mapping[str, Any],
    region: str,
    defaults: Mapping[str, str | None],
    dns: Mapping[str, bool] | None = None,
) -> Observed:
    """A `DescribeVpcs` entry plus the VPC's default objects -> aws_vpc attributes.

    Args:
        vpc: One element of `Vpcs`.
        region: The provider's region (for the ARN).
        defaults: `main_route_table_id`, `default_security_group_id`, `default_network_acl_id`.
        dns: `enable_dns_support` / `enable_dns_hostnames`, if read.
    """
    owner = str(vpc.get("OwnerId", ""))
    main_rtb = defaults.get("main_route_table_id")
    out: Observed = {
        "id": vpc["VpcId"],
        "arn": ec2_arn(region, owner, "vpc", vpc["VpcId"]),
        "cidr_block": vpc.get("CidrBlock"),
        "instance_tenancy": vpc.get("InstanceTenancy", "default"),
        "dhcp_options_id": vpc.get("DhcpOptionsId"),
        "owner_id": owner,
        "main_route_table_id": main_rtb,
        "default_route_table_id": main_rtb,
        "default_security_group_id": defaults.get("default_security_group_id"),
        "default_network_acl_id": defaults.get("default_network_acl_id"),
        "ipv6_association_id": "",
        "ipv6_cidr_block": "",
        "ipv6_cidr_block_network_border_group": "",
        "tags_all": tag_dict(vpc.get("Tags")),
        "region": region,
    }
    out.update(dns or {})
    return out


def subnet_state(subnet: Mapping[str, Any], region: str) -> Observed:
    """A `DescribeSubnets` entry -> aws_subnet attributes."""
    owner = str(subnet.get("OwnerId", ""))
    return {
        "id": subnet["SubnetId"],
        "arn": subnet.get("SubnetArn") or ec2_arn(region, owner, "subnet", subnet["SubnetId"]),
        "vpc_id": subnet.get("VpcId"),
        "cidr_block": subnet.get("CidrBlock"),
        "availability_zone": subnet.get("AvailabilityZone"),
        "availability_zone_id": subnet.get("AvailabilityZoneId"),
        "map_public_ip_on_launch": bool(subnet.get("MapPublicIpOnLaunch", False)),
        "default_for_az": bool(subnet.get("DefaultForAz", False)),
        "available_ip_address_count": subnet.get("AvailableIpAddressCount", 0),
        "state": subnet.get("State", "available"),
        "owner_id": owner,
        "ipv6_cidr_block_association_id": "",
        "private_dns_hostname_type_on_launch": (subnet.get("PrivateDnsNameOptionsOnLaunch") or {}).get(
            "HostnameType", "ip-name"
        ),
        "tags_all": tag_dict(subnet.get("Tags")),
        "region": region,
    }


def internet_gateway_state(igw: Mapping[str, Any], region: str) -> Observed:
    """A `DescribeInternetGateways` entry -> aws_internet_gateway attributes."""
    owner = str(igw.get("OwnerId", ""))
    attached = [a["VpcId"] for a in igw.get("Attachments", ()) if a.get("VpcId")]
    return {
        "id": igw["InternetGatewayId"],
        "arn": ec2_arn(region, owner, "internet-gateway", igw["InternetGatewayId"]),
        "owner_id": owner,
        "vpc_id": attached[0] if attached else "",
        "tags_all": tag_dict(igw.get("Tags")),
        "region": region,
    }


def route_table_state(rtb: Mapping[str, Any], region: str) -> Observed:
    """A `DescribeRouteTables` entry -> aws_route_table attributes (inline `route` is left to the config)."""
    owner = str(rtb.get("OwnerId", ""))
    return {
        "id": rtb["RouteTableId"],
        "arn": ec2_arn(region, owner, "route-table", rtb["RouteTableId"]),
        "owner_id": owner,
        "vpc_id": rtb.get("VpcId"),
        "propagating_vgws": [],
        "route": [],
        "tags_all": tag_dict(rtb.get("Tags")),
        "region": region,
    }


def route_id(route_table_id: str, destination: str) -> str:
    """The provider's route id: `r-<route table id><crc32 of the destination>`."""
    return f"r-{route_table_id}{zlib.crc32(destination.encode())}"


def find_route(rtb: Mapping[str, Any], destination: str) -> Mapping[str, Any] | None:
    """The route of `rtb` for an IPv4/IPv6 CIDR or prefix list destination."""
    for route in rtb.get("Routes", ()):
        if destination in (
            route.get("DestinationCidrBlock"),
            route.get("DestinationIpv6CidrBlock"),
            route.get("DestinationPrefixListId"),
        ):
            return dict(route)
    return None


def route_state(route: Mapping[str, Any], route_table_id: str, destination: str, region: str) -> Observed:
    """One element of a route table's `Routes` -> aws_route attributes."""
    return {
        "id": route_id(route_table_id, destination),
        "route_table_id": route_table_id,
        "gateway_id": route.get("GatewayId"),
        "nat_gateway_id": route.get("NatGatewayId"),
        "instance_id": route.get("InstanceId", ""),
        "instance_owner_id": route.get("InstanceOwnerId", ""),
        "network_interface_id": route.get("NetworkInterfaceId", ""),
        "origin": route.get("Origin", "CreateRoute"),
        "state": route.get("State", "active"),
        "region": region,
    }


def security_group_state(sg: Mapping[str, Any], region: str) -> Observed:
    """A `DescribeSecurityGroups` entry -> aws_security_group / aws_default_security_group attributes.

    Inline `ingress`/`egress` stay empty: atlasiam manages rules as separate resources, and the real provider
    keeps these sets in step with the configuration when they are not configured.
    """
    owner = str(sg.get("OwnerId", ""))
    return {
        "id": sg["GroupId"],
        "arn": sg.get("SecurityGroupArn") or ec2_arn(region, owner, "security-group", sg["GroupId"]),
        "name": sg.get("GroupName"),
        "name_prefix": "",
        "description": sg.get("Description"),
        "vpc_id": sg.get("VpcId"),
        "owner_id": owner,
        "ingress": [],
        "egress": [],
        "tags_all": tag_dict(sg.get("Tags")),
        "region": region,
    }


def protocol_name(protocol: Any) -> str:
    """The provider's spelling of an `IpProtocol` (`6` -> `tcp`, `-1` stays `-1`)."""
    text = str(protocol).lower()
    return _PROTOCOL_NAMES.get(text, text)


def security_group_rule_state(rule: Mapping[str, Any], region: str, account: str) -> Observed:
    """A `SecurityGroupRules` entry -> aws_vpc_security_group_{ingress,egress}_rule attributes."""
    ident = rule["SecurityGroupRuleId"]
    protocol = protocol_name(rule.get("IpProtocol", "-1"))
    all_ports = protocol == "-1"
    return {
        "id": ident,
        "security_group_rule_id": ident,
        "arn": ec2_arn(region, str(rule.get("GroupOwnerId") or account), "security-group-rule", ident),
        "security_group_id": rule.get("GroupId"),
        "ip_protocol": protocol,
        "from_port": None if all_ports else rule.get("FromPort"),
        "to_port": None if all_ports else rule.get("ToPort"),
        "cidr_ipv4": rule.get("CidrIpv4"),
        "cidr_ipv6": rule.get("CidrIpv6"),
        "prefix_list_id": rule.get("PrefixListId"),
        "referenced_security_group_id": (rule.get("ReferencedGroupInfo") or {}).get("GroupId"),
        "description": rule.get("Description"),
        "tags_all": tag_dict(rule.get("Tags")),
        "region": region,
    }


def rule_permission(state: Mapping[str, Any]) -> dict[str, Any]:
    """aws_vpc_security_group_*_rule configuration (plain data) -> one EC2 `IpPermissions` entry."""
    perm: dict[str, Any] = {"IpProtocol": str(state.get("ip_protocol") or "-1")}
    if state.get("from_port") is not None:
        perm["FromPort"] = int(state["from_port"])
    if state.get("to_port") is not None:
        perm["ToPort"] = int(state["to_port"])
    desc = {"Description": state["description"]} if state.get("description") else {}
    if state.get("cidr_ipv4"):
        perm["IpRanges"] = [{"CidrIp": state["cidr_ipv4"], **desc}]
    if state.get("cidr_ipv6"):
        perm["Ipv6Ranges"] = [{"CidrIpv6": state["cidr_ipv6"], **desc}]
    if state.get("prefix_list_id"):
        perm["PrefixListIds"] = [{"PrefixListId": state["prefix_list_id"], **desc}]
    if state.get("referenced_security_group_id"):
        perm["UserIdGroupPairs"] = [{"GroupId": state["referenced_security_group_id"], **desc}]
    return perm


def role_state(role: Mapping[str, Any], attached: Iterable[str] | None = None) -> Observed:
    """A `GetRole` result -> aws_iam_role attributes."""
    out: Observed = {
        "id": role["RoleName"],
        "name": role["RoleName"],
        "name_prefix": "",
        "path": role.get("Path", "/"),
        "arn": role["Arn"],
        "unique_id": role.get("RoleId"),
        "create_date": rfc3339(role.get("CreateDate")),
        "description": role.get("Description"),
        "max_session_duration": role.get("MaxSessionDuration", 3600),
        "assume_role_policy": policy_json(role.get("AssumeRolePolicyDocument", "")),
        "tags_all": tag_dict(role.get("Tags")),
    }
    if attached is not None:
        out["managed_policy_arns"] = sorted(attached)
    return out


def instance_profile_state(profile: Mapping[str, Any]) -> Observed:
    """A `GetInstanceProfile` result -> aws_iam_instance_profile attributes."""
    roles = [r["RoleName"] for r in profile.get("Roles", ())]
    return {
        "id": profile["InstanceProfileName"],
        "name": profile["InstanceProfileName"],
        "name_prefix": "",
        "path": profile.get("Path", "/"),
        "arn": profile["Arn"],
        "unique_id": profile.get("InstanceProfileId"),
        "create_date": rfc3339(profile.get("CreateDate")),
        "role": roles[0] if roles else None,
        "tags_all": tag_dict(profile.get("Tags")),
    }


def profile_name(arn: str | None) -> str | None:
    """`arn:aws:iam::123:instance-profile/path/name` -> `name`."""
    return arn.rsplit("/", 1)[-1] if arn else None


def instance_state(inst: Mapping[str, Any], region: str) -> Observed:
    """A `DescribeInstances` instance -> aws_instance attributes (the AMI stays as configured)."""
    owner = str(inst.get("OwnerId") or _eni_owner(inst))
    enis = inst.get("NetworkInterfaces") or []
    primary = next((n for n in enis if (n.get("Attachment") or {}).get("DeviceIndex") == 0), enis[0] if enis else {})
    groups = [g["GroupId"] for g in inst.get("SecurityGroups") or primary.get("Groups") or ()]
    placement = inst.get("Placement") or {}
    metadata = inst.get("MetadataOptions") or {}
    return {
        "id": inst["InstanceId"],
        "arn": ec2_arn(region, owner, "instance", inst["InstanceId"]),
        "instance_type": inst.get("InstanceType"),
        "instance_state": (inst.get("State") or {}).get("Name"),
        "availability_zone": placement.get("AvailabilityZone"),
        "tenancy": placement.get("Tenancy", "default"),
        "subnet_id": inst.get("SubnetId"),
        "vpc_security_group_ids": sorted(groups),
        "security_groups": [],
        "private_ip": inst.get("PrivateIpAddress"),
        "private_dns": inst.get("PrivateDnsName"),
        "public_ip": inst.get("PublicIpAddress") or "",
        "public_dns": inst.get("PublicDnsName") or "",
        "primary_network_interface_id": primary.get("NetworkInterfaceId"),
        "iam_instance_profile": profile_name((inst.get("IamInstanceProfile") or {}).get("Arn")) or "",
        "ebs_optimized": bool(inst.get("EbsOptimized", False)),
        "monitoring": (inst.get("Monitoring") or {}).get("State") in ("enabled", "pending"),
        "source_dest_check": inst.get("SourceDestCheck", True),
        "owner_id": owner,
        "metadata_options": {
            "http_endpoint": metadata.get("HttpEndpoint", "enabled"),
            "http_tokens": metadata.get("HttpTokens", "optional"),
            "http_put_response_hop_limit": metadata.get("HttpPutResponseHopLimit", 1),
            "http_protocol_ipv6": metadata.get("HttpProtocolIpv6", "disabled"),
            "instance_metadata_tags": metadata.get("InstanceMetadataTags", "disabled"),
        },
        "tags_all": tag_dict(inst.get("Tags")),
        "region": region,
    }


def _eni_owner(inst: Mapping[str, Any]) -> str:
    for eni in inst.get("NetworkInterfaces") or ():
        if eni.get("OwnerId"):
            return str(eni["OwnerId"])
    return ""


def instance_is_gone(inst: Mapping[str, Any] | None) -> bool:
    """A missing, terminated or terminating instance counts as gone (Terraform plans to recreate it)."""
    if inst is None:
        return True
    return (inst.get("State") or {}).get("Name") in ("terminated", "shutting-down")


def log_group_state(group: Mapping[str, Any], tags: Mapping[str, str] | None = None) -> Observed:
    """A `DescribeLogGroups` entry -> aws_cloudwatch_log_group attributes (ARN without the `:*` suffix)."""
    arn = str(group.get("logGroupArn") or str(group.get("arn", "")).removesuffix(":*"))
    return {
        "id": group["logGroupName"],
        "name": group["logGroupName"],
        "name_prefix": "",
        "arn": arn,
        "retention_in_days": group.get("retentionInDays", 0),
        "log_group_class": group.get("logGroupClass", "STANDARD"),
        "deletion_protection_enabled": bool(group.get("deletionProtectionEnabled", False)),
        "tags_all": dict(tags or {}),
    }


def flow_log_state(flow: Mapping[str, Any], region: str, account: str) -> Observed:
    """A `DescribeFlowLogs` entry -> aws_flow_log attributes."""
    ident = flow["FlowLogId"]
    return {
        "id": ident,
        "arn": ec2_arn(region, account, "vpc-flow-log", ident),
        "log_destination": flow.get("LogDestination") or "",
        "log_destination_type": flow.get("LogDestinationType", "cloud-watch-logs"),
        "log_format": flow.get("LogFormat") or "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr}",
        "traffic_type": flow.get("TrafficType"),
        "max_aggregation_interval": flow.get("MaxAggregationInterval", 600),
        "tags_all": tag_dict(flow.get("Tags")),
        "region": region,
    }


def data_vpc_state(vpc: Mapping[str, Any], region: str, main_route_table_id: str | None) -> Observed:
    """A `DescribeVpcs` entry -> data aws_vpc attributes."""
    owner = str(vpc.get("OwnerId", ""))
    return {
        "id": vpc["VpcId"],
        "arn": ec2_arn(region, owner, "vpc", vpc["VpcId"]),
        "cidr_block": vpc.get("CidrBlock"),
        "cidr_block_associations": [
            {
                "association_id": a.get("AssociationId"),
                "cidr_block": a.get("CidrBlock"),
                "state": (a.get("CidrBlockState") or {}).get("State", "associated"),
            }
            for a in vpc.get("CidrBlockAssociationSet", ())
        ],
        "default": bool(vpc.get("IsDefault", False)),
        "dhcp_options_id": vpc.get("DhcpOptionsId"),
        "instance_tenancy": vpc.get("InstanceTenancy", "default"),
        "main_route_table_id": main_route_table_id,
        "owner_id": owner,
        "state": vpc.get("State", "available"),
        "ipv6_association_id": "",
        "ipv6_cidr_block": "",
        "tags": tag_dict(vpc.get("Tags")),
        "region": region,
    }


def data_subnet_state(subnet: Mapping[str, Any], region: str) -> Observed:
    """A `DescribeSubnets` entry -> data aws_subnet attributes."""
    out = subnet_state(subnet, region)
    out["tags"] = out.pop("tags_all")
    return out


def caller_identity_state(identity: Mapping[str, Any]) -> Observed:
    """A `GetCallerIdentity` result -> data aws_caller_identity attributes."""
    return {
        "id": identity["Account"],
        "account_id": identity["Account"],
        "arn": identity["Arn"],
        "user_id": identity["UserId"],
    }


def ssm_parameter_state(param: Mapping[str, Any]) -> Observed:
    """A `GetParameter` result's `Parameter` -> data aws_ssm_parameter attributes."""
    value = param.get("Value")
    return {
        "id": param["Name"],
        "arn": param.get("ARN"),
        "type": param.get("Type", "String"),
        "value": value,
        "insecure_value": value,
        "version": param.get("Version", 1),
    }


def vpc_endpoint_state(endpoint: Mapping[str, Any], region: str, prefix_list: Mapping[str, Any] | None) -> Observed:
    """A `DescribeVpcEndpoints` entry (+ a Gateway service's managed prefix list) -> aws_vpc_endpoint attributes."""
    owner = str(endpoint.get("OwnerId", ""))
    ident = endpoint["VpcEndpointId"]
    dns_options = endpoint.get("DnsOptions") or {}
    return {
        "id": ident,
        "arn": ec2_arn(region, owner, "vpc-endpoint", ident),
        "vpc_id": endpoint.get("VpcId"),
        "service_name": endpoint.get("ServiceName"),
        "vpc_endpoint_type": endpoint.get("VpcEndpointType"),
        "state": endpoint.get("State"),
        "policy": policy_json(endpoint["PolicyDocument"]) if endpoint.get("PolicyDocument") else "",
        "route_table_ids": sorted(endpoint.get("RouteTableIds") or []),
        "subnet_ids": sorted(endpoint.get("SubnetIds") or []),
        "security_group_ids": sorted(g["GroupId"] for g in endpoint.get("Groups") or ()),
        "network_interface_ids": sorted(endpoint.get("NetworkInterfaceIds") or []),
        "private_dns_enabled": bool(endpoint.get("PrivateDnsEnabled", False)),
        "requester_managed": bool(endpoint.get("RequesterManaged", False)),
        "dns_entry": [
            {"dns_name": e.get("DnsName", ""), "hosted_zone_id": e.get("HostedZoneId", "")}
            for e in endpoint.get("DnsEntries") or ()
        ],
        "ip_address_type": endpoint.get("IpAddressType") or "ipv4",
        "dns_options": {
            "dns_record_ip_type": dns_options.get("DnsRecordIpType") or "ipv4",
            "private_dns_only_for_inbound_resolver_endpoint": dns_options.get(
                "PrivateDnsOnlyForInboundResolverEndpoint"
            ),
        },
        "prefix_list_id": (prefix_list or {}).get("PrefixListId") or "",
        "cidr_blocks": list((prefix_list or {}).get("Cidrs") or []),
        "owner_id": owner,
        "service_region": region,
        "tags_all": tag_dict(endpoint.get("Tags")),
        "region": region,
    }


def instance_type_offerings_state(offerings: Iterable[Mapping[str, Any]], region: str) -> Observed:
    """`DescribeInstanceTypeOfferings` entries -> data aws_ec2_instance_type_offerings parallel lists."""
    items = list(offerings)
    return {
        "id": region,
        "instance_types": [str(o.get("InstanceType")) for o in items],
        "locations": [str(o.get("Location")) for o in items],
        "location_types": [str(o.get("LocationType")) for o in items],
        "region": region,
    }


#: Route 53 hosted zone ids of the S3 website/regional endpoints (the provider's `hostedZoneIDsMap`, a few regions).
S3_HOSTED_ZONES = {
    "us-east-1": "Z3AQBSTGFYJSTF",
    "us-east-2": "Z2O1EMRO9K5GLX",
    "us-west-1": "Z2F56UZL2M1ACD",
    "us-west-2": "Z3BJ6K6RIION7M",
    "eu-west-1": "Z1BKCTXD74EZPE",
    "eu-central-1": "Z21DNDUVLTQW6Q",
}


def s3_bucket_state(name: str, region: str, tags: Mapping[str, str]) -> Observed:
    """A bucket that HeadBucket found -> aws_s3_bucket attributes (names as the provider derives them)."""
    return {
        "id": name,
        "bucket": name,
        "bucket_prefix": None,
        "arn": f"arn:aws:s3:::{name}",
        "bucket_domain_name": f"{name}.s3.amazonaws.com",
        "bucket_regional_domain_name": f"{name}.s3.{region}.amazonaws.com",
        "bucket_region": region,
        "hosted_zone_id": S3_HOSTED_ZONES.get(region, ""),
        "object_lock_enabled": False,
        "request_payer": "BucketOwner",
        "acceleration_status": "",
        "policy": "",
        "region": region,
        "tags_all": dict(tags),
    }


def s3_object_state(bucket: str, key: str, head: Mapping[str, Any], region: str) -> Observed:
    """A `HeadObject` result -> aws_s3_object attributes."""
    return {
        "id": key,
        "bucket": bucket,
        "key": key,
        "arn": f"arn:aws:s3:::{bucket}/{key}",
        "etag": str(head.get("ETag", "")).strip('"'),
        "version_id": head.get("VersionId") or "",
        "content_type": head.get("ContentType") or "application/octet-stream",
        "storage_class": head.get("StorageClass") or "STANDARD",
        "server_side_encryption": head.get("ServerSideEncryption") or "AES256",
        "bucket_key_enabled": bool(head.get("BucketKeyEnabled", False)),
        "kms_key_id": head.get("SSEKMSKeyId") or "",
        "acl": "private",
        "region": region,
    }
