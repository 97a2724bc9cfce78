"""Real Terraform against the stand-ins: they refuse what the real providers refuse, where and as those do.

Every rule of ``atlasiam_sandbox.provider.validators`` is exercised by real ``terraform validate``/``plan`` runs:
one configuration holds each case at its limit (accepted), another each case just past it (refused), and every
refusal must name its resource, its attribute and the provider's message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from atlasiam_sandbox.mirror import MirrorInfo, build_mirror

pytestmark = pytest.mark.terraform

PROJECT = "0123456789abcdef01234567"
ROLE_ARN = "arn:aws:iam::123456789012:role/app"

HEADER = """
terraform {
  required_providers {
    aws          = { source = "hashicorp/aws", version = "~> 6.0" }
    mongodbatlas = { source = "mongodb/mongodbatlas", version = "~> 2.0" }
  }
}
provider "aws" { region = "eu-west-1" }
provider "mongodbatlas" {}
"""

BASE: dict[str, str] = {
    "aws_iam_role": 'assume_role_policy = "{}"',
    "aws_iam_role_policy": 'policy = "{}"',
    "aws_iam_instance_profile": "",
    "aws_security_group": "",
    "aws_s3_bucket": "",
    "mongodbatlas_database_user": (
        f'project_id = "{PROJECT}"\n  username = "{ROLE_ARN}"\n  auth_database_name = "$external"'
    ),
    "mongodbatlas_project_ip_access_list": f'project_id = "{PROJECT}"',
    "mongodbatlas_privatelink_endpoint": f'project_id = "{PROJECT}"',
    "mongodbatlas_privatelink_endpoint_service": (
        f'project_id = "{PROJECT}"\n  private_link_id = "pl"\n  endpoint_service_id = "vpce-1"'
    ),
}
ROLES = 'roles {\n    role_name = "readWrite"\n    database_name = "app"\n  }'


@dataclass(frozen=True)
class Case:
    """One rule: a resource body accepted at the limit, one refused just past it, and what the refusal says."""

    name: str
    type: str
    ok: str
    bad: str
    says: str  # in the summary or detail of the error at this resource
    attribute: str  # the attribute the error points at (`terraform validate -json` snippet)


def q(text: str) -> str:
    """An HCL string literal."""
    return json.dumps(text).replace("${", "$${")


CASES: tuple[Case, ...] = (
    # aws_iam_role (internal/service/iam/role.go, validate.go)
    Case("role_name_len", "aws_iam_role", f"name = {q('r' * 64)}", f"name = {q('r' * 65)}",
         "expected length of name to be in the range (1 - 64)", "name"),
    Case("role_name_chars", "aws_iam_role", f"name = {q('a_b+=,.@-')}", f"name = {q('a_b/c')}",
         r"invalid value for name (must match [\w+=,.@-])", "name"),
    Case("role_name_empty", "aws_iam_role", 'name = "a"', 'name = ""',
         "expected length of name to be in the range (1 - 64), got ", "name"),
    Case("role_prefix_len", "aws_iam_role", f"name_prefix = {q('p' * 38)}", f"name_prefix = {q('p' * 39)}",
         "expected length of name_prefix to be in the range (1 - 38)", "name_prefix"),
    Case("role_name_and_prefix", "aws_iam_role", 'name = "a"', 'name = "a"\n  name_prefix = "b"',
         '"name": conflicts with name_prefix', "name"),
    Case("role_path_len", "aws_iam_role", f"path = {q('/' + 'p' * 510 + '/')}", f"path = {q('/' + 'p' * 511 + '/')}",
         "expected length of path to be in the range (0 - 512)", "path"),
    Case("role_description_len", "aws_iam_role", f"description = {q('d' * 1000)}",
         f"description = {q('d' * 1001)}", "expected length of description to be in the range (0 - 1000)",
         "description"),
    Case("role_session", "aws_iam_role", "max_session_duration = 43200", "max_session_duration = 43201",
         "expected max_session_duration to be in the range (3600 - 43200), got 43201", "max_session_duration"),
    Case("role_boundary", "aws_iam_role", 'permissions_boundary = "arn:aws:iam::123456789012:policy/b"',
         'permissions_boundary = "arn:aws:iam::12345678901:policy/b"',
         "is an invalid ARN: invalid account ID value", "permissions_boundary"),
    # aws_iam_instance_profile (instance_profile.go)
    Case("profile_name_len", "aws_iam_instance_profile", f"name = {q('i' * 128)}", f"name = {q('i' * 129)}",
         "expected length of name to be in the range (1 - 128)", "name"),
    Case("profile_prefix_len", "aws_iam_instance_profile", f"name_prefix = {q('i' * 102)}",
         f"name_prefix = {q('i' * 103)}", "expected length of name_prefix to be in the range (1 - 102)",
         "name_prefix"),
    # aws_iam_role_policy (role_policy.go, validate.go)
    Case("policy_name_len", "aws_iam_role_policy", f'role = "app"\n  name = {q("n" * 128)}',
         f'role = "app"\n  name = {q("n" * 129)}', "expected length of name to be in the range (1 - 128)", "name"),
    Case("policy_prefix_len", "aws_iam_role_policy", f'role = "app"\n  name_prefix = {q("n" * 102)}',
         f'role = "app"\n  name_prefix = {q("n" * 103)}',
         "expected length of name_prefix to be in the range (1 - 102)", "name_prefix"),
    Case("policy_role_arn", "aws_iam_role_policy", 'role = "app"', f"role = {q(ROLE_ARN)}",
         "\"role\" must be the role's name not its ARN", "role"),
    # aws_security_group (ec2/vpc_security_group.go)
    Case("sg_name_len", "aws_security_group", f"name = {q('s' * 255)}", f"name = {q('s' * 256)}",
         "expected length of name to be in the range (0 - 255)", "name"),
    Case("sg_prefix_len", "aws_security_group", f"name_prefix = {q('s' * 229)}", f"name_prefix = {q('s' * 230)}",
         "expected length of name_prefix to be in the range (0 - 229)", "name_prefix"),
    Case("sg_name_id", "aws_security_group", 'name = "xsg-1"', 'name = "sg-1"',
         "invalid value for name (cannot begin with sg-)", "name"),
    Case("sg_description_len", "aws_security_group", f"description = {q('d' * 255)}",
         f"description = {q('d' * 256)}", "expected length of description to be in the range (0 - 255)",
         "description"),
    # aws_s3_bucket (s3/bucket.go)
    Case("bucket_len", "aws_s3_bucket", f"bucket = {q('b' * 63)}", f"bucket = {q('b' * 64)}",
         "expected length of bucket to be in the range (0 - 63)", "bucket"),
    Case("bucket_prefix_len", "aws_s3_bucket", f"bucket_prefix = {q('b' * 37)}", f"bucket_prefix = {q('b' * 38)}",
         "expected length of bucket_prefix to be in the range (0 - 37)", "bucket_prefix"),
    Case("bucket_directory", "aws_s3_bucket", 'bucket = "app--usw2-az2-x-s3"', 'bucket = "app--usw2-az2--x-s3"',
         "must not be in the format [bucket_name]--[azid]--x-s3", "bucket"),
    # mongodbatlas_database_user (databaseuser/resource_database_user.go)
    Case("user_iam_type", "mongodbatlas_database_user", f'aws_iam_type = "ROLE"\n  {ROLES}',
         f'aws_iam_type = "role"\n  {ROLES}',
         'value must be one of: ["\\"NONE\\"" "\\"USER\\"" "\\"ROLE\\""], got: "role"', "aws_iam_type"),
    Case("user_x509_type", "mongodbatlas_database_user", f'x509_type = "MANAGED"\n  {ROLES}',
         f'x509_type = "ROLE"\n  {ROLES}', "Attribute x509_type value must be one of", "x509_type"),
    Case("user_ldap_type", "mongodbatlas_database_user", f'ldap_auth_type = "GROUP"\n  {ROLES}',
         f'ldap_auth_type = "ROLE"\n  {ROLES}', "Attribute ldap_auth_type value must be one of", "ldap_auth_type"),
    Case("user_password_iam", "mongodbatlas_database_user", f'aws_iam_type = "ROLE"\n  {ROLES}',
         f'aws_iam_type = "ROLE"\n  password = "p"\n  {ROLES}',
         'Attribute "aws_iam_type" cannot be specified when "password" is specified', "password"),
    Case("user_roles", "mongodbatlas_database_user", f'aws_iam_type = "ROLE"\n  {ROLES}', 'aws_iam_type = "ROLE"',
         "Block roles must have a configuration value as the provider has marked it as required", ""),
    # mongodbatlas_project_ip_access_list (projectipaccesslist/resource_schema.go, common/validate)
    Case("access_cidr", "mongodbatlas_project_ip_access_list", 'cidr_block = "10.0.0.0/16"',
         'cidr_block = "10.0.0.1/16"', "Attribute cidr_block string value must be defined as a valid cidr., got: "
         "10.0.0.1/16", "cidr_block"),
    Case("access_ip", "mongodbatlas_project_ip_access_list", 'ip_address = "203.0.113.255"',
         'ip_address = "203.0.113.256"', "Attribute ip_address string value must be defined as a valid IP Address.",
         "ip_address"),
    Case("access_both", "mongodbatlas_project_ip_access_list", 'ip_address = "203.0.113.7"',
         'ip_address = "203.0.113.7"\n  cidr_block = "203.0.113.7/32"',
         'Attribute "cidr_block" cannot be specified when "ip_address" is specified', "ip_address"),
    # mongodbatlas_privatelink_endpoint(_service) (privatelinkendpoint[service]/resource.go)
    Case("pl_provider", "mongodbatlas_privatelink_endpoint", 'provider_name = "AWS"\n  region = "us-east-1"',
         'provider_name = "aws"\n  region = "us-east-1"',
         'expected provider_name to be one of ["AWS" "AZURE" "GCP"], got aws', "provider_name"),
    Case("pl_region_required", "mongodbatlas_privatelink_endpoint", 'provider_name = "AWS"\n  region = "us-east-1"',
         'provider_name = "AWS"', 'The argument "region" is required', ""),
    Case("pls_provider", "mongodbatlas_privatelink_endpoint_service", 'provider_name = "AWS"',
         'provider_name = "AMAZON"', "expected provider_name to be one of", "provider_name"),
    Case("pls_ip_and_endpoints", "mongodbatlas_privatelink_endpoint_service",
         'provider_name = "GCP"\n  private_endpoint_ip_address = "10.0.0.5"',
         'provider_name = "GCP"\n  private_endpoint_ip_address = "10.0.0.5"\n'
         '  endpoints {\n    ip_address = "10.0.0.6"\n  }',
         '"private_endpoint_ip_address": conflicts with endpoints', "private_endpoint_ip_address"),
)  # fmt: skip


def body(case: Case, variant: str) -> str:
    """The resource block of a case (the accepted or the refused variant)."""
    lines = "\n  ".join(x for x in (BASE[case.type], variant) if x)
    return f'resource "{case.type}" "{case.name}" {{\n  {lines}\n}}\n'


def config(variant: str) -> str:
    """All cases in one configuration, each as its `ok` or its `bad` variant."""
    return HEADER + "".join(body(c, getattr(c, variant)) for c in CASES)


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> MirrorInfo:
    return build_mirror(tmp_path_factory.mktemp("validators-mirror"))


def diagnostics(tf: Any) -> list[dict[str, Any]]:
    """`terraform validate -json`'s error diagnostics."""
    result = tf("validate", "-json", "-no-color", ok=(0, 1))
    return [d for d in json.loads(result.stdout)["diagnostics"] if d["severity"] == "error"]


def test_at_the_limit_validates_and_plans(
    mirror: MirrorInfo, terraform_factory: Callable[[MirrorInfo, str], Any]
) -> None:
    """Every case at its limit: no error at validate, and the plan creates every resource."""
    tf = terraform_factory(mirror, config("ok"))
    tf("init", "-input=false", "-no-color")
    assert diagnostics(tf) == []
    tf("plan", "-input=false", "-no-color", "-out=tfplan")
    plan = json.loads(tf("show", "-json", "tfplan").stdout)
    assert {f"{c.type}.{c.name}" for c in CASES} == {r["address"] for r in plan["resource_changes"]}
    assert tf.rpcs()["ValidateResourceConfig"] >= 2 * len(CASES)  # at validate, and again at plan


def test_just_past_the_limit_is_refused_naming_resource_and_attribute(
    mirror: MirrorInfo, terraform_factory: Callable[[MirrorInfo, str], Any]
) -> None:
    """Every case just past its limit: an error at its own resource and attribute, in the provider's words."""
    tf = terraform_factory(mirror, config("bad"))
    tf("init", "-input=false", "-no-color")
    errors = diagnostics(tf)
    missing = []
    for case in CASES:
        header = f'resource "{case.type}" "{case.name}"'
        mine = [d for d in errors if (d.get("snippet") or {}).get("context") == header]
        said = [d for d in mine if case.says in d["summary"] + " " + d.get("detail", "")]
        if not said or (case.attribute and not said[0]["snippet"]["code"].lstrip().startswith(case.attribute)):
            missing.append((case.name, [(d["summary"], d.get("detail")) for d in mine]))
    assert missing == []
    # No case is refused for anything but its own rule (one error each; the conflict cases name both sides).
    per_resource: dict[str, int] = {}
    for d in errors:
        per_resource[d["snippet"]["context"]] = per_resource.get(d["snippet"]["context"], 0) + 1
    assert {k: v for k, v in per_resource.items() if v != 1} == {
        'resource "aws_iam_role" "role_name_and_prefix"': 2,
        'resource "mongodbatlas_project_ip_access_list" "access_both"': 2,
        'resource "mongodbatlas_privatelink_endpoint_service" "pls_ip_and_endpoints"': 2,
    }


def test_unknown_at_validate_is_checked_at_plan(
    mirror: MirrorInfo, terraform_factory: Callable[[MirrorInfo, str], Any]
) -> None:
    """Values from variables are unknown to `validate` (skipped, as the SDK does) and checked by `plan`."""
    main = (
        HEADER
        + 'variable "name" { type = string }\nvariable "boundary" { type = string }\n'
        + (
            'resource "aws_iam_role" "this" {\n  name = var.name\n  permissions_boundary = var.boundary\n'
            '  assume_role_policy = "{}"\n}\n'
        )
    )
    tf = terraform_factory(mirror, main)
    tf("init", "-input=false", "-no-color")
    tf("validate", "-no-color")
    good = ("-var", f"name={'r' * 64}", "-var", "boundary=arn:aws:iam::123456789012:policy/b")
    tf("plan", "-input=false", "-no-color", *good)
    too_long = tf("plan", "-input=false", "-no-color", *good, "-var", f"name={'r' * 65}", ok=(1,))
    assert "expected length of name to be in the range (1 - 64)" in too_long.stdout + too_long.stderr
    not_arn = tf("plan", "-input=false", "-no-color", *good, "-var", "boundary=b", ok=(1,))
    assert '"permissions_boundary" (b) is an invalid ARN: arn: invalid prefix' in not_arn.stdout + not_arn.stderr


def test_bucket_name_is_checked_at_create_as_the_provider_does(
    mirror: MirrorInfo, terraform_factory: Callable[[MirrorInfo, str], Any]
) -> None:
    """`bucket` ≥ 3 characters, lowercase: the provider checks it in Create, so plan passes and apply fails."""
    main = HEADER + 'variable "bucket" { type = string }\nresource "aws_s3_bucket" "this" { bucket = var.bucket }\n'
    tf = terraform_factory(mirror, main)
    tf("init", "-input=false", "-no-color")
    tf("plan", "-input=false", "-no-color", "-var", "bucket=ab")
    refused = tf("apply", "-auto-approve", "-input=false", "-no-color", "-var", "bucket=ab", ok=(1,))
    assert (
        'validating S3 Bucket (ab) name: "ab" must contain from 3 to 63 characters' in refused.stdout + refused.stderr
    )
    upper = tf("apply", "-auto-approve", "-input=false", "-no-color", "-var", "bucket=Abc", ok=(1,))
    assert "only lowercase alphanumeric characters and hyphens allowed" in upper.stdout + upper.stderr
    tf("apply", "-auto-approve", "-input=false", "-no-color", "-var", "bucket=abc")
    state = json.loads((tf.workdir / "terraform.tfstate").read_text())
    assert [r["instances"][0]["attributes"]["bucket"] for r in state["resources"]] == ["abc"]


def test_api_side_limits_are_not_provider_errors(
    mirror: MirrorInfo, terraform_factory: Callable[[MirrorInfo, str], Any]
) -> None:
    """The providers do not check an access-list comment's length or a scope's type; Atlas's API does (at apply)."""
    main = HEADER + (
        f'resource "mongodbatlas_project_ip_access_list" "this" {{\n  project_id = "{PROJECT}"\n'
        f'  cidr_block = "10.0.0.0/16"\n  comment = {q("c" * 81)}\n}}\n'
        f'resource "mongodbatlas_database_user" "this" {{\n  {BASE["mongodbatlas_database_user"]}\n'
        f'  aws_iam_type = "ROLE"\n  {ROLES}\n  scopes {{\n    name = "Cluster0"\n    type = "SHARD"\n  }}\n}}\n'
    )
    tf = terraform_factory(mirror, main)
    tf("init", "-input=false", "-no-color")
    tf("validate", "-no-color")
    tf("plan", "-input=false", "-no-color")
