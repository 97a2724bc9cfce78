"""CloudWatch Logs log groups and VPC flow logs on moto."""

from __future__ import annotations

from typing import Any

from atlasiam_sandbox.provider.backends import maps
from atlasiam_sandbox.provider.backends.aws_ec2_common import Ec2Handler, ec2, first, ignore_missing, or_none
from atlasiam_sandbox.provider.backends.base import (
    AwsContext,
    BackendError,
    Handler,
    Observed,
    State,
    known,
    unique_name,
)


def logs(aws: AwsContext) -> Any:
    """The CloudWatch Logs client."""
    return aws.client("logs")


class LogGroup(Handler):
    """aws_cloudwatch_log_group: name, retention, tags."""

    label = "CloudWatch Logs Log Group"
    refreshed = ("retention_in_days",)
    replace = ("name", "name_prefix", "kms_key_id", "log_group_class")

    def create(self, aws: AwsContext, state: State) -> Observed:
        """CreateLogGroup, PutRetentionPolicy."""
        name = str(known(state, "name") or unique_name(known(state, "name_prefix")))
        args: dict[str, Any] = {"logGroupName": name}
        tags = aws.tags(state)
        if tags:
            args["tags"] = tags
        if known(state, "kms_key_id"):
            args["kmsKeyId"] = known(state, "kms_key_id")
        logs(aws).create_log_group(**args)
        self._set_retention(aws, name, known(state, "retention_in_days"))
        observed = self.read(aws, {"id": name})
        if observed is None:
            raise BackendError(f"log group {name} not found right after it was created")
        return observed

    @staticmethod
    def _set_retention(aws: AwsContext, name: str, days: Any) -> None:
        if days:
            logs(aws).put_retention_policy(logGroupName=name, retentionInDays=int(days))
        else:
            ignore_missing(lambda: logs(aws).delete_retention_policy(logGroupName=name))

    def read(self, aws: AwsContext, state: State) -> Observed | None:
        """DescribeLogGroups (exact name match)."""
        name = str(known(state, "id") or known(state, "name"))
        groups = logs(aws).describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        group = first(g for g in groups if g["logGroupName"] == name)
        if group is None:
            return None
        tags = or_none(lambda: logs(aws).list_tags_log_group(logGroupName=name)["tags"])
        return maps.log_group_state(group, tags)

    def update(self, aws: AwsContext, prior: State, planned: State) -> Observed:
        """Retention policy and tags."""
        if known(prior, "retention_in_days") != known(planned, "retention_in_days"):
            self._set_retention(aws, str(known(prior, "id")), known(planned, "retention_in_days"))
        return super().update(aws, prior, planned)

    def update_tags(self, aws: AwsContext, state: State, old: dict[str, str], new: dict[str, str]) -> None:
        """UntagLogGroup/TagLogGroup."""
        name = str(known(state, "id"))
        removed = [k for k in old if k not in new]
        if removed:
            logs(aws).untag_log_group(logGroupName=name, tags=removed)
        if new:
            logs(aws).tag_log_group(logGroupName=name, tags=new)

    def delete(self, aws: AwsContext, state: State) -> None:
        """DeleteLogGroup (kept when `skip_destroy`)."""
        if not known(state, "skip_destroy"):
            ignore_missing(lambda: logs(aws).delete_log_group(logGroupName=known(state, "id")))


_FLOW_RESOURCES = {
    "vpc_id": "VPC",
    "subnet_id": "Subnet",
    "eni_id": "NetworkInterface",
    "transit_gateway_id": "TransitGateway",
    "transit_gateway_attachment_id": "TransitGatewayAttachment",
}


class FlowLog(Ec2Handler):
    """aws_flow_log to CloudWatch Logs or S3."""

    label = "Flow Log"
    replace = (
        *_FLOW_RESOURCES,
        "traffic_type",
        "log_destination",
        "log_destination_type",
        "log_format",
        "iam_role_arn",
        "max_aggregation_interval",
        "deliver_cross_account_role",
        "destination_options",
    )

    def create(self, aws: AwsContext, state: State) -> Observed:
        """CreateFlowLogs for the one configured resource."""
        resource = next(((attr, kind) for attr, kind in _FLOW_RESOURCES.items() if known(state, attr)), None)
        if resource is None:
            raise BackendError("one of vpc_id, subnet_id, eni_id, transit_gateway_id must be set")
        args: dict[str, Any] = {
            "ResourceIds": [known(state, resource[0])],
            "ResourceType": resource[1],
            "LogDestinationType": known(state, "log_destination_type") or "cloud-watch-logs",
        }
        for attr, key in (
            ("traffic_type", "TrafficType"),
            ("log_destination", "LogDestination"),
            ("iam_role_arn", "DeliverLogsPermissionArn"),
            ("log_format", "LogFormat"),
            ("max_aggregation_interval", "MaxAggregationInterval"),
        ):
            if known(state, attr):
                args[key] = known(state, attr)
        result = ec2(aws).create_flow_logs(**args)
        if result.get("Unsuccessful"):
            error = result["Unsuccessful"][0].get("Error", {})
            raise BackendError(f"{error.get('Code', 'Unsuccessful')}: {error.get('Message', '')}")
        flow_id = result["FlowLogIds"][0]
        self.tag_new(aws, flow_id, state)
        observed = self.read(aws, {"id": flow_id})
        if observed is None:
            raise BackendError(f"flow log {flow_id} not found right after it was created")
        return observed

    def read(self, aws: AwsContext, state: State) -> Observed | None:
        """DescribeFlowLogs."""
        found = or_none(lambda: ec2(aws).describe_flow_logs(FlowLogIds=[known(state, "id")])["FlowLogs"])
        flow = first(found)
        account = str(aws.client("sts").get_caller_identity()["Account"]) if flow else ""
        return maps.flow_log_state(flow, aws.region, account) if flow else None

    def delete(self, aws: AwsContext, state: State) -> None:
        """DeleteFlowLogs."""
        ignore_missing(lambda: ec2(aws).delete_flow_logs(FlowLogIds=[known(state, "id")]))
