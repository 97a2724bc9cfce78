"""verify in private mode against the sandbox: it names the path it proved, asks Atlas about the private endpoint and
the cluster's tier, and names what Atlas says is wrong (an M0 cluster, an endpoint Atlas rejected).

Needs the sandbox's PrivateLink emulation (private endpoint services, private listeners, cluster tiers).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("atlasiam_sandbox.atlas_privatelink", reason="the sandbox has no PrivateLink emulation yet")

from atlas_iam_tf.verify.atlas import AtlasApi  # noqa: E402
from atlas_iam_tf.verify.request import VerifyRequest  # noqa: E402
from atlas_iam_tf.verify.service import verify_over_ssm  # noqa: E402
from atlasiam_sandbox.atlas_state import Cluster  # noqa: E402
from atlasiam_sandbox.aws.cloud import LaunchedHost  # noqa: E402
from atlasiam_sandbox.world import Sandbox  # noqa: E402
from tests.e2e.conftest import CLUSTER, PROJECT, add_user, findings, run_verify  # noqa: E402

pytestmark = pytest.mark.usefixtures("sandbox_env")
FREE = "Free0"  # an M0 cluster of the same project


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    from atlasiam_sandbox.provider.backends import atlas as atlas_backend

    with Sandbox(tmp_path_factory.mktemp("sandbox"), privatelink_delay_s=0.2) as sb:
        atlas_backend._TOKEN.clear()  # a token of another module's Atlas emulation is no good here
        sb.atlas.put_cluster(Cluster(PROJECT, FREE, "atlas-free0-shard-0", tier="M0"))
        yield sb
        atlas_backend._TOKEN.clear()


def _settle(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def _private_host(sandbox: Sandbox, name: str) -> tuple[LaunchedHost, str]:
    """A host without an internet route, Online through the SSM endpoints; and its ssm endpoint's id."""
    host = sandbox.cloud.launch_host(name, internet_route=False)
    ec2 = sandbox.cloud.client("ec2")
    ids = [
        ec2.create_vpc_endpoint(
            VpcId=host.vpc_id,
            ServiceName=f"com.amazonaws.us-east-1.{service}",
            VpcEndpointType="Interface",
            SubnetIds=[host.subnet_id],
            PrivateDnsEnabled=True,
        )["VpcEndpoint"]["VpcEndpointId"]
        for service in ("ssm", "ssmmessages", "ec2messages")
    ]
    add_user(sandbox, host.role_arn)
    return host, str(ids[0])


def _service(sandbox: Sandbox) -> str:
    """The project's (one) AWS endpoint service in us-east-1, AVAILABLE."""
    link = sandbox.api.privatelink
    existing = sandbox.atlas.services_in(PROJECT)
    sid = (
        existing[0].id
        if existing
        else link.create_service(PROJECT, {"providerName": "AWS", "region": "us-east-1"})["id"]
    )
    assert _settle(lambda: link.service_status(link.service(PROJECT, "AWS", sid)) == "AVAILABLE")
    return str(sid)


def _add_endpoint(sandbox: Sandbox, sid: str, vpce: str) -> str:
    """Add ``vpce`` to the service in Atlas and wait for Atlas's decision; the connectionStatus."""
    link = sandbox.api.privatelink
    link.create_endpoint(PROJECT, "AWS", sid, {"id": vpce})

    def decided() -> str | None:
        status = str(link.endpoint_doc(*link.endpoint(PROJECT, "AWS", sid, vpce))["connectionStatus"])
        return None if status == "PENDING_ACCEPTANCE" else status

    return str(_settle(decided))


def _private_link(sandbox: Sandbox, host: LaunchedHost) -> str:
    sid = _service(sandbox)
    name = sandbox.api.privatelink.service(PROJECT, "AWS", sid).service_name
    vpce = sandbox.cloud.client("ec2").create_vpc_endpoint(
        VpcId=host.vpc_id, ServiceName=name, VpcEndpointType="Interface", SubnetIds=[host.subnet_id]
    )["VpcEndpoint"]["VpcEndpointId"]
    assert _add_endpoint(sandbox, sid, vpce) == "AVAILABLE"
    return str(vpce)


def _args(host: LaunchedHost, uri: str, vpce: str, cluster: str = CLUSTER) -> list[str]:
    return [
        *("--instance-id", host.instance_id, "--uri", uri, "--expect-arn", host.role_arn, "--region", "us-east-1"),
        *("--cluster-name", cluster, "--atlas-project-id", PROJECT, "--privatelink-endpoint-id", vpce),
        *("--wait", "0", "--online-timeout", "20"),
    ]


def test_the_private_path_is_proven_and_named(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    host, _ssm = _private_host(sandbox, "pl-proven")
    vpce = _private_link(sandbox, host)
    doc = run_verify(capsys, *_args(host, sandbox.private_uri(PROJECT, CLUSTER, vpce), vpce), expect=0)
    assert doc["data"]["path"] == f"the private endpoint {vpce} (AWS PrivateLink)"
    assert doc["data"]["path_proven"] is True
    assert findings(doc) == [[]]
    assert "PrivateLink: the cluster is M10 (providerName AWS)" in doc["data"]["atlas"]
    assert f"interface endpoint {vpce} is AVAILABLE in service" in doc["data"]["atlas"]


def test_an_m0_cluster_is_named_as_the_cause(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    """The endpoint is fine, but an M0 cluster has no private endpoints: its private address answers nobody."""
    host, _ssm = _private_host(sandbox, "pl-m0")
    vpce = _private_link(sandbox, host)
    add_user(sandbox, host.role_arn, scopes=(FREE,))
    doc = run_verify(capsys, *_args(host, sandbox.private_uri(PROJECT, FREE, vpce), vpce, FREE), expect=3)
    [codes] = findings(doc)
    assert "privatelink_unsupported_tier" in codes and "privatelink_not_available" not in codes
    finding = next(f for f in doc["data"]["hosts"][0]["findings"] if f["code"] == "privatelink_unsupported_tier")
    assert finding["message"].startswith(f"cluster {FREE} is M0 (providerName TENANT)")
    assert doc["data"]["path_proven"] is False


def test_no_private_string_on_m0_is_explained_without_probing(sandbox: Sandbox) -> None:
    """Config mode on an M0 cluster: the stack's mongodb_uri is null; verify asks Atlas why instead of refusing."""
    host, _ssm = _private_host(sandbox, "pl-none")
    vpce = _private_link(sandbox, host)
    req = VerifyRequest(
        uri="",
        instance_ids=(host.instance_id,),
        expect_arn=host.role_arn,
        cluster_name=FREE,
        region="us-east-1",
        atlas_project_id=PROJECT,
        network_mode="private",
        privatelink_endpoint_id=vpce,
    )
    add_user(sandbox, host.role_arn, scopes=(FREE,))
    atlas = AtlasApi.from_env(os.environ)
    report = verify_over_ssm(req, sandbox.cloud.client("ssm"), lambda: sandbox.cloud.client("ec2"), atlas=atlas)
    assert [[f.code for f in h.findings] for h in report.hosts] == [["privatelink_unsupported_tier"]]
    assert report.hosts[0].facts.ssm_ping is None and report.hosts[0].facts.probe is None  # nothing was sent


def test_an_endpoint_atlas_rejected_is_named_with_atlass_reason(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """The VPC's ssm endpoint added to Atlas's service by mistake: Atlas rejects it, and verify says so."""
    host, ssm_vpce = _private_host(sandbox, "pl-rejected")
    assert _add_endpoint(sandbox, _service(sandbox), ssm_vpce) == "REJECTED"
    doc = run_verify(capsys, *_args(host, sandbox.private_uri(PROJECT, CLUSTER, ssm_vpce), ssm_vpce), expect=3)
    finding = next(f for f in doc["data"]["hosts"][0]["findings"] if f["code"] == "privatelink_not_available")
    assert f"interface endpoint {ssm_vpce} is REJECTED: Interface endpoint {ssm_vpce} connects to" in finding["message"]
    assert "wait" in finding["fix"] and "security group" in finding["fix"]
