"""Pure MONGODB-AWS parts, driven by the real client code (pymongo-auth-aws) rather than hand-made payloads."""

from __future__ import annotations

import time
from typing import Any

import bson
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from pymongo_auth_aws.auth import AwsCredential, _aws_auth_header

from atlasiam_sandbox.atlas_state import AtlasState, DatabaseUser
from atlasiam_sandbox.aws.sigv4 import SigningKey
from atlasiam_sandbox.mongo import awsauth
from atlasiam_sandbox.mongo.awsauth import AuthRejected
from atlasiam_sandbox.mongo.commands import CommandHandler, Session, Topology
from atlasiam_sandbox.mongo.wire import OP_MSG, Request

CLIENT_NONCE = bytes(range(32))
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def conversation() -> tuple[awsauth.Conversation, dict[str, Any]]:
    conv, payload = awsauth.start_conversation(
        bson.encode({"r": CLIENT_NONCE, "p": 110}), random_bytes=lambda n: b"\xaa" * n
    )
    return conv, bson.decode(payload)


def client_final(conv: awsauth.Conversation, token: str | None = "session-token") -> awsauth.ClientFinal:
    doc = _aws_auth_header(AwsCredential("ASIAEXAMPLE", SECRET, token), conv.server_nonce, conv.sts_host)
    return awsauth.parse_client_final(bson.encode(doc))


def resign(headers: dict[str, str], final: awsauth.ClientFinal, token: str | None = "session-token") -> str:
    """What STS computes: a SigV4 signature over the headers the Authorization header names as signed."""
    signed = awsauth.parse_authorization(final.authorization).signed_headers
    request = AWSRequest(
        method="POST", url="/", data=awsauth.STS_BODY, headers={k: v for k, v in headers.items() if k.lower() in signed}
    )
    request.context["timestamp"] = final.amz_date
    signer = SigV4Auth(Credentials("ASIAEXAMPLE", SECRET, token), "sts", "us-east-1")
    return str(signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request))


def test_server_first_payload() -> None:
    conv, server = conversation()
    assert server == {"s": CLIENT_NONCE + b"\xaa" * 32, "h": "sts.amazonaws.com"}
    assert conv.server_nonce == server["s"] and len(conv.server_nonce) == 64


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (bson.encode({"r": b"short", "p": 110}), "client nonce"),
        (bson.encode({"r": CLIENT_NONCE, "p": 121}), "channel-binding"),
        (b"\x05\x00\x00", "not BSON"),
        ("text", "not binary"),
    ],
)
def test_bad_client_first(payload: object, reason: str) -> None:
    with pytest.raises(AuthRejected, match=reason):
        awsauth.start_conversation(payload)


@pytest.mark.parametrize("token", ["session-token", None])
def test_replayed_request_is_exactly_what_the_client_signed(token: str | None) -> None:
    conv, _ = conversation()
    final = client_final(conv, token)
    header = awsauth.check_client_final(conv, final, time.time())
    assert header.access_key_id == "ASIAEXAMPLE" and header.region == "us-east-1" and header.service == "sts"
    # Re-sign the replayed request with the secret, as STS (and moto) do: the signatures must agree.
    assert resign(awsauth.sts_request_headers(conv, final), final, token) == header.signature


@pytest.mark.parametrize(
    ("secret", "token", "status"),
    [(SECRET, "session-token", 200), ("not-the-secret", "session-token", 403), (SECRET, "other-token", 403)],
    ids=["genuine", "wrong-secret", "wrong-token"],
)
def test_signature_check_before_sts_answers(secret: str, token: str, status: int) -> None:
    """The replay reaches STS (here a stub) only when the client's signature holds for the key's secret."""
    conv, _ = conversation()
    final = client_final(conv)
    answered: list[dict[str, str]] = []

    def sts(headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        assert body == awsauth.STS_BODY
        answered.append(headers)
        return 200, b"<Arn>arn:aws:sts::123456789012:assumed-role/app/i-0abc</Arn>"

    key = SigningKey("ASIAEXAMPLE", secret, token)
    checked = awsauth.signature_checked(sts, {key.access_key_id: key}.get, clock=time.time)
    code, body = checked(awsauth.sts_request_headers(conv, final), awsauth.STS_BODY)
    assert (code, len(answered)) == ((200, 1) if status == 200 else (403, 0))
    if status == 403:
        with pytest.raises(AuthRejected, match="sts rejected signature: "):
            awsauth.parse_sts_response(code, body)


def test_a_different_server_nonce_breaks_the_signature() -> None:
    conv, _ = conversation()
    final = client_final(conv)
    other = awsauth.Conversation(conv.client_nonce, conv.client_nonce + b"\xbb" * 32, conv.sts_host)
    request = AWSRequest(
        method="POST", url="/", data=awsauth.STS_BODY, headers=awsauth.sts_request_headers(other, final)
    )
    request.context["timestamp"] = final.amz_date
    signer = SigV4Auth(Credentials("ASIAEXAMPLE", SECRET, "session-token"), "sts", "us-east-1")
    signature = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    assert signature != awsauth.parse_authorization(final.authorization).signature


def test_header_checks() -> None:
    conv, _ = conversation()
    final = client_final(conv)
    without_token = awsauth.ClientFinal(final.authorization, final.amz_date, None)
    with pytest.raises(AuthRejected, match="signed headers"):
        awsauth.check_client_final(conv, without_token, time.time())
    s3 = awsauth.ClientFinal(final.authorization.replace("/sts/", "/s3/"), final.amz_date, final.session_token)
    with pytest.raises(AuthRejected, match="service 's3'"):
        awsauth.check_client_final(conv, s3, time.time())
    west = awsauth.ClientFinal(final.authorization.replace("/us-east-1/", "/us-west-2/"), final.amz_date, "t")
    with pytest.raises(AuthRejected, match="region"):
        awsauth.check_client_final(conv, west, time.time())
    with pytest.raises(AuthRejected, match="15-minute"):
        awsauth.check_client_final(conv, final, time.time() + 16 * 60)
    with pytest.raises(AuthRejected, match="malformed Authorization"):
        awsauth.parse_authorization("AWS4-HMAC-SHA256 garbage")


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        ("arn:aws:sts::123456789012:assumed-role/app/i-0abc", ("arn:aws:iam::123456789012:role/app", "ROLE")),
        ("arn:aws-us-gov:sts::123456789012:assumed-role/app/s", ("arn:aws-us-gov:iam::123456789012:role/app", "ROLE")),
        ("arn:aws:iam::123456789012:user/ci", ("arn:aws:iam::123456789012:user/ci", "USER")),
        ("arn:aws:iam::123456789012:user/ops/ci", ("arn:aws:iam::123456789012:user/ops/ci", "USER")),
    ],
)
def test_map_caller_arn(arn: str, expected: tuple[str, str]) -> None:
    assert awsauth.map_caller_arn(arn) == expected


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::123456789012:root",
        "arn:aws:sts::123456789012:federated-user/bob",
        "arn:aws:sts::123456789012:user/moto",  # moto's answer for an unknown key with checking off
        "arn:aws:iam::123456789012:instance-profile/app",
    ],
)
def test_unsupported_identities(arn: str) -> None:
    with pytest.raises(AuthRejected, match="unsupported caller identity"):
        awsauth.map_caller_arn(arn)


def test_parse_sts_response() -> None:
    ok = b"<GetCallerIdentityResponse xmlns='x'><GetCallerIdentityResult><Arn> arn:a </Arn></GetCallerIdentityResult>"
    assert awsauth.parse_sts_response(200, ok + b"</GetCallerIdentityResponse>") == "arn:a"
    denied = b"<ErrorResponse><Error><Code>ExpiredToken</Code></Error></ErrorResponse>"
    with pytest.raises(AuthRejected, match="sts rejected signature: ExpiredToken"):
        awsauth.parse_sts_response(403, denied)
    with pytest.raises(AuthRejected, match="HTTP 502"):
        awsauth.parse_sts_response(502, b"bad gateway")
    with pytest.raises(AuthRejected, match="no Arn"):
        awsauth.parse_sts_response(200, b"<x/>")


ROLE = "arn:aws:iam::123456789012:role/app"


@pytest.mark.parametrize(
    ("user", "reason"),
    [
        (None, "user not found"),
        (DatabaseUser("p", ROLE, visible_after=2000.0), "not yet propagated"),
        (DatabaseUser("p", ROLE, aws_iam_type="USER"), "wrong aws_iam_type USER (caller is an IAM ROLE)"),
        (DatabaseUser("p", ROLE, auth_database_name="admin"), "wrong auth_database_name admin"),
        (DatabaseUser("p", ROLE, scopes=("B", "C")), "scoped to other cluster (B, C)"),
        (DatabaseUser("other-project", ROLE), "user not found"),
        (DatabaseUser("p", "arn:aws:iam::123456789012:role/a/b/app"), "user not found (database user arn:aws:iam"),
    ],
)
def test_authorize_reasons(user: DatabaseUser | None, reason: str) -> None:
    atlas = AtlasState()
    if user is not None:
        atlas.put_user(user)
    with pytest.raises(AuthRejected) as info:
        awsauth.authorize(atlas, "p", "A", ROLE, "ROLE", now=1000.0)
    assert info.value.reason.startswith(reason)
    assert info.value.user == ROLE


def test_authorize_ok() -> None:
    atlas = AtlasState()
    atlas.put_user(DatabaseUser("p", ROLE, scopes=("A",), visible_after=999.0))
    assert awsauth.authorize(atlas, "p", "A", ROLE, "ROLE", now=1000.0).username == ROLE


class RecordingAuth:
    def __init__(self) -> None:
        self.records: list[awsauth.AuthAttempt] = []
        self.inner = awsauth.AwsIamAuthenticator(
            AtlasState(), project_id="p", cluster_name="A", sts=lambda *_: (500, b"")
        )

    def start(self, payload: object) -> tuple[awsauth.Conversation, bytes]:
        return self.inner.start(payload)

    def finish(self, conversation: awsauth.Conversation, payload: object, connection_id: int) -> Any:
        return self.inner.finish(conversation, payload, connection_id)

    def record(self, attempt: awsauth.AuthAttempt) -> awsauth.AuthAttempt:
        self.records.append(attempt)
        return attempt


def run(handler: CommandHandler, session: Session, db: str, cmd: dict[str, Any]) -> dict[str, Any]:
    return handler.handle(session, Request(1, OP_MSG, db, {**cmd, "$db": db}))


def test_sasl_state_machine_errors() -> None:
    auth = RecordingAuth()
    handler = CommandHandler(Topology("rs", "127.0.0.1:1"), auth, time.time)
    session = Session(1)
    assert run(handler, session, "$external", {"saslContinue": 1, "conversationId": 1, "payload": b""})["code"] == 17
    start = {"saslStart": 1, "mechanism": "MONGODB-AWS", "payload": bson.encode({"r": CLIENT_NONCE, "p": 110})}
    assert run(handler, session, "admin", start)["code"] == 18
    assert auth.records[-1].reason == "MONGODB-AWS must authenticate against $external, not admin"
    assert run(handler, session, "$external", {**start, "payload": b"junk"})["code"] == 18
    assert auth.records[-1].reason.startswith("payload is not BSON")
    assert run(handler, session, "$external", {**start, "mechanism": "PLAIN"})["code"] == 334
    assert run(handler, session, "$external", start)["done"] is False
    final = run(handler, session, "$external", {"saslContinue": 1, "conversationId": 1, "payload": b"x"})
    assert final == {"ok": 0.0, "errmsg": "Authentication failed.", "code": 18, "codeName": "AuthenticationFailed"}
    assert session.user is None and session.conversation is None
    assert run(handler, session, "admin", {"connectionStatus": 1})["code"] == 13
