"""A host with user data boots like AL2023: Online first, atlasiam's user data (the real script) done later."""

from __future__ import annotations

import time
from typing import Any

import pytest

from atlasiam_sandbox.aws import HostSettings, SandboxCloud
from atlasiam_sandbox.aws.boot import DNF_FAILURE
from tests.user_data import USER_DATA

from ._helpers import run

# moto's state is process-global: keep this package's tests on one xdist worker (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("sandbox_aws")

LOOK = (
    "[ -x /opt/atlasiam/venv/bin/python3 ] && echo venv || echo no-venv",
    "[ -e /opt/atlasiam/ready ] && echo ready || echo not-ready",
    "python3 -c 'import pymongo' 2>/dev/null && echo system-pymongo || echo no-system-pymongo",
)


def look(ssm: Any, instance_id: str) -> list[str]:
    result = run(ssm, instance_id, *LOOK)
    assert result["Status"] == "Success", result["StandardErrorContent"]
    lines: list[str] = result["StandardOutputContent"].split()
    return lines


def test_online_before_the_bootstrap_is_done(ssm: Any, cloud: SandboxCloud) -> None:
    host = cloud.launch_host("fresh", user_data=USER_DATA, settings=HostSettings(bootstrap_delay=2.0)).instance_id
    started = time.monotonic()
    assert look(ssm, host) == ["no-venv", "not-ready", "no-system-pymongo"]  # reached at once, not ready
    assert time.monotonic() - started < 1.5
    assert cloud.boot.wait(host, timeout=10) == 0
    assert look(ssm, host) == ["venv", "ready", "no-system-pymongo"]
    venv = run(ssm, host, "/opt/atlasiam/venv/bin/python3 -c 'import pymongo, pymongo_auth_aws; print(\"ok\")'")
    assert venv["StandardOutputContent"] == "ok\n", venv["StandardErrorContent"]
    log = run(ssm, host, "cat /var/log/atlasiam-user-data.log")["StandardOutputContent"]
    assert log.splitlines()[-1] == "atlasiam bootstrap done"
    # cloud-init keeps the script and its output where it does on AL2023, on the host's own filesystem.
    root = cloud.hosts.fs_root(host)
    assert (root / "var/lib/cloud/instance/scripts/part-001").is_file()
    assert "atlasiam bootstrap done" in (root / "var/log/cloud-init-output.log").read_text()


def test_a_failed_bootstrap_leaves_its_marker_and_log(ssm: Any, cloud: SandboxCloud) -> None:
    settings = HostSettings(bootstrap_delay=0.0, bootstrap_fails=True)
    host = cloud.launch_host("broken", user_data=USER_DATA, settings=settings).instance_id
    assert cloud.boot.wait(host, timeout=10) == 1
    assert look(ssm, host) == ["no-venv", "not-ready", "no-system-pymongo"]
    marker = run(ssm, host, "cat /opt/atlasiam/failed")["StandardOutputContent"]
    assert marker.startswith("atlasiam bootstrap failed: exit 1 at line ")
    assert "dnf install -y python3.11 python3.11-pip" in marker
    log = run(ssm, host, "cat /var/log/atlasiam-user-data.log")["StandardOutputContent"]
    assert DNF_FAILURE in log


def test_a_host_without_user_data_boots_nothing(ssm: Any, cloud: SandboxCloud) -> None:
    host = cloud.launch_host("prepared").instance_id
    assert look(ssm, host) == ["no-venv", "not-ready", "system-pymongo"]  # someone installed pymongo for it
    assert cloud.boot.wait(host, timeout=0.2) is None
    assert not cloud.hosts.os_bin(host).exists()


def test_host_paths_are_the_hosts_own(ssm: Any, cloud: SandboxCloud) -> None:
    first, second = (cloud.launch_host(f"fs-{n}").instance_id for n in (1, 2))
    run(ssm, first, "mkdir -p /opt/atlasiam && echo mine > /opt/atlasiam/note")
    assert run(ssm, first, "cat /opt/atlasiam/note")["StandardOutputContent"] == "mine\n"
    assert run(ssm, second, "cat /opt/atlasiam/note")["Status"] == "Failed"
    assert (cloud.hosts.fs_root(first) / "opt/atlasiam/note").read_text() == "mine\n"
