"""VPC, subnet, internet gateway, route tables and security groups (resources and data sources) on moto."""

from __future__ import annotations

from typing import Any, ClassVar

from atlasiam_sandbox.provider.backends import maps
from atlasiam_sandbox.provider.backends.aws_ec2_common import (
    Ec2Handler,
    delete_when_free,
    ec2,
    first,
    ignore_missing,
    or_none,
)
from atlasiam_sandbox.provider.backends.base import (
    AwsContext,
    BackendError,
    DataHandler,
    Observed,
    State,
    known,
    unique_name,
)

_DNS_ATTRIBUTES = {"enable_dns_support": "EnableDnsSupport", "enable_dns_hostnames": "EnableDnsHostnames"}
_ROUTE_DESTINATIONS = {
    "destination_cidr_block": "DestinationCidrBlock",
    "destination_ipv6_cidr_block": "DestinationIpv6CidrBlock",
    "destination_prefix_list_id": "DestinationPrefixListId",
}
_ROUTE_TARGETS = {
    "gateway_id": "GatewayId",
    "nat_gateway_id": "NatGatewayId",
    "network_interface_id": "NetworkInterfaceId",
    "transit_gateway_id": "TransitGatewayId",
    "vpc_peering_connection_id": "VpcPeeringConnectionId",
    "vpc_endpoint_id": "VpcEndpointId",
    "egress_only_gateway_id": "EgressOnlyInternetGatewayId",
    "carrier_gateway_id": "CarrierGatewayId",
    "local_gateway_id": "LocalGatewayId",
    "core_network_arn": "CoreNetworkArn",
}


def _created(handler: Ec2Handler, aws: AwsContext, ident: str) -> Observed:
    observed = handler.read(aws, {"id": ident})
    if observed is None:
        raise BackendError(f"{ident} disappeared right after it was created")
    return observed


def _vpc_filter(vpc_id: str) -> dict[str, str | list[str]]:
    return {"Name": "vpc-id", "Values": [vpc_id]}


def _vpc_defaults(aws: AwsContext, vpc_id: str) -> dict[str, str | None]:
    client = ec2(aws)
    rtb = first(
        client.describe_route_tables(Filters=[_vpc_filter(vpc_id), {"Name": "association.main", "Values": ["true"]}])[
            "RouteTables"
        ]
    )
    sg = _default_group(aws, vpc_id)
    acl = first(
        client.describe_network_acls(Filters=[_vpc_filter(vpc_id), {"Name": "default", "Values": ["true"]}])[
            "NetworkAcls"
        ]
    )
    return {
        "main_route_table_id": rtb["RouteTableId"] if rtb else None,
        "default_security_group_id": sg["GroupId"] if sg else None,
        "default_network_acl_id": acl["NetworkAclId"] if acl else None,
    }


def _default_group(aws: AwsContext, vpc_id: str) -> dict[str, Any] | None:
    groups = ec2(aws).describe_security_groups(
        Filters=[_vpc_filter(vpc_id), {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"]
    return first(groups)


def _describe_vpc(aws: AwsContext, vpc_id: str) -> dict[str, Any] | None:
    found = or_none(lambda: ec2(aws).describe_vpcs(VpcIds=[vpc_id])["Vpcs"])
    return first(found)


class Vpc(Ec2Handler):
    """aws_vpc: CreateVpc, DNS attributes, and the VPC's default route table/security group/network ACL."""

    label = "EC2 VPC"
    replace = ("cidr_block", "instance_tenancy", "ipv4_ipam_pool_id", "ipv4_netmask_length", "ipv6_ipam_pool_id")

    def create(self, aws: AwsContext, state: State) -> Observed:
        """CreateVpc, then tags and DNS attributes."""
        vpc = ec2(aws).create_vpc(
            CidrBlock=known(state, "cidr_block"), InstanceTenancy=known(state, "instance_tenancy") or "default"
        )["Vpc"]
        self.tag_new(aws, vpc["VpcId"], state)
        self._set_dns(aws, vpc["VpcId"], state)
        return _created(self, aws, vpc["VpcId"])

    @staticmethod
    def _set_dns(aws: AwsContext, vpc_id: str, state: State, prior: State | None = None) -> None:
        for attr, key in _DNS_ATTRIBUTES.items():
            value = known(state, attr)
            if value is not None and (prior is None or known(prior, attr) != value):
                ec2(aws).modify_vpc_attribute(VpcId=vpc_id, **{key: {"Value": bool(value)}})

    def read(self, aws: AwsContext, state: State) -> Observed | None:
        """DescribeVpcs and the default objects; DNS attributes."""
        vpc_id = str(known(state, "id"))
        vpc = _describe_vpc(aws, vpc_id)
        if vpc is None:
            return None
        dns = {
            attr: bool(ec2(aws).describe_vpc_attribute(VpcId=vpc_id, Attribute=key[0].lower() + key[1:])[key]["Value"])
            for attr, key in _DNS_ATTRIBUTES.items()
        }
        return maps.vpc_state(vpc, aws.region, _vpc_defaults(aws, vpc_id), dns)

    def update(self, aws: AwsContext, prior: State, planned: State) -> Observed:
        """Tags and DNS attributes."""
        self._set_dns(aws, str(known(prior, "id")), planned, prior)
        return super().update(aws, prior, planned)

    def delete(self, aws: AwsContext, state: State) -> None:
        """DeleteVpc (retried while dependents remain)."""
        delete_when_free(lambda: ec2(aws).delete_vpc(VpcId=known(state, "id")), "the VPC")


class Subnet(Ec2Handler):
    """aws_subnet."""

    label = "EC2 Subnet"
    replace = ("vpc_id", "cidr_block", "availability_zone", "availability_zone_id", "ipv6_cidr_block", "outpost_arn")

    def create(self, aws: AwsContext, state: State) -> Observed:
        """CreateSubnet, tags, MapPublicIpOnLaunch."""
        args: dict[str, Any] = {"VpcId": known(state, "vpc_id"), "CidrBlock": known(state, "cidr_block")}
        if known(state, "availability_zone"):
            args["AvailabilityZone"] = known(state, "availability_zone")
        elif known(state, "availability_zone_id"):
            args["AvailabilityZoneId"] = known(state, "availability_zone_id")
        subnet = ec2(aws).create_subnet(**args)["Subnet"]
        self.tag_new(aws, subnet["SubnetId"], state)
        self._set_public_ip(aws, subnet["SubnetId"], state)
        return _created(self, aws, subnet["SubnetId"])

    @staticmethod
    def _set_public_ip(aws: AwsContext, subnet_id: str, state: State) -> None:
        if known(state, "map_public_ip_on_launch") is not None:
            ec2(aws).modify_subnet_attribute(
                SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": bool(known(state, "map_public_ip_on_launch"))}
            )

    def read(self, aws: AwsContext, state: State) -> Observed | None:
        """DescribeSubnets."""
        subnet = first(or_none(lambda: ec2(aws).describe_subnets(SubnetIds=[known(state, "id")])["Subnets"]))
        return maps.subnet_state(subnet, aws.region) if subnet else None

    def update(self, aws: AwsContext, prior: State, planned: State) -> Observed:
        """Tags and MapPublicIpOnLaunch."""
        if known(prior, "map_public_ip_on_launch") != known(planned, "map_public_ip_on_launch"):
            self._set_public_ip(aws, str(known(prior, "id")), planned)
        return super().update(aws, prior, planned)

    def delete(self, aws: AwsContext, state: State) -> None:
        """DeleteSubnet (retried while network interfaces remain)."""
        delete_when_free(lambda: ec2(aws).delete_subnet(SubnetId=known(state, "id")), "the subnet")


class InternetGateway(Ec2Handler):
    """aws_internet_gateway, attached to `vpc_id`."""

    label = "EC2 Internet Gateway"
    replace = ("vpc_id",)

    def create(self, aws: AwsContext, state: State) -> Observed:
        """CreateInternetGateway, tags, AttachInternetGateway."""
        igw_id = ec2(aws).create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        self.tag_new(aws, igw_id, state)
        if known(state, "vpc_id"):
            ec2(aws).attach_internet_gateway(InternetGatewayId=igw_id, VpcId=known(state, "vpc_id"))
        return _created(self, aws, igw_id)

    def read(self, aws: AwsContext, state: State) -> Observed | None:
        """DescribeInternetGateways."""
        found = or_none(
            lambda: ec2(aws).describe_internet_gateways(InternetGatewayIds=[known(state, "id")])["InternetGateways"]
        )
        igw = first(found)
        return maps.internet_gateway_state(igw, aws.region) if igw else None

    def delete(self, aws: AwsContext, state: State) -> None:
        """Detach, then DeleteInternetGateway."""
        igw_id = known(state, "id")
        observed = self.read(aws, state)
        if observed is None:
            return
        if observed["vpc_id"]:
            ignore_missing(lambda: ec2(aws).detach_internet_gateway(InternetGatewayId=igw_id, VpcId=observed["vpc_id"]))
        delete_when_free(lambda: ec2(aws).delete_internet_gateway(InternetGatewayId=igw_id), "the gateway")


class RouteTable(Ec2Handler):
    """aws_route_table (routes are managed by aws_route)."""

    label = "EC2 Route Table"
    replace = ("vpc_id",)

    def create(self, aws: AwsContext, state: State) -> Observed:
        """CreateRouteTable, tags."""
        rtb_id = ec2(aws).create_route_table(VpcId=known(state, "vpc_id"))["RouteTable"]["RouteTableId"]
        self.tag_new(aws, rtb_id, state)
        return _created(self, aws, rtb_id)

    def read(self, aws: AwsContext, state: State) -> Observed | None:
        """DescribeRouteTables."""
        rtb = _route_table(aws, str(known(state, "id")))
        return maps.route_table_state(rtb, aws.region) if rtb else None

    def delete(self, aws: AwsContext, state: State) -> None:
        """DeleteRouteTable."""
        delete_when_free(lambda: ec2(aws).delete_route_table(RouteTableId=known(state, "id")), "the route table")


def _route_table(aws: AwsContext, rtb_id: str) -> dict[str, Any] | None:
    return first(or_none(lambda: ec2(aws).describe_route_tables(RouteTableIds=[rtb_id])["RouteTables"]))


def _route_key(state: State) -> tuple[str, str, str]:
    """(route table id, destination attribute, destination) of an aws_route; `<rtb>_<destination>` when imported."""
    rtb_id = known(state, "route_table_id")
    for attr in _ROUTE_DESTINATIONS:
        if known(state, attr):
            return str(rtb_id), attr, str(known(state, attr))
    rtb, _, dest = str(known(state, "id") or "").partition("_")
    attr = "destination_prefix_list_id" if dest.startswith("pl-") else "destination_cidr_block"
    return str(rtb_id or rtb), attr if ":" not in dest else "destination_ipv6_cidr_block", dest


class Route(Ec2Handler):
    """aws_route: one route of a route table."""

    label = "Route"
    replace = ("route_table_id", *_ROUTE_DESTINATIONS, *_ROUTE_TARGETS)

    def create(self, aws: AwsContext, state: State) -> Observed:
        """CreateRoute."""
        rtb_id, attr, dest = _route_key(state)
        targets = {key: known(state, attr) for attr, key in _ROUTE_TARGETS.items() if known(state, attr)}
        ec2(aws).create_route(RouteTableId=rtb_id, **{_ROUTE_DESTINATIONS[attr]: dest}, **targets)
        observed = self.read(aws, state)
        if observed is None:
            raise BackendError(f"route {dest} in {rtb_id} not found after creation")
        return observed

    def read(self, aws: AwsContext, state: State) -> Observed | None:
        """The route from DescribeRouteTables."""
        rtb_id, attr, dest = _route_key(state)
        rtb = _route_table(aws, rtb_id)
        route = maps.find_route(rtb, dest) if rtb else None
        if route is None:
            return None
        return {**maps.route_state(route, rtb_id, dest, aws.region), attr: dest}

    def update_tags(self, aws: AwsContext, state: State, old: dict[str, str], new: dict[str, str]) -> None:
        """Routes have no tags."""

    def delete(self, aws: AwsContext, state: State) -> None:
        """DeleteRoute."""
        rtb_id, attr, dest = _route_key(state)
        ignore_missing(lambda: ec2(aws).delete_route(RouteTableId=rtb_id, **{_ROUTE_DESTINATIONS[attr]: dest}))


class RouteTableAssociation(Ec2Handler):
    """aws_route_table_association (subnet or gateway)."""

    label = "EC2 Route Table Association"
    replace = ("subnet_id", "gateway_id", "route_table_id")

    def create(self, aws: AwsContext, state: State) -> Observed:
        """AssociateRouteTable."""
        target = {"SubnetId": known(state, "subnet_id")} if known(state, "subnet_id") else {}
        if known(state, "gateway_id"):
            target = {"GatewayId": known(state, "gateway_id")}
        assoc = ec2(aws).associate_route_table(RouteTableId=known(state, "route_table_id"), **target)
        return _created(self, aws, assoc["AssociationId"])

    def read(self, aws: AwsContext, state: State) -> Observed | None:
        """The association from DescribeRouteTables."""
        assoc_id = str(known(state, "id"))
        tables = ec2(aws).describe_route_tables(
            Filters=[{"Name": "association.route-table-association-id", "Values": [assoc_id]}]
        )["RouteTables"]
        for rtb in tables:
            for assoc in rtb.get("Associations", ()):
                if assoc.get("RouteTableAssociationId") == assoc_id:
                    return {
                        "id": assoc_id,
                        "route_table_id": rtb["RouteTableId"],
                        "subnet_id": assoc.get("SubnetId"),
                        "gateway_id": assoc.get("GatewayId"),
                        "region": aws.region,
                    }
        return None

    def update_tags(self, aws: AwsContext, state: State, old: dict[str, str], new: dict[str, str]) -> None:
        """Associations have no tags."""

    def delete(self, aws: AwsContext, state: State) -> None:
        """DisassociateRouteTable."""
        ignore_missing(lambda: ec2(aws).disassociate_route_table(AssociationId=known(state, "id")))


def _revoke_all(aws: AwsContext, group: dict[str, Any]) -> None:
    """Remove every ingress and egress rule of a security group."""
    client = ec2(aws)
    if group.get("IpPermissions"):
        client.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=group["IpPermissions"])
    if group.get("IpPermissionsEgress"):
        client.revoke_security_group_egress(GroupId=group["GroupId"], IpPermissions=group["IpPermissionsEgress"])


def _describe_group(aws: AwsContext, group_id: str) -> dict[str, Any] | None:
    return first(or_none(lambda: ec2(aws).describe_security_groups(GroupIds=[group_id])["SecurityGroups"]))


class SecurityGroup(Ec2Handler):
    """aws_security_group: created without AWS's default allow-all egress rule, as the real provider does."""

    label = "Security Group"
    replace: ClassVar[tuple[str, ...]] = ("name", "name_prefix", "vpc_id", "description")

    def create(self, aws: AwsContext, state: State) -> Observed:
        """CreateSecurityGroup, revoke the default egress rule, tags."""
        name = known(state, "name") or unique_name(known(state, "name_prefix"))
        args: dict[str, Any] = {"GroupName": name, "Description": known(state, "description") or "Managed by Terraform"}
        if known(state, "vpc_id"):
            args["VpcId"] = known(state, "vpc_id")
        group_id = ec2(aws).create_security_group(**args)["GroupId"]
        group = _describe_group(aws, group_id)
        if group is not None and group.get("IpPermissionsEgress"):
            ec2(aws).revoke_security_group_egress(GroupId=group_id, IpPermissions=group["IpPermissionsEgress"])
        self.tag_new(aws, group_id, state)
        return _created(self, aws, group_id)

    def read(self, aws: AwsContext, state: State) -> Observed | None:
        """DescribeSecurityGroups."""
        group = _describe_group(aws, str(known(state, "id")))
        return maps.security_group_state(group, aws.region) if group else None

    def delete(self, aws: AwsContext, state: State) -> None:
        """DeleteSecurityGroup (retried while instances still use it)."""
        delete_when_free(lambda: ec2(aws).delete_security_group(GroupId=known(state, "id")), "the security group")


class DefaultSecurityGroup(SecurityGroup):
    """aws_default_security_group: adopts the VPC's default group and strips its rules; delete forgets it."""

    label = "Default Security Group"
    replace = ("vpc_id",)

    def create(self, aws: AwsContext, state: State) -> Observed:
        """Find the VPC's default group, revoke every rule, tag it."""
        group = _default_group(aws, str(known(state, "vpc_id")))
        if group is None:
            raise BackendError(f"no default security group in VPC {known(state, 'vpc_id')}")
        _revoke_all(aws, group)
        self.tag_new(aws, group["GroupId"], state)
        return _created(self, aws, group["GroupId"])

    def delete(self, aws: AwsContext, state: State) -> None:
        """Nothing to delete: the group lives as long as its VPC."""


class _Rule(Ec2Handler):
    egress: ClassVar[bool] = True
    replace = (
        "security_group_id",
        "ip_protocol",
        "from_port",
        "to_port",
        "cidr_ipv4",
        "cidr_ipv6",
        "prefix_list_id",
        "referenced_security_group_id",
        "description",
    )

    def create(self, aws: AwsContext, state: State) -> Observed:
        """AuthorizeSecurityGroupEgress/Ingress with one permission, then tags."""
        plain = {k: known(state, k) for k in self.replace}
        authorize = (
            ec2(aws).authorize_security_group_egress if self.egress else ec2(aws).authorize_security_group_ingress
        )
        rules = authorize(GroupId=plain["security_group_id"], IpPermissions=[maps.rule_permission(plain)])
        rule = first(rules.get("SecurityGroupRules"))
        if rule is None:
            raise BackendError("the API returned no security group rule id")
        self.tag_new(aws, rule["SecurityGroupRuleId"], state)
        return _created(self, aws, rule["SecurityGroupRuleId"])

    def read(self, aws: AwsContext, state: State) -> Observed | None:
        """DescribeSecurityGroupRules."""
        found = or_none(
            lambda: ec2(aws).describe_security_group_rules(SecurityGroupRuleIds=[known(state, "id")])[
                "SecurityGroupRules"
            ]
        )
        rule = first(found)
        if rule is None or bool(rule.get("IsEgress")) != self.egress:
            return None
        owner = rule.get("GroupOwnerId") or (_describe_group(aws, str(rule.get("GroupId"))) or {}).get("OwnerId", "")
        return maps.security_group_rule_state(rule, aws.region, str(owner))

    def delete(self, aws: AwsContext, state: State) -> None:
        """RevokeSecurityGroupEgress/Ingress by rule id."""
        revoke = ec2(aws).revoke_security_group_egress if self.egress else ec2(aws).revoke_security_group_ingress
        ignore_missing(
            lambda: revoke(GroupId=known(state, "security_group_id"), SecurityGroupRuleIds=[known(state, "id")])
        )


class EgressRule(_Rule):
    """aws_vpc_security_group_egress_rule."""

    label = "VPC Security Group Egress Rule"
    egress = True


class IngressRule(_Rule):
    """aws_vpc_security_group_ingress_rule."""

    label = "VPC Security Group Ingress Rule"
    egress = False


def _filters(config: State, simple: dict[str, str]) -> list[dict[str, Any]]:
    """EC2 filters from a data source's `filter` blocks, `tags` and simple attribute -> filter-name pairs."""
    out = [{"Name": f["name"], "Values": list(f["values"])} for f in known(config, "filter") or ()]
    out += [
        {"Name": name, "Values": [str(known(config, attr))]} for attr, name in simple.items() if known(config, attr)
    ]
    out += [{"Name": f"tag:{k}", "Values": [v]} for k, v in (known(config, "tags") or {}).items()]
    return out


def _only(items: list[dict[str, Any]], what: str) -> dict[str, Any]:
    if not items:
        raise BackendError(f"no matching {what} found")
    if len(items) > 1:
        raise BackendError(f"multiple {what}s matched; use additional constraints to reduce matches to a single {what}")
    return items[0]


class VpcData(DataHandler):
    """Data aws_vpc: by id and/or filters."""

    label = "EC2 VPC"

    def read(self, aws: AwsContext, config: State) -> Observed:
        """DescribeVpcs; exactly one must match."""
        args: dict[str, Any] = {"Filters": _filters(config, {"cidr_block": "cidr-block", "state": "state"})}
        if known(config, "id"):
            args["VpcIds"] = [known(config, "id")]
        if known(config, "default") is not None:
            args["Filters"].append({"Name": "is-default", "Values": [str(known(config, "default")).lower()]})
        vpc = _only(or_none(lambda: ec2(aws).describe_vpcs(**args)["Vpcs"]) or [], "EC2 VPC")
        rtb = _vpc_defaults(aws, vpc["VpcId"])["main_route_table_id"]
        return maps.data_vpc_state(vpc, aws.region, rtb)


class SubnetData(DataHandler):
    """Data aws_subnet: by id and/or vpc_id, availability zone, CIDR, filters."""

    label = "EC2 Subnet"

    def read(self, aws: AwsContext, config: State) -> Observed:
        """DescribeSubnets; exactly one must match."""
        simple = {
            "vpc_id": "vpc-id",
            "availability_zone": "availability-zone",
            "availability_zone_id": "availability-zone-id",
            "cidr_block": "cidr-block",
            "state": "state",
        }
        args: dict[str, Any] = {"Filters": _filters(config, simple)}
        if known(config, "id"):
            args["SubnetIds"] = [known(config, "id")]
        subnet = _only(or_none(lambda: ec2(aws).describe_subnets(**args)["Subnets"]) or [], "EC2 Subnet")
        return maps.data_subnet_state(subnet, aws.region)
