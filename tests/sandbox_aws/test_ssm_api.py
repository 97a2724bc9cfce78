"""SSM API surface: Targets, fan-out, pagination, the moto proxy and fault injection."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from atlasiam_sandbox.aws import SandboxCloud

from ._helpers import TERMINAL

# moto's state is process-global: keep this package's tests on one xdist worker (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("sandbox_aws")

# botocore's "max_attempts" counts retries (1 = one retry); "total_max_attempts" counts the first call too.
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})


@pytest.fixture(scope="module")
def blue_fleet(cloud: SandboxCloud) -> list[str]:
    return [h.instance_id for h in cloud.launch_hosts("blue", tags={"fleet": "blue"}, count=20)]


def _wait_all(ssm: Any, command_id: str, expected: int, timeout: float = 20) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows: list[dict[str, Any]] = [
            row
            for page in ssm.get_paginator("list_command_invocations").paginate(CommandId=command_id)
            for row in page["CommandInvocations"]
        ]
        if len(rows) == expected and all(r["Status"] in TERMINAL for r in rows):
            return rows
        time.sleep(0.05)
    raise AssertionError(f"{command_id} did not finish on {expected} hosts")


def test_targets_by_tag(ssm: Any, blue_fleet: list[str], cloud: SandboxCloud) -> None:
    cloud.launch_host("green", tags={"fleet": "green"})
    command = ssm.send_command(
        Targets=[{"Key": "tag:fleet", "Values": ["blue"]}],
        DocumentName="AWS-RunShellScript",
        Parameters={"commands": ["echo ok"]},
    )["Command"]
    assert command["TargetCount"] == 20
    assert command["InstanceIds"] == []
    rows = _wait_all(ssm, command["CommandId"], 20)
    assert sorted(r["InstanceId"] for r in rows) == sorted(blue_fleet)
    assert {r["Status"] for r in rows} == {"Success"}
    listed = ssm.list_commands(CommandId=command["CommandId"])["Commands"][0]
    assert (listed["Status"], listed["CompletedCount"], listed["ErrorCount"]) == ("Success", 20, 0)


def test_fifty_hosts_in_parallel(ssm: Any, cloud: SandboxCloud) -> None:
    hosts = [h.instance_id for h in cloud.launch_hosts("wide", count=50)]
    started = time.monotonic()
    command = ssm.send_command(
        InstanceIds=hosts,
        DocumentName="AWS-RunShellScript",
        Parameters={"commands": ["sleep 1", "python3 -c 'import sys; print(sys.version_info[0])'"]},
    )["Command"]
    rows = _wait_all(ssm, command["CommandId"], 50)
    elapsed = time.monotonic() - started
    assert {r["Status"] for r in rows} == {"Success"}
    # Serially this would take > 50 s.
    assert elapsed < 6
    print(f"50-host fan-out: {elapsed:.2f}s")


def test_more_than_fifty_ids_rejected(ssm: Any) -> None:
    with pytest.raises(ClientError) as err:
        ssm.send_command(
            InstanceIds=[f"i-{n:017x}" for n in range(51)],
            DocumentName="AWS-RunShellScript",
            Parameters={"commands": ["true"]},
        )
    assert err.value.response["Error"]["Code"] == "ValidationException"


def test_unknown_instance_is_invalid(ssm: Any) -> None:
    with pytest.raises(ssm.exceptions.InvalidInstanceId) as err:
        ssm.send_command(
            InstanceIds=["i-0123456789abcdef0"], DocumentName="AWS-RunShellScript", Parameters={"commands": ["true"]}
        )
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_describe_pagination(ssm: Any, blue_fleet: list[str]) -> None:
    pages = list(
        ssm.get_paginator("describe_instance_information").paginate(
            Filters=[{"Key": "tag:fleet", "Values": ["blue"]}], PaginationConfig={"PageSize": 5}
        )
    )
    assert [len(p["InstanceInformationList"]) for p in pages] == [5, 5, 5, 5]
    ids = [row["InstanceId"] for p in pages for row in p["InstanceInformationList"]]
    assert sorted(ids) == sorted(blue_fleet)
    first = ssm.describe_instance_information(MaxResults=5)
    assert "NextToken" in first
    with pytest.raises(ClientError) as err:
        ssm.describe_instance_information(NextToken="not-a-token")
    assert err.value.response["Error"]["Code"] == "InvalidNextToken"


def test_other_operations_go_to_moto(ssm: Any, cloud: SandboxCloud) -> None:
    ssm.put_parameter(Name="/atlasiam/probe", Value="v1", Type="String")
    assert ssm.get_parameter(Name="/atlasiam/probe")["Parameter"]["Value"] == "v1"
    # Same store as moto's own SSM.
    direct = cloud.client("ssm", endpoint_url=cloud.moto_url)
    assert direct.get_parameter(Name="/atlasiam/probe")["Parameter"]["Value"] == "v1"
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.get_parameter(Name="/atlasiam/missing")


def test_throttling_injection(cloud: SandboxCloud, blue_fleet: list[str]) -> None:
    ssm = cloud.client("ssm", config=NO_RETRIES)
    cloud.ssm.faults.throttle("SendCommand", times=2)
    for _ in range(2):
        with pytest.raises(ClientError) as err:
            ssm.send_command(
                InstanceIds=blue_fleet[:1], DocumentName="AWS-RunShellScript", Parameters={"commands": ["true"]}
            )
        assert err.value.response["Error"]["Code"] == "ThrottlingException"
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    ssm.send_command(InstanceIds=blue_fleet[:1], DocumentName="AWS-RunShellScript", Parameters={"commands": ["true"]})


def test_server_error_burst(cloud: SandboxCloud) -> None:
    cloud.ssm.faults.server_errors("DescribeInstanceInformation", times=1, status=503)
    with pytest.raises(ClientError) as err:
        cloud.client("ssm", config=NO_RETRIES).describe_instance_information()
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    # botocore's standard retries ride out a short burst.
    cloud.ssm.faults.server_errors("DescribeInstanceInformation", times=2)
    retrying = cloud.client("ssm", config=Config(retries={"total_max_attempts": 3, "mode": "standard"}))
    assert retrying.describe_instance_information()["InstanceInformationList"]
    # Proxied operations can be faulted too.
    cloud.ssm.faults.throttle("GetParameter")
    with pytest.raises(ClientError) as err:
        cloud.client("ssm", config=NO_RETRIES).get_parameter(Name="/atlasiam/probe")
    assert err.value.response["Error"]["Code"] == "ThrottlingException"
