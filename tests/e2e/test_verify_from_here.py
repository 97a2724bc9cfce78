"""verify --from-here: STS temporary credentials, the same probe run locally, real MONGODB-AWS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from atlas_iam_tf.cli import main
from atlasiam_sandbox.aws.hosts import HostSettings
from atlasiam_sandbox.world import Sandbox
from tests.e2e.conftest import CLUSTER, PROJECT, add_user, findings, run_verify

TRUST_ANYONE = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},'
    '"Action":"sts:AssumeRole"}]}'
)


def _role(sandbox: Sandbox, name: str) -> str:
    iam = sandbox.cloud.client("iam")
    arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_ANYONE)["Role"]["Arn"]
    return arn


def _args(sandbox: Sandbox, *extra: str) -> list[str]:
    return [
        "--from-here",
        "--uri",
        sandbox.cluster_uri(PROJECT, CLUSTER),
        "--region",
        "us-east-1",
        "--wait",
        "0",
        *extra,
    ]


@pytest.mark.usefixtures("sandbox_env")
def test_assume_role_pass(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    role = _role(sandbox, "here-ok")
    add_user(sandbox, role)
    doc = run_verify(capsys, *_args(sandbox, "--assume-role", role), expect=0)
    [row] = doc["data"]["hosts"]
    assert row["via"] == "assume-role" and row["db_user"] == role


@pytest.mark.usefixtures("sandbox_env")
def test_assume_role_fail(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    role = _role(sandbox, "here-nouser")
    doc = run_verify(capsys, *_args(sandbox, "--assume-role", role), expect=3)
    assert findings(doc) == [["user_not_found_or_not_propagated"]]


@pytest.mark.usefixtures("sandbox_env")
def test_session_token_pass(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    iam = sandbox.cloud.client("iam")
    user = iam.create_user(UserName="alice")["User"]["Arn"]
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])  # long-term IAM user keys, as GetSessionToken needs
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    add_user(sandbox, user, iam_type="USER")
    doc = run_verify(capsys, *_args(sandbox, "--session-token"), expect=0)
    assert doc["data"]["hosts"][0]["db_user"] == user


@pytest.mark.usefixtures("sandbox_env")
def test_session_token_without_user_type_user(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    iam = sandbox.cloud.client("iam")
    iam.create_user(UserName="bob")
    key = iam.create_access_key(UserName="bob")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    doc = run_verify(capsys, *_args(sandbox, "--session-token"), expect=3)
    assert findings(doc) == [["iam_user_needs_user_type", "user_not_found_or_not_propagated"]]


@pytest.fixture
def strict_sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """A sandbox whose moto checks every signature (own instance: the switch is global)."""
    with Sandbox(tmp_path / "strict") as sb:
        yield sb


def test_bad_signature_with_moto_auth_on(
    strict_sandbox: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sb = strict_sandbox
    good = sb.cloud.launch_host("signed")
    iam = sb.cloud.client("iam")
    iam.create_user(UserName="mallory")
    key = iam.create_access_key(UserName="mallory")["AccessKey"]
    wrong = HostSettings(extra_env={"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": "not-the-secret"})
    bad = sb.cloud.launch_host("forged", settings=wrong)
    add_user(sb, good.role_arn)
    add_user(sb, bad.role_arn)
    sb.cloud.enable_auth()
    for k, v in sb.env().items():
        monkeypatch.setenv(k, v)
    uri = sb.cluster_uri(PROJECT, CLUSTER)
    common = ["--uri", uri, "--region", "us-east-1", "--wait", "0", "--online-timeout", "30"]
    ok = run_verify(capsys, "--instance-id", good.instance_id, "--expect-arn", good.role_arn, *common, expect=0)
    assert ok["data"]["hosts"][0]["db_user"] == good.role_arn  # genuine signatures pass the check
    doc = run_verify(capsys, "--instance-id", bad.instance_id, "--expect-arn", bad.role_arn, *common, expect=3)
    assert findings(doc) == [["credentials_rejected"]]
    step = next(s for s in doc["data"]["hosts"][0]["steps"] if not s["ok"])
    assert "SignatureDoesNotMatch" in step["error"]


EC2_ONLY = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},'
    '"Action":"sts:AssumeRole"}]}'
)


def _user_keys(sandbox: Sandbox, name: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Create an IAM user and make its long-term keys the credentials here; return its ARN."""
    iam = sandbox.cloud.client("iam")
    arn: str = iam.create_user(UserName=name)["User"]["Arn"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return arn


def _session_keys(sandbox: Sandbox, role_arn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make a session of ``role_arn`` (temporary credentials, as SSO or a CI role give) the credentials here."""
    creds = sandbox.cloud.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="ci-run")["Credentials"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", creds["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", creds["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", creds["SessionToken"])


def _error(capsys: pytest.CaptureFixture[str], *args: str, expect: int) -> dict[str, str]:
    capsys.readouterr()
    code = main(["verify", *args, "--json"])
    out = capsys.readouterr()
    assert (code, out.err) == (expect, ""), out.out
    error: dict[str, str] = json.loads(out.out)["error"]
    return error


@pytest.mark.usefixtures("sandbox_env")
def test_assume_role_of_a_role_that_does_not_trust_the_caller(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    iam = sandbox.cloud.client("iam")
    role = iam.create_role(RoleName="here-host-only", AssumeRolePolicyDocument=EC2_ONLY)["Role"]["Arn"]
    add_user(sandbox, role)
    user = _user_keys(sandbox, "carol", monkeypatch)
    error = _error(capsys, *_args(sandbox, "--assume-role", role), expect=1)
    assert error["code"] == "verification_error"
    assert error["message"] == (
        f"AWS refused sts:AssumeRole on {role} for {user}: the role's trust policy does not admit this caller "
        "(or the role does not exist)"
    )
    assert error["hint"].startswith(f"add {user} to aws.verify_principals in atlasiam.toml and run `atlasiam apply`")
    assert "without --from-here it runs on the host over SSM" in error["hint"]


@pytest.mark.usefixtures("sandbox_env")
def test_assume_role_refused_for_a_role_session_names_its_role(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    iam = sandbox.cloud.client("iam")
    ci = iam.create_role(RoleName="here-ci", Path="/runners/", AssumeRolePolicyDocument=TRUST_ANYONE)["Role"]["Arn"]
    target = _role(sandbox, "here-target")
    iam.update_assume_role_policy(RoleName="here-target", PolicyDocument=EC2_ONLY)
    _session_keys(sandbox, ci, monkeypatch)
    error = _error(capsys, *_args(sandbox, "--assume-role", target), expect=1)
    session = "arn:aws:sts::123456789012:assumed-role/here-ci/ci-run"
    assert f"on {target} for {session}:" in error["message"]
    # The session ARN drops the role's path; the hint says which role to add and that the path belongs to it.
    role = "arn:aws:iam::123456789012:role/here-ci"
    hint = f"add {role} (the role's ARN, with its path if it has one) to aws.verify_principals"
    assert error["hint"].startswith(hint)


@pytest.mark.usefixtures("sandbox_env")
def test_a_trusted_principal_assumes_the_role_and_logs_in(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    user = _user_keys(sandbox, "dave", monkeypatch)
    trust = EC2_ONLY.replace(
        '"Action":"sts:AssumeRole"}]}',
        f'"Action":"sts:AssumeRole"}},{{"Effect":"Allow","Principal":{{"AWS":"{user}"}},"Action":"sts:AssumeRole"}}]}}',
    )
    role = sandbox.cloud.client("iam").create_role(RoleName="here-dave", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    add_user(sandbox, role)
    doc = run_verify(capsys, *_args(sandbox, "--assume-role", role), expect=0)
    [row] = doc["data"]["hosts"]
    assert (row["via"], row["db_user"], row["identity"]) == ("assume-role", role, role)


@pytest.mark.usefixtures("sandbox_env")
def test_session_token_with_temporary_credentials_says_what_to_do(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ci = _role(sandbox, "here-sso")
    _session_keys(sandbox, ci, monkeypatch)
    error = _error(capsys, *_args(sandbox, "--session-token"), expect=1)
    session = "arn:aws:sts::123456789012:assumed-role/here-sso/ci-run"
    assert error["message"] == (
        f"AWS refused sts:GetSessionToken for {session}: the credentials here are temporary (session) credentials, "
        "and GetSessionToken takes an IAM user's long-term access keys"
    )
    assert error["hint"].startswith("use --assume-role ROLE_ARN instead (the role must trust ")
    assert "or run with the IAM user's long-term access keys" in error["hint"]


@pytest.mark.usefixtures("sandbox_env")
def test_plain_from_here_logs_in_as_the_iam_user_here(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    user = _user_keys(sandbox, "erin", monkeypatch)
    add_user(sandbox, user, iam_type="USER")
    doc = run_verify(capsys, *_args(sandbox), expect=0)
    [row] = doc["data"]["hosts"]
    assert (row["via"], row["expected_user"], row["db_user"]) == ("env", user, user)


@pytest.mark.usefixtures("sandbox_env")
def test_plain_from_here_with_a_role_session_expects_the_role(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ci = _role(sandbox, "here-ci-session")
    _session_keys(sandbox, ci, monkeypatch)
    add_user(sandbox, ci)
    doc = run_verify(capsys, *_args(sandbox), expect=0)
    [row] = doc["data"]["hosts"]
    assert (row["via"], row["expected_user"], row["db_user"]) == ("env", ci, ci)
    # Without a database user for the role: a failed verification that names the role (exit 3), not a crash.
    other = _role(sandbox, "here-ci-nouser")
    _session_keys(sandbox, other, monkeypatch)
    doc = run_verify(capsys, *_args(sandbox), expect=3)
    assert doc["data"]["hosts"][0]["expected_user"] == other
    assert findings(doc) == [["user_not_found_or_not_propagated"]]


@pytest.mark.usefixtures("sandbox_env")
def test_plain_from_here_without_credentials_says_so(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    error = _error(capsys, *_args(sandbox), expect=1)
    assert error["message"] == "verify could not run: no AWS credentials here"
    assert error["hint"].startswith("set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
