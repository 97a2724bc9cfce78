"""Plausible generated values for mongodb/mongodbatlas resources and data sources (data + small hooks)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from atlasiam_sandbox.provider.gen import FillContext, Hook

CLUSTER_DOMAIN = "abcde.mongodb.net"
ATLAS_AWS_ACCOUNT_ARN = "arn:aws:iam::536727724300:root"

REQUIRES_REPLACE: dict[str, tuple[str, ...]] = {
    "mongodbatlas_database_user": ("username", "project_id", "auth_database_name"),
    "mongodbatlas_project": ("org_id",),
    "mongodbatlas_advanced_cluster": ("project_id", "name"),
    "mongodbatlas_cluster": ("project_id", "name"),
    "mongodbatlas_project_ip_access_list": ("project_id", "cidr_block", "ip_address", "aws_security_group"),
    "mongodbatlas_cloud_provider_access_setup": ("project_id", "provider_name"),
}


def encode_state_id(values: Mapping[str, Any]) -> str:
    """The provider's composite id: sorted `key:base64(value)` pairs joined with `-`."""
    return "-".join(
        f"{k}:{base64.b64encode(str(v).encode()).decode()}" for k, v in sorted(values.items()) if v is not None
    )


def object_id(ctx: FillContext, label: str) -> str:
    """A 24-hex-digit Atlas object id."""
    return ctx.hex(label, 24)


def project(ctx: FillContext) -> Mapping[str, Any]:
    """mongodbatlas_project."""
    return {"id": object_id(ctx, "id"), "created": "2026-01-01T00:00:00Z", "cluster_count": 0}


def _connection_strings(name: str) -> dict[str, Any]:
    host = f"{name.lower()}.{CLUSTER_DOMAIN}"
    shards = ",".join(f"{name.lower()}-shard-00-0{i}.{CLUSTER_DOMAIN}:27017" for i in range(3))
    return {
        "standard_srv": f"mongodb+srv://{host}",
        "standard": f"mongodb://{shards}/?ssl=true&authSource=admin",
        "private": "",
        "private_srv": "",
        "private_endpoint": [],
        "aws_private_link": {},
        "aws_private_link_srv": {},
    }


def advanced_cluster(ctx: FillContext) -> Mapping[str, Any]:
    """mongodbatlas_advanced_cluster (resource and data source): IDLE, with SRV connection strings."""
    name = str(ctx.known("name") or "cluster")
    cluster_id = ctx.keyed_hex("cluster_id", ("project_id", "name"))
    return {
        "id": encode_state_id({"cluster_id": cluster_id, "cluster_name": name, "project_id": ctx.known("project_id")}),
        "cluster_id": cluster_id,
        "connection_strings": _connection_strings(name),
        "state_name": "IDLE",
        "mongo_db_version": "8.0.4",
        "mongo_db_major_version": "8.0",
        "version_release_system": "LTS",
        "cluster_type": "REPLICASET",
        "create_date": "2026-01-01T00:00:00Z",
    }


def database_user(ctx: FillContext) -> Mapping[str, Any]:
    """mongodbatlas_database_user: the provider's composite id."""
    auth_db = ctx.known("auth_database_name") or "admin"
    return {
        "id": encode_state_id(
            {
                "auth_database_name": auth_db,
                "project_id": ctx.known("project_id"),
                "username": ctx.known("username"),
            }
        ),
        "auth_database_name": auth_db,
        "aws_iam_type": "NONE",
        "ldap_auth_type": "NONE",
        "x509_type": "NONE",
        "oidc_auth_type": "NONE",
    }


def ip_access_list(ctx: FillContext) -> Mapping[str, Any]:
    """mongodbatlas_project_ip_access_list."""
    entry = ctx.known("cidr_block") or ctx.known("ip_address") or ctx.known("aws_security_group")
    return {"id": encode_state_id({"entry": entry, "project_id": ctx.known("project_id")})}


def cloud_provider_access_setup(ctx: FillContext) -> Mapping[str, Any]:
    """mongodbatlas_cloud_provider_access_setup: Atlas's AWS account and an external id."""
    hexed = ctx.hex("external_id", 32)
    external_id = f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"
    return {
        "role_id": object_id(ctx, "role_id"),
        "aws_config": [{"atlas_aws_account_arn": ATLAS_AWS_ACCOUNT_ARN, "atlas_assumed_role_external_id": external_id}],
        "created_date": "2026-01-01T00:00:00Z",
    }


RESOURCE_HOOKS: dict[str, Hook] = {
    "mongodbatlas_project": project,
    "mongodbatlas_advanced_cluster": advanced_cluster,
    "mongodbatlas_cluster": advanced_cluster,
    "mongodbatlas_database_user": database_user,
    "mongodbatlas_project_ip_access_list": ip_access_list,
    "mongodbatlas_cloud_provider_access_setup": cloud_provider_access_setup,
}

DATA_HOOKS: dict[str, Hook] = {
    "mongodbatlas_advanced_cluster": advanced_cluster,
    "mongodbatlas_cluster": advanced_cluster,
    "mongodbatlas_project": project,
    "mongodbatlas_database_user": database_user,
}
