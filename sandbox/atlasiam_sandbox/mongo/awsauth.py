"""The server side of MONGODB-AWS: SASL payloads, SigV4 header checks, the STS replay and ARN → database user.

The conversation (pymongo-auth-aws ``auth.py`` is the client side)::

    saslStart    {r: 32-byte client nonce, p: 110 ('n', no channel binding)}
    ← server     {s: 64-byte server nonce that starts with r, h: STS host}
    saslContinue {a: Authorization header, d: X-Amz-Date, t: session token (temporary credentials only)}

The client signs ``POST / Action=GetCallerIdentity&Version=2011-06-15`` for host ``h`` with the server nonce in
``X-MongoDB-Server-Nonce``; it never talks to STS. The server rebuilds that request from what *it* knows (its nonce,
its host) plus the client's signature and sends it to STS: only a caller holding the secret key can produce a
signature STS accepts, and the nonce makes it single-use. STS's signature check is :func:`signature_checked`, which
every endpoint applies (moto's own check is off by default). Everything except :func:`http_sts_caller` is pure.
"""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

import bson

from atlasiam_sandbox.atlas_state import AtlasState, AwsIamType, DatabaseUser
from atlasiam_sandbox.aws.sigv4 import KeyLookup, SignatureRejected, SignedRequest, verify

log = logging.getLogger(__name__)

MECHANISM = "MONGODB-AWS"
EXTERNAL_DB = "$external"
STS_HOST = "sts.amazonaws.com"
STS_BODY = b"Action=GetCallerIdentity&Version=2011-06-15"
GS2_CB_FLAG_N = 110  # ord("n"): the client does not support channel binding
CLIENT_NONCE_SIZE = 32
SERVER_NONCE_SIZE = 64
MAX_CLOCK_SKEW_SECONDS = 15 * 60  # STS rejects older/newer signatures ("Signature expired"); moto does not check
_SIGNED_HEADERS = (
    "content-length",
    "content-type",
    "host",
    "x-amz-date",
    "x-mongodb-gs2-cb-flag",
    "x-mongodb-server-nonce",
)
_TOKEN_HEADER = "x-amz-security-token"
_AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<cred>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<sig>[0-9a-f]{64})$"
)
_ASSUMED_ROLE_RE = re.compile(r"^arn:(?P<part>aws[a-z-]*):sts::(?P<acct>\d{12}):assumed-role/(?P<name>[^/]+)/[^/]+$")
_IAM_USER_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:user/.+$")
_AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"

StsCaller = Callable[[dict[str, str], bytes], tuple[int, bytes]]
"""Sends the replayed request (headers, body) to STS and returns (HTTP status, body)."""


class AuthRejected(Exception):
    """Authentication fails; ``reason`` goes to the auth log, never to the client."""

    def __init__(self, reason: str, *, caller_arn: str | None = None, user: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.caller_arn = caller_arn
        self.user = user


@dataclass(frozen=True)
class AuthAttempt:
    """One authentication attempt as the endpoint saw it.

    Attributes:
        connection_id: The server-side connection id (``hello.connectionId``).
        caller_arn: The ARN STS returned for the signature, or None when STS was not reached or refused it.
        user: The database username the caller mapped to (a role or user ARN), or None when unmapped.
        ok: Whether the login succeeded.
        reason: ``"authenticated"`` or the precise reason for the failure (the client only sees code 18).
        access_key_id: The access key named in the signature's credential scope, when it parsed.
        at: ``time.time()`` of the attempt.
    """

    connection_id: int
    caller_arn: str | None
    user: str | None
    ok: bool
    reason: str
    access_key_id: str | None = None
    at: float = 0.0


@dataclass(frozen=True)
class Conversation:
    """The state between saslStart and saslContinue."""

    client_nonce: bytes
    server_nonce: bytes
    sts_host: str


@dataclass(frozen=True)
class ClientFinal:
    """The client's second payload."""

    authorization: str
    amz_date: str
    session_token: str | None


@dataclass(frozen=True)
class SigV4Header:
    """The parts of an ``Authorization: AWS4-HMAC-SHA256 …`` header."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def _decode_payload(payload: object) -> dict[str, Any]:
    if not isinstance(payload, bytes):
        raise AuthRejected("payload is not binary")
    try:
        return bson.decode(payload)
    except Exception as exc:  # bson raises several unrelated types on garbage
        raise AuthRejected(f"payload is not BSON: {exc}") from exc


def start_conversation(
    payload: object, *, sts_host: str = STS_HOST, random_bytes: Callable[[int], bytes] = os.urandom
) -> tuple[Conversation, bytes]:
    """Check the client-first payload and build the server-first payload.

    Returns:
        The conversation state and the BSON payload ``{s: server nonce, h: sts_host}``.

    Raises:
        AuthRejected: Malformed payload, wrong nonce size or a channel-binding flag other than 'n'.
    """
    doc = _decode_payload(payload)
    client_nonce = doc.get("r")
    if not isinstance(client_nonce, bytes) or len(client_nonce) != CLIENT_NONCE_SIZE:
        raise AuthRejected("client nonce missing or not 32 bytes")
    if doc.get("p") != GS2_CB_FLAG_N:
        raise AuthRejected(f"unsupported gs2 channel-binding flag {doc.get('p')!r}")
    server_nonce = client_nonce + random_bytes(SERVER_NONCE_SIZE - CLIENT_NONCE_SIZE)
    conversation = Conversation(client_nonce, server_nonce, sts_host)
    return conversation, bson.encode({"s": server_nonce, "h": sts_host})


def parse_client_final(payload: object) -> ClientFinal:
    """Decode the client-final payload ``{a, d, t?}``.

    Raises:
        AuthRejected: Malformed payload.
    """
    doc = _decode_payload(payload)
    authorization, amz_date, token = doc.get("a"), doc.get("d"), doc.get("t")
    if not isinstance(authorization, str) or not isinstance(amz_date, str):
        raise AuthRejected("client payload lacks a (Authorization) or d (X-Amz-Date)")
    if token is not None and not isinstance(token, str):
        raise AuthRejected("client payload t (session token) is not a string")
    return ClientFinal(authorization, amz_date, token or None)


def parse_authorization(value: str) -> SigV4Header:
    """Split a SigV4 ``Authorization`` header.

    Raises:
        AuthRejected: Not ``AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…``.
    """
    match = _AUTH_RE.match(value)
    if match is None:
        raise AuthRejected("malformed Authorization header")
    scope = match["cred"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise AuthRejected("malformed credential scope")
    return SigV4Header(scope[0], scope[1], scope[2], scope[3], tuple(match["signed"].split(";")), match["sig"])


def expected_signed_headers(has_token: bool) -> tuple[str, ...]:
    """The exact SignedHeaders list a MONGODB-AWS client must sign (sorted, as SigV4 requires)."""
    return tuple(sorted((*_SIGNED_HEADERS, _TOKEN_HEADER))) if has_token else _SIGNED_HEADERS


def region_for_host(sts_host: str) -> str:
    """The signing region a client derives from the STS host (pymongo-auth-aws ``_get_region``)."""
    parts = sts_host.split(".")
    return "us-east-1" if len(parts) == 1 or sts_host == STS_HOST else parts[1]


def check_client_final(conversation: Conversation, final: ClientFinal, now: float) -> SigV4Header:
    """Every check the server can make before asking STS.

    Raises:
        AuthRejected: Wrong signed headers, service, region or date scope, or a date outside the skew window.
    """
    header = parse_authorization(final.authorization)
    expected = expected_signed_headers(final.session_token is not None)
    if header.signed_headers != expected:
        raise AuthRejected(f"signed headers {';'.join(header.signed_headers)} != {';'.join(expected)}")
    if header.service != "sts":
        raise AuthRejected(f"credential scope service {header.service!r} is not sts")
    if header.region != region_for_host(conversation.sts_host):
        raise AuthRejected(f"credential scope region {header.region!r} does not match {conversation.sts_host}")
    try:
        signed_at = dt.datetime.strptime(final.amz_date, _AMZ_DATE_FORMAT).replace(tzinfo=dt.timezone.utc)
    except ValueError as exc:
        raise AuthRejected(f"malformed X-Amz-Date {final.amz_date!r}") from exc
    if header.date != final.amz_date[:8]:
        raise AuthRejected("credential scope date does not match X-Amz-Date")
    if abs(signed_at.timestamp() - now) > MAX_CLOCK_SKEW_SECONDS:
        raise AuthRejected(f"X-Amz-Date {final.amz_date} is outside the 15-minute window")
    return header


def sts_request_headers(conversation: Conversation, final: ClientFinal) -> dict[str, str]:
    """The headers of the replayed GetCallerIdentity request: what the client signed, rebuilt server-side."""
    headers = {
        "Host": conversation.sts_host,
        "Content-Type": "application/x-www-form-urlencoded",
        "Content-Length": str(len(STS_BODY)),
        "X-Amz-Date": final.amz_date,
        "X-MongoDB-Server-Nonce": base64.standard_b64encode(conversation.server_nonce).decode("ascii"),
        "X-MongoDB-GS2-CB-Flag": "n",
        "Authorization": final.authorization,
    }
    if final.session_token is not None:
        headers["X-Amz-Security-Token"] = final.session_token
    return headers


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_sts_response(status: int, body: bytes) -> str:
    """The caller ARN from a GetCallerIdentity response.

    Raises:
        AuthRejected: STS refused (``sts rejected signature: <Code>``) or the answer has no ARN.
    """
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        root = None
    if status != 200:
        code = next((el.text for el in root.iter() if _local(el.tag) == "Code"), None) if root is not None else None
        raise AuthRejected(f"sts rejected signature: {code or f'HTTP {status}'}")
    arn = next((el.text for el in root.iter() if _local(el.tag) == "Arn"), None) if root is not None else None
    if not arn:
        raise AuthRejected("sts answer has no Arn")
    return arn.strip()


def map_caller_arn(arn: str) -> tuple[str, AwsIamType]:
    """Map the ARN STS returned to the database username Atlas looks up, and the user type it requires.

    ``arn:aws:sts::ACCT:assumed-role/NAME/SESSION`` becomes ``arn:aws:iam::ACCT:role/NAME``: the session ARN
    does not carry the role's path, so a database user named after a role ARN *with* a path never matches.
    An IAM user ARN is used as is.

    Raises:
        AuthRejected: Any other identity (root, federated user, …).
    """
    match = _ASSUMED_ROLE_RE.match(arn)
    if match is not None:
        return f"arn:{match['part']}:iam::{match['acct']}:role/{match['name']}", "ROLE"
    if _IAM_USER_RE.match(arn):
        return arn, "USER"
    raise AuthRejected(f"unsupported caller identity {arn}", caller_arn=arn)


def _path_variants(atlas: AtlasState, project_id: str, role_arn: str) -> list[str]:
    prefix, _, name = role_arn.rpartition("/")
    return sorted(
        u.username
        for u in atlas.users_in(project_id)
        if u.username != role_arn and u.username.startswith(prefix + "/") and u.username.endswith("/" + name)
    )


def authorize(
    atlas: AtlasState, project_id: str, cluster_name: str, username: str, iam_type: AwsIamType, now: float
) -> DatabaseUser:
    """The database user ``username`` may log in to ``cluster_name`` as an AWS IAM identity of ``iam_type``.

    Raises:
        AuthRejected: With the precise reason (absent, not yet propagated, wrong type, auth database, scope).
    """
    user = atlas.find_user(project_id, username, now)
    if user is None:
        if atlas.find_user(project_id, username, float("inf")) is not None:
            raise AuthRejected("not yet propagated", user=username)
        reason = "user not found"
        variants = _path_variants(atlas, project_id, username) if iam_type == "ROLE" else []
        if variants:
            reason += f" (database user {', '.join(variants)} has a role path, which STS never reports)"
        raise AuthRejected(reason, user=username)
    if user.aws_iam_type != iam_type:
        raise AuthRejected(f"wrong aws_iam_type {user.aws_iam_type} (caller is an IAM {iam_type})", user=username)
    if user.auth_database_name != EXTERNAL_DB:
        raise AuthRejected(f"wrong auth_database_name {user.auth_database_name}", user=username)
    if user.scopes and cluster_name not in user.scopes:
        raise AuthRejected(f"scoped to other cluster ({', '.join(user.scopes)})", user=username)
    return user


def signature_checked(sts: StsCaller, keys: KeyLookup, clock: Callable[[], float] = time.time) -> StsCaller:
    """``sts`` behind the signature check STS makes before it answers GetCallerIdentity.

    A replay whose signature, key, session token or date STS would refuse gets STS's error document (e.g.
    ``SignatureDoesNotMatch`` for a wrong secret, Host or nonce; ``InvalidClientTokenId`` for an unknown key or a
    wrong token; ``ExpiredToken``) and never reaches ``sts``. Needed because moto, which answers in the sandbox,
    checks nothing unless switched on process-wide, and then takes the identity from the access key id alone.
    The scope's region is checked against the STS host by :func:`check_client_final`.
    """

    def call(headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        try:
            verify(SignedRequest.of("POST", "/", headers.items(), body), keys, service="sts", region=None, now=clock())
        except SignatureRejected as err:
            return err.status, err.xml()
        return sts(headers, body)

    return call


def http_sts_caller(endpoint: str, timeout: float = 5.0) -> StsCaller:
    """An :data:`StsCaller` that POSTs to ``endpoint`` (``http[s]://host:port``) with http.client.

    The request keeps the ``Host`` header the client signed (e.g. ``sts.amazonaws.com``) although it goes to
    ``endpoint``: moto 5.2 routes on that Host (→ sts) and answers GetCallerIdentity for the key named in the
    credential scope. It checks no signature by default, so endpoints wrap this in :func:`signature_checked`.
    """
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"sts_endpoint must be http(s)://host[:port], got {endpoint!r}")
    host, port = parts.hostname, parts.port
    https = parts.scheme == "https"

    def call(headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        conn_cls = http.client.HTTPSConnection if https else http.client.HTTPConnection
        conn = conn_cls(host, port, timeout=timeout)
        try:
            conn.request("POST", "/", body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read(1 << 20)
        finally:
            conn.close()

    return call


class AwsIamAuthenticator:
    """Runs MONGODB-AWS conversations against one cluster of the emulated Atlas, and keeps the auth log."""

    def __init__(
        self,
        atlas: AtlasState,
        *,
        project_id: str,
        cluster_name: str,
        sts: StsCaller,
        clock: Callable[[], float] = time.time,
        sts_host: str = STS_HOST,
    ) -> None:
        self._atlas = atlas
        self._project_id = project_id
        self._cluster_name = cluster_name
        self._sts = sts
        self._clock = clock
        self._sts_host = sts_host
        self._log: list[AuthAttempt] = []
        self._lock = threading.Lock()

    @property
    def attempts(self) -> list[AuthAttempt]:
        """A snapshot of every attempt so far, oldest first."""
        with self._lock:
            return list(self._log)

    def record(self, attempt: AuthAttempt) -> AuthAttempt:
        """Append to the log (and log at INFO)."""
        with self._lock:
            self._log.append(attempt)
        log.info(
            "MONGODB-AWS conn %d: %s (%s → %s)", attempt.connection_id, attempt.reason, attempt.caller_arn, attempt.user
        )
        return attempt

    def start(self, payload: object) -> tuple[Conversation, bytes]:
        """saslStart: see :func:`start_conversation`."""
        return start_conversation(payload, sts_host=self._sts_host)

    def finish(
        self, conversation: Conversation, payload: object, connection_id: int
    ) -> tuple[AuthAttempt, DatabaseUser | None]:
        """saslContinue: check, replay to STS, map and authorize; the attempt is recorded either way."""
        access_key: str | None = None
        caller: str | None = None
        try:
            final = parse_client_final(payload)
            access_key = check_client_final(conversation, final, self._clock()).access_key_id
            status, body = self._call_sts(sts_request_headers(conversation, final))
            caller = parse_sts_response(status, body)
            username, iam_type = map_caller_arn(caller)
            user = authorize(self._atlas, self._project_id, self._cluster_name, username, iam_type, self._clock())
        except AuthRejected as exc:
            attempt = AuthAttempt(connection_id, caller, exc.user, False, exc.reason, access_key, time.time())
            return self.record(attempt), None
        attempt = AuthAttempt(connection_id, caller, user.username, True, "authenticated", access_key, time.time())
        return self.record(attempt), user

    def _call_sts(self, headers: dict[str, str]) -> tuple[int, bytes]:
        try:
            return self._sts(headers, STS_BODY)
        except (OSError, http.client.HTTPException) as exc:
            raise AuthRejected(f"sts unreachable: {exc}") from exc
