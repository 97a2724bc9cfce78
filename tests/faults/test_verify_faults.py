"""verify under throttling and 5xx bursts still passes; with the AWS side gone it fails fast and says so."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atlas_iam_tf.cli import main
from atlasiam_sandbox.atlas_state import DatabaseUser
from atlasiam_sandbox.world import Sandbox
from tests.faults.conftest import FaultProxy, json_doc

PROJECT = "0123456789abcdef01234567"
CLUSTER = "Cluster0"
SSM_OPERATIONS = ("DescribeInstanceInformation", "SendCommand", "ListCommandInvocations", "GetCommandInvocation")
TRUST_ANYONE = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},'
    '"Action":"sts:AssumeRole"}]}'
)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """One emulated cloud for the tests that leave it running."""
    with Sandbox(tmp_path_factory.mktemp("sandbox")) as sb:
        yield sb


def _use(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, **extra: str) -> None:
    for key, value in (sandbox.env() | extra).items():
        monkeypatch.setenv(key, value)


def _add_user(sandbox: Sandbox, arn: str, visible_after: float = 0.0) -> None:
    sandbox.atlas.put_user(
        DatabaseUser(
            project_id=PROJECT,
            username=arn,
            aws_iam_type="ROLE",
            roles=(("readWrite", "orders"),),
            scopes=(CLUSTER,),
            visible_after=visible_after,
        )
    )


def _verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], float]:
    capsys.readouterr()
    start = time.monotonic()
    code = main(["verify", *args, "--region", "us-east-1", "--json"])
    elapsed = time.monotonic() - start
    out = capsys.readouterr()
    assert out.err == ""
    return code, json_doc(out.out), elapsed


def _ssm_args(sandbox: Sandbox, instance_id: str, arn: str, wait: str = "0") -> list[str]:
    uri = sandbox.cluster_uri(PROJECT, CLUSTER)
    return ["--instance-id", instance_id, "--uri", uri, "--expect-arn", arn, "--wait", wait, "--online-timeout", "10"]


def test_ssm_throttling_and_5xx_bursts_are_ridden_out(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _use(sandbox, monkeypatch)
    host = sandbox.cloud.launch_host("bursty")
    _add_user(sandbox, host.role_arn)
    faults = sandbox.cloud.ssm.faults
    for op in SSM_OPERATIONS:  # five failures in a row per call: botocore's standard retries (6 attempts) absorb them
        faults.throttle(op, 1)
        faults.server_errors(op, 3, status=500)
        faults.server_errors(op, 1, status=503)
    code, doc, elapsed = _verify(capsys, *_ssm_args(sandbox, host.instance_id, host.role_arn))
    assert code == 0, json.dumps(doc, indent=1)[:3000]
    [row] = doc["data"]["hosts"]
    assert row["ok"] and row["db_user"] == host.role_arn
    for op in SSM_OPERATIONS:
        assert faults.take(op) is None, f"{op}: not every injected fault was hit"
    assert elapsed < 60


def test_ssm_failures_beyond_botocores_retries_are_backed_off(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _use(sandbox, monkeypatch)
    host = sandbox.cloud.launch_host("stormy")
    _add_user(sandbox, host.role_arn)
    faults = sandbox.cloud.ssm.faults
    # 5xx retries cost botocore only ~50 ms each; eight in a row outlast its six attempts, so SsmVerifier's
    # own backoff has to carry the call through.
    faults.server_errors("GetCommandInvocation", 8, status=500)
    faults.server_errors("SendCommand", 7, status=502)
    code, doc, elapsed = _verify(capsys, *_ssm_args(sandbox, host.instance_id, host.role_arn))
    assert code == 0, json.dumps(doc, indent=1)[:3000]
    assert doc["data"]["hosts"][0]["ok"]
    assert faults.take("GetCommandInvocation") is None and faults.take("SendCommand") is None
    assert elapsed < 60


def test_sts_throttling_from_here(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    proxy = FaultProxy(sandbox.cloud.moto_url)
    proxy.start()
    try:
        _use(sandbox, monkeypatch, AWS_ENDPOINT_URL=proxy.url)
        role = sandbox.cloud.client("iam").create_role(RoleName="throttled", AssumeRolePolicyDocument=TRUST_ANYONE)
        arn = role["Role"]["Arn"]
        _add_user(sandbox, arn)
        proxy.fail("AssumeRole", 2, status=400, code="Throttling")
        proxy.fail("AssumeRole", 2, status=500, code="InternalFailure")
        proxy.fail("GetCallerIdentity", 1, status=503, code="ServiceUnavailable")  # the probe's own STS call
        uri = sandbox.cluster_uri(PROJECT, CLUSTER)
        code, doc, elapsed = _verify(capsys, "--from-here", "--assume-role", arn, "--uri", uri, "--wait", "0")
        assert code == 0, json.dumps(doc, indent=1)[:3000]
        assert doc["data"]["hosts"][0]["db_user"] == arn
        assert proxy.failed.count("Action=AssumeRole") == 4 and proxy.failed.count("Action=GetCallerIdentity") == 1
        assert elapsed < 60
    finally:
        proxy.stop()


def test_ssm_endpoint_dying_mid_verify_fails_fast(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with Sandbox(tmp_path / "sandbox") as sandbox:
        _use(sandbox, monkeypatch)
        host = sandbox.cloud.launch_host("doomed")
        # The user shows up only later: the probe keeps retrying, so verify is still polling when SSM dies.
        _add_user(sandbox, host.role_arn, visible_after=time.time() + 60)
        ssm = sandbox.cloud.ssm

        def kill_when_polling() -> None:
            deadline = time.monotonic() + 30
            while "ListCommandInvocations" not in ssm.calls and time.monotonic() < deadline:
                time.sleep(0.05)
            ssm.stop()

        killer = threading.Thread(target=kill_when_polling, daemon=True)
        killer.start()
        code, doc, elapsed = _verify(capsys, *_ssm_args(sandbox, host.instance_id, host.role_arn, wait="60"))
        killer.join(timeout=30)
        assert code == 1, json.dumps(doc, indent=1)[:3000]
        error = doc["error"]
        assert error["code"] == "verification_error"
        assert error["message"].startswith("verify could not run: ")
        assert "Could not connect to the endpoint URL" in error["message"]
        assert error["hint"]
        assert elapsed < 60
