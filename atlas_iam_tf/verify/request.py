"""What to verify: the command line as options, and the request built from them or from the stack."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from atlas_iam_tf.aws_names import region_problem
from atlas_iam_tf.errors import UsageError
from atlas_iam_tf.verify.command import ProbeInput
from atlas_iam_tf.verify.facts import TargetFacts
from atlas_iam_tf.verify.privatelink import ENDPOINT_ID, uri_mode
from atlas_iam_tf.verify.workload import WorkloadTarget

# An Atlas project (group) id: 24 hex characters (the Admin API's groupId pattern).
_PROJECT_ID_RE = re.compile(r"^[0-9a-f]{24}$")
# The longest any wait may be: an hour. Every wait has a deadline, and SSM's own command timeout
# (TimeoutSeconds, at most 172800) must hold the probe's whole run.
MAX_WAIT_S = 3600.0
# What pymongo parses (case-sensitive, as its URI parser is); anything else never reaches a driver.
URI_SCHEMES = ("mongodb://", "mongodb+srv://")


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
    atlas_project_id: str | None = None
    privatelink_endpoint_id: str | None = None


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
    wait_bootstrap: bool = False  # the hosts are atlasiam's: wait for their user data (verify/command.py)
    atlas_project_id: str | None = None  # with Atlas credentials, verify asks Atlas what it knows (verify/atlas.py)
    network_mode: str | None = None  # "private": through a private endpoint; "public"; None: unknown
    privatelink_endpoint_id: str | None = None  # the interface endpoint (vpce-…) the private path goes through
    workloads: tuple[WorkloadTarget, ...] = ()  # Lambda/ECS/EKS workloads to probe where they run (verify/workloads.py)

    @property
    def private(self) -> bool:
        """The URI leads through a private endpoint (Atlas PrivateLink)."""
        return self.network_mode == "private"

    @property
    def path(self) -> str:
        """The network path the login takes, in words (empty when unknown)."""
        if self.private:
            through = f" {self.privatelink_endpoint_id}" if self.privatelink_endpoint_id else ""
            return f"the private endpoint{through} (AWS PrivateLink)"
        return "the cluster's public address" if self.network_mode == "public" else ""

    @property
    def redacted_uri(self) -> str:
        """The URI, safe to print (see ``redact_uri``)."""
        return redact_uri(self.uri)

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
            network_mode=self.network_mode,
            privatelink_endpoint_id=self.privatelink_endpoint_id,
            **seen,
        )

    def probe_input(self, expect_arn: str | None, *, retry_auth: bool = True) -> ProbeInput:
        """The probe's input for a target expected to authenticate as ``expect_arn``.

        ``retry_auth=False`` when Atlas has said the user exists and no change is pending: a code 18
        is then real, and retrying it until --wait runs out would only delay the answer.
        """
        return ProbeInput(
            retry_auth=retry_auth,
            uri=self.uri,
            expect_arn=expect_arn,
            wait_s=self.wait_s,
            retry_interval_s=self.retry_interval_s,
            connect_timeout_s=self.connect_timeout_s,
            wait_bootstrap=self.wait_bootstrap,
        )


def redact_uri(uri: str) -> str:
    """``uri`` with its user info and the values of its secret-bearing options replaced by ``…``.

    Everything up to the *last* ``@`` is user info: a password with an unencoded ``@`` (invalid, but
    typed) stays hidden whole, and an ``@`` later in the options only hides more, never less.
    """
    scheme, sep, rest = uri.partition("://")
    if not sep:
        return "…"  # not a URI at all: nothing in it is known to be safe
    at = rest.rfind("@")
    if at >= 0:
        rest = "…@" + rest[at + 1 :]
    base, q, query = rest.partition("?")
    if q:
        options = [_redact_option(o) for o in query.split("&")]
        rest = base + "?" + "&".join(options)
    return f"{scheme}://{rest}"


def _redact_option(option: str) -> str:
    name, eq, _value = option.partition("=")
    return f"{name}=…" if eq and name.lower() in _SECRET_OPTIONS else option


# URI options whose value can carry a credential (authMechanismProperties=AWS_SESSION_TOKEN:...).
_SECRET_OPTIONS = frozenset({"authmechanismproperties", "password", "tlscertificatekeyfilepassword"})


def parse_tags(tags: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """``Key=Value`` pairs; anything else is a usage error."""
    out = []
    for tag in tags:
        key, sep, value = tag.partition("=")
        if not sep or not key:
            raise UsageError(f"--tag {tag!r}: expected Key=Value")
        out.append((key, value))
    return tuple(out)


def _shown(value: str, limit: int = 40) -> str:
    """A flag's value for an error message: escaped (repr) and cut, so it stays one short line."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def check_flags(opts: VerifyOptions) -> None:
    """Refuse bad flag values up front (a UsageError, exit 2), before anything is read or called."""
    if opts.assume_role and opts.session_token:
        raise UsageError("--assume-role and --session-token exclude each other")
    if (opts.assume_role or opts.session_token) and not opts.from_here:
        raise UsageError("--assume-role and --session-token go with --from-here")
    for flag, seconds in (("--wait", opts.wait_s), ("--online-timeout", opts.online_timeout_s)):
        if not (math.isfinite(seconds) and 0 <= seconds <= MAX_WAIT_S):
            raise UsageError(f"{flag} {seconds}: expected a number of seconds from 0 to {MAX_WAIT_S:.0f}")
    # The same rule as aws.region in the config (one regex, atlas_iam_tf.aws_names).
    if opts.atlas_project_id is not None and not _PROJECT_ID_RE.fullmatch(opts.atlas_project_id):
        raise UsageError(f"--atlas-project-id {_shown(opts.atlas_project_id)}: expected 24 lowercase hex characters")
    if opts.privatelink_endpoint_id is not None and not ENDPOINT_ID.fullmatch(opts.privatelink_endpoint_id):
        raise UsageError(
            f"--privatelink-endpoint-id {_shown(opts.privatelink_endpoint_id)}: expected vpce- and 17 hex characters"
        )
    if opts.region is not None and (problem := region_problem(opts.region)):
        raise UsageError(f"--region {_shown(opts.region)}: {problem}")
    if opts.uri is not None and not opts.uri.startswith(URI_SCHEMES):
        # Only the scheme is shown: the rest of a URI can hold a password.
        scheme, colon, _ = opts.uri.partition(":")
        found = f"its scheme is {_shown(scheme + colon, 20)}" if colon else "it has no scheme"
        raise UsageError(f"--uri must be a mongodb:// or mongodb+srv:// connection string ({found})")


def build_request(opts: VerifyOptions) -> VerifyRequest:
    """From the flags alone (standalone), or from the applied stack's outputs (config mode)."""
    check_flags(opts)
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
        atlas_project_id=opts.atlas_project_id,
        network_mode="private" if opts.privatelink_endpoint_id else uri_mode(opts.uri),
        privatelink_endpoint_id=opts.privatelink_endpoint_id,
    )


def _config_request(opts: VerifyOptions) -> VerifyRequest:
    """The request for the stack the config describes, from its applied outputs."""
    from atlas_iam_tf.deploy import Deployment
    from atlas_iam_tf.project import load_project

    project = load_project(opts.config_path)
    values = Deployment(project).outputs().values
    uri = opts.uri or values.get("mongodb_uri")
    mode = values.get("network_mode")
    # In private mode a null mongodb_uri is a finding, not bad input: Atlas lists no private-endpoint string
    # (an M0/Flex cluster, an endpoint not AVAILABLE), and verify asks Atlas why (diagnose: private_uri_missing).
    if not (uri or mode == "private") or not values.get("instance_id"):
        raise UsageError("the applied stack has no instance_id/mongodb_uri outputs", hint="run `atlasiam apply`")
    return VerifyRequest(
        uri=str(uri or ""),
        instance_ids=(str(values["instance_id"]),),
        expect_arn=opts.expect_arn or values.get("role_arn"),
        db_usernames=tuple(values.get("db_usernames") or ()),
        user_scopes=(project.config.atlas.cluster_name,),
        cluster_name=opts.cluster_name or values.get("atlas_cluster_name"),
        region=opts.region or values.get("region") or project.config.aws.region,
        atlas_project_id=opts.atlas_project_id or project.config.atlas.project_id,
        # A --uri says which path it takes when it is an Atlas host name; else the stack's mode does.
        network_mode=(uri_mode(opts.uri) if opts.uri else None) or (str(mode) if mode else None),
        privatelink_endpoint_id=opts.privatelink_endpoint_id or values.get("privatelink_endpoint_id"),
        wait_bootstrap=True,  # atlasiam created this host: its user data writes the markers verify waits for
    )
