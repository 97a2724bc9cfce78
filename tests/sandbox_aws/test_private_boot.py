"""A host in a private subnet: SSM only through interface endpoints, dnf and the wheels only through S3's gateway.

The user data is the private mode's bootstrap (the spec's commands): dnf, ``aws s3 cp --recursive`` of the wheelhouse
from the module's bucket, a venv, ``pip install --no-index --find-links``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from atlasiam_sandbox.aws import HostSettings, SandboxCloud
from atlasiam_sandbox.aws.boot import DNF_FAILURE

pytestmark = pytest.mark.xdist_group("sandbox_aws")

REGION = "us-east-1"
WHEELS = (
    "pymongo-4.13.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "dnspython-2.7.0-py3-none-any.whl",
    "pymongo_auth_aws-1.3.0-py3-none-any.whl",
    "boto3-1.40.0-py3-none-any.whl",
    "botocore-1.40.0-py3-none-any.whl",
    "jmespath-1.0.1-py3-none-any.whl",
    "s3transfer-0.13.0-py3-none-any.whl",
    "python_dateutil-2.9.0.post0-py2.py3-none-any.whl",
    "six-1.17.0-py2.py3-none-any.whl",
    "urllib3-2.5.0-py3-none-any.whl",
)
USER_DATA = """#!/bin/bash
set -euo pipefail
mkdir -p /opt/atlasiam
exec > >(tee -a /var/log/atlasiam-user-data.log) 2>&1
trap 'rc=$?; echo "atlasiam bootstrap failed: exit $rc at line $LINENO: $BASH_COMMAND" | tee /opt/atlasiam/failed' ERR
dnf install -y python3.11 python3.11-pip
aws s3 cp --recursive "s3://BUCKET/wheels/" /opt/atlasiam/wheels
python3.11 -m venv /opt/atlasiam/venv
/opt/atlasiam/venv/bin/python3 -m pip install --no-index --find-links /opt/atlasiam/wheels 'pymongo[aws]>=4.7,<5'
touch /opt/atlasiam/ready
echo "atlasiam bootstrap done"
"""
ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}],
}


def _bucket(cloud: SandboxCloud, wheels: tuple[str, ...] = WHEELS) -> str:
    s3 = cloud.client("s3")
    name = f"atlasiam-wheels-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    for wheel in wheels:
        s3.put_object(Bucket=name, Key=f"wheels/{wheel}", Body=b"PK\x03\x04" + wheel.encode())
    return name


def _main_table(cloud: SandboxCloud, vpc_id: str) -> str:
    tables = cloud.client("ec2").describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "association.main", "Values": ["true"]}]
    )["RouteTables"]
    return str(tables[0]["RouteTableId"])


def _s3_gateway(cloud: SandboxCloud, vpc_id: str, policy: dict[str, Any] | None = None) -> str:
    args: dict[str, Any] = {
        "VpcId": vpc_id,
        "ServiceName": f"com.amazonaws.{REGION}.s3",
        "VpcEndpointType": "Gateway",
        "RouteTableIds": [_main_table(cloud, vpc_id)],
    }
    if policy is not None:
        args["PolicyDocument"] = json.dumps(policy)
    return str(cloud.client("ec2").create_vpc_endpoint(**args)["VpcEndpoint"]["VpcEndpointId"])


def _ssm_endpoints(cloud: SandboxCloud, vpc_id: str, subnet_id: str, *, private_dns: bool = True) -> None:
    for service in ("ssm", "ssmmessages", "ec2messages"):
        cloud.client("ec2").create_vpc_endpoint(
            VpcId=vpc_id,
            ServiceName=f"com.amazonaws.{REGION}.{service}",
            VpcEndpointType="Interface",
            SubnetIds=[subnet_id],
            PrivateDnsEnabled=private_dns,
        )


def _boot(cloud: SandboxCloud, name: str, bucket: str, before_boot: Any) -> tuple[str, int | None, str]:
    """Launch in a private subnet, set its network up (before the instance is first seen running), boot it."""
    host = cloud.launch_host(
        f"{name}-{uuid.uuid4().hex[:6]}",
        internet_route=False,
        user_data=USER_DATA.replace("BUCKET", bucket),
        settings=HostSettings(bootstrap_delay=0.0),
    )
    before_boot(host)
    code = cloud.boot.wait(host.instance_id, timeout=30)
    log_file = cloud.hosts.fs_root(host.instance_id) / "var/log/atlasiam-user-data.log"
    return host.instance_id, code, log_file.read_text() if log_file.exists() else ""


def _ready(cloud: SandboxCloud, instance_id: str) -> bool:
    return (cloud.hosts.fs_root(instance_id) / "opt/atlasiam/ready").exists()


def test_private_host_boots_through_the_s3_gateway_endpoint(cloud: SandboxCloud) -> None:
    bucket = _bucket(cloud)
    iid, code, log = _boot(cloud, "private-ok", bucket, lambda h: _s3_gateway(cloud, h.vpc_id))
    assert code == 0, log
    assert _ready(cloud, iid) and log.splitlines()[-1] == "atlasiam bootstrap done"
    wheels = cloud.hosts.fs_root(iid) / "opt/atlasiam/wheels"
    assert sorted(p.name for p in wheels.iterdir()) == sorted(WHEELS)
    assert (wheels / WHEELS[0]).read_bytes() == b"PK\x03\x04" + WHEELS[0].encode()  # really downloaded
    assert f"download: s3://{bucket}/wheels/{WHEELS[0]}" in log
    assert "Looking in links: " in log


def test_no_route_at_all_fails_dnf_like_a_host_without_repositories(cloud: SandboxCloud) -> None:
    iid, code, log = _boot(cloud, "private-none", _bucket(cloud), lambda _h: None)
    assert code == 1 and not _ready(cloud, iid)
    assert DNF_FAILURE in log
    assert "dnf install -y python3.11" in (cloud.hosts.fs_root(iid) / "opt/atlasiam/failed").read_text()


def test_an_endpoint_policy_that_leaves_out_the_al2023_repositories_gets_dnf_a_403(cloud: SandboxCloud) -> None:
    bucket = _bucket(cloud)
    only_wheels = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            }
        ],
    }
    iid, code, log = _boot(cloud, "private-403", bucket, lambda h: _s3_gateway(cloud, h.vpc_id, only_wheels))
    assert code == 1 and not _ready(cloud, iid)
    assert f"Status code: 403 for https://al2023-repos-{REGION}-de612dc2.s3.dualstack" in log

    with_repos = {
        "Version": "2012-10-17",
        "Statement": [
            *only_wheels["Statement"],
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::al2023-repos-{REGION}-de612dc2/*",
            },
        ],
    }
    iid, code, log = _boot(cloud, "private-repos", bucket, lambda h: _s3_gateway(cloud, h.vpc_id, with_repos))
    assert code == 0 and _ready(cloud, iid), log


def test_a_bucket_policy_for_another_endpoint_refuses_the_download(cloud: SandboxCloud) -> None:
    bucket = _bucket(cloud)
    only_from = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-0123456789abcdef0"}},
            }
        ],
    }
    cloud.client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(only_from))
    iid, code, log = _boot(cloud, "private-deny", bucket, lambda h: _s3_gateway(cloud, h.vpc_id))
    assert code == 1 and not _ready(cloud, iid)
    assert "fatal error: An error occurred (AccessDenied) when calling the ListObjectsV2 operation" in log

    # the same policy naming the host's own gateway endpoint lets it through
    def own(h: Any) -> None:
        vpce = _s3_gateway(cloud, h.vpc_id)
        policy = json.loads(json.dumps(only_from).replace("vpce-0123456789abcdef0", vpce))
        cloud.client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))

    iid, code, log = _boot(cloud, "private-own", bucket, own)
    assert code == 0 and _ready(cloud, iid), log


@pytest.mark.parametrize(
    ("wheels", "message"),
    [
        (
            tuple(w for w in WHEELS if not w.startswith("pymongo_auth_aws")),
            "ERROR: Could not find a version that satisfies the requirement pymongo-auth-aws<2.0.0,>=1.3.0 "
            "(from pymongo[aws]) (from versions: none)",
        ),
        (
            ("pymongo-4.13.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", *WHEELS[1:]),
            "ERROR: Could not find a version that satisfies the requirement pymongo[aws]>=4.7,<5 (from versions: none)",
        ),
        ((), "ERROR: No matching distribution found for pymongo[aws]>=4.7,<5"),
    ],
    ids=["no-auth-aws-wheel", "wheel-for-python-3.12", "empty-wheelhouse"],
)
def test_pip_without_an_index_needs_every_wheel(cloud: SandboxCloud, wheels: tuple[str, ...], message: str) -> None:
    iid, code, log = _boot(cloud, "private-pip", _bucket(cloud, wheels), lambda h: _s3_gateway(cloud, h.vpc_id))
    assert code == 1 and not _ready(cloud, iid)
    assert message in log
    assert "pip install --no-index" in (cloud.hosts.fs_root(iid) / "opt/atlasiam/failed").read_text()


def test_a_missing_bucket_fails_the_copy_like_the_cli(cloud: SandboxCloud) -> None:
    iid, code, log = _boot(cloud, "private-nobucket", "atlasiam-no-such-bucket", lambda h: _s3_gateway(cloud, h.vpc_id))
    assert code == 1
    assert "fatal error: An error occurred (NoSuchBucket) when calling the ListObjectsV2 operation" in log


def test_ssm_sees_a_private_host_only_through_its_interface_endpoints(cloud: SandboxCloud) -> None:
    plain = cloud.launch_host("ssm-none", internet_route=False)
    no_dns = cloud.launch_host("ssm-nodns", internet_route=False)
    _ssm_endpoints(cloud, no_dns.vpc_id, no_dns.subnet_id, private_dns=False)
    with_dns = cloud.launch_host("ssm-dns", internet_route=False)
    _ssm_endpoints(cloud, with_dns.vpc_id, with_dns.subnet_id)
    statuses = {h.instance_id: cloud.hosts.status(h.instance_id) for h in (plain, no_dns, with_dns)}
    assert not statuses[plain.instance_id].online  # type: ignore[union-attr]
    assert not statuses[no_dns.instance_id].online  # type: ignore[union-attr]
    assert statuses[with_dns.instance_id].online  # type: ignore[union-attr]


def test_the_aws_stand_in_does_only_s3_cp(cloud: SandboxCloud) -> None:
    host = cloud.launch_host("aws-cli", internet_route=False, user_data="#!/bin/sh\naws s3 ls\n")
    assert cloud.boot.wait(host.instance_id, timeout=30) == 252
    output = (cloud.hosts.fs_root(host.instance_id) / "var/log/cloud-init-output.log").read_text()
    assert "only does: aws s3 cp" in output


def test_bucket_policies_are_evaluated_with_their_conditions_and_head_needs_get_object(cloud: SandboxCloud) -> None:
    """The module's kind of policy (Deny GetObject unless through its endpoint) also refuses the operator's
    HeadObject (what Terraform's aws_s3_object refresh calls) on AWS; moto alone ignored the condition."""
    bucket = _bucket(cloud, ("a.whl",))
    s3 = cloud.client("s3")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
                "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-0123456789abcdef0"}},
            }
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    with pytest.raises(Exception, match="403"):
        s3.head_object(Bucket=bucket, Key="wheels/a.whl")
    with pytest.raises(Exception, match="AccessDenied|403"):
        s3.get_object(Bucket=bucket, Key="wheels/a.whl")
    s3.put_object(Bucket=bucket, Key="wheels/b.whl", Body=b"b")  # PutObject is not denied

    def through_endpoint(request: Any, **_: Any) -> None:
        request.headers["x-sandbox-source-vpce"] = "vpce-0123456789abcdef0"

    import boto3

    stamped = boto3.session.Session().client(
        "s3",
        endpoint_url=cloud.moto_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    stamped.meta.events.register("before-sign.s3", through_endpoint)
    assert stamped.get_object(Bucket=bucket, Key="wheels/a.whl")["Body"].read().startswith(b"PK")


def _module_wheels(pymongo_version: str) -> tuple[str, ...]:
    return (
        f"pymongo-{pymongo_version}-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        *(w for w in WHEELS if not w.startswith("pymongo-")),
    )


@pytest.mark.parametrize("pymongo_version", ["4.20.1", "4.13.0"])
def test_the_modules_own_user_data_in_private_mode(cloud: SandboxCloud, pymongo_version: str) -> None:
    """The module's user data (its retries, ``--only-show-errors``, the pinned requirements.txt) boots only from a
    wheelhouse that has the pinned pymongo."""
    from tests.user_data import requirements, user_data

    bucket = _bucket(cloud, _module_wheels(pymongo_version))
    host = cloud.launch_host(
        f"module-{uuid.uuid4().hex[:6]}",
        internet_route=False,
        user_data=user_data(wheelhouse_bucket=bucket),
        settings=HostSettings(bootstrap_delay=0.0),
    )
    _s3_gateway(cloud, host.vpc_id)
    code = cloud.boot.wait(host.instance_id, timeout=60)
    log = (cloud.hosts.fs_root(host.instance_id) / "var/log/atlasiam-user-data.log").read_text()
    pin = next(r for r in requirements() if r.startswith("pymongo["))
    if pin.endswith(pymongo_version):
        assert code == 0 and _ready(cloud, host.instance_id), log
        assert "download:" not in log  # --only-show-errors
    else:
        assert code == 1 and not _ready(cloud, host.instance_id)
        assert f"ERROR: Could not find a version that satisfies the requirement {pin} (from versions: none)" in log
