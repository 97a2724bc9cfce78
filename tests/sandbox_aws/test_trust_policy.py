"""The trust-policy rules on their own: principals, actions, conditions, Deny, and what is never kinder."""

from __future__ import annotations

from typing import Any

import pytest

from atlasiam_sandbox.aws.trust_policy import Caller, allows, request_context

ACCT = "123456789012"
_ALICE_ARN = f"arn:aws:iam::{ACCT}:user/ops/alice"
ALICE = Caller(_ALICE_ARN, ACCT, frozenset({_ALICE_ARN}), _ALICE_ARN)
CI_SESSION = Caller(
    f"arn:aws:sts::{ACCT}:assumed-role/ci/run-1",
    ACCT,
    frozenset({f"arn:aws:iam::{ACCT}:role/ci", f"arn:aws:sts::{ACCT}:assumed-role/ci/run-1"}),
    f"arn:aws:iam::{ACCT}:role/ci",
)
ANONYMOUS = Caller(f"arn:aws:sts::{ACCT}:user/moto", ACCT)


def _verdict(statement: dict[str, Any], caller: Caller = ALICE, external_id: str | None = None) -> bool:
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    context = request_context(caller, external_id=external_id, session_name="run-1")
    return allows(policy, caller, "sts:AssumeRole", context)


def _allow(principal: Any = None, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal or {"AWS": ALICE.arn}, "Action": "sts:AssumeRole", **extra}


@pytest.mark.parametrize(
    ("principal", "caller", "expected"),
    [
        ({"AWS": ALICE.arn}, ALICE, True),
        ({"AWS": [f"arn:aws:iam::{ACCT}:user/alice"]}, ALICE, False),  # the path is part of the ARN
        ({"AWS": f"arn:aws:iam::{ACCT}:user/ops/*"}, ALICE, False),  # no partial wildcards in a principal
        ({"AWS": f"arn:aws:iam::{ACCT}:role/ci"}, CI_SESSION, True),
        ({"AWS": CI_SESSION.arn}, CI_SESSION, True),
        ({"AWS": f"arn:aws:iam::{ACCT}:role/ci"}, ALICE, False),
        ({"AWS": ACCT}, ANONYMOUS, True),
        ({"AWS": f"arn:aws:iam::{ACCT}:root"}, ANONYMOUS, True),
        ({"AWS": "210987654321"}, ALICE, False),
        ({"AWS": "*"}, ANONYMOUS, True),
        ("*", ANONYMOUS, True),
        ({"Service": "ec2.amazonaws.com"}, ALICE, False),
        ({"Federated": f"arn:aws:iam::{ACCT}:oidc-provider/x"}, ALICE, False),
    ],
)
def test_principals(principal: Any, caller: Caller, expected: bool) -> None:
    assert _verdict(_allow(principal), caller) is expected


@pytest.mark.parametrize(
    ("action", "expected"),
    [("sts:AssumeRole", True), ("sts:*", True), ("STS:assumerole", True), ("sts:AssumeRoleWith*", False)],
)
def test_actions(action: str, expected: bool) -> None:
    assert _verdict({**_allow(), "Action": [action]}) is expected


def test_not_action_and_not_principal() -> None:
    assert _verdict({**_allow(), "Action": None, "NotAction": "sts:TagSession"}) is True
    assert _verdict({**_allow(), "Action": None, "NotAction": ["sts:Tag*", "sts:AssumeRole"]}) is False
    not_bob = {"Effect": "Allow", "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCT}:user/bob"}, "Action": "sts:*"}
    assert _verdict(not_bob) is True
    assert _verdict({**not_bob, "NotPrincipal": {"AWS": ALICE.arn}}) is False


@pytest.mark.parametrize(
    ("condition", "external_id", "expected"),
    [
        ({"StringEquals": {"sts:ExternalId": "x-1"}}, "x-1", True),
        ({"StringEquals": {"sts:ExternalId": "x-1"}}, "X-1", False),
        ({"StringEquals": {"sts:ExternalId": "x-1"}}, None, False),
        ({"StringEquals": {"STS:EXTERNALID": ["a", "x-1"]}}, "x-1", True),  # keys ignore case; values are any-of
        ({"StringEqualsIgnoreCase": {"sts:ExternalId": "x-1"}}, "X-1", True),
        ({"StringLike": {"sts:ExternalId": "x-?"}}, "x-9", True),
        ({"StringLike": {"sts:ExternalId": "x-*"}}, "y-9", False),
        ({"StringNotEquals": {"sts:ExternalId": "x-1"}}, None, True),  # negated: true when the key is absent
        ({"StringNotEquals": {"sts:ExternalId": "x-1"}}, "x-1", False),
        ({"StringEqualsIfExists": {"sts:ExternalId": "x-1"}}, None, True),
        ({"StringEqualsIfExists": {"sts:ExternalId": "x-1"}}, "x-2", False),
        ({"Null": {"sts:ExternalId": "false"}}, None, False),
        ({"Null": {"sts:ExternalId": "true"}}, None, True),
        ({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/ops/*"}}, None, True),
        ({"StringEquals": {"aws:PrincipalAccount": ACCT}}, None, True),
        ({"StringEquals": {"aws:PrincipalAccount": ACCT, "sts:ExternalId": "x-1"}}, None, False),  # keys: AND
        ({"Bool": {"aws:MultiFactorAuthPresent": "true"}}, None, False),  # no MFA in the request
        ({"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}, None, False),  # unknown operator: no Allow
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": "x"}}, None, False),
    ],
)
def test_conditions(condition: dict[str, Any], external_id: str | None, expected: bool) -> None:
    assert _verdict(_allow(Condition=condition), external_id=external_id) is expected


def test_deny_wins_and_an_unknown_condition_makes_a_deny_apply() -> None:
    allow, deny = _allow({"AWS": ACCT}), {"Effect": "Deny", "Principal": {"AWS": ALICE.arn}, "Action": "sts:*"}
    policy = {"Statement": [allow, deny]}
    context = request_context(ALICE, external_id=None, session_name=None)
    assert allows({"Statement": [allow]}, ALICE, "sts:AssumeRole", context) is True
    assert allows(policy, ALICE, "sts:AssumeRole", context) is False
    unknown = {**deny, "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}}
    assert allows({"Statement": [allow, unknown]}, ALICE, "sts:AssumeRole", context) is False


@pytest.mark.parametrize(
    "policy", [{}, {"Statement": []}, {"Statement": "x"}, {"Statement": {**_allow(), "Effect": "allow"}}]
)
def test_nothing_allowed_is_denied(policy: dict[str, Any]) -> None:
    assert allows(policy, ALICE, "sts:AssumeRole", {}) is False


def test_a_single_statement_object_counts() -> None:
    assert allows({"Statement": _allow()}, ALICE, "sts:AssumeRole", {}) is True
