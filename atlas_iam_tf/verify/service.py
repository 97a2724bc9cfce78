"""The verify core: resolve targets, run the probe (over SSM or here), diagnose every host."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import ClientError

from atlas_iam_tf.errors import VerificationError
from atlas_iam_tf.verify.answers import ask_before_probing, with_probe
from atlas_iam_tf.verify.atlas import AtlasApi
from atlas_iam_tf.verify.clients import AwsClients, error_code
from atlas_iam_tf.verify.command import local_argv, shell_commands
from atlas_iam_tf.verify.facts import TargetFacts
from atlas_iam_tf.verify.probe import role_arn_of
from atlas_iam_tf.verify.report import VerifyReport, report_for
from atlas_iam_tf.verify.request import VerifyOptions, VerifyRequest
from atlas_iam_tf.verify.ssm import Invocation, SsmVerifier
from atlas_iam_tf.verify.vpc import read_vpc_dns

Progress = Callable[[str], None]
# Credentials a --from-here probe must not inherit when verify hands it temporary ones (--assume-role,
# --session-token): those are the identity under test. Plain --from-here keeps them: they are.
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
_IAM_USER_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:user/")
_CREDENTIAL_SOURCES = (
    "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (any standard AWS credential source)"
)


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
        if "NotFound" not in error_code(err):
            raise
        return False
    return True


def _with_vpc_dns(facts: TargetFacts, ec2: Callable[[], Any]) -> TargetFacts:
    """In private mode, when the host could not resolve the cluster: its VPC's DNS attributes (EC2)."""
    if not (facts.private and facts.dns_failed):
        return facts
    dns, error = read_vpc_dns(ec2(), facts.target)
    return replace(facts, vpc_dns=dns, vpc_dns_error=error)


def verify_over_ssm(
    req: VerifyRequest,
    ssm: Any,
    ec2: Callable[[], Any],
    progress: Progress | None = None,
    *,
    atlas: AtlasApi | None = None,
) -> VerifyReport:
    """Ask Atlas what it knows (with ``atlas``), run the probe on every target over SSM, diagnose each.

    ``ec2`` makes the EC2 client on demand: the happy path (instances given by id, already Online)
    never needs it, and creating it costs noticeable start-up time.
    """
    say = progress or (lambda _m: None)
    verifier = SsmVerifier(ssm, progress=say)
    targets = list(dict.fromkeys([*req.instance_ids, *(instances_by_tags(ec2(), req.tags) if req.tags else [])]))
    if not targets:
        return VerifyReport(hosts=())
    answers, req = ask_before_probing(req, atlas, say)
    if (unprobed := answers.unprobed(req, targets)) is not None:
        return unprobed
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
        probe = req.probe_input(req.expect_arn, retry_auth=answers.gate.retry_auth)
        sent = verifier.send(online, shell_commands(probe), timeout)
        invocations = verifier.collect(sent, time.monotonic() + timeout + 30)
    reports = []
    for instance_id in targets:
        facts = req.facts(
            instance_id,
            instance_found=exists[instance_id],
            ssm_ping=pings.get(instance_id),
            **answers.seen,
        )
        inv = invocations.get(instance_id)
        if inv is not None:
            facts = with_probe(replace(facts, command_status=inv.status, stderr=inv.stderr[-2000:]), inv.stdout)
            facts = _with_vpc_dns(facts, ec2)
        reports.append(report_for(facts))
    return VerifyReport(hosts=tuple(reports), atlas=answers.note, path=req.path)


@dataclass(frozen=True)
class LocalCredentials:
    """Credentials for a --from-here probe, and what they should authenticate as.

    Attributes:
        via: ``assume-role``, ``session-token``, or ``env`` (the caller's own credentials, as found here).
        env: Temporary credentials to put in the probe's environment instead of the caller's (none for ``env``).
        expect_arn: The database username they should log in as (a role ARN, or an IAM user ARN).
    """

    via: str
    env: Mapping[str, str]
    expect_arn: str | None


def _caller_arn(sts: Any) -> str | None:
    """Who the credentials here are (GetCallerIdentity needs no permission), or None when STS does not say."""
    from botocore.exceptions import BotoCoreError

    try:
        return str(sts.get_caller_identity()["Arn"])
    except (BotoCoreError, ClientError):
        return None


def _principal_hint(caller: str | None) -> str:
    """What to list in aws.verify_principals for ``caller``: an IAM user as itself, a role session as its role."""
    if caller is None:
        return "the ARN of the IAM role or user you run as"
    principal = role_arn_of(caller)
    if principal != caller:
        return f"{principal} (the role's ARN, with its path if it has one)"
    if _IAM_USER_ARN.match(caller):
        return caller
    # The root user, a federated user, an unknown identity: nothing aws.verify_principals could name.
    return f"the ARN of an IAM role or user you can run as ({caller} is neither)"


def assume_role_refused(role_arn: str, caller: str | None) -> VerificationError:
    """The error for an AssumeRole that STS refused with AccessDenied: who, what, and how to get trusted."""
    return VerificationError(
        f"AWS refused sts:AssumeRole on {role_arn} for {caller or 'the caller'}: the role's trust policy "
        "does not admit this caller (or the role does not exist)",
        hint=(
            f"add {_principal_hint(caller)} to aws.verify_principals in atlasiam.toml and run `atlasiam apply` "
            "(for a role atlasiam does not manage: add it to that role's trust policy), or run verify where "
            "the role is trusted: without --from-here it runs on the host over SSM"
        ),
    )


def assume_role_credentials(sts: Any, role_arn: str) -> LocalCredentials:
    """STS AssumeRole: the probe then authenticates as the role (the ROLE database user).

    Raises:
        VerificationError: STS refused (AccessDenied): the role's trust policy does not admit the caller.
    """
    try:
        creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="atlasiam-verify", DurationSeconds=900)
    except ClientError as err:
        if error_code(err) != "AccessDenied":
            raise
        raise assume_role_refused(role_arn, _caller_arn(sts)) from None
    return LocalCredentials("assume-role", _env(creds["Credentials"]), role_arn)


# STS's message when GetSessionToken is signed with temporary credentials (an assumed role, SSO, an
# instance profile, or GetSessionToken's own): only long-term IAM user (or root) keys may call it
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_request.html#stsapi_comparison).
_SESSION_CREDENTIALS_REFUSED = "with session credentials"


def session_token_credentials(sts: Any) -> LocalCredentials:
    """STS GetSessionToken: needs IAM user keys; identifies as the user (a USER database user).

    Raises:
        VerificationError: STS refused because the credentials here are temporary ones.
    """
    caller = str(sts.get_caller_identity()["Arn"])
    try:
        creds = sts.get_session_token(DurationSeconds=900)["Credentials"]
    except ClientError as err:
        message = str(err.response.get("Error", {}).get("Message", ""))
        if error_code(err) != "AccessDenied" or _SESSION_CREDENTIALS_REFUSED not in message:
            raise
        raise VerificationError(
            f"AWS refused sts:GetSessionToken for {caller}: the credentials here are temporary (session) "
            "credentials, and GetSessionToken takes an IAM user's long-term access keys",
            hint=(
                f"use --assume-role ROLE_ARN instead (the role must trust {_principal_hint(caller)}: "
                "aws.verify_principals), or run with the IAM user's long-term access keys"
            ),
        ) from None
    return LocalCredentials("session-token", _env(creds), caller)


def caller_credentials(sts: Any) -> LocalCredentials:
    """Plain --from-here: the credentials here as they are; the probe logs in as whoever they are.

    An IAM user is expected as its USER-type database user; a role session (assumed role, SSO, instance
    profile) as its role's ARN, which is what Atlas maps the session to.
    """
    return LocalCredentials("env", {}, role_arn_of(str(sts.get_caller_identity()["Arn"])))


def local_credentials(opts: VerifyOptions, sts: Any) -> LocalCredentials:
    """The credentials a --from-here probe runs with, as the flags ask."""
    if opts.assume_role:
        return assume_role_credentials(sts, opts.assume_role)
    if opts.session_token:
        return session_token_credentials(sts)
    return caller_credentials(sts)


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
    *,
    atlas: AtlasApi | None = None,
    progress: Progress | None = None,
) -> VerifyReport:
    """Run the probe here in a child process, with ``creds`` in its environment only.

    Temporary credentials replace the caller's; with ``env`` the child keeps the caller's own, as the
    SDK chain finds them here (environment, profile, SSO, instance metadata).
    """
    strip = () if creds.via == "env" else _CREDENTIAL_ENV
    env = {k: v for k, v in (os.environ if base_env is None else base_env).items() if k not in strip}
    env |= dict(creds.env)
    answers, req = ask_before_probing(req, atlas, progress or (lambda _m: None))
    if (unprobed := answers.unprobed(req, ["local"], via=creds.via)) is not None:
        return unprobed
    facts = req.facts("local", via=creds.via, **answers.seen)
    timeout = req.probe_timeout_s
    try:
        proc = subprocess.run(
            local_argv(python, req.probe_input(req.expect_arn, retry_auth=answers.gate.retry_auth)),
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        timed_out = replace(facts, probe_error=f"the probe ran over {timeout:.0f}s")
        return VerifyReport(hosts=(report_for(timed_out),), atlas=answers.note, path=req.path)
    facts = replace(facts, command_status="Success" if proc.returncode == 0 else "Failed", stderr=proc.stderr[-2000:])
    return VerifyReport(hosts=(report_for(with_probe(facts, proc.stdout)),), atlas=answers.note, path=req.path)


def run_verify(opts: VerifyOptions, req: VerifyRequest, progress: Progress | None = None) -> VerifyReport:
    """Run the verification ``req`` describes; AWS API failures become a VerificationError (exit 1).

    With --from-here the expected user is --expect-arn, else the identity the credentials stand for
    (the assumed role, the IAM user, the caller), else the stack's role.
    """
    from botocore.exceptions import BotoCoreError, NoCredentialsError

    clients = AwsClients(req.region)
    atlas = AtlasApi.from_env(os.environ)
    try:
        if not opts.from_here:
            report = VerifyReport(hosts=())
            if req.instance_ids or req.tags or not req.workloads:
                report = verify_over_ssm(req, clients("ssm"), lambda: clients("ec2"), progress, atlas=atlas)
            if req.workloads:
                from atlas_iam_tf.verify.workloads import merged, verify_workloads

                report = merged(report, verify_workloads(req, req.workloads, clients, progress, atlas=atlas))
            return report
        creds = local_credentials(opts, clients("sts"))
        expect = opts.expect_arn or creds.expect_arn or req.expect_arn
        return verify_from_here(replace(req, expect_arn=expect), creds, atlas=atlas, progress=progress)
    except NoCredentialsError:
        raise VerificationError("verify could not run: no AWS credentials here", hint=_CREDENTIAL_SOURCES) from None
    except (BotoCoreError, ClientError) as err:
        raise VerificationError(
            f"verify could not run: {err}", hint="check AWS credentials, region and network"
        ) from None
