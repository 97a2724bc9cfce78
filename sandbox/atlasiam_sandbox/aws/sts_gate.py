"""The STS endpoint emulated hosts reach: every request's signature is checked as STS checks it, then moto answers.

A host's commands get it as ``AWS_ENDPOINT_URL_STS``. moto alone would accept any secret (its signature checks are
off unless switched on process-wide), so a host with wrong credentials would learn an identity real STS never
gives it. Here a bad signature, an unknown or deactivated key, a missing or wrong session token and an expired
token are refused with STS's own error codes (:mod:`atlasiam_sandbox.aws.sigv4`), and only then is the request
forwarded, headers unchanged, to moto for the answer.

AssumeRoleWithWebIdentity (and AssumeRoleWithSAML) need no signature: "you do not need to use AWS security
credentials" for them, the token is the proof (STS API reference, AssumeRoleWithWebIdentity), and botocore sends them
unsigned. The gate forwards those without a signature check, and moto's patched handler checks the token
(``moto_patches``, ``web_identity``).

It is a regional endpoint: the credential scope must name the sandbox's region, as ``sts.REGION.amazonaws.com``
requires ("Manage AWS STS in an AWS Region",
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_enable-regions.html).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import cast
from urllib.parse import parse_qs, urlsplit

from atlasiam_sandbox.aws._http import LocalServer, QuietHandler
from atlasiam_sandbox.aws.sigv4 import KeyLookup, SignatureRejected, SignedRequest, verify

XML = "text/xml"
#: STS actions whose proof is a token in the request, not a signature.
UNSIGNED_ACTIONS = frozenset({"AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"})


def _action(path: str, body: bytes) -> str:
    """The query-protocol Action of a request (form body or query string)."""
    fields = parse_qs(urlsplit(path).query) | parse_qs(body.decode("utf-8", errors="replace"))
    return (fields.get("Action") or [""])[-1]


class StsGate:
    """A signature-checking STS endpoint on 127.0.0.1 in front of moto.

    Args:
        moto_url: Where accepted requests go.
        keys: Finds the secret behind an access key id (``MotoView.signing_key``).
        region: The region the credential scope must name.
        clock: The server's clock, for the 15-minute signature window and token expiry.
    """

    def __init__(self, moto_url: str, keys: KeyLookup, region: str, clock: Callable[[], float] = time.time) -> None:
        self.moto_url = moto_url
        self.keys = keys
        self.region = region
        self.clock = clock
        self.refused: list[str] = []  # the error code of every refused request, oldest first (for tests)
        self._server = _GateServer(self)
        self._server.start()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: the hosts' ``AWS_ENDPOINT_URL_STS``."""
        return self._server.url

    def check(self, request: SignedRequest) -> SignatureRejected | None:
        """None when STS would accept the request's signature, else the refusal."""
        try:
            verify(request, self.keys, service="sts", region=self.region, now=self.clock())
        except SignatureRejected as err:
            self.refused.append(err.code)
            return err
        return None

    def stop(self) -> None:
        """Stop serving and join the threads. Idempotent."""
        self._server.stop()


class _GateServer(LocalServer):
    def __init__(self, gate: StsGate) -> None:
        super().__init__(_GateHandler, name="sts-gate")
        self.gate = gate


class _GateHandler(QuietHandler):
    server_version = "Server"

    def _handle(self) -> None:
        gate = cast(_GateServer, self.server).gate
        body = self.read_body()
        if _action(self.path, body) in UNSIGNED_ACTIONS and not self.headers.get("Authorization"):
            self.forward(gate.moto_url, body, XML)
            return
        refused = gate.check(SignedRequest.of(self.command, self.path, self.headers.items(), body))
        if refused is not None:
            self.send_body(refused.status, refused.xml(), XML)
            return
        self.forward(gate.moto_url, body, XML)

    def do_POST(self) -> None:
        """Check, then forward (botocore sends STS's query protocol as a form POST)."""
        self._handle()

    def do_GET(self) -> None:
        """Check, then forward."""
        self._handle()
