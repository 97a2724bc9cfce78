"""What a user reads in a finding: the message with its evidence, the severity, the host, the fix.

tests/verify/test_diagnose.py checks which rules fire; these check what each finding says, and the
edges of each rule's condition that mutation testing (``make mutation``) found unpinned.
"""

from __future__ import annotations

import pytest

from atlas_iam_tf.diagnose import RULES, diagnose, troubleshooting_markdown
from atlas_iam_tf.verify.facts import TargetFacts
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
