"""The emulated STS refuses what AWS refuses: AssumeRole outside the role's trust policy, GetSessionToken with
temporary credentials. Real boto3 against the sandbox's moto, over HTTP."""

from __future__ import annotations

import itertools
import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from atlasiam_sandbox.aws import SandboxCloud
from atlasiam_sandbox.aws.moto_patches import GET_SESSION_TOKEN_REFUSED

pytestmark = pytest.mark.xdist_group("sandbox_aws")

ACCOUNT = "123456789012"
_names = (f"trust{i}" for i in itertools.count())


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(principal: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole", **extra}


def _role(cloud: SandboxCloud, *statements: dict[str, Any], path: str = "/") -> str:
    policy = _policy(*statements)
    role = cloud.client("iam").create_role(RoleName=next(_names), Path=path, AssumeRolePolicyDocument=policy)
    return str(role["Role"]["Arn"])


def _sts(cloud: SandboxCloud, key: str, secret: str, token: str | None = None) -> Any:
    return boto3.session.Session().client(
        "sts",
        endpoint_url=cloud.moto_url,
        region_name=cloud.region,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
    )


def _user(cloud: SandboxCloud) -> tuple[str, Any]:
    """A new IAM user and an STS client signing with its long-term keys."""
    iam = cloud.client("iam")
    name = next(_names)
    arn: str = iam.create_user(UserName=name)["User"]["Arn"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, _sts(cloud, key["AccessKeyId"], key["SecretAccessKey"])


def _as_session(cloud: SandboxCloud, creds: dict[str, str]) -> Any:
    return _sts(cloud, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])


def _denied(call: Any, **params: Any) -> str:
    with pytest.raises(ClientError) as err:
        call(**params)
    error = err.value.response["Error"]
    assert (error["Code"], err.value.response["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDenied", 403)
    return str(error["Message"])


def _assume(sts: Any, role: str, **extra: Any) -> dict[str, str]:
    creds: dict[str, str] = sts.assume_role(RoleArn=role, RoleSessionName="sess", **extra)["Credentials"]
    return creds


def test_a_role_trusted_by_ec2_alone_refuses_every_caller(cloud: SandboxCloud) -> None:
    role = _role(cloud, _allow({"Service": "ec2.amazonaws.com"}))
    user, sts = _user(cloud)
    message = _denied(sts.assume_role, RoleArn=role, RoleSessionName="sess")
    assert message == f"User: {user} is not authorized to perform: sts:AssumeRole on resource: {role}"
    # The sandbox's default `testing` keys are moto's anonymous caller of the account: refused too.
    anonymous = _denied(cloud.client("sts").assume_role, RoleArn=role, RoleSessionName="sess")
    assert anonymous.startswith(f"User: arn:aws:sts::{ACCOUNT}:user/moto is not authorized")


def test_the_named_user_passes_and_another_user_is_refused(cloud: SandboxCloud) -> None:
    alice, alice_sts = _user(cloud)
    bob, bob_sts = _user(cloud)
    role = _role(cloud, _allow({"Service": "ec2.amazonaws.com"}), _allow({"AWS": [alice]}))
    creds = _assume(alice_sts, role)
    assert _as_session(cloud, creds).get_caller_identity()["Arn"].endswith(f":assumed-role/{role.split('/')[-1]}/sess")
    assert _denied(bob_sts.assume_role, RoleArn=role, RoleSessionName="sess").startswith(f"User: {bob} is not")


@pytest.mark.parametrize("form", ["arn:aws:iam::123456789012:root", "123456789012"])
def test_the_account_forms_admit_the_accounts_callers_only(cloud: SandboxCloud, form: str) -> None:
    role = _role(cloud, _allow({"AWS": form}))
    _, sts = _user(cloud)
    assert _assume(sts, role)["AccessKeyId"]
    other = _role(cloud, _allow({"AWS": form.replace(ACCOUNT, "210987654321")}))
    _denied(sts.assume_role, RoleArn=other, RoleSessionName="sess")


def test_a_role_session_is_named_by_its_role(cloud: SandboxCloud) -> None:
    _, sts = _user(cloud)
    ci = _role(cloud, _allow({"AWS": ACCOUNT}), path="/team/")  # a path: the role's ARN carries it
    target = _role(cloud, _allow({"AWS": ci}))
    session = _as_session(cloud, _assume(sts, ci))
    assert _assume(session, target)["AccessKeyId"]
    stranger = _as_session(cloud, _assume(sts, _role(cloud, _allow({"AWS": ACCOUNT}))))
    _denied(stranger.assume_role, RoleArn=target, RoleSessionName="sess")


def test_external_id_must_be_given_and_equal(cloud: SandboxCloud) -> None:
    alice, sts = _user(cloud)
    role = _role(cloud, _allow({"AWS": alice}, Condition={"StringEquals": {"sts:ExternalId": "tenant-42"}}))
    _denied(sts.assume_role, RoleArn=role, RoleSessionName="sess")
    _denied(sts.assume_role, RoleArn=role, RoleSessionName="sess", ExternalId="tenant-43")
    assert _assume(sts, role, ExternalId="tenant-42")["AccessKeyId"]


def test_an_explicit_deny_wins_and_a_missing_role_is_refused(cloud: SandboxCloud) -> None:
    alice, sts = _user(cloud)
    deny = {"Effect": "Deny", "Principal": {"AWS": alice}, "Action": "sts:*"}
    role = _role(cloud, _allow({"AWS": ACCOUNT}), deny)
    _denied(sts.assume_role, RoleArn=role, RoleSessionName="sess")
    missing = f"arn:aws:iam::{ACCOUNT}:role/no-such-role"
    assert _denied(sts.assume_role, RoleArn=missing, RoleSessionName="sess").endswith(f"on resource: {missing}")


def test_get_session_token_refuses_temporary_credentials(cloud: SandboxCloud) -> None:
    user, sts = _user(cloud)
    session = sts.get_session_token(DurationSeconds=900)["Credentials"]
    assert _as_session(cloud, session).get_caller_identity()["Arn"] == user
    assert _denied(_as_session(cloud, session).get_session_token) == GET_SESSION_TOKEN_REFUSED
    role = _role(cloud, _allow({"AWS": user}))
    assumed = _as_session(cloud, _assume(sts, role))
    assert _denied(assumed.get_session_token) == GET_SESSION_TOKEN_REFUSED
    # GetSessionToken credentials may still call AssumeRole, as the user they stand for.
    assert _assume(_as_session(cloud, session), role)["AccessKeyId"]


def _malformed(call: Any, **params: Any) -> str:
    with pytest.raises(ClientError) as err:
        call(**params)
    assert err.value.response["Error"]["Code"] == "MalformedPolicyDocument"
    return str(err.value.response["Error"]["Message"])


def test_a_trust_policy_may_name_only_users_and_roles_that_exist(cloud: SandboxCloud) -> None:
    iam = cloud.client("iam")
    ghost = f"arn:aws:iam::{ACCOUNT}:user/{next(_names)}"
    document = _policy(_allow({"Service": "ec2.amazonaws.com"}), _allow({"AWS": [ACCOUNT, ghost]}))
    message = _malformed(iam.create_role, RoleName=next(_names), AssumeRolePolicyDocument=document)
    assert message == f'Invalid principal in policy: "AWS":"{ghost}"'
    role = _role(cloud, _allow({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}), _allow({"AWS": "*"}))
    name = role.split("/")[-1]
    ghost_role = f"arn:aws:iam::{ACCOUNT}:role/{next(_names)}"
    _malformed(iam.update_assume_role_policy, RoleName=name, PolicyDocument=_policy(_allow({"AWS": ghost_role})))
    alice, _ = _user(cloud)
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=_policy(_allow({"AWS": [alice, role]})))


def test_with_moto_auth_on_a_service_trusted_role_is_refused_not_crashed(cloud: SandboxCloud) -> None:
    """moto's own trust check crashed (HTTP 500) on a Service principal; ours answers AccessDenied."""
    host_role = _role(cloud, _allow({"Service": "ec2.amazonaws.com"}))
    admin = "arn:aws:iam::123456789012:user/trust-admin"
    cloud.enable_auth("trust-admin")
    try:
        trusting = _role(cloud, _allow({"Service": "ec2.amazonaws.com"}), _allow({"AWS": admin}))
        sts = cloud.client("sts")
        assert _denied(sts.assume_role, RoleArn=host_role, RoleSessionName="sess").startswith(f"User: {admin} is")
        assert _assume(sts, trusting)["AccessKeyId"]
    finally:
        cloud.disable_auth()
