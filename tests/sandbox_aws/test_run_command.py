"""SendCommand really runs AWS-RunShellScript on the emulated host, with SSM's states, caps and timeouts."""

from __future__ import annotations

import sys
import time
from typing import Any

import pytest

from atlasiam_sandbox.aws import SandboxCloud

from ._helpers import alive, run, wait

# moto's state is process-global: keep this package's tests on one xdist worker (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("sandbox_aws")


@pytest.fixture(scope="module")
def host(cloud: SandboxCloud) -> str:
    return cloud.launch_host("runner").instance_id


def test_states_then_real_output(ssm: Any, host: str) -> None:
    started = time.monotonic()
    command = ssm.send_command(
        InstanceIds=[host],
        DocumentName="AWS-RunShellScript",
        Parameters={"commands": ["echo hello; python3 -c 'import sys; print(sys.version_info[:2])'"]},
    )["Command"]
    assert command["Status"] == "Pending"
    assert command["TargetCount"] == 1
    seen: list[str] = []
    result = wait(ssm, command["CommandId"], host, on_status=lambda s: seen.append(s) if seen[-1:] != [s] else None)
    elapsed = time.monotonic() - started

    assert seen[0] == "InvocationDoesNotExist"
    assert "InProgress" in seen
    assert seen[-1] == "Success"
    assert seen.index("InProgress") < seen.index("Success")
    assert result["StandardOutputContent"] == f"hello\n{sys.version_info[:2]}\n"
    assert result["ResponseCode"] == 0
    assert result["ExecutionStartDateTime"].endswith("Z")
    assert result["ExecutionElapsedTime"].startswith("PT")
    assert elapsed < 3
    print(f"send -> Success: {elapsed:.3f}s")


def test_waiter_accepts_the_sandbox(ssm: Any, host: str) -> None:
    command_id = ssm.send_command(
        InstanceIds=[host], DocumentName="AWS-RunShellScript", Parameters={"commands": ["true"]}
    )["Command"]["CommandId"]
    ssm.get_waiter("command_executed").wait(
        CommandId=command_id, InstanceId=host, WaiterConfig={"Delay": 1, "MaxAttempts": 10}
    )


def test_failed_exit_code(ssm: Any, host: str) -> None:
    result = run(ssm, host, "echo out", "echo err >&2", "exit 3")
    assert result["Status"] == "Failed"
    assert result["StatusDetails"] == "Failed"
    assert result["ResponseCode"] == 3
    assert result["StandardOutputContent"] == "out\n"
    assert result["StandardErrorContent"].startswith("err\n")
    assert "exit status 3" in result["StandardErrorContent"]


def test_execution_timeout_kills_the_process_group(ssm: Any, host: str, cloud: SandboxCloud) -> None:
    started = time.monotonic()
    result = run(ssm, host, "sleep 30 & echo $! > child.pid", "sleep 30", executionTimeout=["1"])
    assert result["Status"] == "TimedOut"
    assert result["StatusDetails"] == "ExecutionTimedOut"
    assert time.monotonic() - started < 5
    child = int((cloud.hosts.host_dir(host) / "child.pid").read_text())
    assert not alive(child)


def test_stdout_and_stderr_caps(ssm: Any, host: str) -> None:
    result = run(
        ssm,
        host,
        "python3 -c \"print('x' * 30000)\"",
        "python3 -c \"import sys; sys.stderr.write('e' * 10000)\"",
    )
    assert result["Status"] == "Success"
    assert len(result["StandardOutputContent"]) == 24_000
    assert len(result["StandardErrorContent"]) == 8_000


def test_cancel(ssm: Any, host: str) -> None:
    command_id = ssm.send_command(
        InstanceIds=[host], DocumentName="AWS-RunShellScript", Parameters={"commands": ["sleep 30"]}
    )["Command"]["CommandId"]
    wait_for = time.monotonic() + 5
    while time.monotonic() < wait_for:
        try:
            if ssm.get_command_invocation(CommandId=command_id, InstanceId=host)["Status"] == "InProgress":
                break
        except ssm.exceptions.InvocationDoesNotExist:
            pass
        time.sleep(0.01)
    ssm.cancel_command(CommandId=command_id)
    assert wait(ssm, command_id, host, timeout=5)["Status"] == "Cancelled"
    assert ssm.list_commands(CommandId=command_id)["Commands"][0]["Status"] == "Cancelled"


def test_host_env_is_clean(ssm: Any, host: str, cloud: SandboxCloud, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIARUNNERSOWNKEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "runner-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "runner-token")
    monkeypatch.setenv("AWS_PROFILE", "runner")
    output = run(ssm, host, "env")["StandardOutputContent"]
    env = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        assert name not in env
    assert "runner" not in output
    assert env["HOME"] == str(cloud.hosts.host_dir(host))
    assert env["PWD"] == env["HOME"]
    assert env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] == cloud.imds.endpoint(host)
    assert env["PATH"].split(":")[0] == str(cloud.ssm.executor.python_bin)


def test_host_env_is_what_ssm_agent_gives(ssm: Any, host: str, cloud: SandboxCloud) -> None:
    """amazon-ssm-agent's prepareEnvironment: the agent's own environment plus AWS_SSM_*; no region variables."""
    output = run(ssm, host, "env")["StandardOutputContent"]
    env = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    assert env["AWS_SSM_INSTANCE_ID"] == host
    assert env["AWS_SSM_REGION_NAME"] == cloud.region
    assert (env["AWS_SSM_PLATFORM_NAME"], env["AWS_SSM_PLATFORM_VERSION"]) == ("Amazon Linux", "2023")
    assert [k for k in env if k in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "USER")] == []
    # Exactly the emulation's stand-ins for the host's network, and nothing that points at moto for all services.
    assert sorted(k for k in env if k.startswith("AWS_") and not k.startswith("AWS_SSM_")) == [
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        "AWS_ENDPOINT_URL_STS",
    ]
    assert env["AWS_ENDPOINT_URL_STS"] == cloud.sts_gate.url


def test_a_host_script_without_a_region_cannot_call_sts(ssm: Any, host: str) -> None:
    """Nothing hands the host a region: an SDK client that needs one must be given AWS_SSM_REGION_NAME."""
    call = "import boto3; boto3.client('sts').get_caller_identity()"
    result = run(ssm, host, f'python3 -c "{call}"')
    assert result["Status"] == "Failed"
    assert "NoRegionError" in result["StandardErrorContent"]


def test_extra_env_and_python_override(ssm: Any, cloud: SandboxCloud) -> None:
    host = cloud.launch_host("custom").instance_id
    cloud.hosts.configure(host, extra_env={"PROBE_MODE": "strict"}, python=sys.executable)
    result = run(ssm, host, 'echo "$PROBE_MODE"', "command -v python3", "python3 -c 'import pymongo'")
    lines = result["StandardOutputContent"].splitlines()
    assert result["Status"] == "Success", result["StandardErrorContent"]
    assert lines[0] == "strict"
    assert lines[1].endswith("/.sandbox-bin/python3")


def test_list_command_invocations_details(ssm: Any, host: str) -> None:
    result = run(ssm, host, "echo listed")
    rows = ssm.list_command_invocations(CommandId=result["CommandId"], Details=True)["CommandInvocations"]
    assert [r["InstanceId"] for r in rows] == [host]
    plugin = rows[0]["CommandPlugins"][0]
    assert plugin["Name"] == "aws:runShellScript"
    assert plugin["Output"] == "listed\n"
    assert plugin["ResponseCode"] == 0
    listed = ssm.list_commands(InstanceId=host)["Commands"]
    assert result["CommandId"] in [c["CommandId"] for c in listed]


def test_unknown_invocation(ssm: Any, host: str) -> None:
    with pytest.raises(ssm.exceptions.InvocationDoesNotExist):
        ssm.get_command_invocation(CommandId="00000000-0000-0000-0000-000000000000", InstanceId=host)


def test_only_run_shell_script(ssm: Any, host: str) -> None:
    with pytest.raises(ssm.exceptions.InvalidDocument):
        ssm.send_command(InstanceIds=[host], DocumentName="AWS-RunPowerShellScript", Parameters={"commands": ["x"]})
