"""The emulated Atlas cluster endpoint: a threaded, loopback-only TLS server speaking the MongoDB wire protocol.

One daemon thread accepts; each connection gets its own daemon thread that does the TLS handshake and then
reads request → writes reply until the peer leaves or sends something malformed (then only that connection is
closed). ``stop()`` shuts every socket down and joins the threads within a bounded time.
"""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from atlasiam_sandbox.atlas_state import AtlasState
from atlasiam_sandbox.aws.sigv4 import KeyLookup
from atlasiam_sandbox.mongo import wire
from atlasiam_sandbox.mongo.awsauth import AuthAttempt, AwsIamAuthenticator, http_sts_caller, signature_checked
from atlasiam_sandbox.mongo.commands import CommandHandler, Session, Topology
from atlasiam_sandbox.mongo.tls import TlsFiles, ensure_tls_files

log = logging.getLogger(__name__)

HANDSHAKE_TIMEOUT = 10.0
STOP_JOIN_TIMEOUT = 2.0
THREAD_PREFIX = "mongo-endpoint"


def _recv_exact(sock: socket.socket, size: int) -> bytes | None:
    """Exactly ``size`` bytes; None on EOF before the first byte; WireError on EOF part-way."""
    buf = bytearray(size)
    view = memoryview(buf)
    got = 0
    while got < size:
        n = sock.recv_into(view[got:], size - got)
        if n == 0:
            if got == 0:
                return None
            raise wire.WireError("connection closed mid-message")
        got += n
    return bytes(buf)


def _require_loopback(host: str) -> None:
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the emulated endpoint listens on loopback only, not {host!r}")


def _shutdown(sock: socket.socket) -> None:
    # socket.socket.shutdown, not SSLSocket.shutdown: the latter drops the SSL object under a reading thread.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class MongoEndpoint:
    """A MongoDB endpoint for one emulated Atlas cluster, authenticating with MONGODB-AWS against STS.

    Every login's signature is checked as STS checks it (``keys`` is required: there is no way to turn that off).

    Example:
        >>> with MongoEndpoint(atlas, project_id="p", cluster_name="c", sts_endpoint=moto_url,
        ...                    keys=moto.view.signing_key, tls_dir=d) as ep:
        ...     MongoClient(ep.uri, authMechanism="MONGODB-AWS", authSource="$external", tlsCAFile=str(ep.ca_file))
    """

    def __init__(
        self,
        atlas: AtlasState,
        *,
        project_id: str,
        cluster_name: str,
        sts_endpoint: str,
        keys: KeyLookup,
        tls_dir: Path,
        replica_set: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
        sts_timeout: float = 5.0,
        admit: Callable[[socket.socket], str | None] | None = None,
    ) -> None:
        """Configure (nothing is bound until :meth:`start`).

        Args:
            atlas: The emulated control plane whose database users decide who may log in.
            project_id: The Atlas project of the cluster.
            cluster_name: The cluster's name (checked against user scopes).
            sts_endpoint: Where to replay GetCallerIdentity, e.g. ``http://127.0.0.1:PORT`` of a moto server.
            keys: Finds the secret behind an access key id, for STS's signature check (``MotoView.signing_key``).
            tls_dir: Directory for the throwaway CA and server certificate (reused while valid).
            replica_set: The replica-set name; default: the cluster's in ``atlas``, else ``atlas-<name>-shard-0``.
            host: A loopback address to listen on.
            port: The TCP port; 0 picks a free one.
            clock: Time source for propagation (``visible_after``) and signature-date checks.
            sts_timeout: Seconds to wait for STS.
            admit: Asked with every new connection: None lets it in, a reason closes it at once (an Atlas private
                endpoint's listener: only from its VPC, only while the endpoint is AVAILABLE). Refusals are kept in
                ``refusals``.
        """
        _require_loopback(host)
        cluster = atlas.clusters.get((project_id, cluster_name))
        self._replica_set = replica_set or (cluster.replica_set if cluster else f"atlas-{cluster_name.lower()}-shard-0")
        self._atlas = atlas
        self._host = host
        self._requested_port = port
        self._tls_dir = tls_dir
        self._clock = clock
        self._auth = AwsIamAuthenticator(
            atlas,
            project_id=project_id,
            cluster_name=cluster_name,
            sts=signature_checked(http_sts_caller(sts_endpoint, sts_timeout), keys, clock),
            clock=clock,
        )
        self._tls: TlsFiles | None = None
        self._listener: socket.socket | None = None
        self._port = 0
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._connections: dict[int, socket.socket] = {}
        self._threads: set[threading.Thread] = set()
        self._ids = itertools.count(1)
        self._reply_ids = itertools.count(1)
        self._handler: CommandHandler | None = None
        self._admit = admit
        #: Why connections were closed unanswered (``admit``), oldest first.
        self.refusals: list[str] = []

    # -- lifecycle ---------------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Bind, then accept and serve in daemon threads."""
        if self._listener is not None:
            raise RuntimeError("endpoint already started")
        self._tls = ensure_tls_files(self._tls_dir)
        context = self._tls.server_context()
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self._host, self._requested_port))
            listener.listen(64)
        except OSError:
            listener.close()
            raise
        listener.settimeout(0.5)  # fallback wake-up should shutdown() not interrupt accept() on some platform
        self._listener = listener
        self._port = listener.getsockname()[1]
        self._stopping.clear()
        topology = Topology(set_name=self._replica_set, me=f"{self._host}:{self._port}")
        self._handler = CommandHandler(topology, self._auth, self._clock)
        self._spawn(f"{THREAD_PREFIX}-accept-{self._port}", self._accept_loop, listener, context)
        log.info("emulated Atlas endpoint on %s (replica set %s)", self.uri, self._replica_set)

    def stop(self) -> None:
        """Close the listener and every connection, and join the threads (bounded by ``STOP_JOIN_TIMEOUT``)."""
        self._stopping.set()
        listener, self._listener = self._listener, None
        if listener is not None:
            _shutdown(listener)
        with self._lock:
            for sock in self._connections.values():
                _shutdown(sock)
            threads = list(self._threads)
        deadline = time.monotonic() + STOP_JOIN_TIMEOUT
        while threads and time.monotonic() < deadline:
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
            with self._lock:  # a connection accepted during stop() may have spawned one more thread
                for sock in self._connections.values():
                    _shutdown(sock)
                threads = [t for t in self._threads if t.is_alive()]
        if listener is not None:
            listener.close()
        if threads:
            log.warning("threads still running after stop(): %s", [t.name for t in threads])

    def __enter__(self) -> MongoEndpoint:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- public view -------------------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (0 before :meth:`start`)."""
        return self._port

    @property
    def uri(self) -> str:
        """``mongodb://HOST:PORT/?tls=true&replicaSet=RS``: no credentials, no authSource."""
        if not self._port:
            raise RuntimeError("endpoint not started")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"mongodb://{host}:{self._port}/?tls=true&replicaSet={self._replica_set}"

    @property
    def replica_set(self) -> str:
        """The replica-set name hello reports."""
        return self._replica_set

    @property
    def ca_file(self) -> Path:
        """PEM of the CA that signed the server certificate (for ``tlsCAFile`` / ``SSL_CERT_FILE``)."""
        if self._tls is None:
            raise RuntimeError("endpoint not started")
        return self._tls.ca_file

    @property
    def auth_log(self) -> list[AuthAttempt]:
        """Every authentication attempt so far, oldest first (a snapshot)."""
        return self._auth.attempts

    # -- threads -----------------------------------------------------------------------------------------------------

    def _spawn(self, name: str, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=self._run, args=(target, *args), name=name, daemon=True)
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def _run(self, target: Callable[..., None], *args: object) -> None:
        try:
            target(*args)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _accept_loop(self, listener: socket.socket, context: ssl.SSLContext) -> None:
        while not self._stopping.is_set():
            try:
                raw, peer = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break  # shut down by stop()
            conn_id = next(self._ids)
            with self._lock:
                if self._stopping.is_set():
                    raw.close()
                    break
                self._connections[conn_id] = raw
            self._spawn(f"{THREAD_PREFIX}-conn-{conn_id}", self._serve, conn_id, raw, context, peer)

    def _serve(self, conn_id: int, raw: socket.socket, context: ssl.SSLContext, peer: object) -> None:
        sock: socket.socket = raw
        try:
            # Asked here, not in the accept loop: finding a connection's host takes milliseconds (aws.peers).
            try:
                reason = self._admit(raw) if self._admit is not None else None
            except Exception as exc:  # noqa: BLE001 - a broken check refuses; it never lets a connection in
                reason = f"the admission check failed: {exc!r}"
            if reason is not None:
                log.info("connection %d from %s refused: %s", conn_id, peer, reason)
                with self._lock:
                    self.refusals.append(reason)
                return
            # Like mongod: without TCP_NODELAY, Nagle + delayed ACK stall small replies by ~40 ms each.
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            raw.settimeout(HANDSHAKE_TIMEOUT)
            # Wrap without I/O, register the TLS socket (the raw one is detached now), then handshake, so that
            # stop() can always reach the file descriptor.
            tls = context.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
            sock = tls
            with self._lock:
                self._connections[conn_id] = tls
            if self._stopping.is_set():
                return
            tls.do_handshake()
            tls.settimeout(None)
            self._conversation(conn_id, tls)
        except (OSError, wire.WireError) as exc:  # ssl.SSLError is an OSError
            log.debug("connection %d from %s closed: %s", conn_id, peer, exc)
        finally:
            with self._lock:
                self._connections.pop(conn_id, None)
            _shutdown(sock)
            sock.close()

    def _conversation(self, conn_id: int, sock: ssl.SSLSocket) -> None:
        handler = self._handler
        assert handler is not None
        session = Session(conn_id)
        while not self._stopping.is_set():
            message = wire.read_message(lambda n: _recv_exact(sock, n))
            if message is None:
                return
            request = wire.decode_request(message)
            reply = handler.handle(session, request)
            if not request.more_to_come:
                sock.sendall(wire.encode_reply(request, next(self._reply_ids), reply))
