"""A tiny threaded HTTP server on 127.0.0.1 whose stop() leaves no thread behind."""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# Response headers not passed on when forwarding: per-connection ones, and those send_body sets itself.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date", "content-type"}
)


class LocalServer(ThreadingHTTPServer):
    """Threaded HTTP server on 127.0.0.1, a random free port unless given; handler threads are joined on stop."""

    daemon_threads = False
    block_on_close = True

    def __init__(self, handler: type[BaseHTTPRequestHandler], name: str, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), handler)
        self.name = name
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1}, name=name)
        self._stopped = False

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def stopping(self) -> bool:
        """True once stop() was called: a handler that waits on purpose ends its wait."""
        return self._stopped

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, close the socket and join the serving and handler threads. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self._thread.is_alive():
            self.shutdown()
            self._thread.join()
        self.server_close()


class QuietHandler(BaseHTTPRequestHandler):
    """A handler that closes the connection after each response and does not log to stderr."""

    # HTTP/1.0: one request per connection, so no idle keep-alive thread outlives stop().
    protocol_version = "HTTP/1.0"
    # A client that connects and sends nothing can't pin a handler thread forever.
    timeout = 10

    def log_message(self, format: str, *args: object) -> None:
        """Drop the per-request log line."""

    def send_body(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        """Send a complete response."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def forward(self, upstream: str, body: bytes, default_content_type: str) -> None:
        """Send this request, headers unchanged (so a SigV4 signature still verifies), to ``upstream``."""
        parts = urlsplit(upstream)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
            conn.request(self.command, self.path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            extra = {k: v for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP}
            self.send_body(response.status, data, response.getheader("Content-Type", default_content_type), extra)
        finally:
            conn.close()

    def read_body(self) -> bytes:
        """The request body (Content-Length framed)."""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""
