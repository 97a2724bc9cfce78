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
    wait_for,
)
from atlasiam_sandbox.provider.values_atlas import encode_state_id

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
    def _configured(state: State) -> str:
        """The entry as configured (at create time the other attribute is still unknown)."""
        entry = known(state, "ip_address") or known(state, "cidr_block")
        if not entry:
            raise BackendError("exactly one of ip_address or cidr_block is required in the sandbox")
        return str(entry)

    @staticmethod
    def _entry(state: State) -> str:
        """The entry of a created resource: the one its id encodes.

        The real provider reads by the id's ``entry`` and deletes by the ip_address/cidr_block Atlas reported
        (internal/service/projectipaccesslist/resource_project_ip_access_list.go). The stand-in fills the
        attribute that was not configured with a generated value (both are Optional+Computed), so only the id
        names the entry for certain: with a ``cidr_block``, the generated ``ip_address`` would name none.
        """
        fields = dict(part.split(":", 1) for part in str(known(state, "id") or "").split("-") if ":" in part)
        if "entry" not in fields:
            raise BackendError(f"the access-list entry's id {known(state, 'id')!r} names no entry")
        return base64.b64decode(fields["entry"]).decode()

    def create(self, aws: AwsContext, state: State) -> Observed:  # noqa: ARG002
        """Add the entry."""
        key = "ipAddress" if known(state, "ip_address") else "cidrBlock"
        _call(
            "POST",
            f"{known(state, 'project_id')}/accessList",
            [{key: self._configured(state), "comment": known(state, "comment") or ""}],
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
            "connection_strings": {
                "standard": conn.get("standard"),
                "standard_srv": conn.get("standardSrv"),
                "private": conn.get("private") or "",
                "private_srv": conn.get("privateSrv") or "",
                "private_endpoint": [
                    {
                        "connection_string": pe.get("connectionString") or "",
                        "srv_connection_string": pe.get("srvConnectionString") or "",
                        "srv_shard_optimized_connection_string": pe.get("srvShardOptimizedConnectionString") or "",
                        "type": pe.get("type") or "",
                        "endpoints": [
                            {
                                "endpoint_id": e.get("endpointId") or "",
                                "provider_name": e.get("providerName") or "",
                                "region": e.get("region") or "",
                            }
                            for e in pe.get("endpoints") or ()
                        ],
                    }
                    for pe in conn.get("privateEndpoint") or ()
                ],
            },
        }


# How long the stand-in waits for PrivateLink state changes (the real provider: 1 h for the service, 2 h for an
# endpoint, polling every 5 s; the emulation settles in about a second).
PRIVATELINK_TIMEOUT_S = 60.0


def _decoded(value: str, key: str) -> str:
    """The provider's `conversion.GetEncodedID`: a composite `key:base64-...` id's part, or the value itself."""
    for part in value.split("-"):
        name, _, encoded = part.partition(":")
        if name == key and encoded:
            return base64.b64decode(encoded).decode()
    return value


class PrivateLinkEndpoint(Handler):
    """mongodbatlas_privatelink_endpoint: a private endpoint service (internal/service/privatelinkendpoint)."""

    label = "MongoDB Private Endpoints Connection"
    replace = ("project_id", "provider_name", "region", "delete_on_create_timeout")

    @staticmethod
    def _path(state: State, link_id: str) -> str:
        return f"{known(state, 'project_id')}/privateEndpoint/{known(state, 'provider_name')}/endpointService/{link_id}"

    def create(self, aws: AwsContext, state: State) -> Observed:  # noqa: ARG002 - the Atlas side needs no AWS
        """POST the service, then wait as the provider does (INITIATING -> AVAILABLE/WAITING_FOR_USER/FAILED)."""
        body = {"providerName": known(state, "provider_name"), "region": known(state, "region")}
        doc = _call("POST", f"{known(state, 'project_id')}/privateEndpoint/endpointService", body)
        link_id = str(doc["id"])

        def settled() -> dict[str, Any] | None:
            current = _call("GET", self._path(state, link_id))
            if current is None:
                return {"status": "DELETED"}
            return current if current.get("status") not in ("INITIATING", "DELETING") else None

        wait_for(settled, f"private endpoint service {link_id}", timeout=PRIVATELINK_TIMEOUT_S)
        observed = self.read(aws, {**state, "private_link_id": link_id})
        if observed is None:
            raise BackendError(f"private endpoint service {link_id} disappeared while it was created")
        return observed

    def read(self, aws: AwsContext, state: State) -> Observed | None:  # noqa: ARG002
        """GET the service; a non-empty errorMessage is an error, as in the provider's read."""
        link_id = str(known(state, "private_link_id") or _decoded(str(known(state, "id")), "private_link_id"))
        doc = _call("GET", self._path(state, link_id))
        if doc is None:
            return None
        if doc.get("errorMessage"):
            raise BackendError(f"privatelink endpoint is in a failed state: {doc['errorMessage']}")
        return {
            "id": encode_state_id(
                {
                    "private_link_id": link_id,
                    "project_id": known(state, "project_id"),
                    "provider_name": known(state, "provider_name"),
                    "region": known(state, "region"),
                }
            ),
            "private_link_id": link_id,
            "endpoint_service_name": doc.get("endpointServiceName") or "",
            "status": doc.get("status"),
            "region_name": doc.get("regionName") or "",
            "error_message": "",
            "interface_endpoints": list(doc.get("interfaceEndpoints") or []),
            "private_endpoints": [],
            "endpoint_group_names": [],
            "service_attachment_names": [],
            "private_link_service_name": "",
            "private_link_service_resource_id": "",
        }

    def delete(self, aws: AwsContext, state: State) -> None:  # noqa: ARG002
        """DELETE, then wait until Atlas no longer knows it (the provider's DeleteStateChangeConfig)."""
        link_id = str(known(state, "private_link_id"))
        if _call("DELETE", self._path(state, link_id)) is None:
            return
        wait_for(
            lambda: True if _call("GET", self._path(state, link_id)) is None else None,
            f"private endpoint service {link_id} to be deleted",
            timeout=PRIVATELINK_TIMEOUT_S,
        )


class PrivateLinkEndpointService(Handler):
    """mongodbatlas_privatelink_endpoint_service: adds an AWS interface endpoint to a private endpoint service.

    As the provider's internal/service/privatelinkendpointservice/resource.go does it.
    """

    label = "MongoDB Private Endpoint Interface Link"
    replace = ("project_id", "private_link_id", "endpoint_service_id", "provider_name", "delete_on_create_timeout")

    @staticmethod
    def _base(state: State) -> str:
        link_id = _decoded(str(known(state, "private_link_id")), "private_link_id")
        provider = known(state, "provider_name")
        return f"{known(state, 'project_id')}/privateEndpoint/{provider}/endpointService/{link_id}/endpoint"

    def create(self, aws: AwsContext, state: State) -> Observed:  # noqa: ARG002
        """POST the endpoint, wait for AVAILABLE/REJECTED/FAILED/DELETED, then read (which fails on an errorMessage)."""
        endpoint_id = str(known(state, "endpoint_service_id"))
        _call("POST", self._base(state), {"id": endpoint_id})
        path = f"{self._base(state)}/{quote(endpoint_id, safe='')}"

        def settled() -> dict[str, Any] | None:
            doc = _call("GET", path)
            if doc is None:
                return {"connectionStatus": "DELETED"}
            return doc if doc.get("connectionStatus") in ("AVAILABLE", "REJECTED", "FAILED") else None

        wait_for(settled, f"interface endpoint {endpoint_id}", timeout=PRIVATELINK_TIMEOUT_S)
        observed = self.read(aws, state)
        if observed is None:
            raise BackendError(f"interface endpoint {endpoint_id} disappeared while it was added")
        return observed

    def read(self, aws: AwsContext, state: State) -> Observed | None:  # noqa: ARG002
        """GET the endpoint; a non-empty errorMessage is an error (the provider's read)."""
        endpoint_id = str(known(state, "endpoint_service_id"))
        doc = _call("GET", f"{self._base(state)}/{quote(endpoint_id, safe='')}")
        if doc is None:
            return None
        if doc.get("errorMessage"):
            raise BackendError(f"privatelink endpoint service is in a failed state: {doc['errorMessage']}")
        return {
            "id": encode_state_id(
                {
                    "project_id": known(state, "project_id"),
                    "private_link_id": _decoded(str(known(state, "private_link_id")), "private_link_id"),
                    "endpoint_service_id": endpoint_id,
                    "provider_name": known(state, "provider_name"),
                }
            ),
            "aws_connection_status": doc.get("connectionStatus"),
            "interface_endpoint_id": doc.get("interfaceEndpointId") or "",
            "delete_requested": bool(doc.get("deleteRequested")),
            "error_message": "",
            "azure_status": "",
            "gcp_status": "",
            "endpoint_group_name": "",
            "private_endpoint_connection_name": "",
            "private_endpoint_resource_id": "",
            "private_endpoint_ip_address": "",
        }

    def delete(self, aws: AwsContext, state: State) -> None:  # noqa: ARG002
        """DELETE, then wait for DELETED (404)."""
        path = f"{self._base(state)}/{quote(str(known(state, 'endpoint_service_id')), safe='')}"
        if _call("DELETE", path) is None:
            return
        wait_for(
            lambda: True if _call("GET", path) is None else None,
            "the interface endpoint to be removed",
            timeout=PRIVATELINK_TIMEOUT_S,
        )
