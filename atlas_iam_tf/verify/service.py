"""The verify core: resolve targets, run the probe (over SSM or here), diagnose every host."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import ClientError

from atlas_iam_tf.diagnose import Finding, diagnose
from atlas_iam_tf.verify.command import ProbeInput, local_argv, shell_commands
from atlas_iam_tf.verify.facts import TargetFacts
from atlas_iam_tf.verify.result import ProbeOutputError, parse_probe_output
from atlas_iam_tf.verify.ssm import Invocation, SsmVerifier

Progress = Callable[[str], None]
# Credentials a --from-here probe must not inherit: the temporary ones are the whole point.
_CREDENTIAL_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)


@dataclass(frozen=True)
class VerifyRequest:
    """What to verify and how long to wait."""

    uri: str
    instance_ids: tuple[str, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    expect_arn: str | None = None
    db_usernames: tuple[str, ...] = ()
    user_scopes: tuple[str, ...] = ()
    cluster_name: str | None = None
    region: str | None = None
    wait_s: float = 180.0
    online_timeout_s: float = 300.0
    retry_interval_s: float = 5.0
    connect_timeout_s: float = 10.0

    @property
    def probe_timeout_s(self) -> float:
        """How long one probe run may take: the propagation wait plus its connection attempts, with margin."""
        return self.wait_s + 4 * self.connect_timeout_s + 60

    def facts(self, target: str, **seen: Any) -> TargetFacts:
        """What this request expects of ``target``, plus what verify ``seen`` there."""
        return TargetFacts(
            target=target,
            expected_user=self.expect_arn,
            db_usernames=self.db_usernames,
            user_scopes=self.user_scopes,
            cluster_name=self.cluster_name,
            region=self.region,
            **seen,
        )

    def probe_input(self, expect_arn: str | None) -> ProbeInput:
        """The probe's input for a target expected to authenticate as ``expect_arn``."""
        return ProbeInput(
            uri=self.uri,
            expect_arn=expect_arn,
            wait_s=self.wait_s,
            retry_interval_s=self.retry_interval_s,
            connect_timeout_s=self.connect_timeout_s,
        )


@dataclass(frozen=True)
class HostReport:
    """The verdict for one target."""

    facts: TargetFacts
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        """Passed: the probe succeeded and no error-level finding was raised."""
        probe_ok = self.facts.probe is not None and self.facts.probe.ok
        return probe_ok and not any(f.severity == "error" for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of this row."""
        probe = self.facts.probe
        return {
            "target": self.facts.target,
            "ok": self.ok,
            "via": self.facts.via,
            "identity": probe.identity if probe else None,
            "db_user": probe.db_user if probe else None,
            "expected_user": self.facts.expected_user,
            "probe_ms": probe.ms if probe else None,
            "ssm_ping": self.facts.ssm_ping,
            "command_status": self.facts.command_status,
            "steps": [
                {"name": s.name, "ok": s.ok, "ms": s.ms, "error": s.error_message, "kind": s.error_kind}
                for s in (probe.steps if probe else ())
            ],
            "findings": [
                {"code": f.code, "severity": f.severity, "message": f.message, "fix": f.fix} for f in self.findings
            ],
        }


@dataclass(frozen=True)
class VerifyReport:
    """Every target's verdict."""

    hosts: tuple[HostReport, ...]

    @property
    def ok(self) -> bool:
        """True when every target passed."""
        return bool(self.hosts) and all(h.ok for h in self.hosts)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of the report."""
        return {"ok": self.ok, "hosts": [h.to_dict() for h in self.hosts]}


def _report(facts: TargetFacts) -> HostReport:
    return HostReport(facts=facts, findings=tuple(diagnose(facts)))


def _with_probe(facts: TargetFacts, stdout: str) -> TargetFacts:
    try:
        return replace(facts, probe=parse_probe_output(stdout))
    except ProbeOutputError as err:
        return replace(facts, probe_error=str(err))


def instances_by_tags(ec2: Any, tags: Sequence[tuple[str, str]]) -> list[str]:
    """Running (or starting) instances carrying every one of the tags."""
    filters = [{"Name": f"tag:{k}", "Values": [v]} for k, v in tags]
    filters.append({"Name": "instance-state-name", "Values": ["pending", "running"]})
    found: list[str] = []
    for page in ec2.get_paginator("describe_instances").paginate(Filters=filters):
        for reservation in page.get("Reservations", []):
            found.extend(inst["InstanceId"] for inst in reservation.get("Instances", []))
    return found


def instance_exists(ec2: Any, instance_id: str) -> bool:
    """Whether the instance exists in the client's region."""
    try:
        ec2.describe_instances(InstanceIds=[instance_id])
    except ClientError as err:
        if "NotFound" not in str(err.response.get("Error", {}).get("Code", "")):
            raise
        return False
    return True


def verify_over_ssm(
    req: VerifyRequest, ssm: Any, ec2: Callable[[], Any], progress: Progress | None = None
) -> VerifyReport:
    """Run the probe on every target instance over SSM Run Command and diagnose each.

    ``ec2`` makes the EC2 client on demand: the happy path (instances given by id, already Online)
    never needs it, and creating it costs noticeable start-up time.
    """
    say = progress or (lambda _m: None)
    verifier = SsmVerifier(ssm, progress=say)
    targets = list(dict.fromkeys([*req.instance_ids, *(instances_by_tags(ec2(), req.tags) if req.tags else [])]))
    if not targets:
        return VerifyReport(hosts=())
    pings = verifier.ping_status(targets)
    exists = {i: True if pings.get(i) == "Online" else instance_exists(ec2(), i) for i in targets}
    waiting = [i for i in targets if exists[i] and pings.get(i) != "Online"]
    if waiting:
        say(f"waiting for {len(waiting)} instance(s) to come Online in SSM")
        pings |= verifier.wait_online(waiting, time.monotonic() + req.online_timeout_s)
    online = [i for i in targets if pings.get(i) == "Online"]
    invocations: dict[str, Invocation] = {}
    if online:
        say(f"running the probe on {len(online)} instance(s) over SSM")
        timeout = int(req.probe_timeout_s)
        sent = verifier.send(online, shell_commands(req.probe_input(req.expect_arn)), timeout)
        invocations = verifier.collect(sent, time.monotonic() + timeout + 30)
    reports = []
    for instance_id in targets:
        facts = req.facts(instance_id, instance_found=exists[instance_id], ssm_ping=pings.get(instance_id))
        inv = invocations.get(instance_id)
        if inv is not None:
            facts = _with_probe(replace(facts, command_status=inv.status, stderr=inv.stderr[-2000:]), inv.stdout)
        reports.append(_report(facts))
    return VerifyReport(hosts=tuple(reports))


@dataclass(frozen=True)
class LocalCredentials:
    """Temporary credentials for a --from-here probe, and what they should authenticate as."""

    via: str
    env: Mapping[str, str]
    expect_arn: str | None


def assume_role_credentials(sts: Any, role_arn: str) -> LocalCredentials:
    """STS AssumeRole: the probe then authenticates as the role (the ROLE database user)."""
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="atlasiam-verify", DurationSeconds=900)["Credentials"]
    return LocalCredentials("assume-role", _env(creds), role_arn)


def session_token_credentials(sts: Any) -> LocalCredentials:
    """STS GetSessionToken: needs IAM user keys; identifies as the user (a USER database user)."""
    caller = sts.get_caller_identity()["Arn"]
    creds = sts.get_session_token(DurationSeconds=900)["Credentials"]
    return LocalCredentials("session-token", _env(creds), caller)


def _env(creds: Mapping[str, Any]) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": str(creds["AccessKeyId"]),
        "AWS_SECRET_ACCESS_KEY": str(creds["SecretAccessKey"]),
        "AWS_SESSION_TOKEN": str(creds["SessionToken"]),
    }


def verify_from_here(
    req: VerifyRequest,
    creds: LocalCredentials,
    base_env: Mapping[str, str] | None = None,
    python: str = sys.executable,
) -> VerifyReport:
    """Run the probe in a child process with the temporary credentials in its environment only."""
    env = {k: v for k, v in (os.environ if base_env is None else base_env).items() if k not in _CREDENTIAL_ENV}
    env |= dict(creds.env)
    timeout = req.probe_timeout_s
    facts = req.facts("local", via=creds.via)
    try:
        proc = subprocess.run(
            local_argv(python, req.probe_input(req.expect_arn)),
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return VerifyReport(hosts=(_report(replace(facts, probe_error=f"the probe ran over {timeout:.0f}s")),))
    facts = replace(facts, command_status="Success" if proc.returncode == 0 else "Failed", stderr=proc.stderr[-2000:])
    return VerifyReport(hosts=(_report(_with_probe(facts, proc.stdout)),))
