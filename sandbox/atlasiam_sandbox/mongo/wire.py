"""MongoDB wire-protocol framing: parse OP_MSG / legacy OP_QUERY requests, build OP_MSG / OP_REPLY replies.

Pure functions over bytes; the socket loop lives in ``server.py``. Anything malformed raises :class:`WireError`,
after which the server closes the connection (as mongod does) and keeps serving the others.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import bson
from bson.errors import BSONError

OP_REPLY = 1
OP_QUERY = 2004
OP_COMPRESSED = 2012
OP_MSG = 2013

HEADER = struct.Struct("<iiii")  # messageLength, requestID, responseTo, opCode
MAX_BSON_OBJECT_SIZE = 16 * 1024 * 1024
MAX_MESSAGE_SIZE = 48_000_000
MAX_WRITE_BATCH_SIZE = 100_000

_CHECKSUM_PRESENT = 1 << 0
_MORE_TO_COME = 1 << 1
_EXHAUST_ALLOWED = 1 << 16
_KNOWN_FLAGS = _CHECKSUM_PRESENT | _MORE_TO_COME | _EXHAUST_ALLOWED
_REQUIRED_FLAG_BITS = 0xFFFF  # bits 0-15 must be understood (OP_MSG spec); unknown ones are an error
_INT32 = struct.Struct("<i")
_UINT32 = struct.Struct("<I")


class WireError(ValueError):
    """A malformed or unsupported message; the connection must be closed."""


@dataclass(frozen=True)
class Message:
    """One raw message: its header fields and the body after the 16-byte header."""

    request_id: int
    response_to: int
    op_code: int
    body: bytes


@dataclass(frozen=True)
class Request:
    """A decoded command request.

    Attributes:
        request_id: The client's requestID (the reply's responseTo).
        op_code: OP_MSG or OP_QUERY (the reply uses OP_MSG or OP_REPLY accordingly).
        db: The target database (``$db``, or the part before ``.$cmd`` for OP_QUERY).
        command: The command document; OP_MSG document sequences are merged in as lists.
        more_to_come: The client expects no reply (OP_MSG moreToCome).
    """

    request_id: int
    op_code: int
    db: str
    command: dict[str, Any]
    more_to_come: bool = False

    @property
    def name(self) -> str:
        """The command name (the first key)."""
        return next(iter(self.command), "")


def read_message(recv_exact: Callable[[int], bytes | None]) -> Message | None:
    """Read one message with ``recv_exact(n)`` (which returns None on a clean EOF before any byte).

    Returns:
        The message, or None when the peer closed the connection between messages.

    Raises:
        WireError: The declared length is impossible (< 16 or > ``MAX_MESSAGE_SIZE``) or the stream ended mid-message.
    """
    header = recv_exact(HEADER.size)
    if header is None:
        return None
    length, request_id, response_to, op_code = HEADER.unpack(header)
    if length < HEADER.size or length > MAX_MESSAGE_SIZE:
        raise WireError(f"invalid message length {length}")
    body = recv_exact(length - HEADER.size) if length > HEADER.size else b""
    if body is None:
        raise WireError("connection closed mid-message")
    return Message(request_id, response_to, op_code, body)


def decode_request(message: Message) -> Request:
    """Decode an OP_MSG or OP_QUERY command.

    Raises:
        WireError: Unsupported opcode (including OP_COMPRESSED, never negotiated), bad flags or bad BSON.
    """
    if message.op_code == OP_MSG:
        return _decode_op_msg(message)
    if message.op_code == OP_QUERY:
        return _decode_op_query(message)
    raise WireError(f"unsupported opcode {message.op_code}")


def _decode_bson(data: bytes) -> dict[str, Any]:
    try:
        return bson.decode(data)
    except (BSONError, ValueError, IndexError, struct.error, OverflowError) as exc:
        raise WireError(f"invalid BSON: {exc}") from exc


def _bson_length(body: bytes, pos: int, end: int) -> int:
    if pos + 4 > end:
        raise WireError("truncated BSON document")
    size = int(_INT32.unpack_from(body, pos)[0])
    if size < 5 or pos + size > end:
        raise WireError(f"BSON document length {size} overruns the message")
    return size


def _cstring(body: bytes, pos: int, end: int) -> tuple[str, int]:
    nul = body.find(b"\x00", pos, end)
    if nul < 0:
        raise WireError("unterminated cstring")
    try:
        return body[pos:nul].decode("utf-8"), nul + 1
    except UnicodeDecodeError as exc:
        raise WireError("cstring is not UTF-8") from exc


def _decode_op_msg(message: Message) -> Request:
    body = message.body
    if len(body) < 5:
        raise WireError("OP_MSG too short")
    (flags,) = _UINT32.unpack_from(body, 0)
    if flags & _REQUIRED_FLAG_BITS & ~_KNOWN_FLAGS:
        raise WireError(f"unknown required OP_MSG flag bits {flags:#x}")
    end = len(body) - (4 if flags & _CHECKSUM_PRESENT else 0)  # the CRC-32C trailer is not verified
    pos = 4
    command: dict[str, Any] | None = None
    sequences: dict[str, list[dict[str, Any]]] = {}
    while pos < end:
        kind = body[pos]
        pos += 1
        if kind == 0:
            size = _bson_length(body, pos, end)
            if command is not None:
                raise WireError("OP_MSG with two body sections")
            command = _decode_bson(body[pos : pos + size])
            pos += size
        elif kind == 1:
            pos = _read_sequence(body, pos, end, sequences)
        else:
            raise WireError(f"unknown OP_MSG section kind {kind}")
    if command is None:
        raise WireError("OP_MSG without a body section")
    for identifier, docs in sequences.items():
        command[identifier] = docs
    db = command.get("$db")
    if not isinstance(db, str) or not command:
        raise WireError("OP_MSG command without $db")
    return Request(message.request_id, OP_MSG, db, command, bool(flags & _MORE_TO_COME))


def _read_sequence(body: bytes, pos: int, end: int, sequences: dict[str, list[dict[str, Any]]]) -> int:
    if pos + 4 > end:
        raise WireError("truncated document sequence")
    size = int(_INT32.unpack_from(body, pos)[0])
    seq_end = pos + size
    if size < 5 or seq_end > end:
        raise WireError(f"document sequence length {size} overruns the message")
    identifier, cur = _cstring(body, pos + 4, seq_end)
    docs = sequences.setdefault(identifier, [])
    while cur < seq_end:
        doc_size = _bson_length(body, cur, seq_end)
        docs.append(_decode_bson(body[cur : cur + doc_size]))
        cur += doc_size
    return seq_end


def _decode_op_query(message: Message) -> Request:
    body = message.body
    end = len(body)
    if end < 4:
        raise WireError("OP_QUERY too short")
    collection, pos = _cstring(body, 4, end)
    pos += 8  # numberToSkip, numberToReturn
    if not collection.endswith(".$cmd"):
        raise WireError(f"OP_QUERY on {collection!r}: only commands are supported")
    size = _bson_length(body, pos, end)
    query = _decode_bson(body[pos : pos + size])
    inner = query.get("$query", query.get("query"))
    command = inner if isinstance(inner, dict) else query
    if not command:
        raise WireError("empty OP_QUERY command")
    return Request(message.request_id, OP_QUERY, collection[: -len(".$cmd")], command)


def encode_reply(request: Request, reply_id: int, doc: dict[str, Any]) -> bytes:
    """The reply to ``request``: OP_MSG for OP_MSG, OP_REPLY for a legacy OP_QUERY."""
    payload = bson.encode(doc)
    if request.op_code == OP_MSG:
        body = _UINT32.pack(0) + b"\x00" + payload
        op_code = OP_MSG
    else:
        # responseFlags (AwaitCapable), cursorID, startingFrom, numberReturned.
        body = struct.pack("<iqii", 8, 0, 0, 1) + payload
        op_code = OP_REPLY
    return HEADER.pack(HEADER.size + len(body), reply_id, request.request_id, op_code) + body


def encode_op_msg(request_id: int, doc: dict[str, Any], response_to: int = 0, flags: int = 0) -> bytes:
    """An OP_MSG with one body section (what a client sends; used by tests and probes)."""
    body = _UINT32.pack(flags) + b"\x00" + bson.encode(doc)
    return HEADER.pack(HEADER.size + len(body), request_id, response_to, OP_MSG) + body
