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

from atlas_iam_tf.errors import VerificationError
from atlas_iam_tf.verify.clients import AwsClients
from atlas_iam_tf.verify.command import local_argv, shell_commands
from atlas_iam_tf.verify.facts import TargetFacts
from atlas_iam_tf.verify.report import VerifyReport, report_for
from atlas_iam_tf.verify.request import VerifyOptions, VerifyRequest
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
    if online and req.wait_bootstrap:
        # SSM Agent is Online before the user data has installed Python and pymongo: the probe's wrapper waits.
        n, wait = len(online), f"{req.wait_s:.0f}s"
        say(f"waiting (up to {wait}) for atlasiam's bootstrap (user data) to finish on {n} instance(s)")
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
        reports.append(report_for(facts))
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
        return VerifyReport(hosts=(report_for(replace(facts, probe_error=f"the probe ran over {timeout:.0f}s")),))
    facts = replace(facts, command_status="Success" if proc.returncode == 0 else "Failed", stderr=proc.stderr[-2000:])
    return VerifyReport(hosts=(report_for(_with_probe(facts, proc.stdout)),))


def run_verify(opts: VerifyOptions, req: VerifyRequest, progress: Progress | None = None) -> VerifyReport:
    """Run the verification ``req`` describes; AWS API failures become a VerificationError (exit 1)."""
    from botocore.exceptions import BotoCoreError

    clients = AwsClients(req.region)
    try:
        if not opts.from_here:
            return verify_over_ssm(req, clients("ssm"), lambda: clients("ec2"), progress)
        if opts.assume_role:
            creds = assume_role_credentials(clients("sts"), opts.assume_role)
        elif opts.session_token:
            creds = session_token_credentials(clients("sts"))
        else:
            creds = LocalCredentials("env", {}, None)
        expect = opts.expect_arn or creds.expect_arn or req.expect_arn
        return verify_from_here(replace(req, expect_arn=expect), creds)
    except (BotoCoreError, ClientError) as err:
        raise VerificationError(
            f"verify could not run: {err}", hint="check AWS credentials, region and network"
        ) from None
