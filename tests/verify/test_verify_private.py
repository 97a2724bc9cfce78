"""verify in private mode: the request carries the path, Atlas is asked about it, the host's VPC DNS is read."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from botocore.stub import Stubber

from atlas_iam_tf.diagnose import diagnose
from atlas_iam_tf.errors import UsageError
from atlas_iam_tf.terraform.plan import Outputs
from atlas_iam_tf.verify.answers import ask_before_probing
from atlas_iam_tf.verify.atlas import AtlasApi
from atlas_iam_tf.verify.facts import NO_PRIVATE_URI
from atlas_iam_tf.verify.request import VerifyOptions, VerifyRequest, build_request
from atlas_iam_tf.verify.service import _with_vpc_dns, verify_over_ssm
from atlas_iam_tf.verify.vpc import VpcDns, read_vpc_dns
from tests.conftest import write_config
from tests.verify.test_diagnose import facts, probe

FIXTURES = Path(__file__).with_name("atlas_api")
P = "0123456789abcdef01234567"
ROLE = "arn:aws:iam::123456789012:role/orders-dev-host"
VPCE = "vpce-0123456789abcdef0"
SERVICE = "65f0c0ffee0123456789abcd"
PRIVATE_SRV = "mongodb+srv://cluster0-pl-0.abcde.mongodb.net"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


class FakeAtlas(AtlasApi):
    """The Admin API as a table of paths (below /api/atlas/v2/groups/); records what verify asked."""

    def __init__(self, routes: dict[str, Any]) -> None:
        super().__init__("https://atlas.invalid")
        self.routes = routes
        self.asked: list[str] = []

    def get(self, path: str, params: Mapping[str, int] | None = None) -> Any:
        self.asked.append(path + (f"?{dict(params)}" if params else ""))
        return self.routes.get(path)


def atlas_with(cluster: str) -> FakeAtlas:
    return FakeAtlas(
        {
            f"{P}/databaseUsers/%24external/{quote(ROLE, safe='')}": {
                "username": ROLE,
                "databaseName": "$external",
                "awsIAMType": "ROLE",
                "scopes": [{"name": "Cluster0", "type": "CLUSTER"}],
            },
            f"{P}/clusters/Cluster0/status": {"changeStatus": "APPLIED"},
            f"{P}/clusters/Cluster0": fixture(cluster),
            f"{P}/privateEndpoint/AWS/endpointService": fixture("endpoint_services.json"),
            f"{P}/privateEndpoint/AWS/endpointService/{SERVICE}/endpoint/{VPCE}": fixture("endpoint_available.json"),
        }
    )


class NoAws:
    """Any AWS call fails the test: verify must not need one."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"verify called AWS: {name}")


def _private_request(uri: str = "") -> VerifyRequest:
    return VerifyRequest(
        uri=uri,
        instance_ids=("i-0123456789abcdef0",),
        expect_arn=ROLE,
        db_usernames=(ROLE,),
        cluster_name="Cluster0",
        region="us-east-1",
        atlas_project_id=P,
        network_mode="private",
        privatelink_endpoint_id=VPCE,
    )


# -- the request ---------------------------------------------------------------------------------------------------
def _opts(**kw: Any) -> VerifyOptions:
    return VerifyOptions(config_path=Path("missing.toml"), instance_ids=("i-1",), **kw)


@pytest.mark.parametrize(
    ("kw", "mode", "path"),
    [
        ({"uri": PRIVATE_SRV}, "private", "the private endpoint (AWS PrivateLink)"),
        (
            {"uri": "mongodb://127.0.0.1:1/", "privatelink_endpoint_id": VPCE},
            "private",
            f"the private endpoint {VPCE} (AWS PrivateLink)",
        ),
        ({"uri": "mongodb+srv://cluster0.abcde.mongodb.net"}, "public", "the cluster's public address"),
        ({"uri": "mongodb://127.0.0.1:1/"}, None, ""),
    ],
)
def test_standalone_requests_know_their_path(kw: dict[str, Any], mode: str | None, path: str) -> None:
    req = build_request(_opts(**kw))
    assert (req.network_mode, req.path) == (mode, path)


def test_a_malformed_endpoint_id_is_bad_input() -> None:
    with pytest.raises(UsageError, match=r"--privatelink-endpoint-id 'vpce-123': expected vpce- and 17 hex"):
        build_request(_opts(uri="mongodb://h/", privatelink_endpoint_id="vpce-123"))


def _stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, config_text: str, **values: Any) -> Path:
    from atlas_iam_tf import deploy

    outputs = {"instance_id": "i-0123456789abcdef0", "role_arn": ROLE, "db_usernames": [ROLE]} | values
    monkeypatch.setattr(deploy.Deployment, "outputs", lambda _self: Outputs(values=outputs))
    return write_config(tmp_path, config_text)


def test_config_mode_carries_the_stacks_private_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, config_text: str
) -> None:
    config = _stack(
        monkeypatch,
        tmp_path,
        config_text,
        mongodb_uri=PRIVATE_SRV,
        network_mode="private",
        privatelink_endpoint_id=VPCE,
    )
    req = build_request(VerifyOptions(config_path=config))
    assert (req.uri, req.network_mode, req.privatelink_endpoint_id) == (PRIVATE_SRV, "private", VPCE)


def test_config_mode_private_without_a_string_is_verified_not_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, config_text: str
) -> None:
    config = _stack(
        monkeypatch, tmp_path, config_text, mongodb_uri=None, network_mode="private", privatelink_endpoint_id=VPCE
    )
    req = build_request(VerifyOptions(config_path=config))
    assert (req.uri, req.private, req.privatelink_endpoint_id) == ("", True, VPCE)


def test_config_mode_public_without_a_string_is_still_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, config_text: str
) -> None:
    config = _stack(monkeypatch, tmp_path, config_text, mongodb_uri=None, network_mode="public")
    with pytest.raises(UsageError, match="no instance_id/workloads/mongodb_uri outputs"):
        build_request(VerifyOptions(config_path=config))


def test_a_public_uri_given_in_private_mode_is_the_public_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, config_text: str
) -> None:
    config = _stack(
        monkeypatch,
        tmp_path,
        config_text,
        mongodb_uri=PRIVATE_SRV,
        network_mode="private",
        privatelink_endpoint_id=VPCE,
    )
    req = build_request(VerifyOptions(config_path=config, uri="mongodb+srv://cluster0.abcde.mongodb.net"))
    assert req.network_mode == "public"


# -- asking Atlas, and not probing without a string ----------------------------------------------------------------
def test_no_private_string_on_m0_names_the_tier_without_touching_ssm() -> None:
    atlas = atlas_with("cluster_m0.json")
    report = verify_over_ssm(_private_request(), NoAws(), NoAws, atlas=atlas)
    [host] = report.hosts
    assert [f.code for f in host.findings] == ["privatelink_unsupported_tier"]
    assert host.facts.not_probed == NO_PRIVATE_URI and not report.ok
    assert f"{P}/clusters/Cluster0" in atlas.asked
    assert report.path == f"the private endpoint {VPCE} (AWS PrivateLink)"
    assert report.path_line == f"Not proven over the private endpoint {VPCE} (AWS PrivateLink)"
    assert "PrivateLink: the cluster is M0 (providerName TENANT)" in report.atlas


def test_no_private_string_without_atlas_credentials_says_so() -> None:
    report = verify_over_ssm(_private_request(), NoAws(), NoAws, atlas=None)
    assert [f.code for f in report.hosts[0].findings] == ["private_uri_missing"]
    assert report.atlas.startswith("Atlas was not asked")


def test_public_mode_never_asks_atlas_about_privatelink() -> None:
    atlas = atlas_with("cluster_m10.json")
    answers, _req = ask_before_probing(
        replace(_private_request(PRIVATE_SRV), network_mode="public"), atlas, lambda _m: None
    )
    assert answers.privatelink is None
    assert not any("privateEndpoint" in p or p.endswith("/clusters/Cluster0") for p in atlas.asked)
    answers, _req = ask_before_probing(_private_request(PRIVATE_SRV), atlas, lambda _m: None)
    assert answers.privatelink is not None and answers.privatelink.problem is None


# -- the host's VPC DNS --------------------------------------------------------------------------------------------
@pytest.fixture
def ec2() -> Any:
    from moto import mock_aws

    with mock_aws():
        yield boto3.client("ec2", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")


def _instance_in(ec2: Any, *, hostnames: bool) -> tuple[str, str]:
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": hostnames})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.0.0/24")["Subnet"]["SubnetId"]
    instance = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, SubnetId=subnet)["Instances"][0]
    return vpc, instance["InstanceId"]


def test_reads_the_hosts_vpc_dns_attributes(ec2: Any) -> None:
    vpc, instance = _instance_in(ec2, hostnames=False)
    dns, error = read_vpc_dns(ec2, instance)
    assert error is None
    assert dns == VpcDns(vpc, dns_support=True, dns_hostnames=False)
    assert dns.off == ("enableDnsHostnames",)


def test_unreadable_attributes_are_named_not_guessed() -> None:
    client = boto3.client("ec2", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
    with Stubber(client) as stub:
        stub.add_client_error("describe_instances", "UnauthorizedOperation", "You are not authorized")
        dns, error = read_vpc_dns(client, "i-0123456789abcdef0")
    assert dns is None and error is not None and "UnauthorizedOperation" in error


def test_the_vpc_is_read_only_after_a_dns_failure_in_private_mode(ec2: Any) -> None:
    vpc, instance = _instance_in(ec2, hostnames=False)
    failed = facts(probe("dns", "dns_srv_failed"), target=instance, network_mode="private")
    seen = _with_vpc_dns(failed, lambda: ec2)
    assert seen.vpc_dns == VpcDns(vpc, True, False)
    assert [f.code for f in diagnose(seen)] == ["privatelink_dns_off"]
    for untouched in (
        facts(probe("dns", "dns_srv_failed"), target=instance, network_mode="public"),
        facts(probe("reach", "connect_timeout"), target=instance, network_mode="private"),
        facts(probe(), target=instance, network_mode="private"),
    ):
        assert _with_vpc_dns(untouched, NoAws) is untouched
