"""With moto's auth on, keys and signatures are checked, and instance credentials from IMDS still work."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError

from atlasiam_sandbox.aws import SandboxCloud

from ._helpers import run

# moto's state is process-global: keep this package's tests on one xdist worker (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("sandbox_aws")


@pytest.fixture
def authed(cloud: SandboxCloud) -> Iterator[tuple[SandboxCloud, str]]:
    host = cloud.launch_host("authed", role_name="authed-login").instance_id
    cloud.enable_auth()
    try:
        yield cloud, host
    finally:
        cloud.disable_auth()


def test_auth_checks_keys_and_instance_credentials_work(authed: tuple[SandboxCloud, str]) -> None:
    cloud, host = authed
    env = cloud.env()
    assert env["AWS_ACCESS_KEY_ID"] != "testing"
    bogus = boto3.session.Session().client(
        "sts",
        endpoint_url=cloud.moto_url,
        region_name=cloud.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with pytest.raises(ClientError) as err:
        bogus.get_caller_identity()
    assert err.value.response["Error"]["Code"] == "InvalidClientTokenId"
    admin_arn = cloud.client("sts").get_caller_identity()["Arn"]
    assert admin_arn == "arn:aws:iam::123456789012:user/sandbox-admin"
    # A proxied SSM call is signed for the SSM endpoint's host and still verifies at moto.
    ssm = cloud.client("ssm")
    ssm.put_parameter(Name="/auth/p", Value="x", Type="String")
    script = "import boto3, os; sts = boto3.client('sts', region_name=os.environ['AWS_SSM_REGION_NAME'])"
    result = run(ssm, host, f"python3 -c \"{script}; print(sts.get_caller_identity()['Arn'])\"")
    assert result["StandardOutputContent"].strip() == f"arn:aws:sts::123456789012:assumed-role/authed-login/{host}"
