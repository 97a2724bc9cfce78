"""The SSM HTTP endpoint: routing by ``X-Amz-Target``, forwarding to moto, and the endpoint's lifecycle.

Reached by the CLI only through ``AWS_ENDPOINT_URL_SSM``. Every POST passes the fault layer first; the
operations :class:`SsmResponse` emulates are served here, every other ``AmazonSSM.*`` operation (GetParameter,
PutParameter, …) and any GET is forwarded unchanged to moto.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import cast

from atlasiam_sandbox.aws._http import LocalServer, QuietHandler
from atlasiam_sandbox.aws.hosts import HostRegistry
from atlasiam_sandbox.aws.model_check import check_ssm
from atlasiam_sandbox.aws.runcommand import HostExecutor, Invocation, SsmTiming
from atlasiam_sandbox.aws.ssm.faults import FaultInjector
from atlasiam_sandbox.aws.ssm.models import SsmBackend, SsmError
from atlasiam_sandbox.aws.ssm.responses import JSON_CONTENT_TYPE, SsmRequest, SsmResponse, error_body

_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,]+/\d{8}/([a-z0-9-]+)/ssm/")


def _signed_region(authorization: str) -> str | None:
    """The region a SigV4 request was signed for (its credential scope)."""
    m = _CREDENTIAL_SCOPE.search(authorization)
    return m.group(1) if m else None


class _SsmHttpServer(LocalServer):
    def __init__(self, endpoint: SsmEndpoint) -> None:
        super().__init__(_SsmHandler, name="ssm-endpoint")
        self.endpoint = endpoint


class _SsmHandler(QuietHandler):
    server_version = "Server"

    @property
    def _endpoint(self) -> SsmEndpoint:
        return cast(_SsmHttpServer, self.server).endpoint

    def do_POST(self) -> None:
        """Dispatch an AWS JSON 1.1 request; operations not emulated here go to moto."""
        body = self.read_body()
        target = self.headers.get("X-Amz-Target", "")
        request = SsmRequest(
            operation=target.split(".", 1)[1] if target.startswith("AmazonSSM.") else "",
            body=body,
            signed_region=_signed_region(self.headers.get("Authorization", "")),
        )
        try:
            response = self._endpoint.dispatch(request)
        except SsmError as err:
            self._error(err)
            return
        if response is None:
            self._proxy(body)
        else:
            self.send_body(200, response, JSON_CONTENT_TYPE, {"x-amzn-RequestId": str(uuid.uuid4())})

    def do_GET(self) -> None:
        """Anything but SSM's POST goes to moto."""
        self._proxy(b"")

    def _error(self, err: SsmError) -> None:
        headers = {"x-amzn-RequestId": str(uuid.uuid4()), "x-amzn-ErrorType": err.code}
        self.send_body(err.status, error_body(err), JSON_CONTENT_TYPE, headers)

    def _proxy(self, body: bytes) -> None:
        """Forward the raw request (same headers, so the signature still verifies) to moto."""
        self.forward(self._endpoint.moto_url, body, JSON_CONTENT_TYPE)


class SsmEndpoint:
    """The SSM HTTP endpoint on 127.0.0.1: backend + executor + fault table."""

    def __init__(
        self,
        hosts: HostRegistry,
        imds_endpoint: Callable[[str], str],
        *,
        moto_url: str,
        account_id: str,
        region: str,
        ssl_cert_file: Path | None = None,
        python_bin: Path | None = None,
        timing: SsmTiming | None = None,
    ) -> None:
        self.moto_url = moto_url
        self.faults = FaultInjector()
        self.calls: list[str] = []
        self.executor = HostExecutor(
            hosts,
            imds_endpoint,
            moto_url=moto_url,
            region=region,
            ssl_cert_file=ssl_cert_file,
            python_bin=python_bin,
            timing=timing,
        )
        self.backend = SsmBackend(hosts, self.executor, account_id, region)
        self.responses = SsmResponse(self.backend)
        #: The fault layer around :meth:`_serve`; ``None`` means "forward to moto".
        self.dispatch: Callable[[SsmRequest], bytes | None] = self.faults.wrap(self._serve)
        self._server = _SsmHttpServer(self)
        self._server.start()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` — the value for ``AWS_ENDPOINT_URL_SSM``."""
        return self._server.url

    def invocations(self) -> list[Invocation]:
        """Every invocation so far (for tests and teardown)."""
        return self.backend.invocations()

    def stop(self) -> None:
        """Stop serving, kill running host processes and join all threads. Idempotent."""
        self._server.stop()
        self.executor.stop(self.invocations(), self.backend.lock)

    def _serve(self, request: SsmRequest) -> bytes | None:
        """An emulated operation's response body (the call is recorded in ``calls``); None for moto's."""
        if not self.responses.handles(request.operation):
            return None
        self.calls.append(request.operation)
        check_ssm(request.operation, request.body)  # SSM's botocore model, as SSM checks it (aws/model_check.py)
        return self.responses.dispatch(request)
