from __future__ import annotations

import json
from typing import Any

import pytest

from atlasiam_sandbox.provider import fill, planning, policy_doc
from atlasiam_sandbox.provider.codec import UNKNOWN, contains_unknown, decode_msgpack, encode_msgpack
from atlasiam_sandbox.provider.gen import FillContext, conform
from atlasiam_sandbox.provider.schema import ProviderSchema


def null_object(schema: ProviderSchema, type_name: str, **values: Any) -> dict[str, Any]:
    block = schema.resource(type_name).block
    obj = fill.empty_blocks(block, {})
    obj.update(values)
    return obj


def plan_and_apply(
    schema: ProviderSchema, type_name: str, config: dict[str, Any], region: str = "us-east-1"
) -> tuple[Any, Any]:
    block = schema.resource(type_name).block
    planned = planning.plan_resource(block, config)
    # The planned state must survive the wire.
    planned = decode_msgpack(encode_msgpack(planned, block.type), block.type)
    applied = fill.apply_resource(type_name, block, planned, config, {"region": region})
    return planned, applied


def test_create_marks_null_computed_unknown_at_every_depth(aws_schema: ProviderSchema) -> None:
    config = null_object(aws_schema, "aws_instance", ami="ami-1", root_block_device=[{"volume_size": 8}])
    planned = planning.plan_resource(aws_schema.resource("aws_instance").block, config)
    assert planned["ami"] == "ami-1"
    assert planned["id"] is UNKNOWN and planned["public_ip"] is UNKNOWN
    assert planned["user_data"] is None  # optional, not computed
    device = planned["root_block_device"][0]
    assert device["volume_size"] == 8
    assert device["volume_id"] is UNKNOWN and device["volume_type"] is UNKNOWN
    assert device.get("tags") is None
    assert planned["metadata_options"] == []


def test_update_keeps_prior_computed_values(aws_schema: ProviderSchema) -> None:
    block = aws_schema.resource("aws_vpc").block
    prior = fill.apply_resource(
        "aws_vpc",
        block,
        planning.plan_resource(block, null_object(aws_schema, "aws_vpc", cidr_block="10.0.0.0/16")),
        None,
        {},
    )
    proposed = dict(prior, tags={"Name": "new"})
    planned = planning.plan_resource(block, proposed)
    assert planned["id"] == prior["id"]
    assert not contains_unknown(planned)
    assert planning.requires_replace(fill.REQUIRES_REPLACE["aws_vpc"], prior, planned) == []


def test_destroy_plans_null() -> None:
    assert planning.plan_resource(None, None) is None  # type: ignore[arg-type]


def test_requires_replace_on_change_and_unknown(atlas_schema: ProviderSchema) -> None:
    names = fill.REQUIRES_REPLACE["mongodbatlas_database_user"]
    prior = null_object(
        atlas_schema, "mongodbatlas_database_user", username="a", project_id="p", auth_database_name="admin"
    )
    assert planning.requires_replace(names, prior, dict(prior)) == []
    assert planning.requires_replace(names, prior, dict(prior, username="b")) == ["username"]
    assert planning.requires_replace(names, prior, dict(prior, project_id=UNKNOWN)) == ["project_id"]
    assert planning.requires_replace(names, None, dict(prior)) == []


def test_apply_fills_every_unknown_and_keeps_config(aws_schema: ProviderSchema) -> None:
    config = null_object(
        aws_schema,
        "aws_sandbox_blob",
        settings={"a": "x", "b": 1, "c": [True]},
        rule={"one": {"priority": 1, "rule_id": None}},
        options={"verbose": True, "level": None},
        step=[{"name": "s", "step_id": None, "check": [{"expr": "e", "check_id": None}]}],
    )
    planned, applied = plan_and_apply(aws_schema, "aws_sandbox_blob", config)
    assert planned["rule"]["one"]["rule_id"] is UNKNOWN
    assert planned["step"][0]["check"][0]["check_id"] is UNKNOWN
    assert not contains_unknown(applied)
    assert applied["settings"] == {"a": "x", "b": 1, "c": [True]}
    assert applied["rule"]["one"]["priority"] == 1
    assert applied["rule"]["one"]["rule_id"].startswith("aws_sandbox_blob-")
    assert applied["derived"] == {"name": applied["derived"]["name"], "count": 0, "items": []}
    assert applied["serial"] == 0
    assert applied["options"]["level"].startswith("aws_sandbox_blob-")


def test_apply_is_deterministic(aws_schema: ProviderSchema) -> None:
    config = null_object(aws_schema, "aws_vpc", cidr_block="10.0.0.0/16")
    assert plan_and_apply(aws_schema, "aws_vpc", config)[1] == plan_and_apply(aws_schema, "aws_vpc", config)[1]
    other = null_object(aws_schema, "aws_vpc", cidr_block="10.1.0.0/16")
    assert (
        plan_and_apply(aws_schema, "aws_vpc", config)[1]["id"] != plan_and_apply(aws_schema, "aws_vpc", other)[1]["id"]
    )


def test_apply_uses_config_value_that_was_unknown_at_plan(aws_schema: ProviderSchema) -> None:
    block = aws_schema.resource("aws_security_group").block
    planned = planning.plan_resource(block, null_object(aws_schema, "aws_security_group", vpc_id=UNKNOWN))
    config = null_object(aws_schema, "aws_security_group", vpc_id="vpc-123")
    applied = fill.apply_resource("aws_security_group", block, planned, config, {})
    assert applied["vpc_id"] == "vpc-123"


def test_apply_destroy_returns_null(aws_schema: ProviderSchema) -> None:
    assert fill.apply_resource("aws_vpc", aws_schema.resource("aws_vpc").block, None, None, {}) is None


@pytest.mark.parametrize(
    ("type_name", "prefix"),
    [("aws_vpc", "vpc-"), ("aws_security_group", "sg-"), ("aws_instance", "i-")],
)
def test_ec2_id_shapes(aws_schema: ProviderSchema, type_name: str, prefix: str) -> None:
    _, applied = plan_and_apply(aws_schema, type_name, null_object(aws_schema, type_name))
    assert applied["id"].startswith(prefix)
    assert len(applied["id"]) == len(prefix) + 17
    assert applied["arn"].startswith("arn:aws:ec2:us-east-1:123456789012:")


def test_vpc_arn_region_and_tags_all(aws_schema: ProviderSchema) -> None:
    config = null_object(aws_schema, "aws_vpc", cidr_block="10.0.0.0/16", tags={"Name": "n"})
    _, applied = plan_and_apply(aws_schema, "aws_vpc", config, region="eu-west-1")
    assert applied["arn"] == f"arn:aws:ec2:eu-west-1:123456789012:vpc/{applied['id']}"
    assert applied["region"] == "eu-west-1"
    assert applied["tags_all"] == {"Name": "n"}
    assert applied["main_route_table_id"].startswith("rtb-")
    assert applied["owner_id"] == "123456789012"


def test_instance_ips(aws_schema: ProviderSchema) -> None:
    _, applied = plan_and_apply(aws_schema, "aws_instance", null_object(aws_schema, "aws_instance", ami="ami-1"))
    assert applied["public_ip"].startswith("203.0.113.")
    assert applied["private_ip"].startswith("10.")
    assert applied["instance_state"] == "running"


@pytest.mark.parametrize(
    ("path", "expected"),
    [(None, "arn:aws:iam::123456789012:role/login"), ("/team/", "arn:aws:iam::123456789012:role/team/login")],
)
def test_iam_role_arn_uses_path(aws_schema: ProviderSchema, path: str | None, expected: str) -> None:
    config = null_object(aws_schema, "aws_iam_role", name="login", path=path, assume_role_policy="{}")
    _, applied = plan_and_apply(aws_schema, "aws_iam_role", config)
    assert applied["arn"] == expected
    assert applied["id"] == "login"
    assert applied["unique_id"].startswith("AROA")
    assert applied["path"] == path  # optional, not computed: stays as configured


def test_iam_role_generated_name(aws_schema: ProviderSchema) -> None:
    config = null_object(aws_schema, "aws_iam_role", name_prefix="app-", assume_role_policy="{}")
    _, applied = plan_and_apply(aws_schema, "aws_iam_role", config)
    assert applied["name"].startswith("app-")
    assert applied["arn"] == f"arn:aws:iam::123456789012:role/{applied['name']}"


def data(
    schema: ProviderSchema, type_name: str, provider_config: dict[str, Any] | None = None, **values: Any
) -> dict[str, Any]:
    block = schema.data_source(type_name).block
    config = fill.empty_blocks(block, {})
    config.update(values)
    state = fill.read_data_source(type_name, block, config, provider_config or {})
    assert not contains_unknown(state)
    encode_msgpack(state, block.type)
    return state


def test_data_partition_region_identity(aws_schema: ProviderSchema) -> None:
    part = data(aws_schema, "aws_partition")
    assert (part["partition"], part["dns_suffix"], part["id"]) == ("aws", "amazonaws.com", "aws")
    assert data(aws_schema, "aws_region")["region"] == "us-east-1"
    assert data(aws_schema, "aws_region", {"region": "eu-central-1"})["name"] == "eu-central-1"
    assert data(aws_schema, "aws_caller_identity")["account_id"] == "123456789012"


def test_data_ssm_parameter(aws_schema: ProviderSchema) -> None:
    state = data(aws_schema, "aws_ssm_parameter", name="/aws/service/ami")
    assert state["value"].startswith("ami-0") and state["type"] == "String"
    assert state["value"] == state["insecure_value"]


def test_data_policy_document(aws_schema: ProviderSchema) -> None:
    statement = {
        "sid": "Assume",
        "effect": None,
        "actions": ["sts:AssumeRole", "sts:TagSession"],
        "not_actions": None,
        "resources": None,
        "not_resources": None,
        "principals": [{"type": "AWS", "identifiers": ["arn:aws:iam::123456789012:root"]}],
        "not_principals": [],
        "condition": [{"test": "StringEquals", "variable": "sts:ExternalId", "values": ["abc"]}],
    }
    state = data(aws_schema, "aws_iam_policy_document", statement=[statement])
    doc = json.loads(state["json"])
    assert doc == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Assume",
                "Effect": "Allow",
                "Action": ["sts:TagSession", "sts:AssumeRole"],
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Condition": {"StringEquals": {"sts:ExternalId": "abc"}},
            }
        ],
    }
    assert json.loads(state["minified_json"]) == doc
    assert " " not in state["minified_json"]


def test_policy_document_star_principal_and_sources() -> None:
    source = json.dumps({"Statement": [{"Sid": "A", "Effect": "Deny", "Action": "*", "Resource": "*"}]})
    doc = policy_doc.policy_document(
        {
            "source_policy_documents": [source],
            "statement": [{"sid": "B", "principals": [{"type": "*", "identifiers": ["*"]}], "actions": ["s3:Get*"]}],
        }
    )
    assert [s["Sid"] for s in doc["Statement"]] == ["A", "B"]
    assert doc["Statement"][1]["Principal"] == "*"


def test_atlas_cluster_connection_strings_object_and_list(atlas_schema: ProviderSchema) -> None:
    config = null_object(
        atlas_schema,
        "mongodbatlas_advanced_cluster",
        project_id="p",
        name="Cluster0",
        cluster_type="REPLICASET",
        replication_specs=[],
    )
    _, applied = plan_and_apply(atlas_schema, "mongodbatlas_advanced_cluster", config)
    assert applied["connection_strings"]["standard_srv"] == "mongodb+srv://cluster0.abcde.mongodb.net"
    assert applied["state_name"] == "IDLE"
    read = data(atlas_schema, "mongodbatlas_advanced_cluster", project_id="p", name="Cluster0")
    assert read["connection_strings"][0]["standard_srv"] == "mongodb+srv://cluster0.abcde.mongodb.net"
    assert read["cluster_id"] == applied["cluster_id"]


def test_atlas_database_user(atlas_schema: ProviderSchema) -> None:
    config = null_object(
        atlas_schema,
        "mongodbatlas_database_user",
        project_id="p",
        username="arn:aws:iam::123456789012:role/x",
        auth_database_name="$external",
        aws_iam_type="ROLE",
        roles=[{"role_name": "readWrite", "database_name": "app", "collection_name": None}],
    )
    _, applied = plan_and_apply(atlas_schema, "mongodbatlas_database_user", config)
    assert applied["aws_iam_type"] == "ROLE"
    assert applied["id"].startswith("auth_database_name:")
    assert applied["x509_type"] == "NONE"


def test_nested_attributes_plan(atlas_schema: ProviderSchema) -> None:
    block = atlas_schema.resource("mongodbatlas_advanced_cluster").block
    spec = {
        "zone_name": None,
        "region_configs": [
            {
                "provider_name": "AWS",
                "region_name": "US_EAST_1",
                "priority": 7,
                "electable_specs": {"instance_size": "M10", "node_count": None},
            }
        ],
    }
    config = null_object(
        atlas_schema,
        "mongodbatlas_advanced_cluster",
        project_id="p",
        name="c",
        cluster_type="REPLICASET",
        replication_specs=[spec],
    )
    planned = planning.plan_resource(block, config)
    assert planned["replication_specs"][0]["zone_name"] is UNKNOWN
    assert planned["replication_specs"][0]["region_configs"][0]["electable_specs"]["node_count"] is UNKNOWN
    applied = fill.apply_resource("mongodbatlas_advanced_cluster", block, planned, config, {})
    assert not contains_unknown(applied)


def test_import_and_upgrade(aws_schema: ProviderSchema) -> None:
    block = aws_schema.resource("aws_instance").block
    state = fill.imported_state(block, "i-0123")
    assert state["id"] == "i-0123" and state["ami"] is None
    assert state["root_block_device"] == []
    encode_msgpack(state, block.type)


def test_conform_shapes_hook_values() -> None:
    ctx = FillContext("aws_x", {}, {})
    from atlasiam_sandbox.provider.ctytypes import NUMBER, STRING, Collection, Object

    obj = Object({"a": STRING, "b": NUMBER})
    assert conform(ctx, "p", {"a": "x"}, Collection("list", obj)) == [{"a": "x", "b": 0}]
    assert conform(ctx, "p", [{"a": "x", "b": 2}], obj) == {"a": "x", "b": 2}
    assert conform(ctx, "p", 5, STRING) == "5"
    assert conform(ctx, "p", [], obj)["b"] == 0  # mismatch -> generic value
