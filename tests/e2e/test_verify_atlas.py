"""verify asks Atlas what it knows: a missing user fails fast, a PENDING change is waited for, APPLIED
means a code 18 is real, and without Atlas credentials verify judges by the login alone and says so."""

from __future__ import annotations

import time

import pytest

from atlasiam_sandbox.world import Sandbox
from tests.e2e.conftest import CLUSTER, PROJECT, add_user, findings, run_verify

pytestmark = pytest.mark.usefixtures("sandbox_env")


def _args(sandbox: Sandbox, instance: str, expect: str, *extra: str) -> list[str]:
    """Standalone verify with everything Atlas needs; the default --wait (180 s) unless ``extra`` says."""
    uri = sandbox.cluster_uri(PROJECT, CLUSTER)
    return [
        *("--instance-id", instance, "--uri", uri, "--expect-arn", expect, "--region", "us-east-1"),
        *("--cluster-name", CLUSTER, "--atlas-project-id", PROJECT, "--online-timeout", "20"),
        *extra,
    ]


def test_a_missing_user_fails_fast_naming_the_accounts_users(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    host = sandbox.cloud.launch_host("atlas-missing")
    with_path = host.role_arn.replace(":role/", ":role/team/")
    add_user(sandbox, with_path)  # the classic confusion: the same role with a path
    start = time.monotonic()
    doc = run_verify(capsys, *_args(sandbox, host.instance_id, host.role_arn), expect=3)
    elapsed = time.monotonic() - start
    assert elapsed < 10, elapsed  # the default --wait is 180 s: Atlas answered, nothing was retried
    assert findings(doc) == [["atlas_user_missing"]]
    [finding] = doc["data"]["hosts"][0]["findings"]
    assert f"Atlas has no database user {host.role_arn} in $external, and no change is pending" in finding["message"]
    assert f"{with_path} has a path; STS reports the role without it" in finding["message"]
    assert doc["data"]["hosts"][0]["steps"] == []  # the probe was not even sent
    assert doc["data"]["atlas"].startswith("Atlas was asked: the user does not exist")


def test_a_pending_change_is_waited_for(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    host = sandbox.cloud.launch_host("atlas-pending")
    add_user(sandbox, host.role_arn, visible_after=time.time() + 3)  # created, still deploying
    start = time.monotonic()
    doc = run_verify(capsys, *_args(sandbox, host.instance_id, host.role_arn, "--wait", "30"), expect=0)
    assert time.monotonic() - start >= 2.5  # it waited for APPLIED ...
    auth = next(s for s in doc["data"]["hosts"][0]["steps"] if s["name"] == "auth")
    assert auth["ok"]  # ... and then logged in
    assert doc["data"]["atlas"].endswith("the user exists in $external, and the cluster's changeStatus is APPLIED")


def test_applied_means_a_code_18_is_real(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    """The user exists but is scoped to another cluster: Atlas refuses for good, so verify stops retrying."""
    host = sandbox.cloud.launch_host("atlas-applied")
    add_user(sandbox, host.role_arn, scopes=("Analytics",))
    start = time.monotonic()
    doc = run_verify(capsys, *_args(sandbox, host.instance_id, host.role_arn), expect=3)
    assert time.monotonic() - start < 15  # not the default 180 s of retries
    auth = next(s for s in doc["data"]["hosts"][0]["steps"] if s["name"] == "auth")
    assert auth["ok"] is False and "Authentication failed" in str(auth["error"])
    assert "atlas_user_missing" not in findings(doc)[0]


def test_without_atlas_credentials_verify_says_it_could_tell_more(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MONGODB_ATLAS_CLIENT_ID")
    monkeypatch.delenv("MONGODB_ATLAS_CLIENT_SECRET")
    host = sandbox.cloud.launch_host("atlas-none")
    add_user(sandbox, host.role_arn)
    doc = run_verify(capsys, *_args(sandbox, host.instance_id, host.role_arn, "--wait", "0"), expect=0)
    assert doc["data"]["atlas"].startswith("Atlas was not asked: no Atlas credentials in the environment")


def test_atlas_refusing_the_credentials_is_a_warning_and_the_login_still_decides(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONGODB_ATLAS_CLIENT_SECRET", "not-the-secret")
    host = sandbox.cloud.launch_host("atlas-refused")
    add_user(sandbox, host.role_arn)
    doc = run_verify(capsys, *_args(sandbox, host.instance_id, host.role_arn, "--wait", "0"), expect=0)
    assert findings(doc) == [["atlas_unavailable"]]
    assert "Atlas refused the service account (HTTP 401" in doc["data"]["hosts"][0]["findings"][0]["message"]
