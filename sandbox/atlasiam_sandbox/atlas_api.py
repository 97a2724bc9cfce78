"""A tiny emulation of the Atlas Admin API (v2) over the sandbox's ``AtlasState``.

What the stand-in mongodbatlas provider and ``atlasiam verify`` need: database users (one, and the
project's list), the project access list, clusters (whose connection string points at the sandbox's
MongoDB wire endpoint), a cluster's ``changeStatus``, and AWS PrivateLink: private endpoint services and the
interface endpoints added to them (:class:`PrivateLink`), which Atlas accepts only when the interface endpoint
really exists in (emulated) AWS for that service. JSON in, JSON out, loopback only. Clients
find it through ``MONGODB_ATLAS_BASE_URL``, the setting the real provider honours.

Like Atlas, it answers nothing without authentication: a service account's client credentials buy a
bearer token at ``POST /api/oauth/token`` (OAuth 2.0 client credentials, HTTP basic auth; MongoDB's
"Service Accounts Overview"), and every ``/api/atlas/v2`` call needs ``Authorization: Bearer``. Atlas
also takes HTTP digest auth with an API key pair; the sandbox does not (it is stricter, never kinder).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from atlasiam_sandbox.atlas_openapi import spec_problem
from atlasiam_sandbox.atlas_privatelink import AwsEndpointLookup, PrivateLink, PrivateLinkError
from atlasiam_sandbox.atlas_state import AtlasState, DatabaseUser

PREFIX = "/api/atlas/v2/groups/"
TOKEN_PATH = "/api/oauth/token"
TOKEN_LIFETIME_S = 3600  # Atlas's access tokens last an hour
_STATUS = re.compile(r"^([0-9a-f]{24})/clusters/([A-Za-z0-9-]+)/status$")
_USERS = re.compile(r"^([0-9a-f]{24})/databaseUsers$")
_USER = re.compile(r"^([0-9a-f]{24})/databaseUsers/([^/]+)/([^/]+)$")
_ACCESS = re.compile(r"^([0-9a-f]{24})/accessList$")
_ACCESS_ONE = re.compile(r"^([0-9a-f]{24})/accessList/([^/]+)$")
_CLUSTER = re.compile(r"^([0-9a-f]{24})/clusters/([A-Za-z0-9-]+)$")
_SERVICES = re.compile(r"^([0-9a-f]{24})/privateEndpoint/endpointService$")
_SERVICE = re.compile(r"^([0-9a-f]{24})/privateEndpoint/([A-Z]+)/endpointService/([0-9a-f]{24})$")
_SERVICE_LIST = re.compile(r"^([0-9a-f]{24})/privateEndpoint/(AWS|AZURE|GCP)/endpointService$")
_ENDPOINTS = re.compile(r"^([0-9a-f]{24})/privateEndpoint/([A-Z]+)/endpointService/([0-9a-f]{24})/endpoint$")
_ENDPOINT = re.compile(r"^([0-9a-f]{24})/privateEndpoint/([A-Z]+)/endpointService/([0-9a-f]{24})/endpoint/([^/]+)$")

# cluster (project, name) -> connection string; the sandbox provides the endpoint factory.
ClusterResolver = Callable[[str, str], str]
# (project, cluster, vpce id) -> the connection string through that interface endpoint.
PrivateUri = Callable[[str, str, str], str]
Route = Callable[["re.Match[str]"], tuple[int, Any]]


class ApiError(Exception):
    """An Atlas-style error response."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def user_to_api(user: DatabaseUser) -> dict[str, Any]:
    """A database user in the Admin API's JSON shape."""
    return {
        "groupId": user.project_id,
        "username": user.username,
        "databaseName": user.auth_database_name,
        "awsIAMType": user.aws_iam_type,
        "roles": [{"roleName": r, "databaseName": d} for r, d in user.roles],
        "scopes": [{"name": s, "type": "CLUSTER"} for s in user.scopes],
    }


def user_from_api(project_id: str, body: dict[str, Any], propagation_s: float = 0.0) -> DatabaseUser:
    """Validate an Admin API database-user body the way Atlas does (form only)."""
    username = str(body.get("username", ""))
    iam = str(body.get("awsIAMType", "NONE"))
    if iam not in ("NONE", "USER", "ROLE"):
        raise ApiError(400, "INVALID_ENUM_VALUE", f"awsIAMType {iam!r} is not one of NONE, USER, ROLE")
    if iam == "ROLE" and not re.match(r"^arn:aws[a-z-]*:iam::\d{12}:role/", username):
        raise ApiError(400, "ATLAS_INVALID_AWS_IAM_ARN", f"{username} is not a valid AWS IAM role ARN")
    if iam == "USER" and not re.match(r"^arn:aws[a-z-]*:iam::\d{12}:user/", username):
        raise ApiError(400, "ATLAS_INVALID_AWS_IAM_ARN", f"{username} is not a valid AWS IAM user ARN")
    if iam != "NONE" and body.get("databaseName") != "$external":
        raise ApiError(400, "INVALID_AUTH_DATABASE", "AWS IAM users must use databaseName $external")
    roles = tuple((str(r.get("roleName")), str(r.get("databaseName"))) for r in body.get("roles") or [])
    if not roles:
        raise ApiError(400, "MISSING_ROLES", "a database user needs at least one role")
    scopes = tuple(str(s.get("name")) for s in body.get("scopes") or [])
    return DatabaseUser(
        project_id=project_id,
        username=username,
        aws_iam_type=iam,  # type: ignore[arg-type]
        auth_database_name=str(body.get("databaseName")),
        roles=roles,
        scopes=scopes,
        visible_after=time.time() + propagation_s,
    )


class AtlasAdminApi:
    """The HTTP server: ``start()``, ``url``, ``stop()``."""

    def __init__(
        self,
        state: AtlasState,
        clusters: ClusterResolver,
        *,
        propagation_s: float = 0.0,
        on_change: Callable[[], None] | None = None,
        port: int = 0,
        client_id: str = "sandbox-client",
        client_secret: str = "sandbox-secret",
        aws_endpoint: AwsEndpointLookup | None = None,
        private_uri: PrivateUri | None = None,
        privatelink_delay_s: float = 0.5,
    ) -> None:
        self.state = state
        self.clusters = clusters
        self.private_uri = private_uri
        self.privatelink = PrivateLink(state, aws_endpoint, delay_s=privatelink_delay_s)
        self.propagation_s = propagation_s
        # The one service account that may sign in (a test may rotate it, as an Atlas admin would).
        self.service_account = (client_id, client_secret)
        self._tokens: dict[str, float] = {}  # bearer token -> expiry (time.time())
        self._tokens_lock = threading.Lock()
        self.on_change = on_change or (lambda: None)
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())  # loopback only
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL (what MONGODB_ATLAS_BASE_URL is set to)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> AtlasAdminApi:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="atlas-admin-api", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- authentication ------------------------------------------------------------------------
    def issue_token(self, authorization: str | None, form: str) -> dict[str, Any]:
        """``POST /api/oauth/token``: client credentials in HTTP basic auth → a bearer token."""
        if parse_qs(form).get("grant_type") != ["client_credentials"]:
            raise ApiError(400, "INVALID_GRANT_TYPE", "grant_type must be client_credentials")
        scheme, _, encoded = (authorization or "").partition(" ")
        try:
            client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            client_id, secret = "", ""
        if scheme.lower() != "basic" or (client_id, secret) != self.service_account:
            raise ApiError(401, "INVALID_CLIENT", "the client id or secret is wrong")
        token = secrets.token_urlsafe(32)
        with self._tokens_lock:
            self._tokens[token] = time.time() + TOKEN_LIFETIME_S
        return {"access_token": token, "expires_in": TOKEN_LIFETIME_S, "token_type": "Bearer"}

    def authorize(self, authorization: str | None) -> None:
        """Refuse a request without a live bearer token, with Atlas's 401 answer."""
        scheme, _, token = (authorization or "").partition(" ")
        with self._tokens_lock:
            expiry = self._tokens.get(token) if scheme.lower() == "bearer" else None
        if expiry is None or expiry < time.time():
            raise ApiError(401, "UNAUTHORIZED", "You are not authorized for this resource.")

    # -- routing -------------------------------------------------------------------------------
    def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        """Route one authorised request; pure apart from the state it changes."""
        # --- the published OpenAPI spec's constraints first, as Atlas checks them (atlas_openapi.py) ---
        if (problem := spec_problem(method, path, body)) is not None:
            raise ApiError(*problem)
        if not path.startswith(PREFIX):
            raise ApiError(404, "RESOURCE_NOT_FOUND", f"no route for {path}")
        rest, _, query = path[len(PREFIX) :].partition("?")
        routes: tuple[tuple[re.Pattern[str], tuple[str, ...], Route], ...] = (
            (_USERS, ("GET",), lambda m: (200, self._list_users(m.group(1), parse_qs(query)))),
            (_USERS, ("POST",), lambda m: self._create_user(m.group(1), body)),
            (_USER, ("GET", "DELETE", "PATCH"), lambda m: self._user(method, m.group(1), unquote(m.group(3)), body)),
            (_ACCESS, ("POST",), lambda m: self._add_access(m.group(1), body)),
            (_ACCESS_ONE, ("GET", "DELETE"), lambda m: self._access(method, m.group(1), unquote(m.group(2)))),
            (_STATUS, ("GET",), lambda m: (200, {"changeStatus": self._change_status(m.group(1), m.group(2))})),
            (_CLUSTER, ("GET",), lambda m: (200, self._cluster(m.group(1), m.group(2)))),
            (_SERVICES, ("POST",), lambda m: (200, self.privatelink.create_service(m.group(1), body or {}))),
            (_SERVICE, ("GET", "DELETE"), lambda m: self._service(method, *m.groups())),
            (_SERVICE_LIST, ("GET",), lambda m: (200, self.privatelink.services(m[1], m[2]))),
            (_ENDPOINTS, ("POST",), lambda m: (200, self.privatelink.create_endpoint(m[1], m[2], m[3], body or {}))),
            (_ENDPOINT, ("GET", "DELETE"), lambda m: self._endpoint(method, *m.groups())),
        )
        for pattern, methods, route in routes:
            if method in methods and (m := pattern.match(rest)):
                try:
                    result = route(m)
                except PrivateLinkError as err:
                    raise ApiError(*err.args3) from None
                if pattern in (_SERVICES, _ENDPOINTS, _SERVICE, _ENDPOINT) and method != "GET":
                    self.on_change()
                return result
        raise ApiError(404, "RESOURCE_NOT_FOUND", f"no route for {method} {path}")

    def _service(self, method: str, project: str, provider: str, service_id: str) -> tuple[int, Any]:
        if method == "DELETE":
            self.privatelink.delete_service(project, provider, service_id)
            return 204, None
        return 200, self.privatelink.service_doc(self.privatelink.service(project, provider, service_id))

    def _endpoint(self, method: str, project: str, provider: str, service_id: str, vpce: str) -> tuple[int, Any]:
        if method == "DELETE":
            self.privatelink.delete_endpoint(project, provider, service_id, unquote(vpce))
            return 204, None
        service, endpoint = self.privatelink.endpoint(project, provider, service_id, unquote(vpce))
        return 200, self.privatelink.endpoint_doc(service, endpoint)

    def _create_user(self, project: str, body: Any) -> tuple[int, Any]:
        user = user_from_api(project, body or {}, self.propagation_s)
        if self.state.users.get((user.project_id, user.username)):
            raise ApiError(409, "USER_ALREADY_EXISTS", f"user {user.username} already exists")
        self.state.put_user(user)
        self.on_change()
        return 201, user_to_api(user)

    def _add_access(self, project: str, body: Any) -> tuple[int, Any]:
        for entry in body or []:
            key = entry.get("ipAddress") or entry.get("cidrBlock")
            if not key:
                raise ApiError(400, "INVALID_ACCESS_LIST_ENTRY", "ipAddress or cidrBlock is required")
            self.state.add_access(project, str(key), str(entry.get("comment", "")))
        self.on_change()
        return 201, {"results": body}

    def _cluster(self, project: str, name: str) -> dict[str, Any]:
        uri = self.clusters(project, name)
        cluster = self.state.cluster(project, name)
        tenant = {"M0": "TENANT", "M2": "TENANT", "M5": "TENANT", "FLEX": "FLEX"}.get(cluster.tier.upper())
        return {
            "name": name,
            "groupId": project,
            "stateName": "IDLE",
            "clusterType": "REPLICASET",
            "connectionStrings": {
                "standard": uri,
                "standardSrv": uri,
                "privateEndpoint": self._private_endpoints(project, name) if cluster.dedicated else [],
            },
            "replicationSpecs": [
                {
                    "regionConfigs": [
                        {
                            "providerName": tenant or "AWS",
                            **({"backingProviderName": "AWS"} if tenant else {}),
                            "electableSpecs": {"instanceSize": cluster.tier},
                        }
                    ]
                }
            ],
            "mongoDBVersion": "8.0.0",
        }

    def _private_endpoints(self, project: str, name: str) -> list[dict[str, Any]]:
        """One entry per AVAILABLE interface endpoint (the sandbox has no SRV DNS: both strings are mongodb://).

        Only dedicated clusters get them: "This feature is not available for M0 Free clusters and Flex clusters."
        (https://www.mongodb.com/docs/atlas/security-private-endpoint/)
        """
        if self.private_uri is None:
            return []
        entries = []
        for service, endpoint in self.privatelink.available_endpoints(project):
            uri = self.private_uri(project, name, endpoint.vpce_id)
            entries.append(
                {
                    "connectionString": uri,
                    "srvConnectionString": uri,
                    "srvShardOptimizedConnectionString": uri,
                    "type": "MONGOD",
                    "endpoints": [
                        {"endpointId": endpoint.vpce_id, "providerName": "AWS", "region": service.region_name}
                    ],
                }
            )
        return entries

    def _list_users(self, project: str, query: Mapping[str, list[str]]) -> dict[str, Any]:
        """One page of the project's database users (``itemsPerPage`` ≤ 500, default 100; ``pageNum`` from 1)."""
        try:
            per_page = int(query.get("itemsPerPage", ["100"])[0])
            page = int(query.get("pageNum", ["1"])[0])
        except ValueError:
            raise ApiError(400, "INVALID_QUERY_PARAMETER", "itemsPerPage and pageNum are integers") from None
        if not (1 <= per_page <= 500 and page >= 1):
            raise ApiError(400, "INVALID_QUERY_PARAMETER", "itemsPerPage is 1-500 and pageNum >= 1")
        users = sorted(self.state.users_in(project), key=lambda u: (u.auth_database_name, u.username))
        window = users[(page - 1) * per_page : page * per_page]
        return {"results": [user_to_api(u) for u in window], "totalCount": len(users)}

    def _change_status(self, project: str, cluster: str) -> str:
        """PENDING while a user change that reaches ``cluster`` has not propagated yet, else APPLIED."""
        now = time.time()
        pending = any(
            u.visible_after > now and (not u.scopes or cluster in u.scopes) for u in self.state.users_in(project)
        )
        return "PENDING" if pending else "APPLIED"

    def _user(self, method: str, project: str, username: str, body: Any) -> tuple[int, Any]:
        user = self.state.users.get((project, username))
        if user is None:
            raise ApiError(404, "USERNAME_NOT_FOUND", f"no user {username} in project {project}")
        if method == "GET":
            return 200, user_to_api(user)
        if method == "DELETE":
            self.state.delete_user(project, username)
            self.on_change()
            return 204, None
        if method == "PATCH":
            merged = user_to_api(user) | dict(body or {})
            updated = user_from_api(project, merged)
            self.state.put_user(updated)
            self.on_change()
            return 200, user_to_api(updated)
        raise ApiError(405, "METHOD_NOT_ALLOWED", method)

    def _access(self, method: str, project: str, entry: str) -> tuple[int, Any]:
        if (project, entry) not in self.state.access_list:
            raise ApiError(404, "ATLAS_NETWORK_PERMISSION_ENTRY_NOT_FOUND", f"no access-list entry {entry}")
        if method == "GET":
            return 200, {"ipAddress": entry, "comment": self.state.access_list.get((project, entry), "")}
        if method == "DELETE":
            self.state.remove_access(project, entry)
            self.on_change()
            return 204, None
        raise ApiError(405, "METHOD_NOT_ALLOWED", method)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > 1_000_000:
                    self._reply(413, {"errorCode": "TOO_LARGE", "detail": "request body too large"})
                    return
                raw = self.rfile.read(length) if length else b""
                authorization = self.headers.get("Authorization")
                try:
                    if urlsplit(self.path).path == TOKEN_PATH and self.command == "POST":
                        status, doc = 200, api.issue_token(authorization, raw.decode("utf-8", "replace"))
                    else:
                        api.authorize(authorization)
                        body = json.loads(raw) if raw else None
                        status, doc = api.handle(self.command, self.path, body)
                except ApiError as err:
                    status, doc = err.status, {"error": err.status, "errorCode": err.code, "detail": err.detail}
                except ValueError as err:
                    status, doc = 400, {"error": 400, "errorCode": "INVALID_JSON", "detail": str(err)}
                except Exception as err:  # noqa: BLE001 - a client must always get an answer
                    status, doc = 500, {"error": 500, "errorCode": "UNEXPECTED_ERROR", "detail": repr(err)}
                self._reply(status, doc)

            def _reply(self, status: int, doc: Any) -> None:
                data = b"" if doc is None else json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = do_PATCH = _serve  # noqa: N815 - http.server's naming

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ARG002 - http.server's API
                return

        return Handler
