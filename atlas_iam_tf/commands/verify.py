"""`atlasiam verify`: prove the host's role can log in to Atlas (over SSM), or from here with STS."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from atlas_iam_tf.errors import ExitCode, UsageError, VerificationError
from atlas_iam_tf.output import Output
from atlas_iam_tf.verify.service import VerifyReport, VerifyRequest


@dataclass(frozen=True)
class VerifyOptions:
    """The command line of `atlasiam verify`."""

    config_path: Path
    instance_ids: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    uri: str | None = None
    expect_arn: str | None = None
    region: str | None = None
    cluster_name: str | None = None
    from_here: bool = False
    assume_role: str | None = None
    session_token: bool = False
    wait_s: float = 180.0
    online_timeout_s: float = 300.0


def parse_tags(tags: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """``Key=Value`` pairs; anything else is a usage error."""
    out = []
    for tag in tags:
        key, sep, value = tag.partition("=")
        if not sep or not key:
            raise UsageError(f"--tag {tag!r}: expected Key=Value")
        out.append((key, value))
    return tuple(out)


def build_request(opts: VerifyOptions) -> VerifyRequest:
    """From the flags alone (standalone), or from the applied stack's outputs (config mode)."""
    if opts.assume_role and opts.session_token:
        raise UsageError("--assume-role and --session-token exclude each other")
    if (opts.assume_role or opts.session_token) and not opts.from_here:
        raise UsageError("--assume-role and --session-token go with --from-here")
    if opts.wait_s < 0 or opts.online_timeout_s < 0:
        raise UsageError("--wait and --online-timeout must be >= 0 seconds")
    standalone = bool(opts.instance_ids or opts.tags) or (opts.from_here and opts.uri and not opts.config_path.exists())
    req = _standalone_request(opts) if standalone else _config_request(opts)
    return replace(req, wait_s=opts.wait_s, online_timeout_s=opts.online_timeout_s)


def _standalone_request(opts: VerifyOptions) -> VerifyRequest:
    if not opts.uri:
        raise UsageError("--uri is required with --instance-id/--tag (or run with --config after apply)")
    return VerifyRequest(
        uri=opts.uri,
        instance_ids=opts.instance_ids,
        tags=parse_tags(opts.tags),
        expect_arn=opts.expect_arn,
        db_usernames=(opts.expect_arn,) if opts.expect_arn else (),
        region=opts.region,
        cluster_name=opts.cluster_name,
    )


def _config_request(opts: VerifyOptions) -> VerifyRequest:
    from atlas_iam_tf.commands.common import load_project
    from atlas_iam_tf.deploy import Deployment

    project = load_project(opts.config_path)
    values = Deployment(project).outputs().values
    uri = opts.uri or values.get("mongodb_uri")
    if not uri or not values.get("instance_id"):
        raise UsageError("the applied stack has no instance_id/mongodb_uri outputs", hint="run `atlasiam apply`")
    return VerifyRequest(
        uri=str(uri),
        instance_ids=(str(values["instance_id"]),),
        expect_arn=opts.expect_arn or values.get("role_arn"),
        db_usernames=tuple(values.get("db_usernames") or ()),
        user_scopes=(project.values.cluster_name,),
        cluster_name=opts.cluster_name or values.get("atlas_cluster_name"),
        region=opts.region or values.get("region") or project.values.region,
    )


class _Clients:
    """AWS clients made on first use from one botocore session: most runs need only one client.

    botocore directly, not boto3: importing boto3 and building its Session costs ~0.06 s more
    start-up for nothing we use. Credentials, ``AWS_ENDPOINT_URL*`` and region (``None`` = from
    env/config) resolve in botocore either way, so the clients behave the same.
    """

    def __init__(self, region: str | None) -> None:
        self.region = region
        self._session: Any = None
        self._made: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._made:
            import botocore.session
            from botocore.config import Config

            if self._session is None:
                self._session = botocore.session.get_session()
                # verify reads no timestamp from AWS: leave them as sent. Parsing each one into a timezone-aware
                # datetime is most of the CPU of polling many hosts (as the AWS CLI does for its raw output).
                parsers = self._session.get_component("response_parser_factory")
                parsers.set_parser_defaults(timestamp_parser=str)
            # Bounded: an endpoint that accepts but never answers costs at most ~5 x (5 + 15) s, not minutes more.
            cfg = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=15)
            self._made[service] = self._session.create_client(service, region_name=self.region, config=cfg)
        return self._made[service]


def execute(opts: VerifyOptions, req: VerifyRequest, out: Output) -> VerifyReport:
    """Run the verification; AWS API failures become a VerificationError (exit 1)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from atlas_iam_tf.verify import service

    clients = _Clients(req.region)
    try:
        if not opts.from_here:
            return service.verify_over_ssm(req, clients("ssm"), lambda: clients("ec2"), out.progress)
        if opts.assume_role:
            creds = service.assume_role_credentials(clients("sts"), opts.assume_role)
        elif opts.session_token:
            creds = service.session_token_credentials(clients("sts"))
        else:
            creds = service.LocalCredentials("env", {}, None)
        expect = opts.expect_arn or creds.expect_arn or req.expect_arn
        return service.verify_from_here(replace(req, expect_arn=expect), creds)
    except (BotoCoreError, ClientError) as err:
        raise VerificationError(
            f"verify could not run: {err}", hint="check AWS credentials, region and network"
        ) from None


def run(out: Output, opts: VerifyOptions) -> int:
    """Verify and print one row per host; exit 0 all pass, 3 any fails."""
    req = build_request(opts)
    out.step(f"Verifying MONGODB-AWS login to {_redact(req.uri)}")
    report = execute(opts, req, out)
    out.result(report.to_dict(), lambda _c: _show(out, report))
    return ExitCode.OK if report.ok else ExitCode.VERIFY_FAILED


def _redact(uri: str) -> str:
    head, sep, tail = uri.partition("@")
    return f"{head.split('//')[0]}//…@{tail}" if sep else uri


def _show(out: Output, report: VerifyReport) -> None:
    rows = []
    for host in report.hosts:
        d = host.to_dict()
        verdict = "[green]pass[/green]" if host.ok else "[bold red]FAIL[/bold red]"
        ms = f"{d['probe_ms'] / 1000:.1f}s" if d["probe_ms"] is not None else "-"
        rows.append((d["target"], verdict, d["db_user"] or d["identity"] or "-", ms))
    out.table("Verify", ["target", "result", "identity Atlas saw", "probe"], rows)
    for host in report.hosts:
        for f in host.findings:
            color = "red" if f.severity == "error" else "yellow"
            out.out.print(f"[{color}]{f.severity}[/] [bold]{f.code}[/bold] ({f.target}): {f.message}")
            out.out.print(f"  [dim]fix:[/dim] {f.fix}")
    passed = sum(h.ok for h in report.hosts)
    out.out.print(f"[bold]{passed}/{len(report.hosts)} passed[/bold]")
