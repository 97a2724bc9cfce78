"""The emulated AWS refuses what AWS refuses by its API model: botocore's constraints, checked on every request."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.serialize import create_serializer

from atlasiam_sandbox.aws import SandboxCloud
from atlasiam_sandbox.aws.model_check import STATS, FormDecoder, Models, WireNames, _signing_name, _utf16_length
from atlasiam_sandbox.java_regex import compile_java

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)
NO_CLIENT_VALIDATION = Config(parameter_validation=False)


def refused(call: Any, **params: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as exc:
        call(**params)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    error: dict[str, Any] = exc.value.response["Error"]
    return error


# --- through boto3, against the running sandbox ------------------------------------------------------------
def test_a_65_character_role_name_is_refused_as_iam_refuses_it(cloud: SandboxCloud) -> None:
    iam = cloud.client("iam")
    name = "r" * 65
    error = refused(iam.create_role, RoleName=name, AssumeRolePolicyDocument=TRUST)
    assert error == {
        "Type": "Sender",
        "Code": "ValidationError",
        "Message": f"1 validation error detected: Value '{name}' at 'roleName' failed to satisfy constraint: "
        "Member must have length less than or equal to 64",
    }
    assert iam.create_role(RoleName="r" * 64, AssumeRolePolicyDocument=TRUST)["Role"]["RoleName"] == "r" * 64
    iam.delete_role(RoleName="r" * 64)


def test_nested_query_members_are_checked_and_every_violation_is_listed(cloud: SandboxCloud) -> None:
    iam = cloud.client("iam")
    iam.create_role(RoleName="tagged", AssumeRolePolicyDocument=TRUST)
    try:
        error = refused(
            iam.tag_role, RoleName="tagged", Tags=[{"Key": "ok", "Value": "v"}, {"Key": "a!b", "Value": ""}]
        )
        assert error["Message"] == (
            "1 validation error detected: Value 'a!b' at 'tags.2.member.key' failed to satisfy constraint: "
            r"Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+"
        )
        # \p{L} is Java's "any letter": a Unicode letter passes, as on IAM
        iam.tag_role(RoleName="tagged", Tags=[{"Key": "équipe", "Value": "données"}])
        error = refused(iam.create_role, RoleName="bad name", AssumeRolePolicyDocument=TRUST, Path="no-slashes")
        assert error["Message"].startswith("2 validation errors detected: Value 'no-slashes' at 'path' ")
        assert (
            "; Value 'bad name' at 'roleName' failed to satisfy constraint: Member must satisfy regular"
            in (error["Message"])
        )
    finally:
        iam.delete_role(RoleName="tagged")


def test_an_ec2_enum_violation_is_invalid_parameter_value(cloud: SandboxCloud) -> None:
    ec2 = cloud.client("ec2")
    error = refused(ec2.create_vpc, CidrBlock="10.9.0.0/16", InstanceTenancy="shared")
    assert error["Code"] == "InvalidParameterValue"
    assert error["Message"] == (
        "Value (shared) for parameter InstanceTenancy is invalid. "
        "Member must satisfy enum value set: [default, dedicated, host]"
    )
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16", InstanceTenancy="default")["Vpc"]["VpcId"]
    ec2.delete_vpc(VpcId=vpc)


def test_ec2_names_nested_members_by_their_wire_name(cloud: SandboxCloud) -> None:
    ec2 = cloud.client("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    tags = [{"ResourceType": "security-groups", "Tags": [{"Key": "k", "Value": "v"}]}]
    error = refused(ec2.create_security_group, GroupName="g", Description="d", VpcId=vpc, TagSpecifications=tags)
    assert error["Message"].startswith(
        "Value (security-groups) for parameter TagSpecification.1.ResourceType is invalid. "
        "Member must satisfy enum value set: ["
    )


def test_a_security_group_name_is_limited_to_255_characters(cloud: SandboxCloud) -> None:
    """EC2's model states this limit only in its documentation ("Constraints: Up to 255 characters in length")."""
    ec2 = cloud.client("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    error = refused(ec2.create_security_group, GroupName="g" * 256, Description="d", VpcId=vpc)
    assert error == {
        "Code": "InvalidParameterValue",
        "Message": f"Value ({'g' * 256}) for parameter GroupName is invalid. "
        "Member must have length less than or equal to 255",
    }
    group = ec2.create_security_group(GroupName="g" * 255, Description="d", VpcId=vpc)["GroupId"]
    ec2.delete_security_group(GroupId=group)


def test_a_missing_required_parameter_is_refused_by_the_service_too(cloud: SandboxCloud) -> None:
    """botocore checks required members on the client; the service checks them again."""
    ec2 = cloud.client("ec2", config=NO_CLIENT_VALIDATION)
    error = refused(ec2.create_security_group, GroupName="g")
    assert error == {"Code": "MissingParameter", "Message": "The request must contain the parameter GroupDescription"}
    iam = cloud.client("iam", config=NO_CLIENT_VALIDATION)
    error = refused(iam.create_role, RoleName="no-policy")
    assert error["Message"] == (
        "1 validation error detected: Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_ssm_json_requests_are_checked_where_moto_serves_them(ssm: Any) -> None:
    """GetParameter and PutParameter are forwarded by the SSM endpoint to moto, and checked in front of moto."""
    error = refused(ssm.put_parameter, Name="p", Value="v", Type="Text")
    assert error["Code"] == "ValidationException"
    assert error["Message"] == (
        "1 validation error detected: Value 'Text' at 'type' failed to satisfy constraint: "
        "Member must satisfy enum value set: [String, StringList, SecureString]"
    )
    error = refused(ssm.get_parameter, Name="n" * 2049)
    assert error["Message"].endswith(
        "at 'name' failed to satisfy constraint: Member must have length less than or equal to 2048"
    )


def test_ssm_json_requests_are_checked_where_the_sandbox_serves_them(cloud: SandboxCloud) -> None:
    """SendCommand is our endpoint's, not moto's: the same check runs there, before the instance is looked up."""
    ssm = cloud.client("ssm", config=NO_CLIENT_VALIDATION)  # botocore itself checks numbers' min on the client
    error = refused(
        ssm.send_command,
        InstanceIds=["i-0123456789abcdef0"],
        DocumentName="AWS-RunShellScript",
        Parameters={"commands": ["true"]},
        Comment="c" * 101,
        TimeoutSeconds=29,
    )
    assert error["Code"] == "ValidationException"
    assert error["Message"] == (
        "2 validation errors detected: Value '29' at 'timeoutSeconds' failed to satisfy constraint: "
        f"Member must have value greater than or equal to 30; Value '{'c' * 101}' at 'comment' failed to satisfy "
        "constraint: Member must have length less than or equal to 100"
    )
    error = refused(ssm.send_command, InstanceIds=["i-1"], DocumentName="AWS-RunShellScript")
    assert "at 'instanceIds.1.member' failed to satisfy constraint: Member must satisfy regular" in error["Message"]


def test_what_was_checked_is_counted(cloud: SandboxCloud) -> None:
    cloud.client("sts").get_caller_identity()
    cloud.client("s3").list_buckets()
    assert STATS.checked["sts:GetCallerIdentity"] >= 1
    assert STATS.unchecked["rest protocol (s3)"] >= 1
    assert "model check:" in STATS.summary()


# --- the pieces, without a server ------------------------------------------------------------------------------
def _sample(shape: Any, depth: int = 0) -> Any:
    """A value for ``shape`` with string and integer leaves only (what a form carries back unchanged)."""
    kind = shape.type_name
    if kind == "structure":
        if depth > 3 or shape.is_document_type:
            return None
        members = {name: _sample(member, depth + 1) for name, member in shape.members.items()}
        return {name: value for name, value in members.items() if value is not None} or None
    if kind == "list":
        item = _sample(shape.member, depth + 1)
        return None if item is None else [item, item]
    if kind == "map":
        value = _sample(shape.value, depth + 1)
        return None if value is None else {"k1": value, "k2": value}
    return {"string": "s", "integer": 7, "long": 8}.get(kind)


@pytest.mark.parametrize("service", ["iam", "sts", "ec2"])
def test_the_form_decoder_reads_back_what_botocore_writes_for_every_operation(service: str) -> None:
    model = botocore.session.get_session().get_service_model(service)
    serializer = create_serializer(model.protocol, include_validation=False)
    names = WireNames(model.protocol)
    checked = 0
    for operation in model.operation_names:
        op = model.operation_model(operation)
        params = _sample(op.input_shape) if op.input_shape is not None else None
        if not params:
            continue
        form = {k: str(v) for k, v in serializer.serialize_to_request(params, op)["body"].items()}
        assert FormDecoder(form, names).decode(op.input_shape, "") == params, operation
        checked += 1
    assert checked > {"iam": 150, "sts": 8, "ec2": 700}[service]


def test_signing_names_resolve_through_the_models() -> None:
    models = Models()
    assert models.resolve("iam", "query", "2010-05-08", "CreateRole").service_name == "iam"
    assert models.resolve("ssm", "json", "AmazonSSM", "SendCommand").service_name == "ssm"
    assert models.resolve("ec2", "query", None, "CreateVpc").service_name == "ec2"
    # not named after the service: found through every model's signingName (and the form's Version)
    assert models.resolve("elasticloadbalancing", "query", "2015-12-01", "CreateTargetGroup").service_name == "elbv2"
    # unsigned (AssumeRoleWithWebIdentity): the form's Version and Action decide
    assert models.resolve(None, "query", "2011-06-15", "AssumeRoleWithWebIdentity").service_name == "sts"
    assert models.resolve("iam", "query", "2010-05-08", "NoSuchOperation") is None


def test_length_counts_utf16_code_units_as_java_does() -> None:
    assert _utf16_length("abc") == 3
    assert _utf16_length("é") == 1
    assert _utf16_length("\U0001d4b3") == 2


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        (r"[\w+=,.@-]+", "role-name_1", True),
        (r"[\w+=,.@-]+", "rôle", False),  # Java's \w is ASCII
        (r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*", "équipe 42", True),
        (r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*", "a!b", False),
        (r"[\u0009\u000A\u000D\u0020-\u00FF]+", "{}", True),
        (r"[\u0009\u000A\u000D\u0020-\u00FF]+", "\u0100", False),
        (r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*", "a\U0001f600", True),  # a surrogate pair
        (r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*", "\x01", False),
        (r".*", "a\rb", False),  # Java's . does not match \r
        (r"^(?i)(true|false)$", "TRUE", True),
        (r"[a-z\d-_]+", "a-_1", True),  # a literal hyphen after \d in Java
        (r"^\P{C}*$", "a\x00", False),
        (r"[a-z[0-9]]+", "a1", True),  # a nested class is a union
        (r"\Qa.b\E", "a.b", True),
        (r"\Qa.b\E", "axb", False),
    ],
)
def test_java_patterns_keep_their_java_meaning(pattern: str, value: str, matches: bool) -> None:
    compiled = compile_java(pattern)
    assert compiled is not None
    assert (compiled.fullmatch(value) is not None) is matches


@pytest.mark.parametrize("pattern", [r"[\p{Print}&&[^|:/]]+", r"^(?![^:]*/x|(?i).*<s>)[^:]+$", r"\p{IsLatin}+"])
def test_patterns_without_a_faithful_rewrite_are_skipped(pattern: str) -> None:
    assert compile_java(pattern) is None


def test_the_signing_name_comes_from_the_header_or_a_presigned_url() -> None:
    scope = "KEY/20260101/us-east-1/sts/aws4_request"
    header = {"HTTP_AUTHORIZATION": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=00"}
    assert _signing_name(header) == "sts"
    assert (
        _signing_name({"QUERY_STRING": f"Action=GetCallerIdentity&X-Amz-Credential={quote(scope, safe='')}"}) == "sts"
    )
    assert _signing_name({"QUERY_STRING": "Action=AssumeRoleWithWebIdentity"}) is None
