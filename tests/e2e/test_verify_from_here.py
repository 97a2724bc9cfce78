"""verify --from-here: STS temporary credentials, the same probe run locally, real MONGODB-AWS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

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
