"""Diagnosis rules: each cause from its evidence to its finding (pure, table-driven)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from atlas_iam_tf.diagnose import RULES, diagnose, troubleshooting_markdown
from atlas_iam_tf.verify.atlas import AtlasUser, AtlasView
from atlas_iam_tf.verify.facts import NO_PRIVATE_URI, TargetFacts
from atlas_iam_tf.verify.privatelink import ClusterTier, EndpointService, InterfaceEndpoint, PrivateLinkView
from atlas_iam_tf.verify.report import report_for
from atlas_iam_tf.verify.result import ProbeResult, parse_probe_output
from atlas_iam_tf.verify.vpc import VpcDns

ROLE = "arn:aws:iam::123456789012:role/orders-dev-host"
OTHER = "arn:aws:iam::123456789012:role/someone-else"
STEPS = ["driver", "credentials", "identity", "dns", "reach", "auth", "whoami"]


def probe(
    fail: str | None = None,
    kind: str = "",
    identity: str = ROLE,
    code: int | None = None,
    source: str = "iam-role",
    identity_kind: str | None = None,
    bootstrap: str | None = None,
    **detail: Any,
) -> ProbeResult:
    """A probe result shaped exactly like the probe prints, failing at gating step ``fail``.

    ``identity_kind`` makes the (advisory) identity step fail with that kind, and the probe goes on, as it does;
    ``bootstrap`` adds the bootstrap step: ``ready``, or the kind it failed with.
    """
    steps: list[dict[str, Any]] = []
    if bootstrap == "ready":
        steps.append({"name": "bootstrap", "ok": True, "ms": 0.1, "detail": {"state": "ready", "waited_s": 1}})
    elif bootstrap is not None:
        error = {"kind": bootstrap, "message": f"{bootstrap} happened", "code": None}
        steps.append({"name": "bootstrap", "ok": False, "ms": 0.1, "detail": {}, "error": error})
    for name in STEPS:
        step_detail: dict[str, Any] = {}
        if name == "identity" and identity_kind:
            error = {"kind": identity_kind, "message": f"{identity_kind} happened", "code": None}
            steps.append({"name": name, "ok": False, "ms": 1.0, "detail": {}, "error": error})
            continue
        if name == "identity":
            step_detail = {
                "sts_arn": identity.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/") + "/i-1",
                "mapped_arn": identity,
            }
        if name == "credentials":
            step_detail = {"source": source}
        if name == "whoami":
            step_detail = {"user": identity, "db": "$external"}
        if name == fail:
            steps.append(
                {
                    "name": name,
                    "ok": False,
                    "ms": 1.0,
                    "detail": detail,
                    "error": {"kind": kind, "message": f"{kind} happened", "code": code},
                }
            )
            break
        steps.append({"name": name, "ok": True, "ms": 1.0, "detail": step_detail})
    return parse_probe_output(json.dumps({"probe": 1, "ok": fail is None, "host": "h", "steps": steps, "ms": 7.0}))


def facts(p: ProbeResult | None = None, **kw: Any) -> TargetFacts:
    base: dict[str, Any] = {
        "target": "i-0abc",
        "expected_user": ROLE,
        "db_usernames": (ROLE,),
        "ssm_ping": "Online",
        "command_status": "Success",
        "region": "us-east-1",
        "instance_found": True,
    }
    base.update(kw)
    return TargetFacts(probe=p, **base)


def codes(f: TargetFacts) -> list[str]:
    return [x.code for x in diagnose(f)]


_MISSING = AtlasView(
    expected=ROLE,
    user=None,
    change_status="APPLIED",
    same_account=(AtlasUser(ROLE.replace(":role/", ":role/team/"), "$external", "ROLE", ()),),
)

_VPCE = "vpce-0123456789abcdef0"
_PRIVATE: dict[str, Any] = {"network_mode": "private", "privatelink_endpoint_id": _VPCE}
_UNPROBED: dict[str, Any] = {"ssm_ping": None, "command_status": None, "not_probed": NO_PRIVATE_URI}
_REJECTED = PrivateLinkView(
    _VPCE,
    (EndpointService("65f0c0ffee0123456789abcd", "US_EAST_1", "AVAILABLE", None, (_VPCE,)),),
    (InterfaceEndpoint(_VPCE, "REJECTED", "Interface endpoint was not found in AWS."),),
)
# tests/verify/test_diagnose_private.py has the private rules' near misses (where each must not fire).
CASES: list[tuple[str, TargetFacts, list[str]]] = [
    (
        "privatelink-m0",
        facts(None, **_PRIVATE, **_UNPROBED, privatelink=PrivateLinkView(_VPCE, tier=ClusterTier("M0", "TENANT"))),
        ["privatelink_unsupported_tier"],
    ),
    (
        "privatelink-rejected",
        facts(probe("reach", "connect_timeout"), **_PRIVATE, privatelink=_REJECTED),
        ["privatelink_not_available"],
    ),
    ("private-uri-missing", facts(None, **_PRIVATE, **_UNPROBED), ["private_uri_missing"]),
    (
        "privatelink-dns-off",
        facts(probe("dns", "dns_srv_failed"), **_PRIVATE, vpc_dns=VpcDns("vpc-0abc", False, True)),
        ["privatelink_dns_off"],
    ),
    ("private-timeout", facts(probe("reach", "connect_timeout"), **_PRIVATE), ["private_endpoint_unreachable"]),
    ("pass", facts(probe()), []),
    # not probed, never waited for: only the Atlas finding (not ssm_not_online)
    ("atlas-user-missing", facts(None, ssm_ping=None, command_status=None, atlas=_MISSING), ["atlas_user_missing"]),
    ("atlas-user-pending-is-not-missing", facts(probe(), atlas=replace(_MISSING, change_status="PENDING")), []),
    ("atlas-unavailable", facts(probe(), atlas_error="HTTP 401"), ["atlas_unavailable"]),
    ("identity-mismatch", facts(probe("auth", "auth_failed", identity=OTHER, code=18)), ["identity_mismatch"]),
    ("user-missing", facts(probe("auth", "auth_failed", code=18, attempts=3)), ["user_not_found_or_not_propagated"]),
    (
        "role-path",
        facts(
            probe("auth", "auth_failed", code=18),
            expected_user="arn:aws:iam::123456789012:role/team/r",
            db_usernames=("arn:aws:iam::123456789012:role/team/r",),
        ),
        ["identity_mismatch", "role_arn_has_path"],
    ),
    (
        "instance-profile",
        facts(
            probe("auth", "auth_failed", code=18),
            expected_user="arn:aws:iam::123456789012:instance-profile/p",
            db_usernames=("arn:aws:iam::123456789012:instance-profile/p",),
        ),
        ["identity_mismatch", "instance_profile_arn"],
    ),
    (
        "scoped-elsewhere",
        facts(probe("auth", "auth_failed", code=18), user_scopes=("Cluster0",), cluster_name="Other"),
        ["user_scoped_to_other_cluster"],
    ),
    ("not-online", facts(None, ssm_ping="ConnectionLost", command_status=None), ["ssm_not_online"]),
    ("never-registered", facts(None, ssm_ping=None, command_status=None), ["ssm_not_online"]),
    ("wrong-region", facts(None, instance_found=False, ssm_ping=None, command_status=None), ["wrong_region"]),
    (
        "no-python",
        facts(
            None,
            command_status="Failed",
            stderr="bash: line 3: python3: command not found",
            probe_error="the probe printed no result",
        ),
        ["no_python"],
    ),
    (
        "no-result",
        facts(None, command_status="Failed", probe_error="the probe printed no result: Killed"),
        ["probe_no_result"],
    ),
    ("pymongo-missing", facts(probe("driver", "pymongo_missing")), ["pymongo_missing"]),
    ("aws-extra-missing", facts(probe("driver", "aws_extra_missing")), ["aws_extra_missing"]),
    ("no-credentials", facts(probe("credentials", "no_credentials")), ["no_credentials"]),
    ("shared-file", facts(probe(source="shared-credentials-file")), ["shared_credentials_file"]),
    ("sts-unreachable", facts(probe(identity_kind="sts_error")), ["sts_unreachable"]),
    (
        "sts-unreachable-login-fails",
        facts(probe("auth", "auth_failed", code=18, identity_kind="sts_error")),
        ["sts_unreachable", "user_not_found_or_not_propagated"],
    ),
    (
        "sts-rejects",
        facts(probe("auth", "auth_failed", code=18, identity_kind="credentials_rejected")),
        ["credentials_rejected"],
    ),
    ("sts-rejects-login-works", facts(probe(identity_kind="credentials_rejected")), ["sts_unreachable"]),
    (
        "bootstrap-failed",
        facts(probe("driver", "pymongo_missing", bootstrap="bootstrap_failed")),
        ["bootstrap_failed"],
    ),
    (
        "bootstrap-unfinished",
        facts(probe("driver", "pymongo_missing", bootstrap="bootstrap_unfinished")),
        ["bootstrap_unfinished"],
    ),
    ("bootstrap-done", facts(probe(bootstrap="ready")), []),
    ("bootstrap-done-pymongo-gone", facts(probe("driver", "pymongo_missing", bootstrap="ready")), ["pymongo_missing"]),
    ("srv", facts(probe("dns", "dns_srv_failed")), ["dns_srv_failed"]),
    ("dns", facts(probe("dns", "dns_failed")), ["dns_failed"]),
    ("access-list", facts(probe("reach", "connect_timeout")), ["host_not_on_access_list"]),
    ("refused", facts(probe("reach", "connect_failed")), ["connect_refused"]),
    ("tls", facts(probe("reach", "tls_failed")), ["tls_failed"]),
    ("selection", facts(probe("auth", "server_selection_timeout")), ["server_selection_timeout"]),
    (
        "session-token-user",
        facts(
            probe("auth", "auth_failed", identity="arn:aws:iam::123456789012:user/alice", code=18),
            via="session-token",
            expected_user="arn:aws:iam::123456789012:user/alice",
        ),
        ["iam_user_needs_user_type", "user_not_found_or_not_propagated"],
    ),
]


@pytest.mark.parametrize(("case", "f", "expected"), CASES, ids=[c[0] for c in CASES])
def test_rules(case: str, f: TargetFacts, expected: list[str]) -> None:
    assert codes(f) == expected, case


def test_sts_unreachable_is_a_warning_and_the_host_passes() -> None:
    report = report_for(facts(probe(identity_kind="sts_error")))
    assert [(f.code, f.severity) for f in report.findings] == [("sts_unreachable", "warning")]
    assert report.ok
    assert "the login worked anyway" in report.findings[0].message


def test_rejected_credentials_fail_the_host() -> None:
    report = report_for(facts(probe("auth", "auth_failed", code=18, identity_kind="credentials_rejected")))
    assert [(f.code, f.severity) for f in report.findings] == [("credentials_rejected", "error")]
    assert not report.ok


def test_bootstrap_findings_point_at_its_log() -> None:
    for kind in ("bootstrap_failed", "bootstrap_unfinished"):
        [finding] = diagnose(facts(probe("driver", "pymongo_missing", bootstrap=kind)))
        assert finding.code == kind
        assert "/var/log/atlasiam-user-data.log" in finding.fix
        assert f"{kind} happened" in finding.message
    failed = report_for(facts(probe(bootstrap="bootstrap_failed")))  # even if the login worked
    assert not failed.ok


def test_identity_mismatch_names_both_arns() -> None:
    [finding] = diagnose(facts(probe("auth", "auth_failed", identity=OTHER, code=18)))
    assert ROLE in finding.message and OTHER in finding.message and finding.fix


def test_every_rule_has_a_case_and_a_fix() -> None:
    from tests.verify.test_diagnose_workloads import CASES as WORKLOAD_CASES

    covered = {code for _, _, expected in [*CASES, *WORKLOAD_CASES] for code in expected}
    assert {r.code for r in RULES} <= covered
    assert all(r.fix and r.symptom for r in RULES)


def test_unknown_failure_still_yields_a_finding() -> None:
    assert codes(facts(probe("whoami", "internal"))) == ["probe_failed"]


def test_readme_troubleshooting_table_is_generated_from_the_rules() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert troubleshooting_markdown() in readme
