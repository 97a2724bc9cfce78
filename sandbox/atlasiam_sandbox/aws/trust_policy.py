"""Role trust policies, evaluated the way IAM evaluates them for ``sts:AssumeRole``: pure rules, no moto.

moto's own check (only with its auth switch on) crashes on a ``Service`` principal, treats a statement
whose principal does not match as an explicit deny, and never matches the account forms, so the sandbox
evaluates trust policies itself, on every AssumeRole (``moto_patches``). What AWS documents, and this
module follows:

- A role trust policy is the role's resource-based policy; its ``Principal`` says who may assume the role.
  An explicit ``Deny`` that applies wins; else an ``Allow`` that applies allows; else the request is
  implicitly denied. Role trust policies are an exception to "an identity policy alone is enough": the
  trust policy must admit the caller itself
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
- ``{"AWS": ...}`` names an account (``arn:aws:iam::ACCT:root`` or the bare 12-digit id: "The account ARN
  and the shortened account ID behave the same way", and neither means only the root user), an IAM user
  or role by ARN, or a role session (``arn:aws:sts::ACCT:assumed-role/ROLE/SESSION``); ``"*"`` is everyone.
  A wildcard cannot match part of a principal ARN. A role's sessions match the role's ARN
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html).
- A condition key missing from the request makes its condition false, except for the negated operators
  (true) and ``...IfExists`` / ``Null``, which test for presence
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).
  ``sts:ExternalId`` is present only when the caller passes ExternalId
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_third-party.html).

Never kinder than AWS: an operator or qualifier this module does not know (numeric, date, IP,
``ForAnyValue:``...) makes its condition false, so such a statement never allows and always "denies" —
a Deny with an unknown condition is taken as applying.

Not modelled (README, sandbox fidelity): for a trust policy that names only the *account*, AWS also
requires the caller's own IAM policy to allow ``sts:AssumeRole`` on the role; the sandbox checks identity
policies only with moto's auth switch on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_ACCOUNT_ROOT_RE = re.compile(r"^arn:aws[a-z-]*:iam::([0-9]{12}):root$")
_ACCOUNT_ID_RE = re.compile(r"^[0-9]{12}$")


@dataclass(frozen=True)
class Caller:
    """Who signed the request, as a trust policy's ``Principal`` can name them.

    Attributes:
        arn: The ARN AWS names the caller by in errors (the user, or the role session).
        account: The caller's 12-digit account id.
        principal_arns: Every ARN that names exactly this caller in a ``Principal`` (empty for an identity
            that is no IAM user or role: it matches only the account forms and ``*``).
        principal_arn: ``aws:PrincipalArn``: the user, or for a role session the role.
        service: For an AWS service acting for itself (EKS Auth for a Pod Identity pod): the service principal
            (``pods.eks.amazonaws.com``) a ``{"Service": ...}`` entry must name.
        federated: For AssumeRoleWithWebIdentity: the IAM OIDC provider's ARN, which a ``{"Federated": ...}``
            entry must name ("Creating a role for web identity or OpenID Connect Federation",
            https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html).
    """

    arn: str
    account: str
    principal_arns: frozenset[str] = frozenset()
    principal_arn: str | None = None
    #: A service principal (``ecs-tasks.amazonaws.com``) when an AWS service assumes the role; then only a
    #: ``Service`` entry naming it, or ``"Principal": "*"``, names the caller.
    service: str | None = None
    #: A web identity provider (an IAM OIDC provider ARN) for AssumeRoleWithWebIdentity; then only a
    #: ``Federated`` entry naming it names the caller.
    federated: str | None = None


def service_caller(service: str) -> Caller:
    """An AWS service assuming a role on a customer's behalf (Lambda, ECS tasks, EKS Pod Identity, ...)."""
    return Caller(service, "", service=service)


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _wildcard(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    """``*`` and ``?`` as IAM's Like operators and Action elements use them; everything else literal."""
    body = "".join({"*": ".*", "?": "."}.get(ch, re.escape(ch)) for ch in pattern)
    return re.compile(rf"^{body}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _action_matches(statement: Mapping[str, Any], action: str) -> bool:
    """``Action`` lists the action, or ``NotAction`` does not (action names are case-insensitive)."""
    if "NotAction" in statement:
        return not any(_wildcard(a, ignore_case=True).match(action) for a in _listed(statement["NotAction"]))
    return any(_wildcard(a, ignore_case=True).match(action) for a in _listed(statement.get("Action")))


def _names(value: str, caller: Caller) -> bool:
    """One ``AWS`` principal value: everyone, the caller's account (either form), or the caller itself."""
    if value == "*":
        return True
    if _ACCOUNT_ID_RE.fullmatch(value):
        return value == caller.account
    root = _ACCOUNT_ROOT_RE.fullmatch(value)
    if root:
        return root[1] == caller.account
    return value in caller.principal_arns


def _principal_matches(principal: Any, caller: Caller) -> bool:
    """A ``Principal`` element: ``"*"``, or a map whose ``AWS`` (``Service``, ``Federated``) entry names the caller.

    A service is named by its ``Service`` entry, a web identity by its ``Federated`` entry, exactly ("AWS service
    principals", "OpenID Connect federated principals",
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html).
    """
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    if caller.service is not None:
        return caller.service in _listed(principal.get("Service"))
    if caller.federated is not None:
        return caller.federated in _listed(principal.get("Federated"))
    return any(_names(value, caller) for value in _listed(principal.get("AWS")))


def _string_test(
    fold: bool, like: bool
) -> Callable[[str, list[str]], bool]:  # (context value, policy values) -> any matches
    def test(actual: str, wanted: list[str]) -> bool:
        if like:
            return any(_wildcard(w, ignore_case=fold).match(actual) for w in wanted)
        return any((actual.lower() == w.lower()) if fold else actual == w for w in wanted)

    return test


# Positive operators and how they compare a present key; "Not" forms negate them (and hold when it is absent).
_OPERATORS: dict[str, Callable[[str, list[str]], bool]] = {
    "StringEquals": _string_test(fold=False, like=False),
    "StringEqualsIgnoreCase": _string_test(fold=True, like=False),
    "StringLike": _string_test(fold=False, like=True),
    "ArnEquals": _string_test(fold=False, like=True),  # ARN operators take wildcards in every part
    "ArnLike": _string_test(fold=False, like=True),
    "Bool": _string_test(fold=True, like=False),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _condition_holds(operator: str, key: str, wanted: list[str], context: Mapping[str, str]) -> bool | None:
    """One operator on one key (policy values are alternatives: any may match); None: an unknown operator."""
    actual = context.get(key.lower())
    if operator == "Null":  # "true": the key must be absent; "false": present
        return any((actual is None) == (w.lower() == "true") for w in wanted)
    base = operator.removesuffix("IfExists")
    if base not in _NEGATED and base not in _OPERATORS:
        return None
    if actual is None:
        return operator.endswith("IfExists") or base in _NEGATED
    if base in _NEGATED:
        return not _OPERATORS[_NEGATED[base]](actual, wanted)
    return _OPERATORS[base](actual, wanted)


def _conditions_hold(condition: Any, context: Mapping[str, str], unknown: bool) -> bool:
    """Every operator and every key in the block must hold; what we cannot evaluate counts as ``unknown``."""
    if condition is None:
        return True
    if not isinstance(condition, Mapping):
        return unknown
    for operator, keys in condition.items():
        if not isinstance(keys, Mapping):
            return unknown
        for key, wanted in keys.items():
            verdict = _condition_holds(str(operator), str(key), _listed(wanted), context)
            if not (unknown if verdict is None else verdict):
                return False
    return True


def _applies(statement: Mapping[str, Any], caller: Caller, action: str, context: Mapping[str, str]) -> bool:
    """Whether the statement concerns this request. What we cannot evaluate makes a Deny apply, an Allow not."""
    if "NotPrincipal" in statement:
        named = not _principal_matches(statement["NotPrincipal"], caller)
    else:
        named = _principal_matches(statement.get("Principal"), caller)
    deny = statement.get("Effect") == "Deny"
    return named and _action_matches(statement, action) and _conditions_hold(statement.get("Condition"), context, deny)


def _statements(policy: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    raw = policy.get("Statement")
    items = raw if isinstance(raw, list) else [raw]
    return [s for s in items if isinstance(s, Mapping)]


def request_context(caller: Caller, *, external_id: str | None, session_name: str | None) -> dict[str, str]:
    """The AssumeRole request's condition keys (lower-cased; absent ones are left out)."""
    context = {"aws:principalaccount": caller.account}
    if caller.principal_arn:
        context["aws:principalarn"] = caller.principal_arn
    if external_id is not None:
        context["sts:externalid"] = external_id
    if session_name is not None:
        context["sts:rolesessionname"] = session_name
    return context


def named_aws_principals(policy: Mapping[str, Any]) -> list[str]:
    """Every value of a ``Principal``/``NotPrincipal`` ``AWS`` entry in the policy, in order."""
    found: list[str] = []
    for statement in _statements(policy):
        for element in (statement.get("Principal"), statement.get("NotPrincipal")):
            if isinstance(element, Mapping):
                found.extend(_listed(element.get("AWS")))
    return found


def allows(policy: Mapping[str, Any], caller: Caller, action: str, context: Mapping[str, str]) -> bool:
    """Whether the trust ``policy`` lets ``caller`` perform ``action`` (e.g. ``sts:AssumeRole``) on its role."""
    allowed = False
    for statement in _statements(policy):
        if not _applies(statement, caller, action, context):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def identity_allows(
    policies: Iterable[Mapping[str, Any]], action: str, resource: str, context: Mapping[str, str]
) -> bool:
    """Whether identity-based ``policies`` (a role's managed and inline policies) allow ``action`` on ``resource``.

    An explicit Deny that applies wins, else an Allow that applies allows, else the implicit deny
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html). Permissions
    boundaries and SCPs are not modelled. What this module cannot evaluate makes a Deny apply and an Allow not.
    """
    allowed = False
    for policy in policies:
        for statement in _statements(policy):
            if "Principal" in statement or "NotPrincipal" in statement:
                continue  # not an identity-based statement: IAM refuses such a policy when it is saved
            deny = statement.get("Effect") == "Deny"
            if not (
                _action_matches(statement, action)
                and _resource_matches(statement, resource)
                and _conditions_hold(statement.get("Condition"), context, deny)
            ):
                continue
            if deny:
                return False
            allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def _resource_matches(statement: Mapping[str, Any], resource: str) -> bool:
    """``Resource`` lists the ARN (wildcards as in IAM), or ``NotResource`` does not; none named matches all."""
    if "NotResource" in statement:
        return not any(_wildcard(r).match(resource) for r in _listed(statement["NotResource"]))
    if "Resource" not in statement:
        return True  # a role trust policy names no resource; resource policies elsewhere always do
    return any(_wildcard(r).match(resource) for r in _listed(statement["Resource"]))


def resource_decision(
    policy: Mapping[str, Any], caller: Caller, action: str, resource: str, context: Mapping[str, str]
) -> str | None:
    """A resource-based policy (a bucket policy, a VPC endpoint policy) on one request.

    ``"Deny"`` when an explicit Deny applies, else ``"Allow"`` when an Allow applies, else None (none applies).

    Condition keys in ``context`` are lower-cased, as in :func:`request_context`; what this module cannot
    evaluate makes a Deny apply and an Allow not.
    """
    decision: str | None = None
    for statement in _statements(policy):
        if not (_applies(statement, caller, action, context) and _resource_matches(statement, resource)):
            continue
        if statement.get("Effect") == "Deny":
            return "Deny"
        if statement.get("Effect") == "Allow":
            decision = "Allow"
    return decision
