"""The starter atlasiam.toml that `atlasiam init` writes: pure text from the answers."""

from __future__ import annotations

import json
from collections.abc import Sequence

from atlas_iam_tf.errors import UsageError

STARTER = """\
# atlasiam.toml: one file describes the whole stack. Values go to Terraform via terraform.tfvars.json.
# Credentials never go here: Atlas keys come from MONGODB_ATLAS_CLIENT_ID/_SECRET (or the public/private
# API key pair), AWS from the usual SDK chain (AWS_PROFILE, env keys, SSO, instance role).

name = {name}                     # resource name prefix: ^[a-z][a-z0-9-]{{0,27}}$
environment = {environment}       # state lives under .atlasiam/<environment>/ unless a backend is set

[aws]
region = {region}
instance_type = "t3.micro"
vpc_cidr = "10.42.0.0/16"          # a new VPC with one public subnet ...
# vpc_id = "vpc-0123456789abcdef0"       # ... or reuse an existing network (both or neither)
# subnet_id = "subnet-0123456789abcdef0"

[atlas]
project_id = {project_id}   # 24 hex characters (Atlas UI: Project Settings)
cluster_name = {cluster_name}          # the database users are scoped to this cluster
# iam_user_arns = ["arn:aws:iam::123456789012:user/alice"]  # extra USER-type users (verify --session-token)
{roles}
# [backend]                           # share state with your team (S3, native locking)
# type = "s3"
# bucket = "my-terraform-state"
"""


def parse_role(spec: str) -> tuple[str, str]:
    """Parse ``ROLE@DATABASE`` (e.g. ``readWrite@orders``)."""
    role, sep, database = spec.partition("@")
    if not sep or not role or not database:
        raise UsageError(f"--role {spec!r}: expected ROLE@DATABASE, e.g. readWrite@orders")
    return role, database


def starter_text(
    *, name: str, project_id: str, cluster_name: str, region: str, environment: str, roles: Sequence[str]
) -> str:
    """The starter file for these answers (strings quoted as TOML basic strings)."""
    q = json.dumps  # a JSON string is a valid TOML basic string
    role_blocks = "\n".join(
        f"[[atlas.roles]]\nrole_name = {q(r)}\ndatabase_name = {q(d)}\n" for r, d in map(parse_role, roles)
    )
    return STARTER.format(
        name=q(name),
        environment=q(environment),
        region=q(region),
        project_id=q(project_id),
        cluster_name=q(cluster_name),
        roles=role_blocks,
    )
