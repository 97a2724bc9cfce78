"""STS's signature check, written from the published algorithm, against requests botocore really signs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from atlasiam_sandbox.aws.sigv4 import SignatureRejected, SignedRequest, SigningKey, verify

BODY = b"Action=GetCallerIdentity&Version=2011-06-15"
KEY_ID = "testing-key-id"
SECRET = "testing-secret"
TOKEN = "testing-token"


def sign(
    key_id: str = KEY_ID,
    secret: str = SECRET,
    token: str | None = TOKEN,
    *,
    region: str = "us-east-1",
    service: str = "sts",
    url: str = "http://127.0.0.1:4566/",
    body: bytes = BODY,
) -> SignedRequest:
    """A request signed by botocore (now), as a server receives it."""
    request = AWSRequest(
        method="POST", url=url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    SigV4Auth(Credentials(key_id, secret, token), service, region).add_auth(request)
    target = url.split("127.0.0.1:4566", 1)[1]
    headers = [("Host", "127.0.0.1:4566"), *request.prepare().headers.items()]
    return SignedRequest.of("POST", target, headers, body)


def signed_at(request: SignedRequest) -> dt.datetime:
    stamp = request.header("x-amz-date")
    if stamp is None:  # a request that lost its date: any clock will do
        return dt.datetime.now(dt.timezone.utc)
    return dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)


def keys(*known: SigningKey) -> Callable[[str], SigningKey | None]:
    table = {k.access_key_id: k for k in known}
    return table.get


TEMPORARY = SigningKey(KEY_ID, SECRET, TOKEN, dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1))
LONG_TERM = SigningKey(KEY_ID, SECRET)


def check(
    request: SignedRequest, *known: SigningKey, region: str | None = "us-east-1", skew: dt.timedelta | None = None
) -> str:
    """The string ok, or the code STS answers; the server's clock is the signing time plus ``skew``."""
    now = signed_at(request) + (skew or dt.timedelta())
    try:
        verify(request, keys(*known), service="sts", region=region, now=now.timestamp())
    except SignatureRejected as err:
        return err.code
    return "ok"


def test_genuine_signatures_pass() -> None:
    assert check(sign(), TEMPORARY) == "ok"
    assert check(sign(token=None), LONG_TERM) == "ok"
    assert check(sign(url="http://127.0.0.1:4566/?b=2&a=1%20x"), TEMPORARY) == "ok"  # the query is canonicalised


def test_header_values_are_canonicalised_before_hashing() -> None:
    request = sign()
    padded = tuple((k, f"  {v}  " if k.lower() == "content-type" else v) for k, v in request.headers)
    assert check(replace(request, headers=padded), TEMPORARY) == "ok"


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (sign(secret="not-the-secret"), "SignatureDoesNotMatch"),
        (replace(sign(), body=BODY + b"&x=1"), "SignatureDoesNotMatch"),
        (replace(sign(), target="/other"), "SignatureDoesNotMatch"),
        (sign(region="eu-west-1"), "SignatureDoesNotMatch"),
        (sign(service="iam"), "SignatureDoesNotMatch"),
        (sign(key_id="unknown"), "InvalidClientTokenId"),
        (sign(token="not-the-token"), "InvalidClientTokenId"),
        (sign(token=None), "InvalidClientTokenId"),  # temporary credentials without their token
    ],
    ids=[
        "wrong-secret",
        "body-changed",
        "path-changed",
        "other-region",
        "other-service",
        "unknown-key",
        "wrong-token",
        "no-token",
    ],
)
def test_what_sts_refuses(request_: SignedRequest, code: str) -> None:
    assert check(request_, TEMPORARY) == code


@pytest.mark.parametrize("minutes", [16, -16])
def test_signatures_older_or_newer_than_15_minutes_are_refused(minutes: int) -> None:
    assert check(sign(), TEMPORARY, skew=dt.timedelta(minutes=minutes)) == "SignatureDoesNotMatch"
    assert check(sign(), TEMPORARY, skew=dt.timedelta(minutes=minutes // 2)) == "ok"


def test_host_header_is_signed() -> None:
    request = sign()
    moved = tuple((k, "sts.amazonaws.com" if k.lower() == "host" else v) for k, v in request.headers)
    assert check(replace(request, headers=moved), TEMPORARY) == "SignatureDoesNotMatch"


def test_key_states() -> None:
    expired = replace(TEMPORARY, expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1))
    assert check(sign(), expired) == "ExpiredToken"
    assert check(sign(token=None), replace(LONG_TERM, active=False)) == "InvalidClientTokenId"
    assert check(sign(), LONG_TERM) == "InvalidClientTokenId"  # a long-term key never comes with a token


def test_malformed_requests() -> None:
    request = sign()
    without = tuple((k, v) for k, v in request.headers if k.lower() != "authorization")
    assert check(replace(request, headers=without), TEMPORARY) == "MissingAuthenticationToken"
    garbled = tuple((k, "AWS4-HMAC-SHA256 nonsense" if k.lower() == "authorization" else v) for k, v in request.headers)
    assert check(replace(request, headers=garbled), TEMPORARY) == "IncompleteSignature"
    undated = tuple((k, v) for k, v in request.headers if k.lower() != "x-amz-date")
    assert check(replace(request, headers=undated), TEMPORARY) == "IncompleteSignature"


def test_region_is_checked_only_when_asked() -> None:
    assert check(sign(region="eu-west-1"), TEMPORARY, region=None) == "ok"


def test_refusal_is_an_sts_error_document() -> None:
    err = SignatureRejected("SignatureDoesNotMatch", "a <b> & c")
    xml = err.xml().decode()
    assert "<Code>SignatureDoesNotMatch</Code>" in xml
    assert "<Message>a &lt;b&gt; &amp; c</Message>" in xml
    assert err.status == 403
