"""Pure framing: round trips, document sequences, legacy OP_QUERY, and garbage that must only ever be WireError."""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Callable

import bson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlasiam_sandbox.mongo import wire


def reader(data: bytes) -> Callable[[int], bytes | None]:
    pos = 0

    def recv_exact(n: int) -> bytes | None:
        nonlocal pos
        chunk = data[pos : pos + n]
        pos += len(chunk)
        if not chunk:
            return None
        return chunk if len(chunk) == n else None

    return recv_exact


def parse(data: bytes) -> wire.Request:
    message = wire.read_message(reader(data))
    assert message is not None
    return wire.decode_request(message)


def test_op_msg_round_trip() -> None:
    request = parse(wire.encode_op_msg(42, {"ping": 1, "$db": "admin"}))
    assert (request.request_id, request.op_code, request.db, request.name) == (42, wire.OP_MSG, "admin", "ping")
    assert not request.more_to_come
    reply = wire.encode_reply(request, 9, {"ok": 1.0})
    length, reply_id, response_to, op_code = struct.unpack_from("<iiii", reply)
    assert (length, reply_id, response_to, op_code) == (len(reply), 9, 42, wire.OP_MSG)
    assert bson.decode(reply[21:]) == {"ok": 1.0}


def test_document_sequence_and_checksum() -> None:
    docs = b"".join(bson.encode({"_id": i}) for i in range(3))
    seq = b"documents\0" + docs
    body = (
        struct.pack("<I", 1)  # checksumPresent
        + b"\0"
        + bson.encode({"insert": "c", "$db": "test"})
        + b"\1"
        + struct.pack("<i", 4 + len(seq))
        + seq
        + b"CRC!"
    )
    request = parse(struct.pack("<iiii", 16 + len(body), 1, 0, wire.OP_MSG) + body)
    assert request.command["documents"] == [{"_id": 0}, {"_id": 1}, {"_id": 2}]


def test_legacy_op_query_command_and_op_reply() -> None:
    query = bson.encode({"$query": {"isMaster": 1, "helloOk": True}, "$readPreference": {"mode": "primary"}})
    body = struct.pack("<i", 0) + b"admin.$cmd\0" + struct.pack("<ii", 0, -1) + query
    request = parse(struct.pack("<iiii", 16 + len(body), 5, 0, wire.OP_QUERY) + body)
    assert (request.db, request.name, request.command["helloOk"]) == ("admin", "isMaster", True)
    reply = wire.encode_reply(request, 1, {"ok": 1.0})
    assert struct.unpack_from("<iiii", reply)[2:] == (5, wire.OP_REPLY)
    assert struct.unpack_from("<iqii", reply, 16) == (8, 0, 0, 1)
    assert bson.decode(reply[36:]) == {"ok": 1.0}


def test_op_query_on_a_collection_is_refused() -> None:
    body = struct.pack("<i", 0) + b"test.things\0" + struct.pack("<ii", 0, 1) + bson.encode({"x": 1})
    with pytest.raises(wire.WireError, match="only commands"):
        parse(struct.pack("<iiii", 16 + len(body), 5, 0, wire.OP_QUERY) + body)


def test_eof_between_messages_and_mid_message() -> None:
    assert wire.read_message(reader(b"")) is None
    with pytest.raises(wire.WireError, match="mid-message"):
        wire.read_message(reader(struct.pack("<iiii", 100, 1, 0, wire.OP_MSG) + b"short"))


@settings(max_examples=300, deadline=None)
@given(op_code=st.sampled_from([wire.OP_MSG, wire.OP_QUERY, 1, 2012, 0]), body=st.binary(max_size=200))
def test_garbage_bodies_only_raise_wire_error(op_code: int, body: bytes) -> None:
    with contextlib.suppress(wire.WireError):
        wire.decode_request(wire.Message(1, 0, op_code, body))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=120))
def test_garbage_inside_a_well_framed_op_msg_only_raises_wire_error(junk: bytes) -> None:
    doc = bson.encode({"ping": 1, "$db": "admin"})
    body = b"\0\0\0\0\0" + doc[: len(junk) % len(doc)] + junk
    with contextlib.suppress(wire.WireError):
        wire.decode_request(wire.Message(1, 0, wire.OP_MSG, body))
