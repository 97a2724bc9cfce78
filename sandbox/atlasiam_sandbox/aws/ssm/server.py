"""An SSM endpoint speaking AWS JSON 1.1 for Run Command and the instance inventory; the rest goes to moto.

Reached by the CLI only through ``AWS_ENDPOINT_URL_SSM``. Implements SendCommand (AWS-RunShellScript),
GetCommandInvocation, ListCommandInvocations, ListCommands, CancelCommand and DescribeInstanceInformation;
every other ``AmazonSSM.*`` operation (GetParameter, PutParameter, …) is forwarded unchanged to moto.
Errors use the AWS JSON error shape (``{"__type": code, "message": …}``) so botocore raises ClientError
with the right code. :class:`FaultInjector` makes throttling and 5xx bursts reproducible.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast

from atlasiam_sandbox.aws._http import LocalServer, QuietHandler
from atlasiam_sandbox.aws.hosts import HostRegistry, HostStatus
from atlasiam_sandbox.aws.runcommand import (
    PLUGIN_OUTPUT_CAP,
    Command,
    HostExecutor,
    Invocation,
    SsmTiming,
    new_command_id,
)

JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
RUN_SHELL_SCRIPT = "AWS-RunShellScript"
PLUGIN_NAME = "aws:runShellScript"
MAX_INSTANCE_IDS = 50
MAX_EXECUTION_TIMEOUT = 172_800

Json = dict[str, Any]


class SsmError(Exception):
    """An AWS JSON protocol error: botocore raises ``ClientError`` with ``code``."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


# --- fault injection -------------------------------------------------------------------------------------
class FaultInjector:
    """A thread-safe table of "fail the next N calls of operation X" entries (``"*"`` = any operation)."""

    def __init__(self) -> None:
        self._table: dict[str, list[tuple[SsmError, int]]] = {}
        self._lock = threading.Lock()

    def throttle(self, operation: str, times: int = 1) -> None:
        """The next ``times`` calls of ``operation`` get ``ThrottlingException`` (HTTP 400)."""
        self.add(operation, SsmError("ThrottlingException", "Rate exceeded", 400), times)

    def server_errors(self, operation: str, times: int = 1, status: int = 500) -> None:
        """The next ``times`` calls of ``operation`` get an ``InternalServerError`` with HTTP ``status``."""
        self.add(operation, SsmError("InternalServerError", "Internal server error", status), times)

    def add(self, operation: str, error: SsmError, times: int = 1) -> None:
        """Queue an arbitrary error for the next ``times`` calls of ``operation``."""
        with self._lock:
            self._table.setdefault(operation, []).append((error, times))

    def clear(self) -> None:
        """Forget all pending faults."""
        with self._lock:
            self._table.clear()

    def take(self, operation: str) -> SsmError | None:
        """Consume one pending fault for ``operation`` (exact name first, then ``"*"``)."""
        with self._lock:
            for key in (operation, "*"):
                queue = self._table.get(key)
                if queue:
                    error, left = queue[0]
                    if left <= 1:
                        queue.pop(0)
                    else:
                        queue[0] = (error, left - 1)
                    return error
        return None


# --- serialisation helpers -------------------------------------------------------------------------------
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


def _page(items: list[Any], payload: Json, default: int) -> tuple[list[Any], str | None]:
    """Slice ``items`` by ``MaxResults``/``NextToken`` (an opaque base64 offset)."""
    start = 0
    token = payload.get("NextToken")
    if token:
        try:
            start = int(base64.urlsafe_b64decode(str(token)).decode())
        except (ValueError, UnicodeDecodeError) as exc:
            raise SsmError("InvalidNextToken", "The specified token isn't valid.") from exc
    size = int(payload.get("MaxResults") or default)
    page = items[start : start + size]
    more = start + size < len(items)
    return page, base64.urlsafe_b64encode(str(start + size).encode()).decode() if more else None


def _with_token(body: Json, token: str | None) -> Json:
    if token:
        body["NextToken"] = token
    return body


# --- the service ---------------------------------------------------------------------------------------
class SsmService:
    """Run Command and instance inventory over the host registry; pure request dict → response dict."""

    def __init__(self, hosts: HostRegistry, executor: HostExecutor, account_id: str, region: str) -> None:
        self.hosts = hosts
        self.executor = executor
        self.account_id = account_id
        self.region = region
        self.commands: dict[str, Command] = {}
        self.lock = threading.Lock()
        self.operations: dict[str, Callable[[Json], Json]] = {
            "SendCommand": self.send_command,
            "GetCommandInvocation": self.get_command_invocation,
            "ListCommandInvocations": self.list_command_invocations,
            "ListCommands": self.list_commands,
            "CancelCommand": self.cancel_command,
            "DescribeInstanceInformation": self.describe_instance_information,
        }

    # --- SendCommand -------------------------------------------------------------------------------
    def send_command(self, payload: Json) -> Json:
        """Validate, resolve targets, and start one invocation per instance."""
        document = str(payload.get("DocumentName", ""))
        if document.rsplit("/", 1)[-1] != RUN_SHELL_SCRIPT:
            raise SsmError(
                "InvalidDocument", f"Document {document} is not supported by the sandbox (only {RUN_SHELL_SCRIPT})."
            )
        parameters = self._parameters(payload.get("Parameters") or {})
        instance_ids = self._resolve(payload)
        now = datetime.now(timezone.utc)
        command = Command(
            command_id=new_command_id(),
            document_name=RUN_SHELL_SCRIPT,
            comment=str(payload.get("Comment", "")),
            parameters=parameters,
            instance_ids=list(payload.get("InstanceIds") or []),
            targets=list(payload.get("Targets") or []),
            requested_at=now,
            timeout_seconds=int(payload.get("TimeoutSeconds") or 3600),
            execution_timeout=int(parameters["executionTimeout"][0]),
            max_concurrency=str(payload.get("MaxConcurrency") or "50"),
            max_errors=str(payload.get("MaxErrors") or "0"),
        )
        visible_after = time.monotonic() + self.executor.timing.invisible_for
        for iid in instance_ids:
            command.invocations[iid] = Invocation(command.command_id, iid, now, visible_after)
        with self.lock:
            self.commands[command.command_id] = command
        for invocation in command.invocations.values():
            self.executor.submit(command, invocation, self.lock)
        return {"Command": self._command_json(command)}

    @staticmethod
    def _parameters(raw: Json) -> dict[str, list[str]]:
        params = {str(k): [str(v) for v in (vs if isinstance(vs, list) else [vs])] for k, vs in raw.items()}
        unknown = set(params) - {"commands", "workingDirectory", "executionTimeout"}
        if unknown or not params.get("commands"):
            raise SsmError(
                "InvalidParameters",
                "Parameters must hold a non-empty 'commands' list (and optionally executionTimeout, workingDirectory).",
            )
        timeout = params.setdefault("executionTimeout", ["3600"])
        if not timeout[0].isdigit() or not 1 <= int(timeout[0]) <= MAX_EXECUTION_TIMEOUT:
            raise SsmError(
                "InvalidParameters", f"executionTimeout must be an integer between 1 and {MAX_EXECUTION_TIMEOUT}."
            )
        return params

    def _resolve(self, payload: Json) -> list[str]:
        ids = [str(i) for i in payload.get("InstanceIds") or []]
        targets = payload.get("Targets") or []
        if bool(ids) == bool(targets):
            raise SsmError("ValidationException", "Specify either InstanceIds or Targets.")
        if len(ids) > MAX_INSTANCE_IDS:
            raise SsmError("ValidationException", f"InstanceIds can hold at most {MAX_INSTANCE_IDS} ids.")
        if ids:
            bad = [iid for iid in ids if not self._online(iid)]
            if bad:
                raise SsmError(
                    "InvalidInstanceId",
                    f"Instances [{', '.join(bad)}] not in a valid state for account {self.account_id}",
                )
            return list(dict.fromkeys(ids))
        return [s.facts.instance_id for s in self.hosts.registered() if s.online and _matches_targets(s, targets)]

    def _online(self, instance_id: str) -> bool:
        status = self.hosts.status(instance_id)
        return status is not None and status.online

    # --- invocations ---------------------------------------------------------------------------------
    def get_command_invocation(self, payload: Json) -> Json:
        """One invocation's status and capped output; InvocationDoesNotExist while not yet visible."""
        with self.lock:
            command = self.commands.get(str(payload.get("CommandId")))
            inv = command.invocations.get(str(payload.get("InstanceId"))) if command else None
            if command is None or inv is None or time.monotonic() < inv.visible_after:
                raise SsmError("InvocationDoesNotExist", "")
            plugin = payload.get("PluginName")
            if plugin not in (None, PLUGIN_NAME):
                raise SsmError("InvalidPluginName", f"Plugin {plugin} not found in the document.")
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
                "CloudWatchOutputConfig": {"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": False},
            }

    def list_command_invocations(self, payload: Json) -> Json:
        """Invocations, optionally for one command and/or instance; ``Details`` adds plugin output."""
        details = bool(payload.get("Details"))
        with self.lock:
            rows = [
                self._invocation_json(cmd, inv, details)
                for cmd in self._commands(payload)
                for inv in cmd.invocations.values()
                if payload.get("InstanceId") in (None, inv.instance_id) and time.monotonic() >= inv.visible_after
            ]
        page, token = _page(rows, payload, 50)
        return _with_token({"CommandInvocations": page}, token)

    def list_commands(self, payload: Json) -> Json:
        """Commands, newest first, optionally one id or those that targeted one instance."""
        with self.lock:
            rows = [
                self._command_json(cmd)
                for cmd in self._commands(payload)
                if payload.get("InstanceId") in (None, *cmd.invocations)
            ]
        page, token = _page(rows, payload, 50)
        return _with_token({"Commands": page}, token)

    def cancel_command(self, payload: Json) -> Json:
        """Cancel a command on all (or the listed) instances."""
        with self.lock:
            command = self.commands.get(str(payload.get("CommandId")))
        if command is None:
            raise SsmError("InvalidCommandId", "")
        wanted = set(payload.get("InstanceIds") or command.invocations)
        for iid, inv in command.invocations.items():
            if iid in wanted:
                self.executor.cancel(inv, self.lock)
        return {}

    def _commands(self, payload: Json) -> list[Command]:
        """Caller holds the lock."""
        wanted = payload.get("CommandId")
        if wanted is not None and wanted not in self.commands:
            raise SsmError("InvalidCommandId", "")
        found = [c for c in self.commands.values() if wanted in (None, c.command_id)]
        return sorted(found, key=lambda c: c.requested_at, reverse=True)

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
            "OutputS3Region": self.region,
            "OutputS3BucketName": "",
            "OutputS3KeyPrefix": "",
            "MaxConcurrency": command.max_concurrency,
            "MaxErrors": command.max_errors,
            "TargetCount": len(invs),
            "CompletedCount": len(done),
            "ErrorCount": sum(i.status in ("Failed", "TimedOut") for i in done),
            "DeliveryTimedOutCount": sum(i.status_details == "DeliveryTimedOut" for i in done),
            "ServiceRole": "",
            "NotificationConfig": {"NotificationArn": "", "NotificationEvents": [], "NotificationType": ""},
            "CloudWatchOutputConfig": {"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": False},
            "TimeoutSeconds": command.timeout_seconds,
        }

    @staticmethod
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
            "NotificationConfig": {"NotificationArn": "", "NotificationEvents": [], "NotificationType": ""},
            "CloudWatchOutputConfig": {"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": False},
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

    # --- inventory -------------------------------------------------------------------------------------
    def describe_instance_information(self, payload: Json) -> Json:
        """Registered hosts with PingStatus, filtered and paginated (MaxResults 5..50)."""
        filters = _instance_filters(payload)
        rows = [self._instance_json(s) for s in self.hosts.registered() if _matches_filters(s, filters)]
        page, token = _page(rows, payload, 50)
        return _with_token({"InstanceInformationList": page}, token)

    def _instance_json(self, status: HostStatus) -> Json:
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
    """Both filter styles as ``{key: allowed values}`` (values within a key OR, keys AND)."""
    filters: dict[str, set[str]] = {}
    for item in payload.get("InstanceInformationFilterList") or []:
        filters.setdefault(str(item["key"]), set()).update(item.get("valueSet") or [])
    for item in payload.get("Filters") or []:
        filters.setdefault(str(item["Key"]), set()).update(item.get("Values") or [])
    supported = {"InstanceIds", "PingStatus", "PlatformTypes", "ResourceType", "IamRole"}
    for key in filters:
        if key not in supported and not key.startswith("tag:") and key != "tag-key":
            raise SsmError(
                "InvalidInstanceInformationFilterValue", f"Filter key {key} is not supported by the sandbox."
            )
    return filters


def _matches_filters(status: HostStatus, filters: dict[str, set[str]]) -> bool:
    facts = status.facts
    values = {
        "InstanceIds": facts.instance_id,
        "PingStatus": status.ping_status,
        "PlatformTypes": "Linux",
        "ResourceType": "EC2Instance",
        "IamRole": status.role.name if status.role else "",
    }
    for key, allowed in filters.items():
        if key == "tag-key":
            if not allowed & set(facts.tags):
                return False
        elif key.startswith("tag:"):
            if facts.tags.get(key[4:]) not in allowed:
                return False
        elif values[key] not in allowed:
            return False
    return True


def _matches_targets(status: HostStatus, targets: list[Json]) -> bool:
    """SendCommand Targets: every key/values pair must match (values OR)."""
    facts = status.facts
    for target in targets:
        key, values = str(target.get("Key", "")), set(target.get("Values") or [])
        if key == "InstanceIds":
            ok = facts.instance_id in values
        elif key == "tag-key":
            ok = bool(values & set(facts.tags))
        elif key.startswith("tag:"):
            ok = facts.tags.get(key[4:]) in values
        else:
            raise SsmError("InvalidTarget", f"Target key {key} is not supported by the sandbox.")
        if not ok:
            return False
    return True


# --- HTTP ------------------------------------------------------------------------------------------------
class _SsmHttpServer(LocalServer):
    def __init__(self, endpoint: SsmEndpoint) -> None:
        super().__init__(_SsmHandler, name="ssm-endpoint")
        self.endpoint = endpoint


_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,]+/\d{8}/([a-z0-9-]+)/ssm/")


def _signed_region(authorization: str) -> str | None:
    """The region a SigV4 request was signed for (its credential scope)."""
    m = _CREDENTIAL_SCOPE.search(authorization)
    return m.group(1) if m else None


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


class _SsmHandler(QuietHandler):
    server_version = "Server"

    @property
    def _endpoint(self) -> SsmEndpoint:
        return cast(_SsmHttpServer, self.server).endpoint

    def do_POST(self) -> None:
        """Dispatch an AWS JSON 1.1 request; unknown operations go to moto."""
        body = self.read_body()
        target = self.headers.get("X-Amz-Target", "")
        operation = target.split(".", 1)[1] if target.startswith("AmazonSSM.") else ""
        endpoint = self._endpoint
        if operation not in endpoint.service.operations:
            fault = endpoint.faults.take(operation) if operation else None
            if fault is not None:
                self._error(fault)
            else:
                self._proxy(body)
            return
        try:
            fault = endpoint.faults.take(operation)
            if fault is not None:
                raise fault
            endpoint.calls.append(operation)
            payload = json.loads(body or b"{}")
            region = _signed_region(self.headers.get("Authorization", ""))
            if region and region != endpoint.service.region:
                result = _other_region(operation)  # SSM is regional: this region knows none of our hosts
            else:
                result = endpoint.service.operations[operation](payload)
        except SsmError as err:
            self._error(err)
            return
        self.send_body(200, json.dumps(result).encode(), JSON_CONTENT_TYPE, {"x-amzn-RequestId": str(uuid.uuid4())})

    def do_GET(self) -> None:
        """Anything but SSM's POST goes to moto."""
        self._proxy(b"")

    def _error(self, err: SsmError) -> None:
        body = json.dumps({"__type": err.code, "message": err.message}).encode()
        headers = {"x-amzn-RequestId": str(uuid.uuid4()), "x-amzn-ErrorType": err.code}
        self.send_body(err.status, body, JSON_CONTENT_TYPE, headers)

    def _proxy(self, body: bytes) -> None:
        """Forward the raw request (same headers, so the signature still verifies) to moto."""
        self.forward(self._endpoint.moto_url, body, JSON_CONTENT_TYPE)


class SsmEndpoint:
    """The SSM HTTP endpoint on 127.0.0.1: service + executor + fault table."""

    def __init__(
        self,
        hosts: HostRegistry,
        imds_endpoint: Callable[[str], str],
        *,
        moto_url: str,
        account_id: str,
        region: str,
        ssl_cert_file: Path | None = None,
        python_bin: Path | None = None,
        timing: SsmTiming | None = None,
    ) -> None:
        self.moto_url = moto_url
        self.faults = FaultInjector()
        self.calls: list[str] = []
        self.executor = HostExecutor(
            hosts,
            imds_endpoint,
            moto_url=moto_url,
            region=region,
            ssl_cert_file=ssl_cert_file,
            python_bin=python_bin,
            timing=timing,
        )
        self.service = SsmService(hosts, self.executor, account_id, region)
        self._server = _SsmHttpServer(self)
        self._server.start()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` — the value for ``AWS_ENDPOINT_URL_SSM``."""
        return self._server.url

    def invocations(self) -> list[Invocation]:
        """Every invocation so far (for tests and teardown)."""
        with self.service.lock:
            return [inv for cmd in self.service.commands.values() for inv in cmd.invocations.values()]

    def stop(self) -> None:
        """Stop serving, kill running host processes and join all threads. Idempotent."""
        self._server.stop()
        self.executor.stop(self.invocations(), self.service.lock)
