"""IMDSv2 endpoints, one small HTTP server per emulated host.

A host's commands find theirs through ``AWS_EC2_METADATA_SERVICE_ENDPOINT``, so botocore's
instance-metadata credential provider (and pymongo's MONGODB-AWS through it) runs its real code path.
Role credentials are minted in-process from moto STS with the instance id as the session name, so
``GetCallerIdentity`` answers ``arn:aws:sts::ACCT:assumed-role/<role>/<instance-id>``.
"""

from __future__ import annotations

import json
import secrets
import select
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import cast
from urllib.parse import parse_qs, urlsplit

from atlasiam_sandbox.aws._http import LocalServer, QuietHandler
from atlasiam_sandbox.aws.hosts import HostRegistry
from atlasiam_sandbox.aws.moto_server import InstanceFacts, RoleCredentials

TOKEN_PATH = "/latest/api/token"
#: Not IMDS: how the emulated host's stand-in commands (dnf, pip, the AWS CLI) learn what the host's network lets
#: through (``HostRegistry.internet_egress``/``s3_egress``). A real host has no such path; its packets just go or not.
SANDBOX_PREFIX = "/sandbox/"
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
MAX_TOKEN_TTL = 21600
CREDS_PREFIX = "/latest/meta-data/iam/security-credentials/"
#: Re-mint role credentials this long before they expire (EC2 rotates well ahead of expiry too).
REFRESH_MARGIN = timedelta(minutes=5)
#: The longest a token request over the hop limit is held unanswered (every SDK gives up within seconds).
DROPPED_HOLD_S = 30.0


def _iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class _Reply:
    status: int
    body: str
    content_type: str = "text/plain"


_NOT_FOUND = _Reply(404, "Not Found")


class HostImds:
    """The metadata of one host: tokens, and credentials cached until shortly before they expire."""

    def __init__(self, instance_id: str, hosts: HostRegistry, credential_duration: int = 3600) -> None:
        self.instance_id = instance_id
        self.hosts = hosts
        self.credential_duration = credential_duration
        self._tokens: dict[str, float] = {}
        self._creds: tuple[str, RoleCredentials] | None = None
        self._lock = threading.Lock()

    # --- tokens --------------------------------------------------------------------------------------
    def issue_token(self, ttl_header: str | None) -> _Reply | None:
        """Answer ``PUT /latest/api/token``; None means "drop the request" (hop limit exceeded)."""
        if not self.hosts.settings(self.instance_id).imds_hop_limit_ok:
            return None
        try:
            ttl = int(ttl_header or "")
        except ValueError:
            return _Reply(400, "Bad Request")
        if not 1 <= ttl <= MAX_TOKEN_TTL:
            return _Reply(400, "Bad Request")
        token = secrets.token_urlsafe(40)
        with self._lock:
            self._tokens[token] = time.monotonic() + ttl
        return _Reply(200, token)

    def token_valid(self, token: str | None) -> bool:
        """True for an unexpired token this host issued."""
        if not token:
            return False
        with self._lock:
            expiry = self._tokens.get(token)
        return expiry is not None and expiry > time.monotonic()

    # --- metadata ----------------------------------------------------------------------------------
    def get(self, path: str) -> _Reply:
        """Answer a GET for ``path`` (token already checked)."""
        facts = self.hosts.view.instance(self.instance_id)
        if facts is None:
            return _NOT_FOUND
        if path.startswith(CREDS_PREFIX):
            return self._credentials(facts, path[len(CREDS_PREFIX) :].strip("/"))
        if path == "/latest/dynamic/instance-identity/document":
            return _Reply(200, json.dumps(self._identity_document(facts), indent=2), "application/json")
        if path == "/latest/meta-data/iam/info":
            return self._iam_info(facts)
        simple = self._simple_values(facts)
        value = simple.get(path.rstrip("/"))
        if value is None and path.rstrip("/") == "/latest/meta-data":
            value = "\n".join(sorted(p.rsplit("/", 1)[-1] for p in simple if p.count("/") == 3) + ["iam/"])
        return _NOT_FOUND if value is None else _Reply(200, value)

    def sandbox(self, target: str) -> _Reply:
        """``/sandbox/egress?to=internet`` or ``?to=s3&bucket=B&key=K&action=s3:GetObject&signed=1``."""
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if parts.path != SANDBOX_PREFIX + "egress":
            return _NOT_FOUND
        if query.get("to") == "internet":
            verdict = self.hosts.internet_egress(self.instance_id)
        elif query.get("to") == "al2023":
            verdict = self.hosts.al2023_repo_egress(self.instance_id)
        elif query.get("to") == "s3" and query.get("bucket") and query.get("action"):
            verdict = self.hosts.s3_egress(
                self.instance_id,
                query["bucket"],
                query.get("key"),
                query["action"],
                signed=query.get("signed", "1") == "1",
            )
        else:
            return _Reply(400, "Bad Request")
        return _Reply(200, verdict.to_json(), "application/json")

    def _simple_values(self, facts: InstanceFacts) -> dict[str, str]:
        base = "/latest/meta-data"
        return {
            f"{base}/instance-id": facts.instance_id,
            f"{base}/instance-type": facts.instance_type,
            f"{base}/ami-id": facts.image_id,
            f"{base}/local-ipv4": facts.private_ip or "",
            f"{base}/local-hostname": facts.private_dns_name,
            f"{base}/hostname": facts.private_dns_name,
            f"{base}/placement/availability-zone": facts.availability_zone,
            f"{base}/placement/region": self.hosts.view.region,
        }

    def _identity_document(self, facts: InstanceFacts) -> dict[str, object]:
        return {
            "accountId": self.hosts.view.account_id,
            "architecture": "x86_64",
            "availabilityZone": facts.availability_zone,
            "imageId": facts.image_id,
            "instanceId": facts.instance_id,
            "instanceType": facts.instance_type,
            "pendingTime": _iso(facts.launch_time),
            "privateIp": facts.private_ip,
            "region": self.hosts.view.region,
            "version": "2017-09-30",
        }

    def _iam_info(self, facts: InstanceFacts) -> _Reply:
        if facts.profile_arn is None:
            return _NOT_FOUND
        info = {
            "Code": "Success",
            "LastUpdated": _iso(datetime.now(timezone.utc)),
            "InstanceProfileArn": facts.profile_arn,
            "InstanceProfileId": "AIPA" + facts.instance_id.removeprefix("i-").upper()[:17],
        }
        return _Reply(200, json.dumps(info, indent=2), "application/json")

    def _credentials(self, facts: InstanceFacts, role_name: str) -> _Reply:
        role = self.hosts.view.profile_role(facts.profile_arn)
        if role is None:
            return _NOT_FOUND
        if not role_name:
            return _Reply(200, role.name)
        if role_name != role.name:
            return _NOT_FOUND
        creds = self._role_credentials(role.arn)
        secret = creds.secret_access_key
        if self.hosts.settings(self.instance_id).imds_secret_tampered:
            secret = secret[::-1] if secret != secret[::-1] else secret + "x"  # fault injection: a wrong secret
        document = {
            "Code": "Success",
            "LastUpdated": _iso(datetime.now(timezone.utc)),
            "Type": "AWS-HMAC",
            "AccessKeyId": creds.access_key_id,
            "SecretAccessKey": secret,
            "Token": creds.session_token,
            "Expiration": _iso(creds.expiration),
        }
        return _Reply(200, json.dumps(document, indent=2), "application/json")

    def _role_credentials(self, role_arn: str) -> RoleCredentials:
        with self._lock:
            cached = self._creds
            fresh = (
                cached is not None
                and cached[0] == role_arn
                and cached[1].expiration - REFRESH_MARGIN > datetime.now(timezone.utc)
            )
            if fresh and cached is not None:
                return cached[1]
            creds = self.hosts.view.mint_role_credentials(role_arn, self.instance_id, self.credential_duration)
            self._creds = (role_arn, creds)
            return creds


class _ImdsHttpServer(LocalServer):
    def __init__(self, host: HostImds) -> None:
        super().__init__(_ImdsHandler, name=f"imds-{host.instance_id}")
        self.host = host


class _ImdsHandler(QuietHandler):
    server_version = "EC2ws"

    @property
    def _host(self) -> HostImds:
        return cast(_ImdsHttpServer, self.server).host

    def _reply(self, reply: _Reply) -> None:
        self.send_body(reply.status, reply.body.encode(), reply.content_type)

    def do_PUT(self) -> None:
        """Issue a session token."""
        self.read_body()
        if self.path.split("?", 1)[0] != TOKEN_PATH:
            self._reply(_NOT_FOUND)
            return
        reply = self._host.issue_token(self.headers.get(TTL_HEADER))
        if reply is None:
            # The response would exceed the hop limit and never arrive: the caller times out.
            self._hold_unanswered()
            self.close_connection = True
            return
        if reply.status == 200:
            self.send_body(200, reply.body.encode(), "text/plain", {TTL_HEADER: self.headers.get(TTL_HEADER, "")})
            return
        self._reply(reply)

    def _hold_unanswered(self) -> None:
        """Keep the connection open without a byte of answer until the caller gives up (or the server stops).

        On EC2 the token's response packets die at the hop limit: the caller sees nothing, not a closed connection,
        and its own timeout ends the wait (botocore: 1 s, ``metadata_service_timeout``;
        https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html#imds-considerations).
        """
        server = cast(LocalServer, self.server)
        deadline = time.monotonic() + DROPPED_HOLD_S
        while time.monotonic() < deadline and not server.stopping:
            ready, _, _ = select.select([self.connection], [], [], 0.1)
            if ready and not self.connection.recv(4096):
                return  # the caller gave up and closed

    def do_GET(self) -> None:
        """Serve metadata to callers holding a valid token (IMDSv2 only, as AL2023 requires)."""
        if self.path.startswith(SANDBOX_PREFIX):
            self._reply(self._host.sandbox(self.path))
            return
        if not self._host.token_valid(self.headers.get(TOKEN_HEADER)):
            self._reply(_Reply(401, "Unauthorized"))
            return
        self._reply(self._host.get(self.path.split("?", 1)[0]))


class ImdsManager:
    """One IMDS server per host, started the first time somebody asks for the host's endpoint."""

    def __init__(self, hosts: HostRegistry, credential_duration: int = 3600) -> None:
        self.hosts = hosts
        self.credential_duration = credential_duration
        self._servers: dict[str, _ImdsHttpServer] = {}
        self._lock = threading.Lock()
        self._closed = False

    def endpoint(self, instance_id: str) -> str:
        """The host's ``AWS_EC2_METADATA_SERVICE_ENDPOINT`` (``http://127.0.0.1:<port>/``)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("IMDS manager is stopped")
            server = self._servers.get(instance_id)
            if server is None:
                server = _ImdsHttpServer(HostImds(instance_id, self.hosts, self.credential_duration))
                server.start()
                self._servers[instance_id] = server
            return server.url + "/"

    def stop(self) -> None:
        """Stop every host's server. Idempotent."""
        with self._lock:
            self._closed = True
            servers = list(self._servers.values())
            self._servers.clear()
        # In parallel: each shutdown waits up to one poll interval, and there may be one server per host.
        stoppers = [threading.Thread(target=server.stop, name=f"stop-{server.name}") for server in servers]
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join()
