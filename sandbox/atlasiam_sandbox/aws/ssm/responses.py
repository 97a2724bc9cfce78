"""The SSM wire format: AWS JSON 1.1 requests into :class:`SsmBackend` calls, its results back into JSON.

Covers SendCommand (AWS-RunShellScript), GetCommandInvocation, ListCommandInvocations, ListCommands,
CancelCommand and DescribeInstanceInformation. Timestamps are epoch seconds, except GetCommandInvocation's,
which are ISO-8601 strings; lists page with ``MaxResults``/``NextToken``. Errors use the AWS JSON error shape
(``{"__type": code, "message": …}``) so botocore raises ClientError with the right code.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from atlasiam_sandbox.aws.hosts import HostStatus
from atlasiam_sandbox.aws.runcommand import PLUGIN_OUTPUT_CAP, Command, Invocation
from atlasiam_sandbox.aws.ssm.models import PLUGIN_NAME, Json, SsmBackend, SsmError

JSON_CONTENT_TYPE = "application/x-amz-json-1.1"

_NO_NOTIFICATIONS: Json = {"NotificationArn": "", "NotificationEvents": [], "NotificationType": ""}
_NO_CLOUDWATCH: Json = {"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": False}


@dataclass(frozen=True)
class SsmRequest:
    """One AWS JSON 1.1 call: the operation (from ``X-Amz-Target``), its body and the region it was signed for."""

    operation: str
    body: bytes
    signed_region: str | None = None


def error_body(err: SsmError) -> bytes:
    """The AWS JSON error shape; botocore takes the error code from ``__type``."""
    return json.dumps({"__type": err.code, "message": err.message}).encode()


class SsmResponse:
    """Request dict → backend call → response dict, one method per emulated operation."""

    def __init__(self, backend: SsmBackend) -> None:
        self.backend = backend
        self.operations: dict[str, Callable[[Json], Json]] = {
            "SendCommand": self.send_command,
            "GetCommandInvocation": self.get_command_invocation,
            "ListCommandInvocations": self.list_command_invocations,
            "ListCommands": self.list_commands,
            "CancelCommand": self.cancel_command,
            "DescribeInstanceInformation": self.describe_instance_information,
        }

    def handles(self, operation: str) -> bool:
        """True for the operations emulated here (everything else is moto's)."""
        return operation in self.operations

    def dispatch(self, request: SsmRequest) -> bytes:
        """Run one emulated operation and encode its result."""
        payload = json.loads(request.body or b"{}")
        if request.signed_region and request.signed_region != self.backend.region:
            result = _other_region(request.operation)  # SSM is regional: this region knows none of our hosts
        else:
            result = self.operations[request.operation](payload)
        return json.dumps(result).encode()

    # --- operations ------------------------------------------------------------------------------------
    def send_command(self, payload: Json) -> Json:
        """SendCommand: the new command."""
        command = self.backend.send_command(
            str(payload.get("DocumentName", "")),
            payload.get("Parameters"),
            payload.get("InstanceIds"),
            payload.get("Targets"),
            comment=str(payload.get("Comment", "")),
            timeout_seconds=payload.get("TimeoutSeconds"),
            max_concurrency=payload.get("MaxConcurrency"),
            max_errors=payload.get("MaxErrors"),
        )
        return {"Command": self._command_json(command)}

    def get_command_invocation(self, payload: Json) -> Json:
        """GetCommandInvocation: one invocation's status and capped output."""
        command, inv = self.backend.get_command_invocation(
            str(payload.get("CommandId")), str(payload.get("InstanceId")), payload.get("PluginName")
        )
        return {
            "CommandId": command.command_id,
            "InstanceId": inv.instance_id,
            "Comment": command.comment,
            "DocumentName": command.document_name,
            "DocumentVersion": "$DEFAULT",
            "PluginName": PLUGIN_NAME,
            "ResponseCode": inv.response_code,
            "ExecutionStartDateTime": _iso(inv.started_at),
            "ExecutionElapsedTime": _elapsed(inv),
            "ExecutionEndDateTime": _iso(inv.ended_at),
            "Status": inv.status,
            "StatusDetails": inv.status_details,
            "StandardOutputContent": inv.stdout,
            "StandardOutputUrl": "",
            "StandardErrorContent": inv.stderr,
            "StandardErrorUrl": "",
            "CloudWatchOutputConfig": _NO_CLOUDWATCH,
        }

    def list_command_invocations(self, payload: Json) -> Json:
        """ListCommandInvocations: ``Details`` adds plugin output."""
        details = bool(payload.get("Details"))
        found = self.backend.list_command_invocations(payload.get("CommandId"), payload.get("InstanceId"))
        return _paged("CommandInvocations", [_invocation_json(cmd, inv, details) for cmd, inv in found], payload)

    def list_commands(self, payload: Json) -> Json:
        """ListCommands."""
        found = self.backend.list_commands(payload.get("CommandId"), payload.get("InstanceId"))
        return _paged("Commands", [self._command_json(cmd) for cmd in found], payload)

    def cancel_command(self, payload: Json) -> Json:
        """CancelCommand: an empty result."""
        self.backend.cancel_command(str(payload.get("CommandId")), payload.get("InstanceIds"))
        return {}

    def describe_instance_information(self, payload: Json) -> Json:
        """DescribeInstanceInformation: registered hosts with PingStatus, filtered and paginated (MaxResults 5..50)."""
        found = self.backend.describe_instance_information(_instance_filters(payload))
        return _paged("InstanceInformationList", [_instance_json(s) for s in found], payload)

    def _command_json(self, command: Command) -> Json:
        invs = list(command.invocations.values())
        done = [i for i in invs if i.terminal]
        return {
            "CommandId": command.command_id,
            "DocumentName": command.document_name,
            "DocumentVersion": "$DEFAULT",
            "Comment": command.comment,
            "ExpiresAfter": _epoch(command.requested_at + timedelta(seconds=command.timeout_seconds)),
            "Parameters": command.parameters,
            "InstanceIds": command.instance_ids,
            "Targets": command.targets,
            "RequestedDateTime": _epoch(command.requested_at),
            "Status": command.status,
            "StatusDetails": command.status,
            "OutputS3Region": self.backend.region,
            "OutputS3BucketName": "",
            "OutputS3KeyPrefix": "",
            "MaxConcurrency": command.max_concurrency,
            "MaxErrors": command.max_errors,
            "TargetCount": len(invs),
            "CompletedCount": len(done),
            "ErrorCount": sum(i.status in ("Failed", "TimedOut") for i in done),
            "DeliveryTimedOutCount": sum(i.status_details == "DeliveryTimedOut" for i in done),
            "ServiceRole": "",
            "NotificationConfig": _NO_NOTIFICATIONS,
            "CloudWatchOutputConfig": _NO_CLOUDWATCH,
            "TimeoutSeconds": command.timeout_seconds,
        }


def _invocation_json(command: Command, inv: Invocation, details: bool) -> Json:
    row: Json = {
        "CommandId": command.command_id,
        "InstanceId": inv.instance_id,
        "InstanceName": "",
        "Comment": command.comment,
        "DocumentName": command.document_name,
        "DocumentVersion": "$DEFAULT",
        "RequestedDateTime": _epoch(inv.requested_at),
        "Status": inv.status,
        "StatusDetails": inv.status_details,
        "TraceOutput": "",
        "StandardOutputUrl": "",
        "StandardErrorUrl": "",
        "CommandPlugins": [],
        "ServiceRole": "",
        "NotificationConfig": _NO_NOTIFICATIONS,
        "CloudWatchOutputConfig": _NO_CLOUDWATCH,
    }
    if details:
        plugin: Json = {
            "Name": PLUGIN_NAME,
            "Status": inv.status,
            "StatusDetails": inv.status_details,
            "ResponseCode": inv.response_code,
            "Output": (inv.stdout + inv.stderr)[:PLUGIN_OUTPUT_CAP],
            "StandardOutputUrl": "",
            "StandardErrorUrl": "",
            "OutputS3Region": "",
            "OutputS3BucketName": "",
            "OutputS3KeyPrefix": "",
        }
        for key, value in (("ResponseStartDateTime", inv.started_at), ("ResponseFinishDateTime", inv.ended_at)):
            if value is not None:
                plugin[key] = _epoch(value)
        row["CommandPlugins"] = [plugin]
    return row


def _instance_json(status: HostStatus) -> Json:
    facts = status.facts
    now = datetime.now(timezone.utc)
    return {
        "InstanceId": facts.instance_id,
        "PingStatus": status.ping_status,
        "LastPingDateTime": _epoch(now if status.online else status.registered_at),
        "AgentVersion": "3.3.1142.0",
        "IsLatestVersion": True,
        "PlatformType": "Linux",
        "PlatformName": "Amazon Linux",
        "PlatformVersion": "2023",
        "ResourceType": "EC2Instance",
        "IPAddress": facts.private_ip or "",
        "ComputerName": facts.private_dns_name,
        "RegistrationDate": _epoch(status.registered_at),
        "SourceId": facts.instance_id,
        "SourceType": "AWS::EC2::Instance",
        "IamRole": status.role.name if status.role else "",
    }


def _instance_filters(payload: Json) -> dict[str, set[str]]:
    """Both filter styles as ``{key: allowed values}``."""
    filters: dict[str, set[str]] = {}
    for item in payload.get("InstanceInformationFilterList") or []:
        filters.setdefault(str(item["key"]), set()).update(item.get("valueSet") or [])
    for item in payload.get("Filters") or []:
        filters.setdefault(str(item["Key"]), set()).update(item.get("Values") or [])
    return filters


def _other_region(operation: str) -> Json:
    """What SSM in a region without our instances answers."""
    if operation == "SendCommand":
        raise SsmError("InvalidInstanceId", "Instances not in a valid state for account")
    if operation == "GetCommandInvocation":
        raise SsmError("InvocationDoesNotExist", "")
    empty = {
        "DescribeInstanceInformation": "InstanceInformationList",
        "ListCommandInvocations": "CommandInvocations",
        "ListCommands": "Commands",
    }
    return {empty[operation]: []} if operation in empty else {}


# --- encoding helpers --------------------------------------------------------------------------------------
def _epoch(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def _iso(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _elapsed(inv: Invocation) -> str:
    if inv.started_at is None:
        return ""
    end = inv.ended_at or datetime.now(timezone.utc)
    return f"PT{(end - inv.started_at).total_seconds():.3f}S"


def _paged(key: str, items: list[Json], payload: Json) -> Json:
    """``{key: page}``, the page chosen by ``MaxResults`` (default 50) and ``NextToken`` (a base64 offset)."""
    start = 0
    token = payload.get("NextToken")
    if token:
        try:
            start = int(base64.urlsafe_b64decode(str(token)).decode())
        except (ValueError, UnicodeDecodeError) as exc:
            raise SsmError("InvalidNextToken", "The specified token isn't valid.") from exc
    size = int(payload.get("MaxResults") or 50)
    body: Json = {key: items[start : start + size]}
    if start + size < len(items):  # more follow: the token is the next page's offset
        body["NextToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
    return body
