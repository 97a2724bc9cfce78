"""Stopping the cloud stops everything: servers, worker threads, host processes, plugged-in services."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from atlasiam_sandbox.aws import SandboxCloud

from ._helpers import alive

# moto's state is process-global: keep this package's tests on one xdist worker (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("sandbox_aws")


def _new_threads(baseline: set[threading.Thread], grace: float = 3.0) -> list[threading.Thread]:
    deadline = time.monotonic() + grace
    while True:
        extra = [t for t in threading.enumerate() if t not in baseline and t.is_alive()]
        if not extra or time.monotonic() > deadline:
            return extra
        time.sleep(0.02)


@pytest.mark.usefixtures("cloud")
def test_stop_leaves_nothing_behind(tmp_path: Path) -> None:
    # The package's cloud is already running: this second one shares moto's state, so no reset.
    baseline = set(threading.enumerate())
    stopped: list[str] = []
    sandbox = SandboxCloud(tmp_path / "cloud", reset_moto=False).start()
    try:
        sandbox.add_service("mongo", lambda: stopped.append("mongo"))
        host = sandbox.launch_host("lifecycle").instance_id
        ssm = sandbox.client("ssm")
        command_id = ssm.send_command(
            InstanceIds=[host],
            DocumentName="AWS-RunShellScript",
            Parameters={"commands": ["echo $$ > shell.pid", "sleep 60"]},
        )["Command"]["CommandId"]
        pid_file = sandbox.hosts.host_dir(host) / "shell.pid"
        deadline = time.monotonic() + 5
        while not pid_file.exists() or not pid_file.read_text().strip():
            assert time.monotonic() < deadline
            time.sleep(0.01)
        pid = int(pid_file.read_text())
        assert ssm.get_command_invocation(CommandId=command_id, InstanceId=host)["Status"] == "InProgress"
        assert [t for t in threading.enumerate() if t not in baseline]
    finally:
        started = time.monotonic()
        sandbox.stop()
        stop_time = time.monotonic() - started
    assert stopped == ["mongo"]
    assert not alive(pid)
    assert _new_threads(baseline) == []
    assert stop_time < 3
    sandbox.stop()  # idempotent


@pytest.mark.usefixtures("cloud")
def test_add_service_errors_do_not_stop_the_rest(tmp_path: Path) -> None:
    sandbox = SandboxCloud(tmp_path / "cloud", reset_moto=False).start()
    calls: list[str] = []

    def broken() -> None:
        calls.append("broken")
        raise RuntimeError("boom")

    sandbox.add_service("first", lambda: calls.append("first"))
    sandbox.add_service("broken", broken)
    with pytest.raises(RuntimeError, match="boom"):
        sandbox.stop()
    assert calls == ["broken", "first"]
