"""Private network mode end to end: a host without an internet route logs in through an Atlas private endpoint.

The host reaches SSM through interface endpoints; the cluster's private-endpoint connection string (from the
stand-in data source, as the module reads it) leads to a listener that only the endpoint's VPC reaches, only while
the endpoint is AVAILABLE; the public string does not work from a private subnet.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from atlasiam_sandbox.aws.cloud import LaunchedHost
from atlasiam_sandbox.provider.backends import atlas as atlas_backend
from atlasiam_sandbox.provider.backends.base import AwsContext
from atlasiam_sandbox.world import Sandbox
from tests.e2e.conftest import CLUSTER, PROJECT, add_user, findings, run_verify

pytestmark = pytest.mark.usefixtures("sandbox_env")
DELAY = 0.2


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(tmp_path_factory.mktemp("sandbox"), privatelink_delay_s=DELAY) as sb:
        atlas_backend._TOKEN.clear()  # a token of another module's Atlas emulation is no good here
        yield sb
        atlas_backend._TOKEN.clear()


def _private_host(sandbox: Sandbox, name: str) -> LaunchedHost:
    """A host in a subnet without an internet route, Online through the SSM interface endpoints."""
    host = sandbox.cloud.launch_host(name, internet_route=False)
    ec2 = sandbox.cloud.client("ec2")
    for service in ("ssm", "ssmmessages", "ec2messages"):
        ec2.create_vpc_endpoint(
            VpcId=host.vpc_id,
            ServiceName=f"com.amazonaws.us-east-1.{service}",
            VpcEndpointType="Interface",
            SubnetIds=[host.subnet_id],
            PrivateDnsEnabled=True,
        )
    return host


def _settle(check: Any, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def _private_link(sandbox: Sandbox, host: LaunchedHost) -> str:
    """Atlas's endpoint service, the host VPC's interface endpoint to it, accepted: the endpoint's id."""
    link = sandbox.api.privatelink
    existing = sandbox.atlas.services_in(PROJECT)  # one service per region and project (Atlas's rule)
    service_id = (
        existing[0].id
        if existing
        else link.create_service(PROJECT, {"providerName": "AWS", "region": "us-east-1"})["id"]
    )
    service = _settle(lambda: link.service_status(link.service(PROJECT, "AWS", service_id)) == "AVAILABLE" or None)
    assert service
    name = link.service(PROJECT, "AWS", service_id).service_name
    vpce = sandbox.cloud.client("ec2").create_vpc_endpoint(
        VpcId=host.vpc_id, ServiceName=name, VpcEndpointType="Interface", SubnetIds=[host.subnet_id]
    )["VpcEndpoint"]["VpcEndpointId"]
    link.create_endpoint(PROJECT, "AWS", service_id, {"id": vpce})
    accepted = _settle(
        lambda: (
            link.endpoint_doc(*link.endpoint(PROJECT, "AWS", service_id, vpce))["connectionStatus"]
            != "PENDING_ACCEPTANCE"
        )
    )
    assert accepted
    return str(vpce)


def _strings() -> dict[str, Any]:
    observed = atlas_backend.AdvancedClusterData().read(AwsContext(), {"project_id": PROJECT, "name": CLUSTER})
    strings: dict[str, Any] = observed["connection_strings"]
    return strings


def _args(uri: str, host: LaunchedHost) -> list[str]:
    return [
        "--instance-id",
        host.instance_id,
        "--uri",
        uri,
        "--expect-arn",
        host.role_arn,
        "--region",
        "us-east-1",
        "--wait",
        "0",
        "--online-timeout",
        "10",
    ]


def test_private_host_logs_in_through_its_private_endpoint_only(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    host = _private_host(sandbox, "private-pe")
    add_user(sandbox, host.role_arn)
    assert _strings()["private_endpoint"] == []
    vpce = _private_link(sandbox, host)

    strings = _strings()
    (entry,) = strings["private_endpoint"]
    private_uri = entry["srv_connection_string"]
    assert entry["endpoints"] == [{"endpoint_id": vpce, "provider_name": "AWS", "region": "US_EAST_1"}]
    assert private_uri != strings["standard_srv"]

    doc = run_verify(capsys, *_args(private_uri, host), expect=0)
    assert doc["data"]["hosts"][0]["db_user"] == host.role_arn

    # the public string leads nowhere from a subnet without an internet route
    failed = run_verify(capsys, *_args(strings["standard_srv"], host), expect=3)
    assert findings(failed) != [[]]
    public = sandbox.endpoint(PROJECT, CLUSTER)
    assert any(f"instance {host.instance_id} has no route to the internet" in r for r in public.refusals)


def test_the_private_address_refuses_everyone_outside_the_endpoints_vpc(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    inside = _private_host(sandbox, "private-in")
    vpce = _private_link(sandbox, inside)
    private_uri = sandbox.private_uri(PROJECT, CLUSTER, vpce)
    listener = sandbox.private_endpoint(PROJECT, CLUSTER, vpce)

    # a host of another VPC (with an internet route, Online over it)
    outside = sandbox.cloud.launch_host("private-out")
    add_user(sandbox, outside.role_arn)
    run_verify(capsys, *_args(private_uri, outside), expect=3)
    assert any(f"instance {outside.instance_id} in " in r and vpce in r for r in listener.refusals)

    # this machine, which is no emulated host (verify --from-here would be this)
    import pymongo
    from pymongo.errors import ServerSelectionTimeoutError

    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        private_uri, serverSelectionTimeoutMS=500, tlsCAFile=str(listener.ca_file)
    )
    with pytest.raises(ServerSelectionTimeoutError):
        client.admin.command("ping")
    client.close()
    assert any("a process that is no emulated host" in r for r in listener.refusals)

    # the interface endpoint is deleted in AWS: the string goes, and the address answers nobody
    sandbox.cloud.client("ec2").delete_vpc_endpoints(VpcEndpointIds=[vpce])
    assert all(e["endpoints"][0]["endpoint_id"] != vpce for e in _strings()["private_endpoint"])
    add_user(sandbox, inside.role_arn)
    run_verify(capsys, *_args(private_uri, inside), expect=3)
    # moto no longer has the endpoint: no host can have a route to it
    assert any(f"has no route to interface endpoint {vpce}" in r for r in listener.refusals[-3:])


def test_an_endpoint_to_an_endpoint_service_that_does_not_exist_is_refused_by_ec2(sandbox: Sandbox) -> None:
    host = sandbox.cloud.launch_host("private-svc", internet_route=False)
    ec2 = sandbox.cloud.client("ec2")
    missing = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"
    with pytest.raises(Exception, match="InvalidServiceName") as refused:
        ec2.create_vpc_endpoint(VpcId=host.vpc_id, ServiceName=missing, VpcEndpointType="Interface")
    assert f"The Vpc Endpoint Service '{missing}' does not exist" in str(refused.value)
    _private_link(sandbox, host)  # Atlas's AVAILABLE service is one EC2 knows
