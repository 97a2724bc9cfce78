"""verify over the emulated SSM: the real probe runs "on the host" and logs in with MONGODB-AWS."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from atlasiam_sandbox.aws.hosts import HostSettings
from atlasiam_sandbox.world import Sandbox
from tests.e2e.conftest import CLUSTER, PROJECT, add_user, findings, run_verify

pytestmark = pytest.mark.usefixtures("sandbox_env")


def _args(sandbox: Sandbox, instance: str, expect: str, *extra: str) -> list[str]:
    uri = sandbox.cluster_uri(PROJECT, CLUSTER)
    return [
        "--instance-id",
        instance,
        "--uri",
        uri,
        "--expect-arn",
        expect,
        "--region",
        "us-east-1",
        "--wait",
        "0",
        "--online-timeout",
        "5",
        *extra,
    ]


def test_pass(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    host = sandbox.cloud.launch_host("pass")
    add_user(sandbox, host.role_arn)
    doc = run_verify(capsys, *_args(sandbox, host.instance_id, host.role_arn), expect=0)
    [row] = doc["data"]["hosts"]
    assert row["ok"] and row["db_user"] == host.role_arn and row["identity"] == host.role_arn
    assert [s["name"] for s in row["steps"]] == ["driver", "credentials", "identity", "dns", "reach", "auth", "whoami"]
    # The host has no AWS_REGION (as under SSM Agent): the identity step found its region all the same.
    assert all(s["ok"] for s in row["steps"]) and row["findings"] == []


def test_a_wrong_secret_is_refused_on_the_demos_path(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    """IMDS → botocore → pymongo-auth-aws → the cluster: a wrong secret gets code 18, as from Atlas, always."""
    host = sandbox.cloud.launch_host("forged", settings=HostSettings(imds_secret_tampered=True))
    add_user(sandbox, host.role_arn)  # the user exists: only the signature is wrong
    doc = run_verify(capsys, *_args(sandbox, host.instance_id, host.role_arn), expect=3)
    assert findings(doc) == [["credentials_rejected"]]
    steps = {s["name"]: s for s in doc["data"]["hosts"][0]["steps"]}
    assert steps["identity"]["kind"] == "credentials_rejected" and "SignatureDoesNotMatch" in steps["identity"]["error"]
    assert steps["auth"]["kind"] == "auth_failed" and "Authentication failed" in steps["auth"]["error"]
    attempt = sandbox.endpoint(PROJECT, CLUSTER).auth_log[-1]
    assert (attempt.ok, attempt.reason) == (False, "sts rejected signature: SignatureDoesNotMatch")


def test_no_route_to_sts_passes_with_a_warning(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    """MONGODB-AWS needs no STS call from the host: Atlas makes it. The identity step is evidence, not a gate."""
    host = sandbox.cloud.launch_host("nosts", settings=HostSettings(sts_reachable=False))
    add_user(sandbox, host.role_arn)
    doc = run_verify(capsys, *_args(sandbox, host.instance_id, host.role_arn), expect=0)
    [row] = doc["data"]["hosts"]
    assert [(f["code"], f["severity"]) for f in row["findings"]] == [("sts_unreachable", "warning")]
    assert [s["name"] for s in row["steps"] if not s["ok"]] == ["identity"]
    assert row["ok"] and row["db_user"] == host.role_arn and row["identity"] is None


def test_wrong_roles_arn_as_user(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    host = sandbox.cloud.launch_host("wrongarn")
    other = "arn:aws:iam::123456789012:role/someone-else"
    add_user(sandbox, other)
    doc = run_verify(capsys, *_args(sandbox, host.instance_id, other), expect=3)
    assert findings(doc) == [["identity_mismatch"]]
    message = doc["data"]["hosts"][0]["findings"][0]["message"]
    assert host.role_arn in message and other in message


def test_user_deleted(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    host = sandbox.cloud.launch_host("deleted")
    add_user(sandbox, host.role_arn)
    sandbox.atlas.delete_user(PROJECT, host.role_arn)
    doc = run_verify(capsys, *_args(sandbox, host.instance_id, host.role_arn), expect=3)
    assert findings(doc) == [["user_not_found_or_not_propagated"]]


def test_role_arn_with_a_path(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    host = sandbox.cloud.launch_host("pathy", role_path="/team/")
    assert ":role/team/" in host.role_arn
    add_user(sandbox, host.role_arn)  # exactly what a user would write: the ARN IAM shows
    doc = run_verify(capsys, *_args(sandbox, host.instance_id, host.role_arn), expect=3)
    assert findings(doc) == [["identity_mismatch", "role_arn_has_path"]]


def test_instance_profile_arn(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    host = sandbox.cloud.launch_host("profiled")
    profile_arn = f"arn:aws:iam::123456789012:instance-profile/{host.profile_name}"
    add_user(sandbox, profile_arn)
    doc = run_verify(capsys, *_args(sandbox, host.instance_id, profile_arn), expect=3)
    assert findings(doc) == [["identity_mismatch", "instance_profile_arn"]]


def test_user_that_appears_after_a_delay(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    host = sandbox.cloud.launch_host("late")
    add_user(sandbox, host.role_arn, visible_after=time.time() + 6.0)
    args = _args(sandbox, host.instance_id, host.role_arn)
    args[args.index("--wait") + 1] = "30"
    doc = run_verify(capsys, *args, expect=0)
    auth = next(s for s in doc["data"]["hosts"][0]["steps"] if s["name"] == "auth")
    assert auth["ok"] and auth["ms"] >= 2000  # it retried until the user had propagated


def test_user_scoped_to_another_cluster_is_refused_like_a_missing_user(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """Atlas answers a login to a cluster outside the user's scopes with code 18, as for a missing user.

    Standalone verify (``--instance-id``) does not know the user's scopes, so it can only name the
    code-18 finding; the ``user_scoped_to_other_cluster`` rule needs them (config mode, unit-tested in
    ``tests/verify/test_diagnose.py``).
    """
    host = sandbox.cloud.launch_host("scoped")
    add_user(sandbox, host.role_arn, scopes=("Analytics",))
    args = _args(sandbox, host.instance_id, host.role_arn, "--cluster-name", CLUSTER)
    doc = run_verify(capsys, *args, expect=3)
    assert findings(doc) == [["user_not_found_or_not_propagated"]]
    step = next(s for s in doc["data"]["hosts"][0]["steps"] if s["name"] == "auth")
    assert "Authentication failed" in str(step["error"])


def test_host_without_ssm_policy_is_never_online(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    host = sandbox.cloud.launch_host("nopolicy", ssm_policy=False)
    add_user(sandbox, host.role_arn)
    doc = run_verify(capsys, *_args(sandbox, host.instance_id, host.role_arn), expect=3)
    assert findings(doc) == [["ssm_not_online"]]


def test_no_credentials_on_the_host(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    host = sandbox.cloud.launch_host("nocreds", settings=HostSettings(imds_hop_limit_ok=False))
    add_user(sandbox, host.role_arn)
    doc = run_verify(capsys, *_args(sandbox, host.instance_id, host.role_arn), expect=3)
    assert findings(doc) == [["no_credentials"]]


def test_no_instance_profile(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    host = sandbox.cloud.launch_host("noprofile", instance_profile=False)
    doc = run_verify(capsys, *_args(sandbox, host.instance_id, host.role_arn), expect=3)
    assert findings(doc) in ([["ssm_not_online"]], [["no_credentials"]])


def test_pymongo_without_aws_support(sandbox: Sandbox, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    shim = tmp_path / "shim" / "pymongo_auth_aws"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ImportError('No module named pymongo_auth_aws (shimmed)')\n")
    settings = HostSettings(extra_env={"PYTHONPATH": str(shim.parent)})
    host = sandbox.cloud.launch_host("noextra", settings=settings)
    add_user(sandbox, host.role_arn)
    doc = run_verify(capsys, *_args(sandbox, host.instance_id, host.role_arn), expect=3)
    assert findings(doc) == [["aws_extra_missing"]]


def test_wrong_region(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    host = sandbox.cloud.launch_host("region")
    args = _args(sandbox, host.instance_id, host.role_arn)
    args[args.index("--region") + 1] = "eu-west-1"
    doc = run_verify(capsys, *args, expect=3)
    assert findings(doc) == [["wrong_region"]]


def test_fan_out_twenty_hosts_one_bad(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    good = sandbox.cloud.launch_hosts("fleet", tags={"Fleet": "orders"}, count=19)
    bad = sandbox.cloud.launch_host("fleet-odd", tags={"Fleet": "orders"})
    add_user(sandbox, good[0].role_arn)
    uri = sandbox.cluster_uri(PROJECT, CLUSTER)
    doc = run_verify(
        capsys,
        "--tag",
        "Fleet=orders",
        "--uri",
        uri,
        "--expect-arn",
        good[0].role_arn,
        "--region",
        "us-east-1",
        "--wait",
        "0",
        "--online-timeout",
        "60",
        expect=3,
    )
    rows = doc["data"]["hosts"]
    assert len(rows) == 20
    failed = [r for r in rows if not r["ok"]]
    assert [r["target"] for r in failed] == [bad.instance_id], [
        (r["ssm_ping"], r["command_status"], r["findings"][:1], [s for s in r["steps"] if not s["ok"]])
        for r in failed[:2]
    ]
    assert [f["code"] for f in failed[0]["findings"]] == ["identity_mismatch"]
