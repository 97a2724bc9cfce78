"""The private network mode's AWS types against moto, without Terraform: VPC endpoints, the S3 wheelhouse, offerings."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from pathlib import Path

import pytest

from atlasiam_sandbox.mirror import SCHEMA_DIR
from atlasiam_sandbox.provider import backends
from atlasiam_sandbox.provider.backends import dispatch
from atlasiam_sandbox.provider.backends.base import Handler
from atlasiam_sandbox.provider.fill import empty_blocks
from atlasiam_sandbox.provider.planning import plan_resource, recompute_on_change
from atlasiam_sandbox.provider.schema import ProviderSchema
from tests.sandbox_backends.conftest import Moto

PROVIDER = {"region": "us-east-1"}


@pytest.fixture(scope="module")
def schema() -> ProviderSchema:
    return ProviderSchema.load(Path(SCHEMA_DIR) / "aws.json")


@pytest.fixture(autouse=True)
def aws_env(moto: Moto, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "AWS_ENDPOINT_URL": moto.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)


def _handler(type_name: str) -> Handler:
    handler = backends.resource_handler(type_name)
    assert handler is not None, type_name
    return handler


def _create(schema: ProviderSchema, type_name: str, config: dict[str, object]) -> dispatch.Outcome:
    block = schema.resource(type_name).block
    config = empty_blocks(block, config)
    planned = plan_resource(block, config)
    return dispatch.apply_change(_handler(type_name), type_name, block, (None, planned, config), PROVIDER)


def _update(schema: ProviderSchema, type_name: str, prior: dict[str, object], **changes: object) -> dispatch.Outcome:
    block = schema.resource(type_name).block
    handler = _handler(type_name)
    planned = recompute_on_change({**prior, **changes}, prior, {**prior, **changes}, *handler.recomputed)
    return dispatch.apply_change(_handler(type_name), type_name, block, (prior, planned, planned), PROVIDER)


def _delete(schema: ProviderSchema, type_name: str, state: dict[str, object]) -> dispatch.Outcome:
    block = schema.resource(type_name).block
    return dispatch.apply_change(_handler(type_name), type_name, block, (state, None, None), PROVIDER)


def _network(moto: Moto) -> tuple[str, str, str]:
    ec2 = moto.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.61.0.0/16")["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.61.1.0/24")["Subnet"]["SubnetId"]
    rtb_id = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    return vpc_id, subnet_id, rtb_id


def test_interface_endpoint_is_created_in_moto_and_changes_in_place(schema: ProviderSchema, moto: Moto) -> None:
    vpc_id, subnet_id, _ = _network(moto)
    ec2 = moto.client("ec2")
    sg_a = ec2.create_security_group(GroupName=f"a{uuid.uuid4().hex[:6]}", Description="a", VpcId=vpc_id)["GroupId"]
    sg_b = ec2.create_security_group(GroupName=f"b{uuid.uuid4().hex[:6]}", Description="b", VpcId=vpc_id)["GroupId"]
    created = _create(
        schema,
        "aws_vpc_endpoint",
        {
            "vpc_id": vpc_id,
            "service_name": "com.amazonaws.us-east-1.ssm",
            "vpc_endpoint_type": "Interface",
            "subnet_ids": [subnet_id],
            "security_group_ids": [sg_a],
            "private_dns_enabled": True,
            "tags": {"Name": "ssm"},
        },
    )
    assert created.error is None, created.error
    state = created.state
    assert re.fullmatch(r"vpce-[0-9a-f]{17}", state["id"])
    assert state["arn"] == f"arn:aws:ec2:us-east-1:123456789012:vpc-endpoint/{state['id']}"
    assert state["state"] == "available" and state["private_dns_enabled"] is True
    assert len(state["network_interface_ids"]) == 1 and state["dns_entry"]
    found = ec2.describe_vpc_endpoints(VpcEndpointIds=[state["id"]])["VpcEndpoints"][0]
    assert found["ServiceName"] == "com.amazonaws.us-east-1.ssm" and found["VpcEndpointType"] == "Interface"
    assert found["SubnetIds"] == [subnet_id] and [g["GroupId"] for g in found["Groups"]] == [sg_a]
    assert {t["Key"]: t["Value"] for t in found["Tags"]} == {"Name": "ssm"}

    # security groups change in place (ModifyVpcEndpoint), the VPC forces a new endpoint
    updated = _update(schema, "aws_vpc_endpoint", state, security_group_ids=[sg_b])
    assert updated.error is None, updated.error
    found = ec2.describe_vpc_endpoints(VpcEndpointIds=[state["id"]])["VpcEndpoints"][0]
    assert [g["GroupId"] for g in found["Groups"]] == [sg_b]
    assert "vpc_id" in _handler("aws_vpc_endpoint").replace

    assert _delete(schema, "aws_vpc_endpoint", updated.state).error is None
    assert dispatch.refresh(_handler("aws_vpc_endpoint"), updated.state, PROVIDER).state is None


def test_gateway_endpoint_routes_the_s3_prefix_list(schema: ProviderSchema, moto: Moto) -> None:
    vpc_id, _, rtb_id = _network(moto)
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}],
        }
    )
    created = _create(
        schema,
        "aws_vpc_endpoint",
        {
            "vpc_id": vpc_id,
            "service_name": "com.amazonaws.us-east-1.s3",
            "vpc_endpoint_type": "Gateway",
            "route_table_ids": [rtb_id],
            "policy": policy,
        },
    )
    assert created.error is None, created.error
    state = created.state
    assert state["route_table_ids"] == [rtb_id]
    assert state["prefix_list_id"].startswith("pl-")
    routes = moto.client("ec2").describe_route_tables(RouteTableIds=[rtb_id])["RouteTables"][0]["Routes"]
    assert any(
        r.get("DestinationPrefixListId") == state["prefix_list_id"] and r.get("GatewayId") == state["id"]
        for r in routes
    )
    assert json.loads(state["policy"]) == json.loads(policy)
    assert _delete(schema, "aws_vpc_endpoint", state).error is None


def test_bucket_prefix_names_like_aws_and_force_destroy_empties_it(
    schema: ProviderSchema, moto: Moto, tmp_path: Path
) -> None:
    bucket = _create(schema, "aws_s3_bucket", {"bucket_prefix": "atlasiam-wheels-", "force_destroy": True})
    assert bucket.error is None, bucket.error
    name = bucket.state["id"]
    # the provider's PrefixedUniqueId: the prefix + a 26-character suffix (timestamp + counter)
    assert re.fullmatch(r"atlasiam-wheels-\d{26}", name), name
    assert bucket.state["bucket"] == name and bucket.state["arn"] == f"arn:aws:s3:::{name}"
    assert bucket.state["bucket_regional_domain_name"] == f"{name}.s3.us-east-1.amazonaws.com"
    s3 = moto.client("s3")
    s3.head_bucket(Bucket=name)

    for type_name, config in (
        (
            "aws_s3_bucket_public_access_block",
            {
                "bucket": name,
                "block_public_acls": True,
                "block_public_policy": True,
                "ignore_public_acls": True,
                "restrict_public_buckets": True,
            },
        ),
        (
            "aws_s3_bucket_server_side_encryption_configuration",
            {"bucket": name, "rule": [{"apply_server_side_encryption_by_default": [{"sse_algorithm": "AES256"}]}]},
        ),
        ("aws_s3_bucket_versioning", {"bucket": name, "versioning_configuration": [{"status": "Enabled"}]}),
        (
            "aws_s3_bucket_policy",
            {
                "bucket": name,
                "policy": json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": "s3:DeleteBucket",
                                "Resource": f"arn:aws:s3:::{name}",
                            }
                        ],
                    }
                ),
            },
        ),
    ):
        outcome = _create(schema, type_name, config)
        assert outcome.error is None, (type_name, outcome.error)
        assert outcome.state["id"] == name
    assert s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
    rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    assert json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])["Statement"][0]["Effect"] == "Deny"

    wheel = tmp_path / "pymongo-4.13.0-cp311-cp311-manylinux2014_x86_64.whl"
    wheel.write_bytes(b"PK\x03\x04 a wheel")
    uploaded = _create(schema, "aws_s3_object", {"bucket": name, "key": f"wheels/{wheel.name}", "source": str(wheel)})
    assert uploaded.error is None, uploaded.error
    assert uploaded.state["etag"] == hashlib.md5(wheel.read_bytes()).hexdigest()  # noqa: S324 - S3's ETag is MD5
    assert uploaded.state["version_id"]  # a versioned bucket
    assert s3.get_object(Bucket=name, Key=f"wheels/{wheel.name}")["Body"].read() == wheel.read_bytes()

    # a new source is a new upload in place
    wheel.write_bytes(b"PK\x03\x04 a newer wheel")
    again = _update(schema, "aws_s3_object", uploaded.state, source_hash="changed", etag=None, version_id=None)
    assert again.error is None and again.state["etag"] == hashlib.md5(wheel.read_bytes()).hexdigest()  # noqa: S324

    # versioning cannot be switched off: deleting the resource suspends it
    versioning = dispatch.refresh(_handler("aws_s3_bucket_versioning"), {"id": name, "bucket": name}, PROVIDER).state
    assert _delete(schema, "aws_s3_bucket_versioning", versioning).error is None
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Suspended"

    # versions remain, so only force_destroy lets the bucket go
    kept = _delete(schema, "aws_s3_bucket", {**bucket.state, "force_destroy": False})
    assert kept.error is not None and "BucketNotEmpty" in kept.error.summary
    assert _delete(schema, "aws_s3_bucket", bucket.state).error is None
    assert dispatch.refresh(_handler("aws_s3_bucket"), bucket.state, PROVIDER).state is None


def test_object_source_that_does_not_exist_fails_the_create(schema: ProviderSchema, moto: Moto, tmp_path: Path) -> None:
    name = f"atlasiam-{uuid.uuid4().hex[:12]}"
    moto.client("s3").create_bucket(Bucket=name)
    outcome = _create(schema, "aws_s3_object", {"bucket": name, "key": "k", "source": str(tmp_path / "absent.whl")})
    assert outcome.error is not None and "opening S3 object source" in outcome.error.summary


def test_instance_type_offerings_by_zone(schema: ProviderSchema) -> None:
    block = schema.data_source("aws_ec2_instance_type_offerings").block
    handler = backends.data_handler("aws_ec2_instance_type_offerings")
    assert handler is not None
    config = empty_blocks(
        block, {"location_type": "availability-zone", "filter": [{"name": "instance-type", "values": ["t3.micro"]}]}
    )
    outcome = dispatch.read_data(handler, "aws_ec2_instance_type_offerings", block, config, PROVIDER)
    assert outcome.error is None, outcome.error
    assert set(outcome.state["instance_types"]) == {"t3.micro"}
    assert outcome.state["locations"] and all(
        z.startswith("us-east-1") and len(z) == 10 for z in outcome.state["locations"]
    )
    assert set(outcome.state["location_types"]) == {"availability-zone"}
    # moto knows no "t9.nano": no offerings, as EC2 answers for an instance type a zone does not offer
    none = dispatch.read_data(
        handler,
        "aws_ec2_instance_type_offerings",
        block,
        empty_blocks(
            block, {"location_type": "availability-zone", "filter": [{"name": "instance-type", "values": ["t9.nano"]}]}
        ),
        PROVIDER,
    )
    assert none.error is None and none.state["locations"] == []


def test_an_equivalent_endpoint_policy_is_no_drift(schema: ProviderSchema, moto: Moto) -> None:
    vpc_id, _, rtb_id = _network(moto)
    pretty = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}],
        },
        indent=2,
    )
    created = _create(
        schema,
        "aws_vpc_endpoint",
        {"vpc_id": vpc_id, "service_name": "com.amazonaws.us-east-1.s3", "route_table_ids": [rtb_id], "policy": pretty},
    )
    assert created.error is None and created.state["policy"] == pretty
    assert dispatch.refresh(_handler("aws_vpc_endpoint"), created.state, PROVIDER).state["policy"] == pretty
    # a real change does show
    moto.client("ec2").modify_vpc_endpoint(
        VpcEndpointId=created.state["id"], PolicyDocument=pretty.replace('"s3:*"', '"s3:GetObject"')
    )
    changed = dispatch.refresh(_handler("aws_vpc_endpoint"), created.state, PROVIDER).state
    assert json.loads(changed["policy"])["Statement"][0]["Action"] == "s3:GetObject"
