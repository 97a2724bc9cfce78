"""The objects of one emulated Kubernetes cluster (namespaces, service accounts, jobs, pods), as the API serves them.

Shapes follow the Kubernetes API reference (https://kubernetes.io/docs/reference/kubernetes-api/), so that the
official ``kubernetes`` Python client deserialises them; errors are ``Status`` objects with the reason and code the
API server uses ("API Concepts", https://kubernetes.io/docs/reference/using-api/api-concepts/). Pure state: the
HTTP edge is :mod:`kube_api`, the controllers that run pods are :mod:`eks`.
"""

from __future__ import annotations

import copy
import re
import secrets
import string
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
#: Random suffix alphabet of generateName (apimachinery ``util/rand``: no vowels, no confusable digits).
_SUFFIX = "bcdfghjklmnpqrstvwxz2456789"
Obj = dict[str, Any]


def now_iso() -> str:
    """RFC 3339 time, seconds precision, as the API server writes it."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class ApiError(Exception):
    """A request the API server refuses: the ``Status`` it answers with."""

    def __init__(self, code: int, reason: str, message: str, details: Obj | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> Obj:
        """The ``Status`` object."""
        body: Obj = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


@dataclass(frozen=True)
class Kind:
    """A resource: its plural, group, kind and API version."""

    plural: str
    group: str
    kind: str
    api_version: str

    @property
    def qualified(self) -> str:
        """``jobs.batch``, ``pods``: how error messages name the resource."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def not_found(self, name: str) -> ApiError:
        """404 NotFound."""
        details = {"name": name, "kind": self.plural} | ({"group": self.group} if self.group else {})
        return ApiError(404, "NotFound", f'{self.qualified} "{name}" not found', details)

    def exists(self, name: str) -> ApiError:
        """409 AlreadyExists."""
        details = {"name": name, "kind": self.plural} | ({"group": self.group} if self.group else {})
        return ApiError(409, "AlreadyExists", f'{self.qualified} "{name}" already exists', details)

    def invalid(self, name: str, field_path: str, reason: str, message: str) -> ApiError:
        """422 Invalid, with one cause."""
        kind = f"{self.kind}.{self.group}" if self.group else self.kind
        cause = {"reason": reason, "message": message, "field": field_path}
        details = {"name": name, "kind": self.kind, "causes": [cause]} | ({"group": self.group} if self.group else {})
        return ApiError(422, "Invalid", f'{kind} "{name}" is invalid: {field_path}: {message}', details)


NAMESPACES = Kind("namespaces", "", "Namespace", "v1")
SERVICE_ACCOUNTS = Kind("serviceaccounts", "", "ServiceAccount", "v1")
PODS = Kind("pods", "", "Pod", "v1")
JOBS = Kind("jobs", "batch", "Job", "batch/v1")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch (``null`` deletes a key)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def json_patch(target: Obj, ops: list[Any]) -> Obj:
    """RFC 6902 JSON patch: add, replace, remove (what a client patching metadata uses)."""
    doc = copy.deepcopy(target)
    for op in ops:
        if not isinstance(op, dict) or op.get("op") not in ("add", "replace", "remove"):
            raise ApiError(422, "Invalid", f"Unexpected kind: {op.get('op') if isinstance(op, dict) else op}")
        parts = _pointer(str(op.get("path", "")))
        if not parts:
            raise ApiError(422, "Invalid", "the JSON patch path is empty")
        parent: Any = doc
        for part in parts[:-1]:
            if not isinstance(parent, dict) or part not in parent:
                raise ApiError(422, "Invalid", f"doc is missing path: {op['path']}")
            parent = parent[part]
        last = parts[-1]
        if op["op"] == "remove":
            if not isinstance(parent, dict) or last not in parent:
                raise ApiError(422, "Invalid", f"doc is missing path: {op['path']}")
            del parent[last]
        elif op["op"] == "replace" and (not isinstance(parent, dict) or last not in parent):
            raise ApiError(422, "Invalid", f"doc is missing path: {op['path']}: missing value")
        else:
            parent[last] = copy.deepcopy(op.get("value"))
    return doc


def _labels_match(labels: dict[str, str], selector: str) -> bool:
    """An equality-based label selector (``a=b,c!=d,e``), as ``list ... ?labelSelector=`` takes it."""
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key.strip()) != value.strip():
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


@dataclass
class ClusterStore:
    """One cluster's objects. Every method is thread-safe; returned objects are copies."""

    name: str
    objects: dict[tuple[str, str, str], Obj] = field(default_factory=dict)  # (plural, namespace, name) -> obj
    _version: int = 0
    _lock: threading.RLock = field(default_factory=threading.RLock)
    on_job_created: Callable[[str, str], None] | None = None

    def __post_init__(self) -> None:
        for namespace in DEFAULT_NAMESPACES:
            self._put(NAMESPACES, "", {"metadata": {"name": namespace}, "spec": {"finalizers": ["kubernetes"]}})
            self._default_service_account(namespace)

    # --- generic ---------------------------------------------------------------------------------
    def _put(self, kind: Kind, namespace: str, obj: Obj) -> Obj:
        self._version += 1
        meta = obj.setdefault("metadata", {})
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", now_iso())
        meta["resourceVersion"] = str(self._version)
        if namespace:
            meta["namespace"] = namespace
        obj["kind"], obj["apiVersion"] = kind.kind, kind.api_version
        self.objects[(kind.plural, namespace, meta["name"])] = obj
        return copy.deepcopy(obj)

    def _default_service_account(self, namespace: str) -> None:
        """The ``default`` service account the service-account controller creates in every namespace."""
        self._put(SERVICE_ACCOUNTS, namespace, {"metadata": {"name": "default"}})

    def _need_namespace(self, namespace: str) -> None:
        if ("namespaces", "", namespace) not in self.objects:
            raise NAMESPACES.not_found(namespace)

    def get(self, kind: Kind, namespace: str, name: str) -> Obj:
        """One object, or NotFound."""
        with self._lock:
            found = self.objects.get((kind.plural, namespace, name))
            if found is None:
                raise kind.not_found(name)
            return copy.deepcopy(found)

    def find(self, kind: Kind, namespace: str, name: str) -> Obj | None:
        """One object, or None."""
        with self._lock:
            found = self.objects.get((kind.plural, namespace, name))
            return copy.deepcopy(found) if found is not None else None

    def list(self, kind: Kind, namespace: str | None, selector: str = "") -> Obj:
        """A ``…List`` of the kind's objects in ``namespace`` (None: every namespace) matching ``selector``."""
        with self._lock:
            items = [
                copy.deepcopy(obj)
                for (plural, ns, _), obj in sorted(self.objects.items(), key=lambda kv: kv[0])
                if plural == kind.plural
                and (namespace is None or ns == namespace)
                and _labels_match(obj["metadata"].get("labels") or {}, selector)
            ]
            return {
                "kind": f"{kind.kind}List",
                "apiVersion": kind.api_version,
                "metadata": {"resourceVersion": str(self._version)},
                "items": items,
            }

    def update(self, kind: Kind, namespace: str, name: str, change: Callable[[Obj], Obj]) -> Obj:
        """Replace one object by ``change(copy)``; NotFound when it is gone."""
        with self._lock:
            current = self.get(kind, namespace, name)
            changed = change(current)
            changed["metadata"]["name"] = name
            changed["metadata"]["uid"] = current["metadata"]["uid"]
            changed["metadata"]["creationTimestamp"] = current["metadata"]["creationTimestamp"]
            return self._put(kind, namespace, changed)

    def remove(self, kind: Kind, namespace: str, name: str) -> Obj:
        """Drop one object; NotFound when it is gone."""
        with self._lock:
            found = self.objects.pop((kind.plural, namespace, name), None)
            if found is None:
                raise kind.not_found(name)
            self._version += 1
            return found

    # --- namespaces and service accounts ----------------------------------------------------------
    def create_namespace(self, body: Obj) -> Obj:
        """POST /api/v1/namespaces (the new namespace gets its ``default`` service account)."""
        name = str((body.get("metadata") or {}).get("name") or "")
        if not _DNS_LABEL.match(name) or len(name) > 63:
            raise NAMESPACES.invalid(name, "metadata.name", "FieldValueInvalid", f'Invalid value: "{name}"')
        with self._lock:
            if ("namespaces", "", name) in self.objects:
                raise NAMESPACES.exists(name)
            obj = copy.deepcopy(body)
            obj["spec"], obj["status"] = {"finalizers": ["kubernetes"]}, {"phase": "Active"}
            created = self._put(NAMESPACES, "", obj)
            self._default_service_account(name)
            return created

    def create_service_account(self, namespace: str, body: Obj) -> Obj:
        """POST /api/v1/namespaces/NS/serviceaccounts."""
        name = str((body.get("metadata") or {}).get("name") or "")
        if not _DNS_SUBDOMAIN.match(name) or len(name) > 253:
            raise SERVICE_ACCOUNTS.invalid(name, "metadata.name", "FieldValueInvalid", f'Invalid value: "{name}"')
        with self._lock:
            self._need_namespace(namespace)
            if ("serviceaccounts", namespace, name) in self.objects:
                raise SERVICE_ACCOUNTS.exists(name)
            return self._put(SERVICE_ACCOUNTS, namespace, copy.deepcopy(body))

    # --- jobs and pods -----------------------------------------------------------------------------
    def create_job(self, namespace: str, body: Obj) -> Obj:
        """POST /apis/batch/v1/namespaces/NS/jobs: validated and defaulted as the API server does (batch/v1)."""
        job = copy.deepcopy(body)
        meta = job.setdefault("metadata", {})
        name = str(meta.get("name") or "")
        if not name and meta.get("generateName"):
            name = meta["name"] = str(meta["generateName"]) + "".join(secrets.choice(_SUFFIX) for _ in range(5))
        spec = job.get("spec") or {}
        template = spec.get("template") or {}
        pod_spec = template.get("spec") or {}
        containers = pod_spec.get("containers") or []
        _validate_job(name, pod_spec)
        with self._lock:
            self._need_namespace(namespace)
            if ("jobs", namespace, name) in self.objects:
                raise JOBS.exists(name)
            uid = str(uuid.uuid4())
            meta["uid"] = uid
            labels = {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name}
            labels |= {"controller-uid": uid, "job-name": name}
            if not meta.get("labels"):
                meta["labels"] = dict(labels)
            spec.setdefault("parallelism", 1)
            spec.setdefault("completions", 1)
            spec.setdefault("backoffLimit", 6)
            spec.setdefault("completionMode", "NonIndexed")
            spec.setdefault("suspend", False)
            spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
            spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
            template_meta = template.setdefault("metadata", {})
            template_meta["labels"] = {**(template_meta.get("labels") or {}), **labels}
            pod_spec.setdefault("serviceAccountName", pod_spec.get("serviceAccount") or "default")
            pod_spec.setdefault("terminationGracePeriodSeconds", 30)
            pod_spec.setdefault("dnsPolicy", "ClusterFirst")
            pod_spec.setdefault("schedulerName", "default-scheduler")
            for container in containers:
                container.setdefault("imagePullPolicy", "IfNotPresent")
                container.setdefault("terminationMessagePath", "/dev/termination-log")
                container.setdefault("terminationMessagePolicy", "File")
                container.setdefault("resources", {})
            template["spec"], spec["template"], job["spec"] = pod_spec, template, spec
            job["status"] = {}
            created = self._put(JOBS, namespace, job)
        if self.on_job_created is not None:
            self.on_job_created(namespace, name)
        return created

    def new_pod(self, namespace: str, job: Obj) -> Obj:
        """The Job controller's pod for ``job`` (generateName ``JOB-``, owner reference to the job)."""
        meta, template = job["metadata"], job["spec"]["template"]
        name = f"{meta['name']}-" + "".join(secrets.choice(_SUFFIX) for _ in range(5))
        pod_spec = copy.deepcopy(template["spec"])
        pod_spec["serviceAccount"] = pod_spec["serviceAccountName"]
        pod = {
            "metadata": {
                "name": name,
                "generateName": f"{meta['name']}-",
                "labels": dict(template["metadata"]["labels"]),
                "annotations": dict(template["metadata"].get("annotations") or {}),
                "ownerReferences": [
                    {
                        "apiVersion": "batch/v1",
                        "kind": "Job",
                        "name": meta["name"],
                        "uid": meta["uid"],
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": pod_spec,
            "status": {"phase": "Pending", "qosClass": "BestEffort"},
        }
        with self._lock:
            return self._put(PODS, namespace, pod)


def _validate_job(name: str, pod_spec: Obj) -> None:
    """The checks of batch/v1 Job validation that a client can trip over (422 Invalid with the field)."""
    # A Job's name becomes the job-name label value, so it must be a DNS label of <= 63 characters.
    if not name or not _DNS_LABEL.match(name) or len(name) > 63:
        raise JOBS.invalid(name, "metadata.name", "FieldValueInvalid", f'Invalid value: "{name}"')
    if pod_spec.get("restartPolicy") not in ("Never", "OnFailure"):
        raise JOBS.invalid(
            name,
            "spec.template.spec.restartPolicy",
            "FieldValueRequired" if not pod_spec.get("restartPolicy") else "FieldValueNotSupported",
            'Required value: valid values: "OnFailure", "Never"',
        )
    containers = pod_spec.get("containers") or []
    if not containers:
        raise JOBS.invalid(name, "spec.template.spec.containers", "FieldValueRequired", "Required value")
    for i, container in enumerate(containers):
        for key in ("name", "image"):
            value = str(container.get(key) or "")
            if not value or (key == "name" and not _DNS_LABEL.match(value)):
                raise JOBS.invalid(
                    name, f"spec.template.spec.containers[{i}].{key}", "FieldValueRequired", "Required value"
                )


def random_suffix(length: int = 5) -> str:
    """Lowercase alphanumerics, for names."""
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(length))
