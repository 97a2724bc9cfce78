"""STS AssumeRoleWithWebIdentity, checked as STS checks it (moto checks nothing): pure rules over the token and IAM.

What STS does with an OIDC token, in order (AssumeRoleWithWebIdentity API reference, "Errors",
https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html; "Create an OpenID Connect
(OIDC) identity provider in IAM", https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc.html):

1. The token must be a JWT whose issuer has an IAM OIDC provider in the role's account, else 400
   ``InvalidIdentityToken`` "No OpenIDConnect provider found in your account for ISSUER".
2. Its audience must be one of the provider's client IDs, else ``InvalidIdentityToken`` "Incorrect token audience".
3. Its signature must verify with the issuer's keys and it must not have expired (:func:`oidc.verify`:
   ``InvalidIdentityToken`` / ``ExpiredTokenException``).
4. The role's trust policy must allow ``sts:AssumeRoleWithWebIdentity`` for the ``Federated`` principal (the
   provider's ARN), with the condition keys ``PROVIDER:sub``, ``PROVIDER:aud`` (PROVIDER = the issuer URL without
   ``https://``; "Available keys for IAM and AWS STS ... OIDC",
   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-wif)
   and ``sts:RoleSessionName``; else 403 ``AccessDenied`` "Not authorized to perform
   sts:AssumeRoleWithWebIdentity" (also for a role that does not exist).

This is how IRSA pods get credentials ("IAM roles for service accounts",
https://docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts.html).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from atlasiam_sandbox.aws import oidc, trust_policy

ACTION = "sts:AssumeRoleWithWebIdentity"
NOT_AUTHORIZED = "Not authorized to perform sts:AssumeRoleWithWebIdentity"


@dataclass(frozen=True)
class OidcProvider:
    """An IAM OIDC identity provider: its ARN, URL (no scheme) and client IDs (audiences)."""

    arn: str
    url: str
    client_ids: tuple[str, ...]


@dataclass(frozen=True)
class Refusal:
    """STS's answer when it refuses: HTTP status, error code, message."""

    status: int
    code: str
    message: str


def check(
    token: str,
    trust: Mapping[str, Any] | None,
    providers: Sequence[OidcProvider],
    session_name: str | None,
    now: float | None = None,
) -> Refusal | None:
    """None when STS would hand out the role's credentials for ``token``, else the refusal.

    Args:
        token: The web identity token.
        trust: The role's trust policy, None when the role does not exist.
        providers: The IAM OIDC providers of the role's account (the provider must be in it).
        session_name: RoleSessionName.
        now: The clock (seconds since the epoch).
    """
    try:
        claims = oidc.unverified_claims(token)
    except oidc.TokenRejected as err:
        return Refusal(400, err.code, err.message)
    issuer = str(claims.get("iss") or "")
    url = issuer.removeprefix("https://")
    provider = next((p for p in providers if p.url == url), None)
    if provider is None:
        return Refusal(400, "InvalidIdentityToken", f"No OpenIDConnect provider found in your account for {issuer}")
    audience = next((a for a in oidc.audiences(claims) if a in provider.client_ids), None)
    if audience is None:
        return Refusal(400, "InvalidIdentityToken", "Incorrect token audience")
    try:
        claims = oidc.verify(token, now)
    except oidc.TokenRejected as err:
        return Refusal(400, err.code, err.message)
    caller = trust_policy.Caller(arn=str(claims.get("sub")), account="", federated=provider.arn)
    context = {f"{url}:sub".lower(): str(claims.get("sub")), f"{url}:aud".lower(): audience}
    if session_name is not None:
        context["sts:rolesessionname"] = session_name
    if trust is None or not trust_policy.allows(trust, caller, ACTION, context):
        return Refusal(403, "AccessDenied", NOT_AUTHORIZED)
    return None
