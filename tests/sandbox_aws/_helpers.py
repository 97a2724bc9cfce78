from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TERMINAL = {"Success", "Failed", "TimedOut", "Cancelled"}


def run(ssm: Any, instance_id: str, *lines: str, timeout: float = 20, **params: list[str]) -> dict[str, Any]:
    """SendCommand to one host and poll GetCommandInvocation until a terminal status."""
    command = ssm.send_command(
        InstanceIds=[instance_id], DocumentName="AWS-RunShellScript", Parameters={"commands": list(lines), **params}
    )["Command"]
    return wait(ssm, command["CommandId"], instance_id, timeout)


def wait(
    ssm: Any, command_id: str, instance_id: str, timeout: float = 20, on_status: Callable[[str], None] | None = None
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result: dict[str, Any] = ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id)
        except ssm.exceptions.InvocationDoesNotExist:
            status = "InvocationDoesNotExist"
        else:
            status = result["Status"]
        if on_status:
            on_status(status)
        if status in TERMINAL:
            return result
        time.sleep(0.005)
    raise AssertionError(f"{command_id} on {instance_id} did not finish in {timeout}s")


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for a reaper counts as dead)."""
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return False
        if state in ("Z", "X"):
            return False
        time.sleep(0.02)
    return True
