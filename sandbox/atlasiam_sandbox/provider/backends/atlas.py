"""Real behaviour for the stand-in mongodbatlas provider, backed by the sandbox's Atlas Admin API emulation.

Active when the plugin's environment has ``MONGODB_ATLAS_BASE_URL`` (the setting the real provider honours
too). Plain HTTP with the standard library: no extra imports on the plugin's start-up path. It signs in as
the real provider does with a service account: the client credentials from ``MONGODB_ATLAS_CLIENT_ID`` /
``MONGODB_ATLAS_CLIENT_SECRET`` buy a bearer token (the emulation refuses unauthenticated calls).
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

from atlasiam_sandbox.provider.backends.base import (
    AwsContext,
    BackendError,
    DataHandler,
    Handler,
    Observed,
    State,
    known,
)

BASE_URL_ENV = "MONGODB_ATLAS_BASE_URL"
_API = "/api/atlas/v2/groups/"


_TOKEN: list[str] = []  # this plugin process's bearer token, fetched once


def _token(base: str) -> str:
    """A bearer token for the service account in the environment (client credentials grant)."""
    if not _TOKEN:
        pair = f"{os.environ.get('MONGODB_ATLAS_CLIENT_ID', '')}:{os.environ.get('MONGODB_ATLAS_CLIENT_SECRET', '')}"
        req = urllib.request.Request(
            base + "/api/oauth/token",
            data=b"grant_type=client_credentials",
            method="POST",
            headers={
                "Authorization": "Basic " + base64.b64encode(pair.encode()).decode(),
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                _TOKEN.append(str(json.loads(resp.read())["access_token"]))
        except urllib.error.HTTPError as err:
            raise BackendError(f"Atlas refused the service account's credentials (HTTP {err.code})") from None
        except OSError as err:
            raise BackendError(f"the Atlas Admin API at {base} is unreachable: {err}") from None
    return _TOKEN[0]


def _call(method: str, path: str, body: Any = None) -> Any:
    """One Admin API call; 404 → None; any other error → BackendError with Atlas's error code."""
    base = os.environ.get(BASE_URL_ENV, "").rstrip("/")
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        base + _API + path,
        data=data,
        method=method,
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Authorization": "Bearer " + _token(base),
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            return json.loads(raw) if raw else {}
    except urllib.error.HTTPError as err:
        if err.code == 404 and method in ("GET", "DELETE"):
            return None
        try:
            doc = json.loads(err.read() or b"{}")
        except ValueError:
            doc = {}
        raise BackendError(f"{doc.get('errorCode', err.code)}: {doc.get('detail', err.reason)}") from None
    except OSError as err:
        raise BackendError(f"the Atlas Admin API at {base} is unreachable: {err}") from None


def _blocks(state: State, name: str) -> list[dict[str, Any]]:
    value = known(state, name) or []
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


class DatabaseUser(Handler):
    """mongodbatlas_database_user: POST/GET/PATCH/DELETE /groups/{project}/databaseUsers."""

    label = "Atlas database user"
    replace = ("username", "project_id", "auth_database_name", "aws_iam_type")

    @staticmethod
    def _path(state: State) -> str:
        db = quote(str(known(state, "auth_database_name") or "admin"), safe="")
        return f"{known(state, 'project_id')}/databaseUsers/{db}/{quote(str(known(state, 'username')), safe='')}"

    @staticmethod
    def _body(state: State) -> dict[str, Any]:
        return {
            # The real provider sends groupId too (NewMongoDBDatabaseUser: GroupId = project_id); the spec requires it.
            "groupId": known(state, "project_id"),
            "username": known(state, "username"),
            "databaseName": known(state, "auth_database_name"),
            "awsIAMType": known(state, "aws_iam_type") or "NONE",
            "roles": [
                {
                    "roleName": r.get("role_name"),
                    "databaseName": r.get("database_name"),
                    **({"collectionName": r["collection_name"]} if r.get("collection_name") else {}),
                }
                for r in _blocks(state, "roles")
            ],
            "scopes": [{"name": s.get("name"), "type": s.get("type") or "CLUSTER"} for s in _blocks(state, "scopes")],
        }

    def create(self, aws: AwsContext, state: State) -> Observed:  # noqa: ARG002 - the Atlas side needs no AWS
        """Create the user (Atlas checks the ARN's form only)."""
        _call("POST", f"{known(state, 'project_id')}/databaseUsers", self._body(state))
        return {}

    def read(self, aws: AwsContext, state: State) -> Observed | None:  # noqa: ARG002
        """None when the user was deleted behind Terraform's back (the next plan recreates it)."""
        return {} if _call("GET", self._path(state)) is not None else None

    def update(self, aws: AwsContext, prior: State, planned: State) -> Observed:  # noqa: ARG002
        """Roles and scopes change in place."""
        _call("PATCH", self._path(planned), self._body(planned))
        return {}

    def delete(self, aws: AwsContext, state: State) -> None:  # noqa: ARG002
        """Delete (gone already is fine)."""
        _call("DELETE", self._path(state))


class AccessListEntry(Handler):
    """mongodbatlas_project_ip_access_list: one IP address or CIDR block."""

    label = "Atlas project IP access list entry"
    replace = ("project_id", "ip_address", "cidr_block", "aws_security_group", "comment")

    @staticmethod
    def _entry(state: State) -> str:
        entry = known(state, "ip_address") or known(state, "cidr_block")
        if not entry:
            raise BackendError("exactly one of ip_address or cidr_block is required in the sandbox")
        return str(entry)

    def create(self, aws: AwsContext, state: State) -> Observed:  # noqa: ARG002
        """Add the entry."""
        key = "ipAddress" if known(state, "ip_address") else "cidrBlock"
        _call(
            "POST",
            f"{known(state, 'project_id')}/accessList",
            [{key: self._entry(state), "comment": known(state, "comment") or ""}],
        )
        return {}

    def read(self, aws: AwsContext, state: State) -> Observed | None:  # noqa: ARG002
        """None when the entry is gone."""
        path = f"{known(state, 'project_id')}/accessList/{quote(self._entry(state), safe='')}"
        return {} if _call("GET", path) is not None else None

    def delete(self, aws: AwsContext, state: State) -> None:  # noqa: ARG002
        """Remove the entry."""
        _call("DELETE", f"{known(state, 'project_id')}/accessList/{quote(self._entry(state), safe='')}")


class AdvancedClusterData(DataHandler):
    """data mongodbatlas_advanced_cluster: the cluster's connection strings point at the sandbox endpoint."""

    label = "Atlas advanced cluster"

    def read(self, aws: AwsContext, config: State) -> Observed:  # noqa: ARG002
        """GET the cluster; the sandbox has no SRV DNS, so standard_srv is the direct mongodb:// URI."""
        doc = _call("GET", f"{known(config, 'project_id')}/clusters/{known(config, 'name')}")
        if doc is None:
            raise BackendError(f"cluster {known(config, 'name')} not found in project {known(config, 'project_id')}")
        conn = doc.get("connectionStrings") or {}
        return {
            "state_name": doc.get("stateName", "IDLE"),
            "mongo_db_version": doc.get("mongoDBVersion"),
            "connection_strings": {"standard": conn.get("standard"), "standard_srv": conn.get("standardSrv")},
        }
