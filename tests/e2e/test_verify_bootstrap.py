"""verify on atlasiam's hosts right after apply: SSM is Online before the user data has installed Python and pymongo.

The hosts boot the module's real user data (``tests/user_data.py`` renders ``user_data.sh.tftpl`` as Terraform does;
the sandbox's cloud-init, ``atlasiam_sandbox.aws.boot``, runs it). verify's
core is called as ``atlasiam verify`` calls it in config mode, where it knows atlasiam created the host
(``wait_bootstrap``); standalone ``--instance-id`` runs never wait (``test_verify_ssm.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from atlas_iam_tf.verify.report import HostReport
from atlas_iam_tf.verify.request import VerifyRequest
from atlas_iam_tf.verify.result import StepResult
from atlas_iam_tf.verify.service import verify_over_ssm
from atlasiam_sandbox.aws.hosts import HostSettings
from atlasiam_sandbox.world import Sandbox
from tests.e2e.conftest import CLUSTER, PROJECT, add_user
from tests.user_data import USER_DATA


@dataclass
class VerifyRun:
    """One host's verdict, what verify said while it ran, and how long it took."""

    row: HostReport
    said: list[str]
    took: float
    codes: list[str] = field(init=False)
    bootstrap: StepResult | None = field(init=False)

    def __post_init__(self) -> None:
        self.codes = [f.code for f in self.row.findings]
        assert self.row.facts.probe is not None, self.row.facts
        self.bootstrap = self.row.facts.probe.step("bootstrap")


def verify(sandbox: Sandbox, settings: HostSettings, wait_s: float, *, wait_bootstrap: bool = True) -> VerifyRun:
    """Launch a host that boots atlasiam's user data, add its user, and verify it at once."""
    host = sandbox.cloud.launch_host(f"boot-{time.monotonic_ns()}", user_data=USER_DATA, settings=settings)
    add_user(sandbox, host.role_arn)
    req = VerifyRequest(
        uri=sandbox.cluster_uri(PROJECT, CLUSTER),
        instance_ids=(host.instance_id,),
        expect_arn=host.role_arn,
        region=sandbox.region,
        wait_s=wait_s,
        online_timeout_s=30,
        connect_timeout_s=3,
        wait_bootstrap=wait_bootstrap,
    )
    said: list[str] = []
    started = time.monotonic()
    report = verify_over_ssm(req, sandbox.cloud.client("ssm"), lambda: sandbox.cloud.client("ec2"), said.append)
    [row] = report.hosts
    return VerifyRun(row, said, time.monotonic() - started)


def test_verify_waits_for_the_bootstrap_and_says_so(sandbox: Sandbox) -> None:
    run = verify(sandbox, HostSettings(bootstrap_delay=3.0), wait_s=30)
    assert run.row.ok, run.row.findings
    assert run.codes == []
    assert run.bootstrap is not None and run.bootstrap.ok
    assert run.bootstrap.detail["waited_s"] >= 2  # Online at once, ready ~3 s after launch
    assert any("waiting (up to 30s) for atlasiam's bootstrap (user data) to finish" in m for m in run.said)


def test_probing_too_early_finds_no_pymongo(sandbox: Sandbox) -> None:
    """Without the wait, the probe runs on AL2023's system python3: what `apply && verify` used to do."""
    run = verify(sandbox, HostSettings(bootstrap_delay=5.0), wait_s=0, wait_bootstrap=False)
    assert run.codes == ["pymongo_missing"]
    assert run.bootstrap is None


def test_a_failed_bootstrap_is_named_with_its_log(sandbox: Sandbox) -> None:
    run = verify(sandbox, HostSettings(bootstrap_delay=0.0, bootstrap_fails=True), wait_s=30)
    assert run.codes == ["bootstrap_failed"]
    [finding] = run.row.findings
    assert "dnf install -y python3.11 python3.11-pip" in finding.message
    assert "/var/log/atlasiam-user-data.log" in finding.fix
    assert run.took < 15  # the failure marker ends the wait at once


def test_the_wait_is_bounded_by_wait(sandbox: Sandbox) -> None:
    run = verify(sandbox, HostSettings(bootstrap_delay=60.0), wait_s=2)
    assert run.codes == ["bootstrap_unfinished"]
    assert run.bootstrap is not None and run.bootstrap.detail["waited_s"] in (2, 3)
    assert run.took < 15
