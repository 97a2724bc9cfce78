"""Check an AWS Signature Version 4 the way STS does: the sandbox's STS is never kinder than the real one.

moto checks signatures only after a process-wide switch (``/moto-api/reset-auth``), so by default any secret
passes and the identity is taken from the access key id alone. Whatever reaches the sandbox as *STS* — a host's
own calls and the GetCallerIdentity request Atlas replays for MONGODB-AWS — goes through :func:`verify` first,
always.

Written from the published algorithm, not from an SDK, so that a signing bug in the client cannot be mirrored here:
https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html (canonical request, string to sign,
signing key) and the error codes STS answers with:
https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html. Pure: no I/O, time passed in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import quote, unquote
from xml.sax.saxutils import escape

ALGORITHM = "AWS4-HMAC-SHA256"
#: Requests signed more than this far from the server's clock are refused ("Signature expired").
MAX_SKEW = dt.timedelta(minutes=15)
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<cred>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),\s*"
    r"Signature=(?P<sig>[0-9a-fA-F]+)\s*$"
)
_STS_XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/"
_SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)


@dataclass(frozen=True)
class SigningKey:
    """What STS knows about an access key: its secret and, for temporary credentials, their token and expiry.

    Attributes:
        access_key_id: The key id named in the signature's credential scope.
        secret_access_key: The secret the signature must have been made with.
        session_token: The token temporary credentials must send (``X-Amz-Security-Token``); None for an IAM
            user's long-term key, which must send none.
        expires_at: When temporary credentials expire (aware datetime); None for long-term keys.
        active: False for a deactivated IAM user key.
    """

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None
    expires_at: dt.datetime | None = None
    active: bool = True


KeyLookup = Callable[[str], SigningKey | None]
"""Finds the :class:`SigningKey` of an access key id (None: no such key)."""


class SignatureRejected(Exception):
    """STS refuses the request; ``code`` and ``status`` are what STS answers."""

    def __init__(self, code: str, message: str, status: int = 403) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status

    def xml(self) -> bytes:
        """The STS (query protocol) error document botocore parses into ``ClientError``."""
        return (
            f'<ErrorResponse xmlns="{_STS_XMLNS}"><Error><Type>Sender</Type><Code>{escape(self.code)}</Code>'
            f"<Message>{escape(self.message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
        ).encode()


@dataclass(frozen=True)
class SignedRequest:
    """An HTTP request as the server received it.

    Attributes:
        method: ``POST``, ``GET``, …
        target: The request target: path plus optional ``?query``, as sent.
        headers: Every header as received, in order (a name may repeat).
        body: The raw body.
    """

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @classmethod
    def of(cls, method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes) -> SignedRequest:
        """Build one from any (name, value) pairs, e.g. ``http.server``'s ``self.headers.items()``."""
        return cls(method.upper(), target, tuple((str(k), str(v)) for k, v in headers), body)

    def header(self, name: str) -> str | None:
        """All values of one header joined by ``,`` (None when absent), as SigV4 canonicalises them."""
        values = [v for k, v in self.headers if k.lower() == name]
        return ",".join(values) if values else None


@dataclass(frozen=True)
class _Authorization:
    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def _parse_authorization(value: str | None) -> _Authorization:
    if not value:
        raise SignatureRejected("MissingAuthenticationToken", "Request is missing Authentication Token")
    match = _AUTH.match(value.strip())
    if match is None:
        raise SignatureRejected("IncompleteSignature", f"Authorization header is not {ALGORITHM} form", 400)
    scope = match["cred"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise SignatureRejected(
            "IncompleteSignature", "Credential scope must be KEY/DATE/REGION/SERVICE/aws4_request", 400
        )
    signed = tuple(match["signed"].split(";"))
    if "host" not in signed or signed != tuple(sorted(signed)) or any(h != h.lower() for h in signed):
        raise SignatureRejected("IncompleteSignature", "SignedHeaders must be sorted, lowercase and include host", 400)
    return _Authorization(scope[0], scope[1], scope[2], scope[3], signed, match["sig"].lower())


def _canonical_query(query: str) -> str:
    pairs = []
    for item in query.split("&") if query else []:
        name, _, value = item.partition("=")
        pairs.append((quote(unquote(name), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _canonical_value(value: str) -> str:
    return " ".join(value.split())  # trim, and fold each run of whitespace into one space


def canonical_request(request: SignedRequest, signed_headers: Iterable[str]) -> str:
    """The canonical request: method, URI, query, the signed headers, their names, the payload hash."""
    path, _, query = request.target.partition("?")
    lines = [request.method, quote(path or "/", safe="/~"), _canonical_query(query)]
    names = list(signed_headers)
    lines += [f"{name}:{_canonical_value(request.header(name) or '')}" for name in names]
    lines += ["", ";".join(names), hashlib.sha256(request.body).hexdigest()]
    return "\n".join(lines)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def signature(secret: str, amz_date: str, scope: tuple[str, str, str], canonical: str) -> str:
    """The hex signature of ``canonical`` for ``scope`` = (date, region, service)."""
    date, region, service = scope
    string_to_sign = "\n".join(
        [ALGORITHM, amz_date, f"{date}/{region}/{service}/aws4_request", hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(_hmac(_hmac(_hmac(("AWS4" + secret).encode("utf-8"), date), region), service), "aws4_request")
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def _check_key(key: SigningKey | None, token: str | None, now: dt.datetime) -> SigningKey:
    invalid = SignatureRejected("InvalidClientTokenId", "The security token included in the request is invalid.")
    if key is None or not key.active:
        raise invalid
    # A long-term key must come without a token; temporary credentials only with their own.
    if (key.session_token is None) != (token is None) or (key.session_token is not None and token != key.session_token):
        raise invalid
    if key.expires_at is not None and key.expires_at <= now:
        raise SignatureRejected("ExpiredToken", "The security token included in the request is expired")
    return key


def _check_date(amz_date: str | None, auth: _Authorization, now: dt.datetime) -> None:
    if not amz_date:
        raise SignatureRejected("IncompleteSignature", "Authorization header requires an X-Amz-Date header.", 400)
    try:
        signed_at = dt.datetime.strptime(amz_date, _AMZ_DATE).replace(tzinfo=dt.timezone.utc)
    except ValueError:
        raise SignatureRejected(
            "IncompleteSignature", f"X-Amz-Date {amz_date!r} is not YYYYMMDDTHHMMSSZ", 400
        ) from None
    if auth.date != amz_date[:8]:
        raise SignatureRejected(
            "SignatureDoesNotMatch",
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{auth.date}' != '{amz_date[:8]}'",
        )
    if signed_at < now - MAX_SKEW:
        raise SignatureRejected(
            "SignatureDoesNotMatch", f"Signature expired: {amz_date} is now earlier than {now - MAX_SKEW:{_AMZ_DATE}}"
        )
    if signed_at > now + MAX_SKEW:
        raise SignatureRejected(
            "SignatureDoesNotMatch",
            f"Signature not yet current: {amz_date} is still later than {now + MAX_SKEW:{_AMZ_DATE}}",
        )


def verify(request: SignedRequest, keys: KeyLookup, *, service: str, region: str | None, now: float) -> SigningKey:
    """Check the request's signature, key, token and date as the AWS service would.

    Args:
        request: The request as received.
        keys: Finds the secret behind an access key id.
        service: The service the credential scope must name (``sts``).
        region: The region the scope must name (None: any; the caller checks it).
        now: The server's clock (``time.time()``).

    Returns:
        The key that signed the request.

    Raises:
        SignatureRejected: With the code STS answers (``SignatureDoesNotMatch``, ``InvalidClientTokenId``,
            ``ExpiredToken``, ``IncompleteSignature``, ``MissingAuthenticationToken``).
    """
    moment = dt.datetime.fromtimestamp(now, dt.timezone.utc)
    auth = _parse_authorization(request.header("authorization"))
    amz_date = request.header("x-amz-date")
    key = _check_key(keys(auth.access_key_id), request.header("x-amz-security-token"), moment)
    _check_date(amz_date, auth, moment)
    if auth.service != service:
        raise SignatureRejected(
            "SignatureDoesNotMatch", f"Credential should be scoped to correct service: '{service}'."
        )
    if region is not None and auth.region != region:
        raise SignatureRejected(
            "SignatureDoesNotMatch", f"Credential should be scoped to a valid region, not '{auth.region}'."
        )
    expected = signature(
        key.secret_access_key,
        amz_date or "",
        (auth.date, auth.region, auth.service),
        canonical_request(request, auth.signed_headers),
    )
    if not hmac.compare_digest(expected, auth.signature):
        raise SignatureRejected("SignatureDoesNotMatch", _SIGNATURE_MISMATCH)
    return key
