"""The Kubernetes API server of the emulated EKS clusters: one HTTPS listener, clusters told apart by path prefix.

A cluster's server URL is ``https://127.0.0.1:PORT/eks/NAME`` (the kubeconfig names it). It serves what a client
running a Job needs (core/v1 namespaces, serviceaccounts, pods and pod logs; batch/v1 jobs) with the verbs, status
codes and ``Status`` error bodies of the API server ("API Concepts",
https://kubernetes.io/docs/reference/using-api/api-concepts/). Every request needs the cluster's bearer token, else
401 ``Unauthorized`` (as the API server answers a request no authenticator accepts).

Sandbox differences: a static bearer token stands in for the EKS authentication token (``k8s-aws-v1.`` + a presigned
STS GetCallerIdentity URL) and its mapping to RBAC (the token's holder is cluster admin); no watch, no
fieldSelector, equality-based label selectors only; one listener for every cluster, told apart by path.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

from atlasiam_sandbox.aws._http import LocalServer, QuietHandler
from atlasiam_sandbox.aws.kube_store import (
    JOBS,
    NAMESPACES,
    PODS,
    SERVICE_ACCOUNTS,
    ApiError,
    ClusterStore,
    Kind,
    Obj,
    json_patch,
    merge_patch,
)
from atlasiam_sandbox.mongo.tls import TlsFiles

_ROUTE = re.compile(
    r"^/eks/(?P<cluster>[^/]+)(?P<api>/api/v1|/apis/batch/v1)"
    r"(?:/namespaces/(?P<ns>[^/]+))?/(?P<plural>[a-z]+)(?:/(?P<name>[^/]+))?(?:/(?P<sub>log))?$"
)
_NS_ROUTE = re.compile(r"^/eks/(?P<cluster>[^/]+)/api/v1/namespaces(?:/(?P<name>[^/]+))?$")
_KINDS = {("/api/v1", k.plural): k for k in (SERVICE_ACCOUNTS, PODS)} | {("/apis/batch/v1", "jobs"): JOBS}
_JSON = "application/json"


@dataclass
class KubeHooks:
    """What the controllers do for the API: logs of a pod, deletion of a job or a pod."""

    log: Callable[[str, str, str], str]  # (cluster, namespace, pod) -> text, or raise ApiError
    delete_job: Callable[[str, str, str, str], Obj]  # (cluster, namespace, name, propagation) -> response body
    delete_pod: Callable[[str, str, str], Obj]  # (cluster, namespace, name) -> the pod


class KubeApiServer(LocalServer):
    """The HTTPS listener; ``clusters`` maps a cluster name to its store (looked up per request)."""

    def __init__(
        self, tls: TlsFiles, token: str, clusters: Callable[[str], ClusterStore | None], hooks: KubeHooks
    ) -> None:
        super().__init__(_KubeHandler, name="kube-api")
        self.socket = tls.server_context().wrap_socket(self.socket, server_side=True)
        self.token = token
        self.clusters = clusters
        self.hooks = hooks

    @property
    def url(self) -> str:
        """``https://127.0.0.1:<port>``."""
        host, port = self.server_address[:2]
        return f"https://{host!s}:{port}"

    def cluster_url(self, name: str) -> str:
        """The cluster's API server URL."""
        return f"{self.url}/eks/{name}"


class _KubeHandler(QuietHandler):
    server_version = "kube-apiserver"

    @property
    def _server(self) -> KubeApiServer:
        return cast(KubeApiServer, self.server)

    def _send_json(self, status: int, body: Obj) -> None:
        self.send_body(status, json.dumps(body).encode(), _JSON)

    def _dispatch(self) -> None:
        body = self.read_body()
        auth = self.headers.get("Authorization") or ""
        if not hmac.compare_digest(auth.encode(), f"Bearer {self._server.token}".encode()):
            self._send_json(401, ApiError(401, "Unauthorized", "Unauthorized").status())
            return
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            status, answer = self._route(unquote(parts.path), query, body)
        except ApiError as err:
            self._send_json(err.code, err.status())
            return
        if isinstance(answer, str):
            self.send_body(status, answer.encode(), "text/plain")
        else:
            self._send_json(status, answer)

    def _store(self, cluster: str) -> ClusterStore:
        store = self._server.clusters(cluster)
        if store is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return store

    def _json_body(self, body: bytes) -> Any:
        try:
            return json.loads(body or b"null")
        except ValueError as err:
            raise ApiError(400, "BadRequest", f"the body of the request was in an unknown format: {err}") from err

    def _route(self, path: str, query: dict[str, str], body: bytes) -> tuple[int, Obj | str]:
        ns_match = _NS_ROUTE.match(path)
        if ns_match:
            return self._namespaces(self._store(ns_match["cluster"]), ns_match["name"], body)
        match = _ROUTE.match(path)
        kind = _KINDS.get((match["api"], match["plural"])) if match else None
        if match is None or kind is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        store, ns, name = self._store(match["cluster"]), match["ns"], match["name"]
        if match["sub"]:
            if kind is not PODS or self.command != "GET" or not ns or not name:
                raise ApiError(
                    405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
                )
            store.get(PODS, ns, name)
            return 200, self._server.hooks.log(store.name, ns, name)
        if name is None:
            return self._collection(store, kind, ns, query, body)
        if ns is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return self._item(store, kind, ns, name, query, body)

    def _namespaces(self, store: ClusterStore, name: str | None, body: bytes) -> tuple[int, Obj]:
        if name is None and self.command == "GET":
            return 200, store.list(NAMESPACES, "")
        if name is None and self.command == "POST":
            return 201, store.create_namespace(self._json_body(body) or {})
        if name is not None and self.command == "GET":
            return 200, store.get(NAMESPACES, "", name)
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def _collection(
        self, store: ClusterStore, kind: Kind, ns: str | None, query: dict[str, str], body: bytes
    ) -> tuple[int, Obj]:
        if self.command == "GET":
            return 200, store.list(kind, ns, query.get("labelSelector", ""))
        if self.command == "POST" and ns is not None:
            obj = self._json_body(body)
            if not isinstance(obj, dict):
                raise ApiError(400, "BadRequest", "the body of the request was in an unknown format")
            if kind is JOBS:
                return 201, store.create_job(ns, obj)
            if kind is SERVICE_ACCOUNTS:
                return 201, store.create_service_account(ns, obj)
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def _item(
        self, store: ClusterStore, kind: Kind, ns: str, name: str, query: dict[str, str], body: bytes
    ) -> tuple[int, Obj]:
        if self.command == "GET":
            return 200, store.get(kind, ns, name)
        if self.command == "PATCH" and kind is SERVICE_ACCOUNTS:
            return 200, self._patch(store, kind, ns, name, body)
        if self.command == "DELETE" and kind is JOBS:
            options = self._json_body(body) if body else {}
            policy = query.get("propagationPolicy") or (options or {}).get("propagationPolicy") or "Orphan"
            if policy not in ("Orphan", "Background", "Foreground"):
                raise ApiError(400, "BadRequest", f"propagationPolicy: Unsupported value: {policy!r}")
            store.get(JOBS, ns, name)
            return 200, self._server.hooks.delete_job(store.name, ns, name, policy)
        if self.command == "DELETE" and kind is PODS:
            return 200, self._server.hooks.delete_pod(store.name, ns, name)
        if self.command == "DELETE" and kind is SERVICE_ACCOUNTS:
            removed = store.remove(kind, ns, name)
            return 200, removed
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def _patch(self, store: ClusterStore, kind: Kind, ns: str, name: str, body: bytes) -> Obj:
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        patch = self._json_body(body)
        if content_type == "application/json-patch+json":
            if not isinstance(patch, list):
                # The API server decodes a JSON patch as an array of operations.
                raise ApiError(400, "BadRequest", "json: cannot unmarshal object into Go value of type jsonpatch.Patch")
            return store.update(kind, ns, name, lambda obj: json_patch(obj, patch))
        if content_type in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
            if not isinstance(patch, dict):
                raise ApiError(400, "BadRequest", "the body of the request was in an unknown format")
            return store.update(kind, ns, name, lambda obj: merge_patch(obj, patch))
        raise ApiError(415, "UnsupportedMediaType", f"{content_type} is unsupported patch type")

    def do_GET(self) -> None:
        """Read and list."""
        self._dispatch()

    def do_POST(self) -> None:
        """Create."""
        self._dispatch()

    def do_PATCH(self) -> None:
        """Patch."""
        self._dispatch()

    def do_DELETE(self) -> None:
        """Delete."""
        self._dispatch()
