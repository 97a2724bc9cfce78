"""The SSM backend: Run Command and instance-inventory state, and the rules requests must pass.

Commands and their invocations live in :class:`SsmBackend`, behind one lock shared with the
:class:`~atlasiam_sandbox.aws.runcommand.HostExecutor` that runs them; readers get copies taken under that
lock. Requests are checked against SSM's limits (at most 50 instance ids, executionTimeout 1..172800 s, only
AWS-RunShellScript in the sandbox) and refused with :class:`SsmError`, which carries the AWS error code.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from atlasiam_sandbox.aws.hosts import HostRegistry, HostStatus
from atlasiam_sandbox.aws.runcommand import Command, HostExecutor, Invocation, new_command_id

RUN_SHELL_SCRIPT = "AWS-RunShellScript"
PLUGIN_NAME = "aws:runShellScript"
MAX_INSTANCE_IDS = 50
MAX_EXECUTION_TIMEOUT = 172_800
INSTANCE_FILTER_KEYS = frozenset({"InstanceIds", "PingStatus", "PlatformTypes", "ResourceType", "IamRole"})

Json = dict[str, Any]


class SsmError(Exception):
    """An AWS JSON protocol error: botocore raises ``ClientError`` with ``code``."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class SsmBackend:
    """Run Command and instance inventory over the host registry, for one account and region.

    Request values arrive as decoded from the client's JSON; defaults and conversions are applied here, once
    validation has passed.
    """

    def __init__(self, hosts: HostRegistry, executor: HostExecutor, account_id: str, region: str) -> None:
        self.hosts = hosts
        self.executor = executor
        self.account_id = account_id
        self.region = region
        self.commands: dict[str, Command] = {}
        self.lock = threading.Lock()

    # --- SendCommand -------------------------------------------------------------------------------
    def send_command(
        self,
        document_name: str,
        parameters: Json | None,
        instance_ids: list[str] | None,
        targets: list[Json] | None,
        *,
        comment: str,
        timeout_seconds: int | None,
        max_concurrency: str | None,
        max_errors: str | None,
    ) -> Command:
        """Validate, resolve targets, and start one invocation per instance; returns a copy of the command."""
        if document_name.rsplit("/", 1)[-1] != RUN_SHELL_SCRIPT:
            raise SsmError(
                "InvalidDocument",
                f"Document {document_name} is not supported by the sandbox (only {RUN_SHELL_SCRIPT}).",
            )
        params = self._parameters(parameters or {})
        resolved = self._resolve(instance_ids or [], targets or [])
        now = datetime.now(timezone.utc)
        command = Command(
            command_id=new_command_id(),
            document_name=RUN_SHELL_SCRIPT,
            comment=comment,
            parameters=params,
            instance_ids=list(instance_ids or []),
            targets=list(targets or []),
            requested_at=now,
            timeout_seconds=int(timeout_seconds or 3600),
            execution_timeout=int(params["executionTimeout"][0]),
            max_concurrency=str(max_concurrency or "50"),
            max_errors=str(max_errors or "0"),
        )
        visible_after = time.monotonic() + self.executor.timing.invisible_for
        for iid in resolved:
            command.invocations[iid] = Invocation(command.command_id, iid, now, visible_after)
        with self.lock:
            self.commands[command.command_id] = command
        for invocation in command.invocations.values():
            self.executor.submit(command, invocation, self.lock)
        with self.lock:
            return _copy(command)

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

    def _resolve(self, instance_ids: list[str], targets: list[Json]) -> list[str]:
        ids = [str(i) for i in instance_ids]
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
    def get_command_invocation(
        self, command_id: str, instance_id: str, plugin_name: str | None
    ) -> tuple[Command, Invocation]:
        """One invocation (copied with its command); InvocationDoesNotExist while not yet visible."""
        with self.lock:
            command = self.commands.get(command_id)
            inv = command.invocations.get(instance_id) if command else None
            if command is None or inv is None or time.monotonic() < inv.visible_after:
                raise SsmError("InvocationDoesNotExist", "")
            if plugin_name not in (None, PLUGIN_NAME):
                raise SsmError("InvalidPluginName", f"Plugin {plugin_name} not found in the document.")
            copied = _copy(command)
        return copied, copied.invocations[inv.instance_id]

    def list_command_invocations(
        self, command_id: str | None, instance_id: str | None
    ) -> list[tuple[Command, Invocation]]:
        """Visible invocations, optionally for one command and/or instance (copies, newest command first)."""
        with self.lock:
            return [
                (cmd, inv)
                for cmd in map(_copy, self._commands(command_id))
                for inv in cmd.invocations.values()
                if instance_id in (None, inv.instance_id) and time.monotonic() >= inv.visible_after
            ]

    def list_commands(self, command_id: str | None, instance_id: str | None) -> list[Command]:
        """Commands, newest first, optionally one id or those that targeted one instance (copies)."""
        with self.lock:
            return [_copy(cmd) for cmd in self._commands(command_id) if instance_id in (None, *cmd.invocations)]

    def cancel_command(self, command_id: str, instance_ids: list[str] | None) -> None:
        """Cancel a command on all (or the listed) instances."""
        with self.lock:
            command = self.commands.get(command_id)
        if command is None:
            raise SsmError("InvalidCommandId", "")
        wanted = set(instance_ids or command.invocations)
        for iid, inv in command.invocations.items():
            if iid in wanted:
                self.executor.cancel(inv, self.lock)

    def invocations(self) -> list[Invocation]:
        """Every invocation so far, live (for teardown)."""
        with self.lock:
            return [inv for cmd in self.commands.values() for inv in cmd.invocations.values()]

    def _commands(self, command_id: str | None) -> list[Command]:
        """Caller holds the lock."""
        if command_id is not None and command_id not in self.commands:
            raise SsmError("InvalidCommandId", "")
        found = [c for c in self.commands.values() if command_id in (None, c.command_id)]
        return sorted(found, key=lambda c: c.requested_at, reverse=True)

    # --- inventory -------------------------------------------------------------------------------------
    def describe_instance_information(self, filters: dict[str, set[str]]) -> list[HostStatus]:
        """Registered hosts matching ``{key: allowed values}`` filters (values within a key OR, keys AND)."""
        for key in filters:
            if key not in INSTANCE_FILTER_KEYS and not key.startswith("tag:") and key != "tag-key":
                raise SsmError(
                    "InvalidInstanceInformationFilterValue", f"Filter key {key} is not supported by the sandbox."
                )
        return [s for s in self.hosts.registered() if _matches_filters(s, filters)]


def _copy(command: Command) -> Command:
    """The command with copies of its invocations, safe to read without the lock (caller holds it)."""
    return replace(command, invocations={iid: replace(inv) for iid, inv in command.invocations.items()})


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
