"""What the real providers refuse before any API call: one table of rules, checked where they check.

The real providers validate a resource's configuration in ``ValidateResourceConfig`` (SDKv2 ``ValidateFunc`` and
``ConflictsWith``; plugin-framework attribute validators), which Terraform calls at ``validate`` and again at
``plan`` and ``apply`` with the values then known; a value still unknown is skipped and checked on the next call,
as both SDKs do. A few checks run only when the provider creates the object (``CREATE_RULES``: the S3 bucket
name). Every rule below is transcribed from the provider source named in its ``source``, with that SDK's own
message text, so a configuration the stand-in refuses is one the real provider refuses, in the same words, at the
same step. Rules the *APIs* enforce (an Atlas access-list comment ≤ 80, a scope type ``CLUSTER``/``DATA_LAKE``/
``STREAM``, IAM's own limits) are not here: the providers do not check them, so neither do the stand-ins; the
emulated APIs do (``atlas_openapi.py``, ``aws/model_check.py``).

Sources (read for this table): hashicorp/terraform-provider-aws 6.x, ``internal/service/iam/{role,
instance_profile,role_policy,validate}.go``, ``internal/service/ec2/vpc_security_group.go``,
``internal/service/s3/{bucket,directory_bucket}.go``, ``internal/verify/validate.go``;
mongodb/terraform-provider-mongodbatlas v2.16.0 (same rules at v2.0.0 unless noted),
``internal/service/databaseuser/resource_database_user.go``,
``internal/service/projectipaccesslist/resource_schema.go``, ``internal/common/validate/{cidr,ip}_validator.go``,
``internal/service/privatelinkendpoint/resource.go``, ``internal/service/privatelinkendpointservice/resource.go``.
Message texts: hashicorp/terraform-plugin-sdk v2.38.2 ``helper/validation``, ``helper/schema/schema.go``
(``validateFunc``, ``validateConflictingAttributes``) and hashicorp/terraform-plugin-framework-validators v0.19.0
``helpers/validatordiag``, ``stringvalidator``, ``setvalidator``, ``internal/schemavalidator/conflicts_with.go``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from atlasiam_sandbox.provider.codec import UNKNOWN, Value, contains_unknown

Config = Mapping[str, Value]


@dataclass(frozen=True)
class Problem:
    """One error diagnostic: what the real provider says, and the top-level attribute it points at."""

    summary: str
    detail: str
    attribute: str


Finding = tuple[str, str]  # (summary, detail)


# --------------------------------------------------------------------------------------------------
# Checks: each returns the SDK's own (summary, detail) pairs for a known, non-null value
# --------------------------------------------------------------------------------------------------


def _go_re(pattern: str) -> str:
    """A Go regexp for Python's ``re``: Go's ``$`` is the very end, Python's also matches before a final newline."""
    return pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith("\\$") else pattern


def _go_q(values: tuple[str, ...]) -> str:
    """Go's ``%q`` of a ``[]string``: ``["a" "b"]``."""
    return "[" + " ".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "]"


@dataclass(frozen=True)
class LenBetween:
    """SDKv2 ``validation.StringLenBetween``: Go's ``len``, i.e. UTF-8 bytes."""

    low: int
    high: int

    def __call__(self, key: str, value: Any, _config: Config) -> list[Finding]:  # noqa: D102
        if self.low <= len(str(value).encode()) <= self.high:
            return []
        return [(f"expected length of {key} to be in the range ({self.low} - {self.high}), got {value}", "")]


@dataclass(frozen=True)
class Matches:
    """SDKv2 ``validation.StringMatch``: Go's ``MatchString`` searches (unanchored), and its word class is ASCII."""

    pattern: str
    message: str

    def __call__(self, key: str, value: Any, _config: Config) -> list[Finding]:  # noqa: D102
        if re.search(_go_re(self.pattern), str(value), re.ASCII):
            return []
        if self.message:
            return [(f"invalid value for {key} ({self.message})", "")]
        return [(f"expected value of {key} to match regular expression {self.pattern!r}, got {value}", "")]


@dataclass(frozen=True)
class NotMatches:
    """SDKv2 ``validation.StringDoesNotMatch``."""

    pattern: str
    message: str

    def __call__(self, key: str, value: Any, _config: Config) -> list[Finding]:  # noqa: D102
        if not re.search(_go_re(self.pattern), str(value), re.ASCII):
            return []
        return [(f"invalid value for {key} ({self.message})", "")]


@dataclass(frozen=True)
class InSlice:
    """SDKv2 ``validation.StringInSlice(valid, false)``."""

    valid: tuple[str, ...]

    def __call__(self, key: str, value: Any, _config: Config) -> list[Finding]:  # noqa: D102
        if value in self.valid:
            return []
        return [(f"expected {key} to be one of {_go_q(self.valid)}, got {value}", "")]


@dataclass(frozen=True)
class IntBetween:
    """SDKv2 ``validation.IntBetween``."""

    low: int
    high: int

    def __call__(self, key: str, value: Any, _config: Config) -> list[Finding]:  # noqa: D102
        if self.low <= int(value) <= self.high:
            return []
        return [(f"expected {key} to be in the range ({self.low} - {self.high}), got {int(value)}", "")]


# verify.ValidARN (aws internal/verify/validate.go) over aws-sdk-go-v2 arn.Parse: "arn:" and six ':' sections.
_ARN_PARTITION = re.compile(r"^aws(-[a-z]+)*$")
_ARN_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_ARN_ACCOUNT = re.compile(r"^(aws|aws-managed|third-party|aws-marketplace|\d{12}|cw.{10})$", re.ASCII)


def arn_problems(key: str, value: str) -> list[str]:
    """``verify.ValidARN``'s errors for ``value`` (empty when it is a valid ARN, or empty)."""
    if value == "":
        return []
    if not value.startswith("arn:"):
        return [f'"{key}" ({value}) is an invalid ARN: arn: invalid prefix']
    sections = value.split(":", 5)
    if len(sections) != 6:
        return [f'"{key}" ({value}) is an invalid ARN: arn: not enough sections']
    _, partition, _service, region, account, resource = sections
    errors = []
    if partition == "":
        errors.append(f'"{key}" ({value}) is an invalid ARN: missing partition value')
    elif not _ARN_PARTITION.match(partition):
        errors.append(
            f'"{key}" ({value}) is an invalid ARN: invalid partition value (expecting to match regular '
            f"expression: {_ARN_PARTITION.pattern})"
        )
    if region and not _ARN_REGION.match(region):
        errors.append(
            f'"{key}" ({value}) is an invalid ARN: invalid region value (expecting to match regular '
            f"expression: {_ARN_REGION.pattern})"
        )
    if account and not _ARN_ACCOUNT.match(account):
        errors.append(
            f'"{key}" ({value}) is an invalid ARN: invalid account ID value (expecting to match regular '
            f"expression: {_ARN_ACCOUNT.pattern})"
        )
    if resource == "":
        errors.append(f'"{key}" ({value}) is an invalid ARN: missing resource value')
    return errors


@dataclass(frozen=True)
class ValidArn:
    """aws ``verify.ValidARN``."""

    def __call__(self, key: str, value: Any, _config: Config) -> list[Finding]:  # noqa: D102
        return [(e, "") for e in arn_problems(key, str(value))]


@dataclass(frozen=True)
class NotArn:
    """aws ``validRolePolicyRole``'s last check: an attribute that takes a name refuses a valid ARN."""

    def __call__(self, key: str, value: Any, _config: Config) -> list[Finding]:  # noqa: D102
        if str(value) and not arn_problems(key, str(value)):
            return [(f'"{key}" must be the role\'s name not its ARN', "")]
        return []


@dataclass(frozen=True)
class OneOf:
    """plugin-framework-validators ``stringvalidator.OneOf``."""

    valid: tuple[str, ...]

    def __call__(self, key: str, value: Any, _config: Config) -> list[Finding]:  # noqa: D102
        if value in self.valid:
            return []
        listed = _go_q(tuple(f'"{v}"' for v in self.valid))
        return [("Invalid Attribute Value Match", f'Attribute {key} value must be one of: {listed}, got: "{value}"')]


@dataclass(frozen=True)
class ValidCidr:
    """mongodbatlas ``validate.ValidCIDR``: Go ``net.ParseCIDR`` and the network written canonically."""

    def __call__(self, key: str, value: Any, _config: Config) -> list[Finding]:  # noqa: D102
        text = str(value)
        try:
            ok = "%" not in text and str(ipaddress.ip_network(text, strict=True)) == text
        except ValueError:
            ok = False
        return [] if ok else [_invalid_value(key, "string value must be defined as a valid cidr.", text)]


@dataclass(frozen=True)
class ValidIp:
    """mongodbatlas ``validate.ValidIP``: Go ``net.ParseIP`` (no zone)."""

    def __call__(self, key: str, value: Any, _config: Config) -> list[Finding]:  # noqa: D102
        text = str(value)
        try:
            ok = "%" not in text and ipaddress.ip_address(text) is not None
        except ValueError:
            ok = False
        return [] if ok else [_invalid_value(key, "string value must be defined as a valid IP Address.", text)]


def _invalid_value(key: str, description: str, value: str) -> Finding:
    """``validatordiag.InvalidAttributeValueDiagnostic`` (framework-validators v0.19.0)."""
    return ("Invalid Attribute Value", f"Attribute {key} {description}, got: {value}")


Check = Callable[[str, Any, Config], list[Finding]]


# --------------------------------------------------------------------------------------------------
# Rules: which checks, on which attribute, with which semantics, from which source
# --------------------------------------------------------------------------------------------------

Sdk = Literal["sdkv2", "framework"]


@dataclass(frozen=True)
class Rule:
    """The checks one provider runs on one top-level attribute.

    Attributes:
        attribute: The attribute (for a block: the block's name).
        checks: Value checks, run on a known, non-null value (SDKv2 ``validation.All`` runs all of them).
        conflicts_with: Attributes that may not be set together with this one (``ConflictsWith``).
        required_block: The block must appear at least once (framework ``setvalidator.IsRequired``).
        sdk: Whose semantics and wording: SDKv2 skips the value checks once a conflict is found.
        source: Where the real rule lives.
    """

    attribute: str
    source: str
    checks: tuple[Check, ...] = ()
    conflicts_with: tuple[str, ...] = ()
    required_block: bool = False
    sdk: Sdk = "sdkv2"


AWS_IAM = "hashicorp/terraform-provider-aws 6.x internal/service/iam"
IAM_NAME = r"^[\w+=,.@-]*$"  # validResourceName (iam/validate.go); UniqueIDSuffixLength = 26


def _iam_name(max_len: int) -> tuple[Check, ...]:
    """The IAM ``validResourceName(max)``: length 1..max, and ``IAM_NAME``."""
    return (LenBetween(1, max_len), Matches(IAM_NAME, "must match [\\w+=,.@-]"))


def _name_pair(type_file: str, name: tuple[Check, ...], prefix: tuple[Check, ...]) -> tuple[Rule, ...]:
    """``name``/``name_prefix``: each validated, and each ConflictsWith the other."""
    return (
        Rule("name", type_file, name, conflicts_with=("name_prefix",)),
        Rule("name_prefix", type_file, prefix, conflicts_with=("name",)),
    )


SG_NOT_ID = NotMatches(r"^sg-", "cannot begin with sg-")
S3_DIRECTORY_BUCKET = r"^(?:[0-9a-z.-]+)--(?:[0-9a-zA-Z]+(?:-[0-9a-zA-Z]+)+)--x-s3$"
ATLAS = "mongodb/terraform-provider-mongodbatlas v2.16.0"
ATLAS_PROVIDERS = InSlice(("AWS", "AZURE", "GCP"))

RULES: dict[str, tuple[Rule, ...]] = {
    "aws_iam_role": (
        *_name_pair(f"{AWS_IAM}/role.go (roleNameMaxLen 64, prefix 64-26)", _iam_name(64), _iam_name(38)),
        Rule("path", f"{AWS_IAM}/role.go", (LenBetween(0, 512),)),
        Rule(
            "description",
            f"{AWS_IAM}/role.go",
            (
                LenBetween(0, 1000),
                NotMatches("[“‘]", "cannot contain specially formatted single or double quotes: [“‘]"),
            ),
        ),
        Rule("max_session_duration", f"{AWS_IAM}/role.go", (IntBetween(3600, 43200),)),
        Rule("permissions_boundary", f"{AWS_IAM}/role.go; internal/verify/validate.go ValidARN", (ValidArn(),)),
    ),
    "aws_iam_instance_profile": _name_pair(
        f"{AWS_IAM}/instance_profile.go (instanceProfileNameMaxLen 128, prefix 128-26)", _iam_name(128), _iam_name(102)
    ),
    "aws_iam_role_policy": (
        *_name_pair(
            f"{AWS_IAM}/role_policy.go (rolePolicyNameMaxLen 128, prefix 128-26)", _iam_name(128), _iam_name(102)
        ),
        Rule(
            "role",
            f"{AWS_IAM}/role_policy.go, validate.go validRolePolicyRole",
            (LenBetween(1, 128), Matches(r"[\w+=,.@-]+", ""), NotArn()),
        ),
    ),
    "aws_security_group": (
        *_name_pair(
            "hashicorp/terraform-provider-aws 6.x internal/service/ec2/vpc_security_group.go (prefix 255-26)",
            (LenBetween(0, 255), SG_NOT_ID),
            (LenBetween(0, 229), SG_NOT_ID),
        ),
        Rule(
            "description",
            "hashicorp/terraform-provider-aws 6.x internal/service/ec2/vpc_security_group.go",
            (LenBetween(0, 255),),
        ),
    ),
    "aws_s3_bucket": (
        Rule(
            "bucket",
            "hashicorp/terraform-provider-aws 6.x internal/service/s3/bucket.go; directory_bucket.go",
            (
                LenBetween(0, 63),
                NotMatches(
                    S3_DIRECTORY_BUCKET,
                    "must not be in the format [bucket_name]--[azid]--x-s3. Use the aws_s3_directory_bucket "
                    "resource to manage S3 Express buckets",
                ),
            ),
            conflicts_with=("bucket_prefix",),
        ),
        Rule(
            "bucket_prefix",
            "hashicorp/terraform-provider-aws 6.x internal/service/s3/bucket.go (63-26)",
            (LenBetween(0, 37),),
            conflicts_with=("bucket",),
        ),
    ),
    "mongodbatlas_database_user": (
        Rule(
            "password",
            f"{ATLAS} internal/service/databaseuser/resource_database_user.go",
            conflicts_with=("x509_type", "ldap_auth_type", "aws_iam_type"),
            sdk="framework",
        ),
        Rule(
            "x509_type",
            f"{ATLAS} internal/service/databaseuser/resource_database_user.go",
            (OneOf(("NONE", "MANAGED", "CUSTOMER")),),
            sdk="framework",
        ),
        Rule(
            "ldap_auth_type",
            f"{ATLAS} internal/service/databaseuser/resource_database_user.go",
            (OneOf(("NONE", "USER", "GROUP")),),
            sdk="framework",
        ),
        Rule(
            "aws_iam_type",
            f"{ATLAS} internal/service/databaseuser/resource_database_user.go",
            (OneOf(("NONE", "USER", "ROLE")),),
            sdk="framework",
        ),
        Rule(
            "roles",
            f"{ATLAS} internal/service/databaseuser/resource_database_user.go (setvalidator.IsRequired)",
            required_block=True,
            sdk="framework",
        ),
    ),
    "mongodbatlas_project_ip_access_list": (
        Rule(
            "cidr_block",
            f"{ATLAS} internal/service/projectipaccesslist/resource_schema.go; common/validate/cidr_validator.go",
            (ValidCidr(),),
            conflicts_with=("aws_security_group", "ip_address"),
            sdk="framework",
        ),
        Rule(
            "ip_address",
            f"{ATLAS} internal/service/projectipaccesslist/resource_schema.go; common/validate/ip_validator.go",
            (ValidIp(),),
            conflicts_with=("aws_security_group", "cidr_block"),
            sdk="framework",
        ),
        Rule(
            "aws_security_group",
            f"{ATLAS} internal/service/projectipaccesslist/resource_schema.go",
            conflicts_with=("ip_address", "cidr_block"),
            sdk="framework",
        ),
    ),
    "mongodbatlas_privatelink_endpoint": (
        Rule("provider_name", f"{ATLAS} internal/service/privatelinkendpoint/resource.go", (ATLAS_PROVIDERS,)),
    ),
    "mongodbatlas_privatelink_endpoint_service": (
        Rule("provider_name", f"{ATLAS} internal/service/privatelinkendpointservice/resource.go", (ATLAS_PROVIDERS,)),
        # v2.0.0 also made gcp_project_id conflict with private_endpoint_ip_address; v2.16.0 dropped that, and
        # `~> 2.0` installs the newer one, so only the conflicts both versions share are kept.
        Rule(
            "private_endpoint_ip_address",
            f"{ATLAS} internal/service/privatelinkendpointservice/resource.go",
            conflicts_with=("endpoints",),
        ),
        Rule(
            "endpoints",
            f"{ATLAS} internal/service/privatelinkendpointservice/resource.go",
            conflicts_with=("private_endpoint_ip_address",),
        ),
    ),
}
"""Resource type -> the provider's rules for it. Required attributes and blocks with ``min_items`` are not here:
Terraform enforces those itself from the schema."""


def _is_set(value: Value) -> bool:
    """Set in configuration: not null and, for a block, at least one element (framework nullifies empty blocks)."""
    return value is not None and value != []


def _rule_problems(rule: Rule, config: Config) -> list[Finding]:
    value = config.get(rule.attribute)
    if rule.required_block:
        if value is None or value == []:  # an unknown block count (dynamic over unknown) is not judged
            return [
                (
                    "Invalid Block",
                    f"Block {rule.attribute} must have a configuration value as the provider has marked it as required",
                )
            ]
        return []
    if not _is_set(value) or contains_unknown(value):
        return []
    found: list[Finding] = []
    for other in rule.conflicts_with:
        other_value = config.get(other)
        if other_value is UNKNOWN or not _is_set(other_value):
            continue  # both SDKs defer an unknown until it is known
        if rule.sdk == "sdkv2":  # the first conflict, then no value checks (schemaMap.validate)
            return [("Conflicting configuration arguments", f'"{rule.attribute}": conflicts with {other}')]
        found.append(
            (
                "Invalid Attribute Combination",
                f'Attribute "{other}" cannot be specified when "{rule.attribute}" is specified',
            )
        )
    for check in rule.checks:
        found.extend(check(rule.attribute, value, config))
    return found


def validate(type_name: str, config: Value) -> list[Problem]:
    """The errors the real provider reports for this resource configuration at validate/plan time."""
    if not isinstance(config, Mapping):
        return []
    return [
        Problem(summary, detail, rule.attribute)
        for rule in RULES.get(type_name, ())
        for summary, detail in _rule_problems(rule, config)
    ]


# --------------------------------------------------------------------------------------------------
# Create-time checks: what a provider checks in its Create function, before the API call
# --------------------------------------------------------------------------------------------------

UNIQUE_ID_SUFFIX = "0" * 26
"""terraform-plugin-sdk ``id.PrefixedUniqueId``'s suffix (timestamp digits + hex counter) stands in as 26 digits."""


def s3_bucket_name_problems(name: str) -> list[str]:
    """The aws ``validBucketName`` outside us-east-1: the first broken rule, as the provider returns it."""
    checks = (
        (not 3 <= len(name) <= 63, f'"{name}" must contain from 3 to 63 characters'),
        (
            not re.fullmatch(r"[0-9a-z.-]+", name),
            f'only lowercase alphanumeric characters and hyphens allowed in "{name}"',
        ),
        (
            bool(re.fullmatch(r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}", name)),
            f'"{name}" must not be formatted as an IP address',
        ),
        (name.startswith("."), f'"{name}" cannot start with a period'),
        (name.endswith("."), f'"{name}" cannot end with a period'),
        (".." in name, f'"{name}" can be only one period between labels'),
    )
    return [message for failed, message in checks if failed][:1]


def s3_bucket_create(config: Config, region: str) -> list[Problem]:
    """``resourceBucketCreate``: the name (``bucket``, or ``bucket_prefix`` + the unique suffix) is checked first.

    The provider is lenient in us-east-1 (≤ 255 characters of ``[0-9A-Za-z_.-]``) and leaves the rest to S3, which
    refuses there too: "Beginning March 1, 2018, new buckets in US East (N. Virginia) must conform to the same rules
    applied in all other Regions" (Amazon S3 user guide, bucket naming rules); the provider then reports S3's
    ``InvalidBucketName``.
    """
    bucket, prefix = config.get("bucket"), config.get("bucket_prefix")
    own_region = config.get("region")  # aws 6.x: a resource's `region` overrides the provider's
    region = own_region if isinstance(own_region, str) and own_region else region
    if isinstance(bucket, str):
        name = bucket
    else:
        name = (prefix if isinstance(prefix, str) else "terraform-") + UNIQUE_ID_SUFFIX
    errors = s3_bucket_name_problems(name)
    if errors and region == "us-east-1" and len(name) <= 255 and re.fullmatch(r"[0-9A-Za-z_.-]+", name):
        return [
            Problem(
                f"creating S3 Bucket ({name}): operation error S3: CreateBucket, https response error StatusCode: "
                "400, api error InvalidBucketName: The specified bucket is not valid.",
                "",
                "bucket",
            )
        ]
    return [Problem(f"validating S3 Bucket ({name}) name: {e}", "", "bucket") for e in errors]


@dataclass(frozen=True)
class CreateRule:
    """A check a provider runs in its Create function, with the region the provider is configured for."""

    source: str
    check: Callable[[Config, str], list[Problem]]


CREATE_RULES: dict[str, tuple[CreateRule, ...]] = {
    "aws_s3_bucket": (
        CreateRule(
            "hashicorp/terraform-provider-aws 6.x internal/service/s3/bucket.go resourceBucketCreate, validBucketName; "
            "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html",
            s3_bucket_create,
        ),
    ),
}


def create_problems(type_name: str, config: Value, region: str) -> list[Problem]:
    """The errors the real provider returns when it is about to create this object (before the API call)."""
    if not isinstance(config, Mapping) or contains_unknown(config):
        return []
    return [p for rule in CREATE_RULES.get(type_name, ()) for p in rule.check(config, region)]
