"""The wire endpoint without authentication: hello, command gating, hostile input, lifecycle, timing."""

from __future__ import annotations

import socket
import ssl
import statistics
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bson
import pymongo
import pytest
from pymongo.errors import OperationFailure, ServerSelectionTimeoutError

from atlasiam_sandbox.atlas_state import AtlasState
from atlasiam_sandbox.mongo import MongoEndpoint, wire
from atlasiam_sandbox.mongo.server import THREAD_PREFIX

from .support import CLUSTER, PROJECT, REPLICA_SET, Clients, Moto


def no_keys(_access_key_id: str) -> None:
    return None  # for endpoints that never authenticate anyone


def tls_connect(ep: MongoEndpoint, server_hostname: str = "127.0.0.1") -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=str(ep.ca_file))
    sock = socket.create_connection(("127.0.0.1", ep.port), timeout=5)
    return context.wrap_socket(sock, server_hostname=server_hostname)


def recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return buf or None
        buf += chunk
    return buf


def command(sock: socket.socket, doc: dict[str, Any], request_id: int = 7, flags: int = 0) -> dict[str, Any]:
    sock.sendall(wire.encode_op_msg(request_id, doc, flags=flags))
    message = wire.read_message(lambda n: recv_exact(sock, n))
    assert message is not None
    assert message.op_code == wire.OP_MSG and message.response_to == request_id
    return bson.decode(message.body[5:])


def is_closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except (ConnectionError, ssl.SSLError):
        return True


def test_hello_reports_a_replica_set_primary(endpoint: MongoEndpoint) -> None:
    assert endpoint.uri == f"mongodb://127.0.0.1:{endpoint.port}/?tls=true&replicaSet={REPLICA_SET}"
    with tls_connect(endpoint) as sock:
        hello = command(sock, {"hello": 1, "$db": "admin", "saslSupportedMechs": "$external.someone"})
        legacy = command(sock, {"isMaster": 1, "helloOk": True, "$db": "admin"})
    me = f"127.0.0.1:{endpoint.port}"
    assert hello["isWritablePrimary"] is True and hello["setName"] == REPLICA_SET
    assert hello["hosts"] == [me] and hello["me"] == me and hello["primary"] == me
    assert hello["maxWireVersion"] >= pymongo.common.MIN_SUPPORTED_WIRE_VERSION
    assert hello["saslSupportedMechs"] == ["MONGODB-AWS"]
    assert hello["logicalSessionTimeoutMinutes"] == 30
    assert "topologyVersion" not in hello  # pymongo polls instead of streaming
    assert legacy["ismaster"] is True and legacy["helloOk"] is True


def test_unauthenticated_commands(clients: Clients) -> None:
    client = clients.anonymous()
    assert client.admin.command("ping")["ok"] == 1.0
    assert client.server_info()["version"].startswith("8.")
    with pytest.raises(OperationFailure) as denied:
        client.admin.command("connectionStatus")
    assert denied.value.code == 13
    with pytest.raises(OperationFailure) as unknown:
        client.test.things.find_one()
    assert unknown.value.code == 59


def test_password_mechanisms_are_unavailable(endpoint: MongoEndpoint) -> None:
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        endpoint.uri, username="u", password="p", tlsCAFile=str(endpoint.ca_file), serverSelectionTimeoutMS=5000
    )
    try:
        with pytest.raises(OperationFailure) as info:
            client.admin.command("ping")
        assert info.value.code == 334
    finally:
        client.close()


def test_more_to_come_gets_no_reply(endpoint: MongoEndpoint) -> None:
    with tls_connect(endpoint) as sock:
        sock.sendall(wire.encode_op_msg(1, {"ping": 1, "$db": "admin"}, flags=1 << 1))
        assert command(sock, {"ping": 1, "$db": "admin"}, request_id=2)["ok"] == 1.0


def frame(op_code: int, body: bytes) -> bytes:
    return struct.pack("<iiii", 16 + len(body), 1, 0, op_code) + body


HOSTILE = {
    "length-below-header": struct.pack("<iiii", 5, 1, 0, wire.OP_MSG),
    "huge-length": struct.pack("<iiii", 2**31 - 1, 1, 0, wire.OP_MSG),
    "negative-length": struct.pack("<iiii", -1, 1, 0, wire.OP_MSG),
    "unknown-opcode": frame(9999, b"\0\0\0\0"),
    "op-compressed": frame(wire.OP_COMPRESSED, b"\0" * 9),
    "truncated-bson": frame(wire.OP_MSG, b"\0\0\0\0\0" + struct.pack("<i", 100) + b"\x10a\0"),
    "corrupt-bson": frame(wire.OP_MSG, b"\0\0\0\0\0" + struct.pack("<i", 10) + b"\x99a\0\0\0\0"),
    "unknown-section-kind": frame(wire.OP_MSG, b"\0\0\0\0\7"),
    "op-query-on-collection": frame(wire.OP_QUERY, b"\0\0\0\0db.coll\0" + b"\0" * 8 + bson.encode({"x": 1})),
    "no-db": wire.encode_op_msg(1, {"ping": 1}),
    "unknown-required-flag": wire.encode_op_msg(1, {"ping": 1, "$db": "admin"}, flags=1 << 5),
}


@pytest.mark.parametrize("garbage", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_input_closes_only_that_connection(endpoint: MongoEndpoint, garbage: bytes) -> None:
    with tls_connect(endpoint) as bystander, tls_connect(endpoint) as attacker:
        assert command(bystander, {"ping": 1, "$db": "admin"})["ok"] == 1.0
        attacker.sendall(garbage)
        assert is_closed(attacker)
        assert command(bystander, {"ping": 1, "$db": "admin"})["ok"] == 1.0
    with tls_connect(endpoint) as fresh:
        assert command(fresh, {"hello": 1, "$db": "admin"})["ok"] == 1.0


def test_plaintext_and_silent_clients_do_not_block_others(endpoint: MongoEndpoint) -> None:
    with (
        socket.create_connection(("127.0.0.1", endpoint.port)) as plain,
        socket.create_connection(("127.0.0.1", endpoint.port)),
    ):
        plain.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert is_closed(plain)
        with tls_connect(endpoint, server_hostname="localhost") as sock:  # the certificate covers localhost too
            assert command(sock, {"ping": 1, "$db": "admin"})["ok"] == 1.0


@pytest.fixture
def own_endpoint(atlas: AtlasState, moto: Moto, tls_dir: Path) -> Iterator[MongoEndpoint]:
    ep = MongoEndpoint(
        atlas, project_id=PROJECT, cluster_name=CLUSTER, sts_endpoint=moto.url, keys=moto.keys, tls_dir=tls_dir
    )
    yield ep
    ep.stop()


def test_stop_is_bounded_and_leaves_nothing(own_endpoint: MongoEndpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    own_endpoint.start()
    clients = Clients(own_endpoint, monkeypatch)
    client = clients.anonymous()
    assert client.admin.command("ping")["ok"] == 1.0
    idle = socket.create_connection(("127.0.0.1", own_endpoint.port))  # never handshakes
    busy = tls_connect(own_endpoint)
    started = time.perf_counter()
    own_endpoint.stop()
    assert time.perf_counter() - started < 1.0
    assert not [t.name for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX)]
    assert is_closed(busy) and is_closed(idle)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", own_endpoint.port), timeout=1).close()
    for sock in (idle, busy):
        sock.close()
    client.close()


def test_construction_rules(atlas: AtlasState, tls_dir: Path) -> None:
    with pytest.raises(ValueError, match="loopback"):
        MongoEndpoint(atlas, project_id=PROJECT, cluster_name=CLUSTER, sts_endpoint="http://x", keys=no_keys,
                      tls_dir=tls_dir, host="0.0.0.0")  # fmt: skip
    ep = MongoEndpoint(
        atlas, project_id=PROJECT, cluster_name="Other", sts_endpoint="http://x", keys=no_keys, tls_dir=tls_dir
    )
    assert ep.replica_set == "atlas-other-shard-0"
    with pytest.raises(RuntimeError):
        _ = ep.uri
    with ep:
        assert ep.uri.endswith("replicaSet=atlas-other-shard-0")
        assert ep.ca_file.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
        with pytest.raises(RuntimeError):
            ep.start()


def test_auth_and_ping_round_trip_time(clients: Clients, role_user: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _, creds = role_user()
    cold: list[float] = []
    for _ in range(5):
        started = time.perf_counter()
        client = clients.aws(creds)  # new client: TLS + hello + saslStart + saslContinue (STS replay) + ping
        client.admin.command("ping")
        cold.append(time.perf_counter() - started)
    warm: list[float] = []
    for _ in range(20):
        started = time.perf_counter()
        client.admin.command("ping")
        warm.append(time.perf_counter() - started)
    with capsys.disabled():
        print(
            f"\n[mongo endpoint] connect+auth+ping median {statistics.median(cold) * 1000:.1f} ms "
            f"(first {cold[0] * 1000:.1f} ms), authenticated ping median {statistics.median(warm) * 1000:.2f} ms"
        )
    assert statistics.median(cold) < 1.0


def test_tls_is_verified_and_ssl_cert_file_works(endpoint: MongoEndpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    untrusted: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(endpoint.uri, serverSelectionTimeoutMS=300)
    try:
        with pytest.raises(ServerSelectionTimeoutError, match="CERTIFICATE_VERIFY_FAILED"):
            untrusted.admin.command("ping")
    finally:
        untrusted.close()
    monkeypatch.setenv("SSL_CERT_FILE", str(endpoint.ca_file))  # what the sandbox probe uses instead of tlsCAFile
    trusted: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(endpoint.uri, serverSelectionTimeoutMS=5000)
    try:
        assert trusted.admin.command("ping")["ok"] == 1.0
    finally:
        trusted.close()
