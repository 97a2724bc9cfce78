"""Each emulated EKS cluster's OIDC issuer: an RSA key that signs service-account tokens, and their verification.

EKS gives every cluster an OpenID Connect issuer URL (``describe-cluster`` ``identity.oidc.issuer``) whose key signs
the projected service-account tokens pods get; STS fetches the issuer's public keys (its JWKS, through
``/.well-known/openid-configuration``) to verify a token passed to AssumeRoleWithWebIdentity ("Create an IAM OIDC
provider for your cluster", https://docs.aws.amazon.com/eks/latest/userguide/enable-iam-roles-for-service-accounts.html;
"Create an OpenID Connect (OIDC) identity provider in IAM",
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc.html).

Sandbox difference: the issuer host names (``oidc.eks.REGION.amazonaws.com``) cannot be served here, so STS finds an
issuer's public key in this process's registry (:data:`ISSUERS`) instead of over HTTPS. The tokens are real RS256
JWTs (RFC 7519 / RFC 7515); what is verified (signature, ``iss``, ``exp``, ``nbf``) is what STS verifies.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

#: Lifetime of the IRSA token the pod identity webhook projects (its default ``eks.amazonaws.com/token-expiration``
#: is 86400 s; https://github.com/aws/amazon-eks-pod-identity-webhook, README "Usage").
IRSA_TOKEN_SECONDS = 86400
#: Audience of an IRSA token (the webhook's default ``--token-audience``) and of a Pod Identity token
#: ("EKS Pod Identity ... the token's audience is pods.eks.amazonaws.com",
#: https://docs.aws.amazon.com/eks/latest/userguide/pod-id-how-it-works.html).
STS_AUDIENCE = "sts.amazonaws.com"
POD_IDENTITY_AUDIENCE = "pods.eks.amazonaws.com"


class TokenRejected(Exception):
    """A token that does not verify; ``code`` is the STS error code that says so."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Issuer:
    """One cluster's issuer: URL, key id and RSA key."""

    url: str
    key: rsa.RSAPrivateKey
    kid: str

    @classmethod
    def new(cls, url: str) -> Issuer:
        """A fresh 2048-bit key for ``url`` (the size Kubernetes' service-account signer uses)."""
        return cls(url, rsa.generate_private_key(public_exponent=65537, key_size=2048), secrets.token_hex(20))

    def sign(self, claims: Mapping[str, Any]) -> str:
        """An RS256 JWT of ``claims``."""
        header = {"alg": "RS256", "kid": self.kid}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(dict(claims)).encode())}"
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64(signature)}"

    def service_account_token(
        self, namespace: str, service_account: str, audiences: Sequence[str], seconds: int, *, pod: str, uid: str
    ) -> str:
        """A projected service-account token, with the claims Kubernetes puts in one (TokenRequest API)."""
        now = int(time.time())
        return self.sign(
            {
                "aud": list(audiences),
                "exp": now + seconds,
                "iat": now,
                "nbf": now,
                "iss": self.url,
                "sub": f"system:serviceaccount:{namespace}:{service_account}",
                "kubernetes.io": {
                    "namespace": namespace,
                    "pod": {"name": pod, "uid": uid},
                    "serviceaccount": {"name": service_account, "uid": uid},
                },
            }
        )


#: issuer URL -> issuer, for every cluster this process emulates (see the module docstring).
ISSUERS: dict[str, Issuer] = {}
_lock = threading.Lock()


def issuer_for(url: str) -> Issuer:
    """The issuer registered for ``url``, created on first use."""
    with _lock:
        found = ISSUERS.get(url)
        if found is None:
            found = ISSUERS[url] = Issuer.new(url)
        return found


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT without checking anything; raises TokenRejected when it is no JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenRejected("InvalidIdentityToken", "The ID Token provided is not a valid JWT.")
    try:
        claims = json.loads(_unb64(parts[1]))
    except ValueError as err:
        raise TokenRejected("InvalidIdentityToken", "The ID Token provided is not a valid JWT.") from err
    if not isinstance(claims, dict):
        raise TokenRejected("InvalidIdentityToken", "The ID Token provided is not a valid JWT.")
    return claims


def verify(token: str, now: float | None = None) -> dict[str, Any]:
    """The claims of a token one of :data:`ISSUERS` signed, checked as STS checks a web identity token.

    Raises:
        TokenRejected: ``InvalidIdentityToken`` for a malformed token, an unknown issuer or a bad signature,
            ``ExpiredTokenException`` when ``exp`` has passed (STS's codes for these,
            https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html, "Errors").
    """
    claims = unverified_claims(token)
    header_part, payload_part, signature_part = token.split(".")
    try:
        header = json.loads(_unb64(header_part))
        signature = _unb64(signature_part)
    except ValueError as err:
        raise TokenRejected("InvalidIdentityToken", "The ID Token provided is not a valid JWT.") from err
    issuer = ISSUERS.get(str(claims.get("iss")))
    if issuer is None or not isinstance(header, dict) or header.get("alg") != "RS256":
        raise TokenRejected("InvalidIdentityToken", "Couldn't retrieve verification key from your identity provider")
    try:
        issuer.key.public_key().verify(
            signature, f"{header_part}.{payload_part}".encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    except InvalidSignature as err:
        raise TokenRejected("InvalidIdentityToken", "The ID Token provided is not a valid JWT.") from err
    current = time.time() if now is None else now
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp <= current:
        raise TokenRejected("ExpiredTokenException", "Token expired: current date/time must be before the expiration")
    nbf = claims.get("nbf")
    if isinstance(nbf, int) and nbf > current + 300:
        raise TokenRejected("InvalidIdentityToken", "The ID Token provided is not yet valid.")
    return claims


def audiences(claims: Mapping[str, Any]) -> list[str]:
    """The ``aud`` claim as a list (RFC 7519 allows a string or an array)."""
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    return [str(a) for a in aud] if isinstance(aud, list) else []
