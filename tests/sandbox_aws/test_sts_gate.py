"""A host's STS checks every signature (as STS does, where moto alone checks none), and can be unreachable."""

from __future__ import annotations

import json
import shlex
import urllib.request
from typing import Any

import boto3
import pytest

from atlasiam_sandbox.aws import HostSettings, SandboxCloud

from ._helpers import run

# moto's state is process-global: keep this package's tests on one xdist worker (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("sandbox_aws")

WHO_AM_I = (
    "import boto3, os, sys; "
    "region = sys.argv[1] if len(sys.argv) > 1 else os.environ['AWS_SSM_REGION_NAME']; "
    "print(boto3.client('sts', region_name=region).get_caller_identity()['Arn'])"
)


def who_am_i(ssm: Any, instance_id: str, region: str = "") -> dict[str, Any]:
    return run(ssm, instance_id, f"python3 -c {shlex.quote(WHO_AM_I)} {region}")


def test_a_wrong_secret_is_refused_where_moto_would_answer(ssm: Any, cloud: SandboxCloud) -> None:
    host = cloud.launch_host("tampered", settings=HostSettings(imds_secret_tampered=True)).instance_id
    result = who_am_i(ssm, host)
    assert result["Status"] == "Failed"
    assert "SignatureDoesNotMatch" in result["StandardErrorContent"]
    assert cloud.sts_gate.refused[-1] == "SignatureDoesNotMatch"
    # The same wrong secret, sent to moto directly, is answered: why hosts never talk to moto's STS.
    key = _imds_credentials(cloud.imds.endpoint(host))
    moto_sts = boto3.session.Session().client(
        "sts",
        endpoint_url=cloud.moto_url,
        region_name=cloud.region,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        aws_session_token=key["Token"],
    )
    assert moto_sts.get_caller_identity()["Arn"].endswith(f"/{host}")


def test_genuine_credentials_pass(ssm: Any, cloud: SandboxCloud) -> None:
    launched = cloud.launch_host("genuine", role_name="genuine-login")
    result = who_am_i(ssm, launched.instance_id)
    assert result["Status"] == "Success", result["StandardErrorContent"]
    assert result["StandardOutputContent"].strip().endswith(f":assumed-role/genuine-login/{launched.instance_id}")


def test_a_signature_for_another_region_is_refused(ssm: Any, cloud: SandboxCloud) -> None:
    host = cloud.launch_host("elsewhere").instance_id
    result = who_am_i(ssm, host, "eu-west-1")
    assert result["Status"] == "Failed"
    assert "SignatureDoesNotMatch" in result["StandardErrorContent"]
    assert "scoped to a valid region" in result["StandardErrorContent"]


def test_a_host_without_a_route_to_sts(ssm: Any, cloud: SandboxCloud) -> None:
    host = cloud.launch_host("isolated", settings=HostSettings(sts_reachable=False)).instance_id
    result = who_am_i(ssm, host)
    assert result["Status"] == "Failed"
    assert "Could not connect to the endpoint URL" in result["StandardErrorContent"]
    env = dict(line.split("=", 1) for line in run(ssm, host, "env")["StandardOutputContent"].splitlines())
    assert env["AWS_ENDPOINT_URL_STS"] != cloud.sts_gate.url


def _imds_credentials(base: str) -> dict[str, str]:
    token_request = urllib.request.Request(
        f"{base}latest/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}
    )
    with urllib.request.urlopen(token_request, timeout=5) as response:
        token = response.read().decode()
    headers = {"X-aws-ec2-metadata-token": token}
    path = f"{base}latest/meta-data/iam/security-credentials/"
    with urllib.request.urlopen(urllib.request.Request(path, headers=headers), timeout=5) as response:
        role = response.read().decode()
    with urllib.request.urlopen(urllib.request.Request(path + role, headers=headers), timeout=5) as response:
        document: dict[str, str] = json.loads(response.read())
    return document
