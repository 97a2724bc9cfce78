"""A tiny emulation of the Atlas Admin API (v2) over the sandbox's ``AtlasState``.

Only what the stand-in mongodbatlas provider needs: database users, project access list, and
clusters (whose connection string points at the sandbox's MongoDB wire endpoint). JSON in, JSON
out, loopback only. The stand-in provider finds it through ``MONGODB_ATLAS_BASE_URL``, the same
setting the real provider honours.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from atlasiam_sandbox.atlas_state import AtlasState, DatabaseUser

PREFIX = "/api/atlas/v2/groups/"
_USERS = re.compile(r"^([0-9a-f]{24})/databaseUsers$")
_USER = re.compile(r"^([0-9a-f]{24})/databaseUsers/([^/]+)/([^/]+)$")
_ACCESS = re.compile(r"^([0-9a-f]{24})/accessList$")
_ACCESS_ONE = re.compile(r"^([0-9a-f]{24})/accessList/([^/]+)$")
_CLUSTER = re.compile(r"^([0-9a-f]{24})/clusters/([A-Za-z0-9-]+)$")

# cluster (project, name) -> connection string; the sandbox provides the endpoint factory.
ClusterResolver = Callable[[str, str], str]


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
    ) -> None:
        self.state = state
        self.clusters = clusters
        self.propagation_s = propagation_s
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

    # -- routing -------------------------------------------------------------------------------
    def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        """Route one request; pure apart from the state it changes."""
        if not path.startswith(PREFIX):
            raise ApiError(404, "RESOURCE_NOT_FOUND", f"no route for {path}")
        rest = path[len(PREFIX) :].split("?", 1)[0]
        if (m := _USERS.match(rest)) and method == "POST":
            user = user_from_api(m.group(1), body or {}, self.propagation_s)
            if self.state.users.get((user.project_id, user.username)):
                raise ApiError(409, "USER_ALREADY_EXISTS", f"user {user.username} already exists")
            self.state.put_user(user)
            self.on_change()
            return 201, user_to_api(user)
        if m := _USER.match(rest):
            return self._user(method, m.group(1), unquote(m.group(3)), body)
        if (m := _ACCESS.match(rest)) and method == "POST":
            for entry in body or []:
                key = entry.get("ipAddress") or entry.get("cidrBlock")
                if not key:
                    raise ApiError(400, "INVALID_ACCESS_LIST_ENTRY", "ipAddress or cidrBlock is required")
                self.state.add_access(m.group(1), str(key), str(entry.get("comment", "")))
            self.on_change()
            return 201, {"results": body}
        if m := _ACCESS_ONE.match(rest):
            return self._access(method, m.group(1), unquote(m.group(2)))
        if (m := _CLUSTER.match(rest)) and method == "GET":
            uri = self.clusters(m.group(1), m.group(2))
            return 200, {
                "name": m.group(2),
                "groupId": m.group(1),
                "stateName": "IDLE",
                "connectionStrings": {"standard": uri, "standardSrv": uri},
                "mongoDBVersion": "8.0.0",
            }
        raise ApiError(404, "RESOURCE_NOT_FOUND", f"no route for {method} {path}")

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
                try:
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
