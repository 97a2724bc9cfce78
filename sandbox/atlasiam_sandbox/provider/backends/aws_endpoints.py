"""VPC endpoints (Interface and Gateway) and the instance type offerings data source on moto.

What the real provider does (hashicorp/terraform-provider-aws ``internal/service/ec2/vpc_endpoint.go``): create
calls CreateVpcEndpoint and waits until the endpoint is ``available`` or ``pendingAcceptance`` (an endpoint to
another account's service, such as Atlas's PrivateLink service, waits for that account to accept it); a Gateway
endpoint's ``prefix_list_id`` and ``cidr_blocks`` come from the service's managed prefix list; ``route_table_ids``,
``subnet_ids``, ``security_group_ids`` and ``policy`` change in place through ModifyVpcEndpoint; ``vpc_id``,
``service_name`` and ``vpc_endpoint_type`` force a new endpoint. Delete waits until the endpoint is gone.
"""

from __future__ import annotations

from typing import Any

from atlasiam_sandbox.provider.backends import maps
from atlasiam_sandbox.provider.backends.aws_ec2_common import Ec2Handler, ec2, first, or_none
from atlasiam_sandbox.provider.backends.base import (
    AwsContext,
    BackendError,
    DataHandler,
    Observed,
    State,
    known,
    wait_for,
)

#: States the provider's create waiter accepts as done (`vpcEndpointStateAvailable`, `...PendingAcceptance`).
_READY = ("available", "pendingAcceptance")
_GONE = ("deleted", "deleting", "rejected", "failed", "expired")


def _describe(aws: AwsContext, vpce_id: str) -> dict[str, Any] | None:
    endpoint = first(or_none(lambda: ec2(aws).describe_vpc_endpoints(VpcEndpointIds=[vpce_id])["VpcEndpoints"]))
    if endpoint is None or str(endpoint.get("State", "")).lower() in _GONE:
        return None
    return dict(endpoint)


def _prefix_list(aws: AwsContext, service_name: str) -> dict[str, Any] | None:
    """The AWS-managed prefix list of a gateway service (DescribePrefixLists, by `prefix-list-name`)."""
    lists = ec2(aws).describe_prefix_lists(Filters=[{"Name": "prefix-list-name", "Values": [service_name]}])
    return first(lists.get("PrefixLists"))


def _set_diff(prior: State, planned: State, attr: str) -> tuple[list[str], list[str]]:
    old, new = set(known(prior, attr) or ()), set(known(planned, attr) or ())
    return sorted(new - old), sorted(old - new)


class VpcEndpoint(Ec2Handler):
    """aws_vpc_endpoint: CreateVpcEndpoint / ModifyVpcEndpoint / DeleteVpcEndpoints."""

    label = "EC2 VPC Endpoint"
    replace = ("vpc_id", "service_name", "vpc_endpoint_type", "private_dns_enabled", "ip_address_type")
    refreshed = ("policy", "state")

    def create(self, aws: AwsContext, state: State) -> Observed:
        """CreateVpcEndpoint with tags, then wait for `available`/`pendingAcceptance`."""
        kind = known(state, "vpc_endpoint_type") or "Gateway"
        args: dict[str, Any] = {
            "VpcId": known(state, "vpc_id"),
            "ServiceName": known(state, "service_name"),
            "VpcEndpointType": kind,
        }
        for attr, key in (
            ("route_table_ids", "RouteTableIds"),
            ("subnet_ids", "SubnetIds"),
            ("security_group_ids", "SecurityGroupIds"),
        ):
            if known(state, attr):
                args[key] = sorted(known(state, attr))
        if known(state, "policy"):
            args["PolicyDocument"] = known(state, "policy")
        if kind == "Interface" and known(state, "private_dns_enabled") is not None:
            args["PrivateDnsEnabled"] = bool(known(state, "private_dns_enabled"))
        tags = aws.tags(state)
        if tags:
            args["TagSpecifications"] = [{"ResourceType": "vpc-endpoint", "Tags": maps.tag_list(tags)}]
        vpce_id = ec2(aws).create_vpc_endpoint(**args)["VpcEndpoint"]["VpcEndpointId"]
        return wait_for(lambda: self._ready(aws, vpce_id), f"VPC Endpoint ({vpce_id}) create")

    def _ready(self, aws: AwsContext, vpce_id: str) -> Observed | None:
        endpoint = _describe(aws, vpce_id)
        if endpoint is None or endpoint.get("State") not in _READY:
            return None
        return self._observed(aws, endpoint)

    def _observed(self, aws: AwsContext, endpoint: dict[str, Any]) -> Observed:
        prefix = (
            _prefix_list(aws, str(endpoint.get("ServiceName")))
            if endpoint.get("VpcEndpointType") == "Gateway"
            else None
        )
        return maps.vpc_endpoint_state(endpoint, aws.region, prefix)

    def read(self, aws: AwsContext, state: State) -> Observed | None:
        """DescribeVpcEndpoints; a deleted (or rejected) endpoint is gone."""
        endpoint = _describe(aws, str(known(state, "id")))
        if endpoint is None:
            return None
        observed = self._observed(aws, endpoint)
        # The provider keeps the configured text of an equivalent policy (verify.PolicyToSet): no whitespace drift.
        if known(state, "policy") and maps.same_policy(known(state, "policy"), observed["policy"]):
            observed["policy"] = known(state, "policy")
        return observed

    def update(self, aws: AwsContext, prior: State, planned: State) -> Observed:
        """ModifyVpcEndpoint: route tables, subnets, security groups, policy; then tags."""
        args: dict[str, Any] = {}
        for attr, add, remove in (
            ("route_table_ids", "AddRouteTableIds", "RemoveRouteTableIds"),
            ("subnet_ids", "AddSubnetIds", "RemoveSubnetIds"),
            ("security_group_ids", "AddSecurityGroupIds", "RemoveSecurityGroupIds"),
        ):
            added, removed = _set_diff(prior, planned, attr)
            if added:
                args[add] = added
            if removed:
                args[remove] = removed
        if known(planned, "policy") and not maps.same_policy(known(prior, "policy"), known(planned, "policy")):
            args["PolicyDocument"] = known(planned, "policy")
        if args:
            ec2(aws).modify_vpc_endpoint(VpcEndpointId=known(prior, "id"), **args)
        return super().update(aws, prior, planned)

    def delete(self, aws: AwsContext, state: State) -> None:
        """DeleteVpcEndpoints, then wait until it is gone."""
        vpce_id = str(known(state, "id"))
        result = or_none(lambda: ec2(aws).delete_vpc_endpoints(VpcEndpointIds=[vpce_id])) or {}
        failed = [u for u in result.get("Unsuccessful", ()) if (u.get("Error") or {}).get("Code")]
        if failed and "NotFound" not in str(failed[0]["Error"]["Code"]):
            raise BackendError(f"{failed[0]['Error']['Code']}: {failed[0]['Error'].get('Message', '')}")
        wait_for(lambda: True if _describe(aws, vpce_id) is None else None, f"VPC Endpoint ({vpce_id}) delete")


class InstanceTypeOfferingsData(DataHandler):
    """Data aws_ec2_instance_type_offerings: DescribeInstanceTypeOfferings with `location_type` and `filter`s."""

    label = "EC2 Instance Type Offerings"

    def read(self, aws: AwsContext, config: State) -> Observed:
        """Every page; parallel lists, one entry per offering (the provider's `findInstanceTypeOfferings`)."""
        args: dict[str, Any] = {}
        if known(config, "location_type"):
            args["LocationType"] = known(config, "location_type")
        filters = [{"Name": f["name"], "Values": sorted(f["values"])} for f in known(config, "filter") or ()]
        if filters:
            args["Filters"] = filters
        offerings: list[dict[str, Any]] = []
        while True:
            page = ec2(aws).describe_instance_type_offerings(**args)
            offerings += page.get("InstanceTypeOfferings", [])
            if not page.get("NextToken"):
                break
            args["NextToken"] = page["NextToken"]
        return maps.instance_type_offerings_state(offerings, aws.region)
