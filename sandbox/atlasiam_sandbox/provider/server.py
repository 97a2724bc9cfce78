"""go-plugin server: gRPC on a unix socket, the handshake line, AutoMTLS, and lifetime management."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import grpc
from tf.gen import grpc_controller_pb2 as controller_pb
from tf.gen import grpc_controller_pb2_grpc as controller_grpc
from tf.gen import grpc_stdio_pb2_grpc as stdio_grpc
from tf.gen import tfplugin_pb2_grpc as provider_grpc

from atlasiam_sandbox.provider import tls
from atlasiam_sandbox.provider.service import ProviderService

logger = logging.getLogger(__name__)

CORE_PROTOCOL_VERSION = 1
APP_PROTOCOL_VERSION = 6
_PARENT_POLL_SECONDS = 0.25
_PR_SET_PDEATHSIG = 1
_PDEATHSIG = signal.SIGUSR2

# Methods of newer tfplugin6 revisions than the generated modules know; an empty message is a valid,
# empty answer for each of them (e.g. "no resource identity schemas").
_EMPTY_ANSWER_METHODS = ("GetResourceIdentitySchemas",)


@dataclass(frozen=True)
class ServeOptions:
    """How to serve.

    Attributes:
        schema: The provider schema JSON file.
        address: The provider's full source address (for `TF_REATTACH_PROVIDERS` in debug mode).
        tls_dir: Directory holding a pre-generated certificate pair.
        schema_cache: Serialized `GetProviderSchema.Response` for `schema`, if pre-built.
        debug: Serve plaintext and print `TF_REATTACH_PROVIDERS` instead of the handshake.
    """

    schema: Path
    address: str
    tls_dir: Path | None = None
    schema_cache: Path | None = None
    debug: bool = False


class _Controller:
    """`plugin.GRPCController`: Shutdown asks the process to exit once the reply is sent."""

    def __init__(self, stop: threading.Event, debug: bool) -> None:
        self._stop = stop
        self._debug = debug

    def Shutdown(self, _request: Any, context: Any) -> Any:  # noqa: N802, D102 - gRPC name
        if not self._debug:
            context.add_callback(self._stop.set)
        return controller_pb.Empty()


class _Stdio:
    """`plugin.GRPCStdio`: nothing is forwarded (logs go to stderr, which go-plugin captures anyway)."""

    def StreamStdio(self, _request: Any, _context: Any) -> Any:  # noqa: N802, D102 - gRPC name
        return iter(())


def _empty_handler(method: str) -> Any:
    def answer(request: bytes, context: Any) -> bytes:  # noqa: ARG001 - gRPC handler signature
        logger.debug("rpc %s (empty answer)", method)
        return b""

    return grpc.unary_unary_rpc_method_handler(answer)


def build_server(service: ProviderService, stop: threading.Event, debug: bool) -> Any:
    """Create the gRPC server with the provider, controller and stdio services."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    provider_grpc.add_ProviderServicer_to_server(service, server)
    controller_grpc.add_GRPCControllerServicer_to_server(_Controller(stop, debug), server)
    stdio_grpc.add_GRPCStdioServicer_to_server(_Stdio(), server)
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "tfplugin6.Provider", {m: _empty_handler(m) for m in _EMPTY_ANSWER_METHODS}
            ),
        )
    )
    return server


def watch_parent(stop: threading.Event) -> None:
    """Set `stop` when the parent process dies (prctl death signal on Linux, plus a ppid poll)."""
    parent = os.getppid()

    def check(signum: int = 0, frame: FrameType | None = None) -> None:  # noqa: ARG001 - signal signature
        if os.getppid() != parent:
            stop.set()

    if sys.platform.startswith("linux"):
        import ctypes

        try:
            signal.signal(_PDEATHSIG, check)
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(_PDEATHSIG), 0, 0, 0)
        except (OSError, AttributeError, ValueError):
            logger.debug("prctl(PR_SET_PDEATHSIG) unavailable; polling only")

    def poll() -> None:
        while not stop.wait(_PARENT_POLL_SECONDS):
            check()

    check()
    threading.Thread(target=poll, name="parent-watch", daemon=True).start()


def _reattach_line(address: str, socket_path: str) -> str:
    config = {
        address: {
            "Protocol": "grpc",
            "ProtocolVersion": APP_PROTOCOL_VERSION,
            "Pid": os.getpid(),
            "Test": True,
            "Addr": {"Network": "unix", "String": socket_path},
        }
    }
    return f"TF_REATTACH_PROVIDERS='{json.dumps(config)}'"


def serve(options: ServeOptions) -> int:
    """Serve until Terraform shuts the plugin down, the parent dies, or a signal arrives.

    Returns:
        The process exit code.
    """
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # Like go-plugin providers: Ctrl-C is Terraform's to handle. It asks providers to stop (StopProvider)
    # and shuts them down (GRPCController.Shutdown) once in-flight calls have answered; exiting here
    # instead would drop a create that already happened in the cloud and never reached the state.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch_parent(stop)
    service = ProviderService(options.schema, on_stop=None, schema_cache=options.schema_cache)
    server = build_server(service, stop, options.debug)
    workdir = tempfile.mkdtemp(prefix="atlasiam-plugin-")
    socket_path = f"{workdir}/plugin.sock"
    try:
        if options.debug:
            server.add_insecure_port(f"unix:{socket_path}")
            server.start()
            line = _reattach_line(options.address, socket_path)
        else:
            pair = tls.load_or_generate(options.tls_dir)
            # go-plugin's client certificate (PLUGIN_CLIENT_CERT) is ECDSA P-521, which gRPC's BoringSSL does
            # not offer in its CertificateRequest, so Go never sends it and requiring it fails every
            # handshake. Access control comes from the socket's private 0700 directory instead.
            creds = grpc.ssl_server_credentials([(pair.key_pem, pair.cert_pem)], require_client_auth=False)
            server.add_secure_port(f"unix:{socket_path}", creds)
            server.start()
            fields = (
                CORE_PROTOCOL_VERSION,
                APP_PROTOCOL_VERSION,
                "unix",
                socket_path,
                "grpc",
                pair.cert_der_b64(),
            )
            line = "|".join(str(f) for f in fields)
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
        service.warm_up()
        while not stop.wait(1.0):
            pass
        server.stop(grace=0.5).wait(1.0)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0
