"""What a user reads in a finding: the message with its evidence, the severity, the host, the fix.

tests/verify/test_diagnose.py checks which rules fire; these check what each finding says, and the
edges of each rule's condition that mutation testing (``make mutation``) found unpinned.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from atlas_iam_tf.diagnose import RULES, _public, _unless_dns_off, diagnose, troubleshooting_markdown
from atlas_iam_tf.verify.atlas import AtlasUser, AtlasView
from atlas_iam_tf.verify.facts import NO_PRIVATE_URI, TargetFacts
from atlas_iam_tf.verify.privatelink import ClusterTier, EndpointService, InterfaceEndpoint, PrivateLinkView
from atlas_iam_tf.verify.result import ProbeResult
from atlas_iam_tf.verify.vpc import VpcDns
from tests.verify.test_diagnose import OTHER, ROLE, codes, facts, probe

FIX = {r.code: r.fix for r in RULES}
USER = "arn:aws:iam::123456789012:user/alice"
PATH_ROLE = "arn:aws:iam::123456789012:role/team/r"

# (case, facts, [(code, severity, message)]): every finding of the case, in rule order.
FINDINGS: list[tuple[str, TargetFacts, list[tuple[str, str, str]]]] = [
    (
        "never-registered",
        facts(None, ssm_ping=None, command_status=None),
        [("ssm_not_online", "error", "instance i-0abc never came Online in SSM (last PingStatus: not registered)")],
    ),
    (
        "connection-lost",
        facts(None, ssm_ping="ConnectionLost", command_status=None),
        [("ssm_not_online", "error", "instance i-0abc never came Online in SSM (last PingStatus: ConnectionLost)")],
    ),
    (
        "wrong-region",
        facts(None, instance_found=False, ssm_ping=None, command_status=None),
        [("wrong_region", "error", "instance i-0abc does not exist in region us-east-1")],
    ),
    (
        "python3-not-at-the-venv-path",
        facts(
            None,
            command_status="Failed",
            stderr="sh: /opt/atlasiam/venv/bin/python3: No such file or directory",
            probe_error="the probe printed no result",
        ),
        [("no_python", "error", "the host has no python3 to run the probe")],
    ),
    (
        "no-result",
        facts(None, command_status="Failed", probe_error="the probe printed no result: Killed"),
        [
            (
                "probe_no_result",
                "error",
                "the probe printed no result (command status Failed): the probe printed no result: Killed",
            )
        ],
    ),
    (
        "shared-file",
        facts(probe(source="shared-credentials-file")),
        [
            (
                "shared_credentials_file",
                "warning",
                "the host takes its AWS identity from a shared credentials file (~/.aws/credentials), not its role",
            )
        ],
    ),
    (
        "step-message-is-quoted",
        facts(probe("reach", "connect_timeout")),
        [("host_not_on_access_list", "error", "connecting timed out: connect_timeout happened")],
    ),
    (
        "user-missing-after-3-attempts",
        facts(probe("auth", "auth_failed", code=18, attempts=3)),
        [
            (
                "user_not_found_or_not_propagated",
                "error",
                f"Atlas refused {ROLE} (code 18, 3 attempt(s)): the user is missing or not yet live",
            )
        ],
    ),
    (
        "user-missing-attempts-unknown",
        facts(probe("auth", "auth_failed", code=18)),
        [
            (
                "user_not_found_or_not_propagated",
                "error",
                f"Atlas refused {ROLE} (code 18, 1 attempt(s)): the user is missing or not yet live",
            )
        ],
    ),
    (
        "user-missing-no-identity",
        facts(probe("auth", "auth_failed", identity="", code=18, attempts=2)),
        [
            (
                "user_not_found_or_not_propagated",
                "error",
                "Atlas refused the identity (code 18, 2 attempt(s)): the user is missing or not yet live",
            )
        ],
    ),
    (
        "scoped-to-two-other-clusters",
        facts(probe("auth", "auth_failed", code=18), user_scopes=("A", "B"), cluster_name="C"),
        [("user_scoped_to_other_cluster", "error", "the user is scoped to A, B but the URI targets C")],
    ),
    (
        "one-user-has-a-path",  # only the stack's other user: the first (and only) bad one is named
        facts(probe("auth", "auth_failed", code=18), db_usernames=(ROLE, PATH_ROLE)),
        [
            (
                "role_arn_has_path",
                "error",
                f"database user {PATH_ROLE} is a role ARN with a path; STS session ARNs never carry it",
            ),
            (
                "user_not_found_or_not_propagated",
                "error",
                f"Atlas refused {ROLE} (code 18, 1 attempt(s)): the user is missing or not yet live",
            ),
        ],
    ),
    (
        "one-user-is-an-instance-profile",
        facts(probe(), db_usernames=(ROLE, "arn:aws:iam::123456789012:instance-profile/p")),
        [
            (
                "instance_profile_arn",
                "error",
                "database user arn:aws:iam::123456789012:instance-profile/p is an instance-profile ARN; "
                "STS reports the role, never the profile",
            )
        ],
    ),
    (
        "unknown-failure",
        facts(probe("whoami", "internal")),
        [("probe_failed", "error", "whoami: internal happened")],
    ),
]


@pytest.mark.parametrize(("case", "f", "expected"), FINDINGS, ids=[c[0] for c in FINDINGS])
def test_each_finding_says_what_was_seen_and_how_to_fix_it(
    case: str, f: TargetFacts, expected: list[tuple[str, str, str]]
) -> None:
    findings = diagnose(f)
    assert [(x.code, x.severity, x.message) for x in findings] == expected, case
    for finding in findings:
        assert finding.target == "i-0abc"
        assert finding.fix == FIX.get(finding.code, "Read the probe's step detail (--json).")


def test_a_failed_step_without_a_message_is_named_alone() -> None:
    failed = probe("reach", "connect_timeout")
    step = failed.steps[-1]
    bare = type(step)(name=step.name, ok=False, ms=step.ms, error_kind="connect_timeout")
    silent = type(failed)(ok=False, steps=(*failed.steps[:-1], bare), host=failed.host, ms=failed.ms)
    [finding] = diagnose(facts(silent))
    assert (finding.code, finding.message) == ("host_not_on_access_list", "connecting timed out")


def test_a_failed_probe_without_a_failed_step_still_says_so() -> None:
    # ok false but every step passed (a probe killed between steps): the generic finding, no step to name
    failed = probe()
    failed = type(failed)(ok=False, steps=failed.steps, host=failed.host, ms=failed.ms)
    [finding] = diagnose(facts(failed))
    assert (finding.code, finding.severity, finding.message) == ("probe_failed", "error", "the probe failed")


# Where a rule must stay silent: the other side of each condition.
QUIET: list[tuple[str, TargetFacts, list[str]]] = [
    (
        "unexpected-user-counts-as-an-auth-failure",
        facts(probe("whoami", "unexpected_user", identity=OTHER)),
        ["identity_mismatch"],
    ),
    (
        "unexpected-user-on-a-cluster-the-user-is-not-scoped-to",
        facts(probe("whoami", "unexpected_user"), user_scopes=("Cluster0",), cluster_name="Other"),
        ["user_scoped_to_other_cluster"],
    ),
    (
        "another-identity-failing-later-is-still-a-mismatch",  # the probe failed, not at auth
        facts(probe("whoami", "internal", identity=OTHER)),
        ["identity_mismatch"],
    ),
    ("another-identity-that-passed-is-no-mismatch", facts(probe(identity=OTHER)), []),
    (
        "no-expected-user-but-a-path-user",  # expected_user unknown: only the stack's users are looked at
        facts(probe(), expected_user=None, db_usernames=(PATH_ROLE,)),
        ["role_arn_has_path"],
    ),
    (
        "no-expected-user-but-a-profile-user",
        facts(probe(), expected_user=None, db_usernames=("arn:aws:iam::123456789012:instance-profile/p",)),
        ["instance_profile_arn"],
    ),
    ("a-pass-is-never-scoped-elsewhere", facts(probe(), user_scopes=("Cluster0",), cluster_name="Other"), []),
    (
        "scoped-to-this-cluster-then-the-user-is-missing",
        facts(probe("auth", "auth_failed", code=18), user_scopes=("Cluster0",), cluster_name="Cluster0"),
        ["user_not_found_or_not_propagated"],
    ),
    (
        "session-token-as-a-role-is-not-a-user-type-problem",
        facts(probe("auth", "auth_failed", identity=OTHER, code=18), via="session-token"),
        ["identity_mismatch"],
    ),
    (
        "session-token-failing-before-auth",
        facts(probe("dns", "dns_failed", identity=USER), via="session-token", expected_user=None, db_usernames=()),
        ["dns_failed"],
    ),
    (
        "an-iam-user-over-ssm-is-not-the-session-token-rule",
        facts(probe("auth", "auth_failed", identity=USER, code=18), expected_user=None, db_usernames=()),
        ["user_not_found_or_not_propagated"],
    ),
    (
        "session-token-user-that-exists-is-not-missing-its-type",
        facts(
            probe("auth", "auth_failed", identity=USER, code=18),
            via="session-token",
            expected_user=None,
            db_usernames=(USER,),
        ),
        ["user_not_found_or_not_propagated"],
    ),
    (
        "online-but-no-command-yet-is-not-never-online",
        facts(None, ssm_ping="Online", command_status=None),
        [],
    ),
    ("not-ssm-is-never-ssm-not-online", facts(None, via="assume-role", ssm_ping=None, command_status=None), []),
]


@pytest.mark.parametrize(("case", "f", "expected"), QUIET, ids=[c[0] for c in QUIET])
def test_rules_fire_exactly_on_their_evidence(case: str, f: TargetFacts, expected: list[str]) -> None:
    assert codes(f) == expected, case


def test_the_troubleshooting_table_has_its_header_and_one_row_per_rule() -> None:
    lines = troubleshooting_markdown().splitlines()
    assert lines[:2] == ["| code | symptom | fix |", "|---|---|---|"]
    assert len(lines) == 2 + len(RULES)
    # one row per rule, in RULES order, each code/symptom/fix as written
    assert lines[2:] == [f"| `{r.code}` | {r.symptom} | {r.fix} |" for r in RULES]
    assert f"| `wrong_region` | The instance is not found | {FIX['wrong_region']} |" in lines


# -- the message of each finding, word for word: the Atlas user, the private path, the host's STS call ---------------
ACCOUNT = "123456789012"
VPCE = "vpce-0123456789abcdef0"
PRIVATE = {"network_mode": "private", "privatelink_endpoint_id": VPCE, "cluster_name": "Cluster0"}
UNPROBED = {"ssm_ping": None, "command_status": None}
MISSING_PREFIX = f"Atlas has no database user {ROLE} in $external, and no change is pending; "


def _atlas_user(name: str, kind: str = "ROLE") -> AtlasUser:
    return AtlasUser(name, "$external", kind, ())


def _missing(*users: AtlasUser, expected: str = ROLE) -> TargetFacts:
    view = AtlasView(expected=expected, user=None, change_status="APPLIED", same_account=users)
    return facts(None, **UNPROBED, expected_user=expected, atlas=view)


def _tier(tier: ClusterTier) -> PrivateLinkView:
    """Atlas's word on the private path: the endpoint AVAILABLE, the cluster of ``tier``."""
    service = EndpointService("65f0c0ffee0123456789abcd", "US_EAST_1", "AVAILABLE", None, (VPCE,))
    return PrivateLinkView(VPCE, (service,), (InterfaceEndpoint(VPCE, "AVAILABLE", None),), tier)


def _others(n: int) -> tuple[AtlasUser, ...]:
    return tuple(_atlas_user(f"arn:aws:iam::{ACCOUNT}:role/app-{i}") for i in range(n))


def _listed(n: int) -> str:
    return ", ".join(f"arn:aws:iam::{ACCOUNT}:role/app-{i}" for i in range(n))


def _bare(p: ProbeResult) -> ProbeResult:
    """``p`` with its failed step's message dropped (a probe step may fail without one)."""
    step = p.failed
    assert step is not None
    return replace(p, steps=tuple(replace(s, error_message=None) if s is step else s for s in p.steps))


def _said(p: ProbeResult, message: str) -> ProbeResult:
    step = p.failed
    assert step is not None
    return replace(p, steps=tuple(replace(s, error_message=message) if s is step else s for s in p.steps))


ATLAS_USER_MISSING: list[tuple[str, TargetFacts, str]] = [
    ("no-other-users", _missing(), MISSING_PREFIX + f"the project's users of account {ACCOUNT}: none"),
    (
        "one-other-user",
        _missing(*_others(1)),
        MISSING_PREFIX + f"the project's users of account {ACCOUNT}: {_listed(1)}",
    ),
    (
        "ten-listed-whole",
        _missing(*_others(10)),
        MISSING_PREFIX + f"the project's users of account {ACCOUNT}: {_listed(10)}",
    ),
    (
        "eleven-the-last-counted",
        _missing(*_others(11)),
        MISSING_PREFIX + f"the project's users of account {ACCOUNT}: {_listed(10)} and 1 more",
    ),
    (
        "thirteen-three-counted",
        _missing(*_others(13)),
        MISSING_PREFIX + f"the project's users of account {ACCOUNT}: {_listed(10)} and 3 more",
    ),
    (
        "expected-is-not-an-arn",  # no account to name
        _missing(expected="orders-dev-host"),
        "Atlas has no database user orders-dev-host in $external, and no change is pending; "
        "the project's users of account ?: none",
    ),
    (
        "two-look-alikes-each-said",
        _missing(
            _atlas_user(f"arn:aws:iam::{ACCOUNT}:role/team/orders-dev-host"),
            _atlas_user(f"arn:aws:iam::{ACCOUNT}:instance-profile/orders-dev-host"),
        ),
        MISSING_PREFIX + f"the project's users of account {ACCOUNT}: "
        f"arn:aws:iam::{ACCOUNT}:role/team/orders-dev-host, arn:aws:iam::{ACCOUNT}:instance-profile/orders-dev-host"
        f"; arn:aws:iam::{ACCOUNT}:role/team/orders-dev-host has a path; STS reports the role without it"
        f"; arn:aws:iam::{ACCOUNT}:instance-profile/orders-dev-host is an instance-profile ARN; "
        "Atlas needs the role ARN",
    ),
]


@pytest.mark.parametrize(("case", "f", "message"), ATLAS_USER_MISSING, ids=[c[0] for c in ATLAS_USER_MISSING])
def test_a_missing_atlas_user_lists_the_accounts_users_and_look_alikes(case: str, f: TargetFacts, message: str) -> None:
    [finding] = diagnose(f)
    assert (finding.code, finding.severity, finding.message) == ("atlas_user_missing", "error", message), case
    assert finding.fix == FIX["atlas_user_missing"]


DNS_ERROR = "cannot resolve pl-0-us-east-1.abcde.mongodb.net: [Errno -2]"
DNS_OFF = "privatelink_dns_off"


def _dns(p: ProbeResult | None = None, **kw: Any) -> TargetFacts:
    return facts(p or _said(probe("dns", "dns_failed"), DNS_ERROR), **(PRIVATE | kw))


PRIVATE_FINDINGS: list[tuple[str, TargetFacts, list[tuple[str, str]]]] = [
    (
        "dns-both-attributes-off",
        _dns(vpc_dns=VpcDns("vpc-0abc", False, False)),
        [
            (
                DNS_OFF,
                "the host's VPC vpc-0abc has enableDnsSupport and enableDnsHostnames off, so the private-endpoint "
                f"host names do not resolve there: {DNS_ERROR}",
            )
        ],
    ),
    (
        "dns-hostnames-off",
        _dns(vpc_dns=VpcDns("vpc-0abc", True, False)),
        [
            (
                DNS_OFF,
                "the host's VPC vpc-0abc has enableDnsHostnames off, so the private-endpoint host names do not "
                f"resolve there: {DNS_ERROR}",
            )
        ],
    ),
    (
        "dns-off-without-the-resolvers-words",
        _dns(_bare(probe("dns", "dns_srv_failed")), vpc_dns=VpcDns("vpc-0abc", False, True)),
        [
            (
                DNS_OFF,
                "the host's VPC vpc-0abc has enableDnsSupport off, so the private-endpoint host names do not "
                "resolve there: the private-endpoint host name did not resolve",
            )
        ],
    ),
    (
        "dns-both-on-is-the-lookup-itself",
        _dns(vpc_dns=VpcDns("vpc-0abc", True, True)),
        [("dns_failed", f"DNS lookup failed: {DNS_ERROR}")],
    ),
    (
        "dns-attributes-not-read",
        _dns(),
        [(DNS_OFF, f"the private-endpoint host name does not resolve on the host: {DNS_ERROR}")],
    ),
    (
        "dns-attributes-unreadable",
        _dns(vpc_dns_error="AccessDenied: ec2:DescribeVpcAttribute"),
        [
            (
                DNS_OFF,
                "the private-endpoint host name does not resolve on the host (its VPC's DNS attributes could not be "
                f"read: AccessDenied: ec2:DescribeVpcAttribute): {DNS_ERROR}",
            )
        ],
    ),
    (
        "dns-from-here-is-not-the-hosts-vpc",  # verify --from-here: no host VPC to blame
        _dns(via="assume-role", vpc_dns=VpcDns("vpc-0abc", False, False)),
        [("dns_failed", f"DNS lookup failed: {DNS_ERROR}")],
    ),
    (
        "no-private-uri-names-the-endpoint-and-cluster",
        facts(None, **UNPROBED, **PRIVATE, not_probed=NO_PRIVATE_URI),
        [
            (
                "private_uri_missing",
                "the stack has no private-endpoint connection string (mongodb_uri is null): when Terraform read "
                f"cluster Cluster0, Atlas listed none through {VPCE}, so there was nothing to log in with",
            )
        ],
    ),
    (
        "no-private-uri-nothing-known",
        facts(
            None,
            **UNPROBED,
            network_mode="private",
            privatelink_endpoint_id=None,
            cluster_name=None,
            not_probed=NO_PRIVATE_URI,
        ),
        [
            (
                "private_uri_missing",
                "the stack has no private-endpoint connection string (mongodb_uri is null): when Terraform read "
                "cluster ?, Atlas listed none through the stack's interface endpoint, so there was nothing to log "
                "in with",
            )
        ],
    ),
    (
        "m0-named",
        facts(None, **UNPROBED, **PRIVATE, not_probed=NO_PRIVATE_URI, privatelink=_tier(ClusterTier("M0", "TENANT"))),
        [
            (
                "privatelink_unsupported_tier",
                "cluster Cluster0 is M0 (providerName TENANT): Atlas gives M0 and Flex clusters no private "
                "endpoints, so no private-endpoint connection string leads to it",
            )
        ],
    ),
    (
        "flex-unnamed",
        facts(
            None,
            **UNPROBED,
            **(PRIVATE | {"cluster_name": None}),
            not_probed=NO_PRIVATE_URI,
            privatelink=_tier(ClusterTier("FLEX", "FLEX")),
        ),
        [
            (
                "privatelink_unsupported_tier",
                "cluster ? is FLEX (providerName FLEX): Atlas gives M0 and Flex clusters no private endpoints, so "
                "no private-endpoint connection string leads to it",
            )
        ],
    ),
    (
        "private-endpoint-timeout",
        facts(probe("reach", "connect_timeout"), **PRIVATE),
        [("private_endpoint_unreachable", "connecting to the private endpoint timed out: connect_timeout happened")],
    ),
]


@pytest.mark.parametrize(("case", "f", "expected"), PRIVATE_FINDINGS, ids=[c[0] for c in PRIVATE_FINDINGS])
def test_each_private_path_finding_says_what_failed_where(
    case: str, f: TargetFacts, expected: list[tuple[str, str]]
) -> None:
    findings = diagnose(f)
    assert [(x.code, x.message) for x in findings] == expected, case
    assert [x.fix for x in findings] == [FIX[code] for code, _ in expected]


HOST_FINDINGS: list[tuple[str, TargetFacts, list[tuple[str, str, str]]]] = [
    (
        "pymongo-missing-with-the-import-error",
        facts(_said(probe("driver", "pymongo_missing"), "No module named 'pymongo'")),
        [("pymongo_missing", "error", "pymongo is missing: No module named 'pymongo'")],
    ),
    (
        "pymongo-missing-without-words",
        facts(_bare(probe("driver", "pymongo_missing"))),
        [("pymongo_missing", "error", "pymongo is missing")],
    ),
    (
        "private-endpoint-timeout-without-words",
        facts(_bare(probe("reach", "connect_timeout")), **PRIVATE),
        [("private_endpoint_unreachable", "error", "connecting to the private endpoint timed out")],
    ),
    (
        "sts-rejects-and-the-login-fails",
        facts(probe("auth", "auth_failed", code=18, identity_kind="credentials_rejected")),
        [("credentials_rejected", "error", "STS rejected the host's credentials: credentials_rejected happened")],
    ),
    (
        "sts-unreachable-the-login-worked",
        facts(probe(identity_kind="sts_error")),
        [
            (
                "sts_unreachable",
                "warning",
                "the host could not call sts:GetCallerIdentity, so verify cannot show its identity (the login worked "
                "anyway): sts_error happened",
            )
        ],
    ),
    (
        "sts-unreachable-the-login-failed",
        facts(probe("reach", "connect_timeout", identity_kind="sts_error")),
        [
            (
                "sts_unreachable",
                "warning",
                "the host could not call sts:GetCallerIdentity, so verify cannot show its identity (MONGODB-AWS "
                "itself needs no STS call from the host): sts_error happened",
            ),
            ("host_not_on_access_list", "error", "connecting timed out: connect_timeout happened"),
        ],
    ),
]


@pytest.mark.parametrize(("case", "f", "expected"), HOST_FINDINGS, ids=[c[0] for c in HOST_FINDINGS])
def test_each_host_finding_quotes_the_probes_words(
    case: str, f: TargetFacts, expected: list[tuple[str, str, str]]
) -> None:
    findings = diagnose(f)
    assert [(x.code, x.severity, x.message) for x in findings] == expected, case
    assert [x.fix for x in findings] == [FIX[code] for code, _, _ in expected]


# RULES builds its guarded checks once, at import; these call the guards as RULES does, on both sides of each guard.
def test_a_public_only_check_is_silent_in_private_mode_and_sees_the_facts_otherwise() -> None:
    seen: list[TargetFacts] = []

    def check(f: TargetFacts) -> str:
        seen.append(f)
        return "public finding"

    public, private = facts(probe()), facts(probe(), **PRIVATE)
    assert (_public(check)(public), _public(check)(private), seen) == ("public finding", None, [public])


def test_a_dns_check_gives_way_to_privatelink_dns_off_and_sees_the_facts_otherwise() -> None:
    seen: list[TargetFacts] = []

    def check(f: TargetFacts) -> str:
        seen.append(f)
        return "dns finding"

    off = _dns(vpc_dns=VpcDns("vpc-0abc", False, True))
    on = _dns(vpc_dns=VpcDns("vpc-0abc", True, True))
    assert (_unless_dns_off(check)(off), _unless_dns_off(check)(on), seen) == (None, "dns finding", [on])
