"""AssumeRoleWithWebIdentity's checks (pure): provider, audience, signature, expiry, Federated trust and conditions."""

from __future__ import annotations

import time
from typing import Any

from atlasiam_sandbox.aws import oidc, web_identity
from atlasiam_sandbox.aws.web_identity import OidcProvider

ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
HOST = ISSUER.removeprefix("https://")
PROVIDER = OidcProvider(f"arn:aws:iam::123456789012:oidc-provider/{HOST}", HOST, ("sts.amazonaws.com",))
SUB = "system:serviceaccount:apps:probe"
TRUST: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Federated": PROVIDER.arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {f"{HOST}:sub": SUB, f"{HOST}:aud": "sts.amazonaws.com"}},
        }
    ],
}


def _token(sub: str = SUB, aud: str = "sts.amazonaws.com", seconds: int = 600) -> str:
    return oidc.issuer_for(ISSUER).service_account_token(
        "apps", sub.rsplit(":", 1)[-1], [aud], seconds, pod="p", uid="u"
    )


def test_the_matching_service_account_is_admitted() -> None:
    assert web_identity.check(_token(), TRUST, [PROVIDER], "s") is None


def test_no_oidc_provider_for_the_issuer() -> None:
    refusal = web_identity.check(_token(), TRUST, [], "s")
    assert refusal == web_identity.Refusal(
        400, "InvalidIdentityToken", f"No OpenIDConnect provider found in your account for {ISSUER}"
    )


def test_an_audience_the_provider_does_not_list() -> None:
    refusal = web_identity.check(_token(aud="pods.eks.amazonaws.com"), TRUST, [PROVIDER], "s")
    assert refusal == web_identity.Refusal(400, "InvalidIdentityToken", "Incorrect token audience")


def test_a_forged_signature() -> None:
    header, payload, signature = _token().split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    refusal = web_identity.check(forged, TRUST, [PROVIDER], "s")
    assert refusal is not None
    assert refusal.code == "InvalidIdentityToken"


def test_an_expired_token() -> None:
    refusal = web_identity.check(_token(), TRUST, [PROVIDER], "s", now=time.time() + 3600)
    assert refusal is not None
    assert refusal.code == "ExpiredTokenException"


def test_another_subject_is_not_authorized() -> None:
    token = _token(sub="system:serviceaccount:apps:other")
    refusal = web_identity.check(token, TRUST, [PROVIDER], "s")
    assert refusal == web_identity.Refusal(
        403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"
    )


def test_an_aws_principal_trust_does_not_admit_a_web_identity() -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "sts:AssumeRoleWithWebIdentity"}
        ],
    }
    refusal = web_identity.check(_token(), trust, [PROVIDER], "s")
    assert refusal is not None
    assert refusal.code == "AccessDenied"


def test_a_role_that_does_not_exist() -> None:
    refusal = web_identity.check(_token(), None, [PROVIDER], "s")
    assert refusal is not None
    assert refusal.code == "AccessDenied"
