"""IMDSv2 per host: botocore's instance-metadata provider gets role credentials minted from moto STS."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import boto3
import pytest

from atlasiam_sandbox.aws import HostSettings, LaunchedHost, SandboxCloud

from ._helpers import run

# moto's state is process-global: keep this package's tests on one xdist worker (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("sandbox_aws")


@pytest.fixture(scope="module")
def host(cloud: SandboxCloud) -> LaunchedHost:
    return cloud.launch_host("imds", role_name="atlas-login")


def _request(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def _token(base: str) -> str:
    status, token = _request(f"{base}latest/api/token", "PUT", {"X-aws-ec2-metadata-token-ttl-seconds": "60"})
    assert status == 200
    return token


def _imds_env(monkeypatch: pytest.MonkeyPatch, cloud: SandboxCloud, instance_id: str) -> None:
    """This process looks like the host: IMDS endpoint, moto, region, and no other credentials."""
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED", raising=False)  # the suite-wide clean_env sets it
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", cloud.imds.endpoint(instance_id))
    monkeypatch.setenv("AWS_ENDPOINT_URL", cloud.moto_url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", cloud.region)
    monkeypatch.setenv("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "1")


def test_botocore_gets_instance_credentials(
    cloud: SandboxCloud, host: LaunchedHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    _imds_env(monkeypatch, cloud, host.instance_id)
    session = boto3.session.Session()
    credentials = session.get_credentials()
    assert credentials is not None
    assert credentials.method == "iam-role"
    arn = session.client("sts").get_caller_identity()["Arn"]
    assert arn == f"arn:aws:sts::123456789012:assumed-role/atlas-login/{host.instance_id}"


def test_caller_identity_from_a_host_command(ssm: Any, host: LaunchedHost) -> None:
    # The host has no AWS_REGION (SSM Agent sets none): a script names the region the agent gives it.
    script = "import boto3, os; sts = boto3.client('sts', region_name=os.environ['AWS_SSM_REGION_NAME'])"
    result = run(ssm, host.instance_id, f"python3 -c \"{script}; print(sts.get_caller_identity()['Arn'])\"")
    assert result["Status"] == "Success", result["StandardErrorContent"]
    assert result["StandardOutputContent"].strip() == (
        f"arn:aws:sts::123456789012:assumed-role/atlas-login/{host.instance_id}"
    )


def test_metadata_paths(cloud: SandboxCloud, host: LaunchedHost) -> None:
    base = cloud.imds.endpoint(host.instance_id)
    assert _request(f"{base}latest/meta-data/instance-id")[0] == 401  # IMDSv2 only
    headers = {"X-aws-ec2-metadata-token": _token(base)}
    assert _request(f"{base}latest/meta-data/instance-id", headers=headers) == (200, host.instance_id)
    assert _request(f"{base}latest/meta-data/placement/region", headers=headers) == (200, "us-east-1")
    assert _request(f"{base}latest/meta-data/iam/security-credentials/", headers=headers) == (200, "atlas-login")
    status, body = _request(f"{base}latest/meta-data/iam/security-credentials/atlas-login", headers=headers)
    document = json.loads(body)
    assert status == 200
    assert document["Code"] == "Success"
    assert document["Type"] == "AWS-HMAC"
    assert document["AccessKeyId"].startswith("ASIA")
    assert {"SecretAccessKey", "Token", "Expiration", "LastUpdated"} <= set(document)
    status, body = _request(f"{base}latest/dynamic/instance-identity/document", headers=headers)
    assert json.loads(body)["instanceId"] == host.instance_id
    assert _request(f"{base}latest/meta-data/iam/security-credentials/other-role", headers=headers)[0] == 404
    bad_ttl = {"X-aws-ec2-metadata-token-ttl-seconds": "0"}
    assert _request(f"{base}latest/api/token", "PUT", bad_ttl)[0] == 400


def test_no_instance_profile_means_no_credentials(cloud: SandboxCloud) -> None:
    bare = cloud.launch_host("bare", instance_profile=False, settings=HostSettings(network_ok=True))
    base = cloud.imds.endpoint(bare.instance_id)
    headers = {"X-aws-ec2-metadata-token": _token(base)}
    assert _request(f"{base}latest/meta-data/iam/security-credentials/", headers=headers)[0] == 404


def test_hop_limit_refusal(cloud: SandboxCloud, monkeypatch: pytest.MonkeyPatch) -> None:
    boxed = cloud.launch_host("container", settings=HostSettings(imds_hop_limit_ok=False))
    _imds_env(monkeypatch, cloud, boxed.instance_id)
    assert boto3.session.Session().get_credentials() is None
    # The token's answer never arrives (its packets die at the hop limit): the caller times out, as on EC2; the
    # connection is not closed on it, which would read as "IMDS is broken", not "hop limit".
    request = urllib.request.Request(
        f"{cloud.imds.endpoint(boxed.instance_id)}latest/api/token",
        method="PUT",
        headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"},
    )
    with pytest.raises(TimeoutError):
        urllib.request.urlopen(request, timeout=0.5)  # noqa: S310 - the sandbox's own http endpoint


def test_credentials_are_cached_per_host(cloud: SandboxCloud, host: LaunchedHost) -> None:
    base = cloud.imds.endpoint(host.instance_id)
    headers = {"X-aws-ec2-metadata-token": _token(base)}
    url = f"{base}latest/meta-data/iam/security-credentials/atlas-login"
    first = json.loads(_request(url, headers=headers)[1])
    second = json.loads(_request(url, headers=headers)[1])
    assert first["AccessKeyId"] == second["AccessKeyId"]
