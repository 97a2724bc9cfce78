"""Diagnosis in private mode (Atlas PrivateLink): each rule fires on its evidence, and stays silent without it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from atlas_iam_tf.diagnose import RULES, diagnose
from atlas_iam_tf.verify.facts import NO_PRIVATE_URI, TargetFacts
from atlas_iam_tf.verify.privatelink import ClusterTier, EndpointService, InterfaceEndpoint, PrivateLinkView
from atlas_iam_tf.verify.report import VerifyReport, report_for
from atlas_iam_tf.verify.vpc import VpcDns
from tests.verify.test_diagnose import codes, facts, probe

VPCE = "vpce-0123456789abcdef0"
FIX = {r.code: r.fix for r in RULES}
SRV_FAILED = "SRV lookup of _mongodb._tcp.cluster0-pl-0.abcde.mongodb.net failed: The DNS query name does not exist"
M10 = ClusterTier("M10", "AWS")
M0 = ClusterTier("M0", "TENANT")


def view(status: str = "AVAILABLE", *, service: str = "AVAILABLE", tier: ClusterTier | None = M10) -> PrivateLinkView:
    svc = EndpointService("65f0c0ffee0123456789abcd", "US_EAST_1", service, None, (VPCE,))
    error = "Interface endpoint was not found in AWS." if status == "REJECTED" else None
    return PrivateLinkView(VPCE, (svc,), (InterfaceEndpoint(VPCE, status, error),), tier)


def private(p: Any = None, **kw: Any) -> TargetFacts:
    base: dict[str, Any] = {"network_mode": "private", "privatelink_endpoint_id": VPCE, "cluster_name": "Cluster0"}
    return facts(p, **(base | kw))


def dns_probe(kind: str = "dns_srv_failed") -> Any:
    p = probe("dns", kind)
    step = p.failed
    assert step is not None
    message = SRV_FAILED if kind == "dns_srv_failed" else "cannot resolve pl-0-us-east-1.abcde.mongodb.net: [Errno -2]"
    steps = tuple(replace(s, error_message=message) if s is step else s for s in p.steps)
    return replace(p, steps=steps)


NOT_PROBED = {"ssm_ping": None, "command_status": None, "not_probed": NO_PRIVATE_URI}

# (case, facts, the codes diagnose raises): each rule firing, and the near misses where it must not.
CASES: list[tuple[str, TargetFacts, list[str]]] = [
    # privatelink_unsupported_tier
    ("m0-no-string", private(None, **NOT_PROBED, privatelink=view(tier=M0)), ["privatelink_unsupported_tier"]),
    (
        "flex-probe-fails",
        private(probe("reach", "connect_timeout"), privatelink=view(tier=ClusterTier("FLEX", "FLEX"))),
        ["privatelink_unsupported_tier", "private_endpoint_unreachable"],
    ),
    ("m10-no-finding", private(probe(), privatelink=view(tier=M10)), []),
    (
        "m0-but-public-mode",
        facts(probe("reach", "connect_timeout"), privatelink=view(tier=M0)),
        ["host_not_on_access_list"],
    ),
    ("m0-but-logged-in", private(probe(), privatelink=view(tier=M0)), []),
    # privatelink_not_available
    (
        "rejected",
        private(probe("reach", "connect_timeout"), privatelink=view("REJECTED")),
        ["privatelink_not_available"],
    ),
    (
        "pending-no-string",
        private(None, **NOT_PROBED, privatelink=view("PENDING_ACCEPTANCE")),
        ["privatelink_not_available"],
    ),
    (
        "service-failed",
        private(probe("auth", "server_selection_timeout"), privatelink=view(service="FAILED")),
        ["privatelink_not_available", "server_selection_timeout"],
    ),
    ("available-login-works", private(probe(), privatelink=view()), []),
    ("rejected-but-logged-in", private(probe(), privatelink=view("REJECTED")), []),
    ("rejected-but-public-mode", facts(probe(), privatelink=view("REJECTED")), []),
    (
        "state-unknown",
        private(probe("reach", "connect_timeout"), privatelink=PrivateLinkView(VPCE)),
        ["private_endpoint_unreachable"],
    ),
    # both causes at once: Atlas names each
    (
        "m0-and-rejected",
        private(None, **NOT_PROBED, privatelink=view("REJECTED", tier=M0)),
        ["privatelink_unsupported_tier", "privatelink_not_available"],
    ),
    # private_uri_missing: the symptom, when Atlas named no cause
    ("no-string-no-atlas", private(None, **NOT_PROBED), ["private_uri_missing"]),
    ("no-string-atlas-fine", private(None, **NOT_PROBED, privatelink=view()), ["private_uri_missing"]),
    # privatelink_dns_off
    (
        "dns-off-read",
        private(dns_probe(), vpc_dns=VpcDns("vpc-0abc", dns_support=True, dns_hostnames=False)),
        ["privatelink_dns_off"],
    ),
    ("dns-unread", private(dns_probe("dns_failed"), vpc_dns_error="AccessDenied"), ["privatelink_dns_off"]),
    ("dns-on", private(dns_probe(), vpc_dns=VpcDns("vpc-0abc", True, True)), ["dns_srv_failed"]),
    ("dns-public-mode", facts(dns_probe(), vpc_dns=VpcDns("vpc-0abc", False, False)), ["dns_srv_failed"]),
    ("dns-from-here", private(dns_probe(), via="assume-role"), ["dns_srv_failed"]),
    (
        "reach-is-not-dns",
        private(probe("reach", "connect_failed"), vpc_dns=VpcDns("vpc-0abc", False, False)),
        ["connect_refused"],
    ),
    # private_endpoint_unreachable replaces the access-list advice in private mode
    ("private-timeout", private(probe("reach", "connect_timeout")), ["private_endpoint_unreachable"]),
    ("public-timeout", facts(probe("reach", "connect_timeout"), network_mode="public"), ["host_not_on_access_list"]),
    ("unknown-mode-timeout", facts(probe("reach", "connect_timeout")), ["host_not_on_access_list"]),
]


@pytest.mark.parametrize(("case", "f", "expected"), CASES, ids=[c[0] for c in CASES])
def test_private_rules(case: str, f: TargetFacts, expected: list[str]) -> None:
    assert codes(f) == expected, case


def test_every_private_rule_fires_somewhere_and_is_silent_somewhere() -> None:
    new = {"privatelink_unsupported_tier", "privatelink_not_available", "private_uri_missing", "privatelink_dns_off"}
    new.add("private_endpoint_unreachable")
    assert new <= {r.code for r in RULES}
    for code in new:
        assert any(code in expected for _, _, expected in CASES), code
        assert any(code not in expected for _, _, expected in CASES), code


def test_the_tier_finding_names_the_tier_and_both_ways_out() -> None:
    [finding] = diagnose(private(None, **NOT_PROBED, privatelink=view(tier=M0)))
    assert finding.message == (
        "cluster Cluster0 is M0 (providerName TENANT): Atlas gives M0 and Flex clusters no private endpoints, "
        "so no private-endpoint connection string leads to it"
    )
    assert "M10" in finding.fix and 'network_mode = "public"' in finding.fix


def test_the_not_available_finding_names_the_status_and_atlass_error_message() -> None:
    [finding] = diagnose(private(probe("reach", "connect_timeout"), privatelink=view("REJECTED")))
    assert finding.message == (
        f"Atlas says the private path is not AVAILABLE: Atlas's interface endpoint {VPCE} is REJECTED: "
        "Interface endpoint was not found in AWS."
    )
    assert "wait" in finding.fix and "security group" in finding.fix and "region" in finding.fix


def test_the_dns_finding_names_the_vpc_and_the_attribute_that_is_off() -> None:
    dns = VpcDns("vpc-0abc", dns_support=False, dns_hostnames=False)
    [finding] = diagnose(private(dns_probe(), vpc_dns=dns))
    assert finding.message == (
        "the host's VPC vpc-0abc has enableDnsSupport and enableDnsHostnames off, so the private-endpoint host "
        f"names do not resolve there: {SRV_FAILED}"
    )
    assert "enableDnsSupport" in finding.fix and "enableDnsHostnames" in finding.fix
    [unread] = diagnose(private(dns_probe(), vpc_dns_error="AccessDenied"))
    assert unread.message == (
        "the private-endpoint host name does not resolve on the host (its VPC's DNS attributes could not be "
        f"read: AccessDenied): {SRV_FAILED}"
    )


def test_a_stack_without_a_private_string_is_not_ssm_not_online() -> None:
    """verify did not send the probe, so the host never being seen Online is no finding."""
    assert "ssm_not_online" not in codes(private(None, **NOT_PROBED))
    [finding] = diagnose(private(None, **NOT_PROBED))
    assert VPCE in finding.message and "mongodb_uri is null" in finding.message
    assert not report_for(private(None, **NOT_PROBED)).ok


def test_the_private_timeout_fix_does_not_send_anyone_to_the_access_list() -> None:
    [finding] = diagnose(private(probe("reach", "connect_timeout")))
    assert finding.code == "private_endpoint_unreachable"
    assert "1024-65535" in finding.fix and "access list plays no part" in finding.fix


@pytest.mark.parametrize(
    ("ok", "path", "line"),
    [
        (
            True,
            f"the private endpoint {VPCE} (AWS PrivateLink)",
            f"Proven over the private endpoint {VPCE} (AWS PrivateLink)",
        ),
        (False, "the cluster's public address", "Not proven over the cluster's public address"),
        (True, "", ""),
    ],
)
def test_the_report_says_which_path_was_proven(ok: bool, path: str, line: str) -> None:
    host = report_for(private(probe() if ok else probe("reach", "connect_timeout"), privatelink=view()))
    report = VerifyReport(hosts=(host,), path=path)
    assert report.path_line == line
    doc = report.to_dict()
    assert doc["path"] == (path or None) and doc["path_proven"] == (ok if path else None)


def test_some_hosts_proven() -> None:
    good, bad = report_for(private(probe())), report_for(private(probe("reach", "connect_timeout")))
    report = VerifyReport(hosts=(good, bad), path="the cluster's public address")
    assert report.path_line == "Proven over the cluster's public address for 1 of 2 targets"
