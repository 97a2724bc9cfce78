"""Command handling for one connection: the handful of commands a driver needs to connect, log in and ping.

The endpoint poses as the PRIMARY of a one-member replica set. Its hello carries no ``topologyVersion``, so
pymongo monitors by polling (``heartbeatFrequencyMS``) rather than with awaitable hello / streaming.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bson import ObjectId

from atlasiam_sandbox.atlas_state import DatabaseUser
from atlasiam_sandbox.mongo import wire
from atlasiam_sandbox.mongo.awsauth import EXTERNAL_DB, MECHANISM, AuthAttempt, AuthRejected, Conversation

log = logging.getLogger(__name__)

MAX_WIRE_VERSION = 25  # MongoDB 8.0, what Atlas runs; pymongo 4.20 accepts 9..29
SERVER_VERSION = "8.0.4"
ELECTION_ID = ObjectId("7fffffff0000000000000001")

CodeName = tuple[int, str]
UNAUTHORIZED: CodeName = (13, "Unauthorized")
AUTHENTICATION_FAILED: CodeName = (18, "AuthenticationFailed")
PROTOCOL_ERROR: CodeName = (17, "ProtocolError")
COMMAND_NOT_FOUND: CodeName = (59, "CommandNotFound")
MECHANISM_UNAVAILABLE: CodeName = (334, "MechanismUnavailable")
INTERNAL_ERROR: CodeName = (1, "InternalError")

_HELLO = frozenset({"hello", "isMaster", "ismaster"})
_OPEN_COMMANDS = _HELLO | {"ping", "buildInfo", "buildinfo", "saslStart", "saslContinue", "endSessions"}


def error(code: CodeName, errmsg: str) -> dict[str, Any]:
    """A command error reply."""
    return {"ok": 0.0, "errmsg": errmsg, "code": code[0], "codeName": code[1]}


@dataclass
class Session:
    """Per-connection state."""

    connection_id: int
    user: DatabaseUser | None = None
    conversation: Conversation | None = None
    attempts: list[AuthAttempt] = field(default_factory=list)


class Authenticator(Protocol):
    """What the handler needs from :class:`~atlasiam_sandbox.mongo.awsauth.AwsIamAuthenticator`."""

    def start(self, payload: object) -> tuple[Conversation, bytes]:
        """Answer saslStart: check the client-first payload, return the conversation and server-first payload."""

    def finish(
        self, conversation: Conversation, payload: object, connection_id: int
    ) -> tuple[AuthAttempt, DatabaseUser | None]:
        """Answer saslContinue: verify the signature via STS, map the caller, record the attempt."""

    def record(self, attempt: AuthAttempt) -> AuthAttempt:
        """Append to the auth log."""


@dataclass(frozen=True)
class Topology:
    """What hello reports: the replica-set name and this member's ``host:port``."""

    set_name: str
    me: str


class CommandHandler:
    """Dispatches one connection's commands (the same handler serves every connection)."""

    def __init__(self, topology: Topology, authenticator: Authenticator, clock: Callable[[], float]) -> None:
        self._topology = topology
        self._auth = authenticator
        self._clock = clock
        self._handlers: dict[str, Callable[[Session, str, dict[str, Any]], dict[str, Any]]] = {
            "hello": self._hello,
            "isMaster": self._hello,
            "ismaster": self._hello,
            "ping": lambda *_: {"ok": 1.0},
            "buildInfo": self._build_info,
            "buildinfo": self._build_info,
            "endSessions": lambda *_: {"ok": 1.0},
            "saslStart": self._sasl_start,
            "saslContinue": self._sasl_continue,
            "connectionStatus": self._connection_status,
        }

    def handle(self, session: Session, request: wire.Request) -> dict[str, Any]:
        """The reply document for ``request`` (never raises)."""
        name = request.name
        handler = self._handlers.get(name)
        if handler is None:
            return error(COMMAND_NOT_FOUND, f"no such command: '{name}'")
        if session.user is None and name not in _OPEN_COMMANDS:
            return error(UNAUTHORIZED, f"command {name} requires authentication")
        try:
            return handler(session, request.db, request.command)
        except Exception as exc:  # a bug here must not kill the connection thread silently
            log.exception("command %s failed", name)
            return error(INTERNAL_ERROR, f"{type(exc).__name__}: {exc}")

    def _hello(self, session: Session, _db: str, cmd: dict[str, Any]) -> dict[str, Any]:
        legacy = next(iter(cmd)) != "hello"
        reply: dict[str, Any] = {"ismaster" if legacy else "isWritablePrimary": True}
        if legacy and cmd.get("helloOk"):
            reply["helloOk"] = True
        reply.update(
            setName=self._topology.set_name,
            setVersion=1,
            electionId=ELECTION_ID,
            secondary=False,
            hosts=[self._topology.me],
            primary=self._topology.me,
            me=self._topology.me,
            maxBsonObjectSize=wire.MAX_BSON_OBJECT_SIZE,
            maxMessageSizeBytes=wire.MAX_MESSAGE_SIZE,
            maxWriteBatchSize=wire.MAX_WRITE_BATCH_SIZE,
            localTime=dt.datetime.fromtimestamp(self._clock(), dt.timezone.utc),
            logicalSessionTimeoutMinutes=30,
            connectionId=session.connection_id,
            minWireVersion=0,
            maxWireVersion=MAX_WIRE_VERSION,
            readOnly=False,
        )
        mechs = cmd.get("saslSupportedMechs")
        if isinstance(mechs, str) and mechs.startswith(EXTERNAL_DB + "."):
            reply["saslSupportedMechs"] = [MECHANISM]
        reply["ok"] = 1.0
        return reply

    def _build_info(self, *_: object) -> dict[str, Any]:
        return {
            "version": SERVER_VERSION,
            "gitVersion": "0" * 40,
            "versionArray": [int(p) for p in SERVER_VERSION.split(".")] + [0],
            "modules": ["enterprise"],
            "bits": 64,
            "maxBsonObjectSize": wire.MAX_BSON_OBJECT_SIZE,
            "ok": 1.0,
        }

    def _connection_status(self, session: Session, *_: object) -> dict[str, Any]:
        user = session.user
        assert user is not None  # handle() requires authentication first
        return {
            "authInfo": {
                "authenticatedUsers": [{"user": user.username, "db": EXTERNAL_DB}],
                "authenticatedUserRoles": [{"role": role, "db": db} for role, db in user.roles],
            },
            "ok": 1.0,
        }

    def _fail(self, session: Session, reason: str) -> dict[str, Any]:
        self._auth.record(AuthAttempt(session.connection_id, None, None, False, reason, None, time.time()))
        return error(AUTHENTICATION_FAILED, "Authentication failed.")

    def _sasl_start(self, session: Session, db: str, cmd: dict[str, Any]) -> dict[str, Any]:
        mechanism = cmd.get("mechanism")
        if mechanism != MECHANISM:
            return error(
                MECHANISM_UNAVAILABLE,
                f"Received authentication for mechanism {mechanism} which is unknown or not enabled",
            )
        if db != EXTERNAL_DB:
            return self._fail(session, f"{MECHANISM} must authenticate against $external, not {db}")
        try:
            session.conversation, payload = self._auth.start(cmd.get("payload"))
        except AuthRejected as exc:
            session.conversation = None
            return self._fail(session, exc.reason)
        return {"conversationId": 1, "done": False, "payload": payload, "ok": 1.0}

    def _sasl_continue(self, session: Session, _db: str, cmd: dict[str, Any]) -> dict[str, Any]:
        conversation, session.conversation = session.conversation, None
        if conversation is None or cmd.get("conversationId") != 1:
            return error(PROTOCOL_ERROR, "No SASL session state found")
        attempt, user = self._auth.finish(conversation, cmd.get("payload"), session.connection_id)
        session.attempts.append(attempt)
        if user is None:
            return error(AUTHENTICATION_FAILED, "Authentication failed.")
        session.user = user
        return {"conversationId": 1, "done": True, "payload": b"", "ok": 1.0}
