"""The starter atlasiam.toml that `atlasiam init` writes: pure text from the answers."""

from __future__ import annotations

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


def toml_string(value: str, flag: str) -> str:
    r"""``value`` as a TOML basic string: ``"`` and ``\`` escaped, control characters as ``\uXXXX``.

    Not ``json.dumps``: JSON writes a character beyond U+FFFF as a surrogate-pair escape, which TOML
    refuses. A lone surrogate (argv that was not UTF-8) has no TOML form at all.
    """
    if any("\ud800" <= c <= "\udfff" for c in value):
        raise UsageError(f"{flag} {value!r}: not UTF-8 text")
    escaped = ("\\" + c if c in '"\\' else f"\\u{ord(c):04x}" if c < " " or c == "\x7f" else c for c in value)
    return '"' + "".join(escaped) + '"'


def starter_text(
    *, name: str, project_id: str, cluster_name: str, region: str, environment: str, roles: Sequence[str]
) -> str:
    """The starter file for these answers (strings quoted as TOML basic strings)."""
    role_blocks = "\n".join(
        f"[[atlas.roles]]\nrole_name = {toml_string(r, '--role')}\ndatabase_name = {toml_string(d, '--role')}\n"
        for r, d in map(parse_role, roles)
    )
    return STARTER.format(
        name=toml_string(name, "--name"),
        environment=toml_string(environment, "--environment"),
        region=toml_string(region, "--region"),
        project_id=toml_string(project_id, "--project-id"),
        cluster_name=toml_string(cluster_name, "--cluster-name"),
        roles=role_blocks,
    )
