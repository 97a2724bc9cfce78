"""The emulated Atlas control plane: database users, access list and clusters of the sandbox.

Thread-safe and JSON-persistable. The stand-in mongodbatlas provider writes it (sandbox issue); the
MongoDB wire endpoint reads it to decide whether an authenticated AWS identity may log in.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

AwsIamType = Literal["NONE", "USER", "ROLE"]


@dataclass(frozen=True)
class DatabaseUser:
    """One Atlas database user (only what authentication looks at)."""

    project_id: str
    username: str
    aws_iam_type: AwsIamType = "ROLE"
    auth_database_name: str = "$external"
    roles: tuple[tuple[str, str], ...] = (("readWrite", "test"),)
    scopes: tuple[str, ...] = ()  # cluster names; empty = every cluster of the project
    visible_after: float = 0.0  # time.time() before which the user has not propagated yet


@dataclass(frozen=True)
class Cluster:
    """An emulated cluster: its name, replica-set name and tier (``M0``, ``FLEX``, ``M10``, ...).

    A cluster the sandbox was never told about is a dedicated one (``M10``).
    """

    project_id: str
    name: str
    replica_set: str
    tier: str = "M10"

    @property
    def dedicated(self) -> bool:
        """False for the tiers Atlas gives no private endpoints: M0 (free) and Flex (also the retired M2/M5).

        "This feature is not available for M0 Free clusters and Flex clusters. [...] MongoDB Atlas supports private
        endpoints on dedicated clusters." (https://www.mongodb.com/docs/atlas/security-private-endpoint/)
        """
        return self.tier.upper() not in ("M0", "M2", "M5", "FLEX")


@dataclass
class InterfaceEndpoint:
    """An AWS interface endpoint someone added to a private endpoint service (``createPrivateEndpoint``)."""

    vpce_id: str
    created_at: float
    #: Set once Atlas has looked at the endpoint: ``AVAILABLE`` (accepted) or ``REJECTED``.
    decision: str | None = None
    error_message: str | None = None
    delete_requested_at: float | None = None


@dataclass
class EndpointService:
    """A project's private endpoint service in one AWS region (``createPrivateEndpointService``)."""

    project_id: str
    id: str
    region_name: str  # Atlas's spelling, e.g. US_EAST_1
    service_name: str  # com.amazonaws.vpce.<aws region>.vpce-svc-<17 hex>
    created_at: float
    delete_requested_at: float | None = None
    endpoints: dict[str, InterfaceEndpoint] = field(default_factory=dict)


@dataclass
class AtlasState:
    """Users, access-list entries and clusters, guarded by one lock."""

    users: dict[tuple[str, str], DatabaseUser] = field(default_factory=dict)
    access_list: dict[tuple[str, str], str] = field(default_factory=dict)  # (project, cidr/ip) -> comment
    clusters: dict[tuple[str, str], Cluster] = field(default_factory=dict)
    endpoint_services: dict[tuple[str, str], EndpointService] = field(default_factory=dict)  # (project, id)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    def put_user(self, user: DatabaseUser) -> None:
        """Create or replace a user."""
        with self._lock:
            self.users[(user.project_id, user.username)] = user

    def delete_user(self, project_id: str, username: str) -> None:
        """Delete a user (no error when absent)."""
        with self._lock:
            self.users.pop((project_id, username), None)

    def find_user(self, project_id: str, username: str, now: float | None = None) -> DatabaseUser | None:
        """The user as authentication sees it: None if absent or not yet propagated."""
        with self._lock:
            user = self.users.get((project_id, username))
        if user is None or (now if now is not None else time.time()) < user.visible_after:
            return None
        return user

    def put_cluster(self, cluster: Cluster) -> None:
        """Create or replace a cluster."""
        with self._lock:
            self.clusters[(cluster.project_id, cluster.name)] = cluster

    def cluster(self, project_id: str, name: str) -> Cluster:
        """The cluster as the sandbox knows it; one it was never told about is dedicated (M10)."""
        with self._lock:
            return self.clusters.get((project_id, name)) or Cluster(project_id, name, f"atlas-{name.lower()}-shard-0")

    def put_endpoint_service(self, service: EndpointService) -> None:
        """Create or replace a private endpoint service."""
        with self._lock:
            self.endpoint_services[(service.project_id, service.id)] = service

    def remove_endpoint_service(self, project_id: str, service_id: str) -> None:
        """Forget a private endpoint service (no error when absent)."""
        with self._lock:
            self.endpoint_services.pop((project_id, service_id), None)

    def all_services(self) -> list[EndpointService]:
        """Every private endpoint service of every project."""
        with self._lock:
            return list(self.endpoint_services.values())

    def services_in(self, project_id: str) -> list[EndpointService]:
        """Every private endpoint service of a project."""
        with self._lock:
            return [s for (p, _), s in self.endpoint_services.items() if p == project_id]

    def add_access(self, project_id: str, entry: str, comment: str = "") -> None:
        """Add an access-list entry (an IP address or CIDR block)."""
        with self._lock:
            self.access_list[(project_id, entry)] = comment

    def remove_access(self, project_id: str, entry: str) -> None:
        """Remove an access-list entry."""
        with self._lock:
            self.access_list.pop((project_id, entry), None)

    def access_admits(self, project_id: str, address: str) -> bool:
        """Whether an entry of the project's IP access list (an address or a CIDR block) contains ``address``.

        Atlas lets a client in over the public internet only from an address on the list ("Configure IP Access
        List Entries", https://www.mongodb.com/docs/atlas/security/ip-access-list/). An entry that is no
        address or CIDR block admits nobody.
        """
        try:
            wanted = ipaddress.ip_address(address)
        except ValueError:
            return False
        with self._lock:
            entries = [e for (p, e) in self.access_list if p == project_id]
        for entry in entries:
            try:
                network = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                continue
            if wanted.version == network.version and wanted in network:
                return True
        return False

    def to_json(self) -> str:
        """Serialise everything (for the sandbox's state directory)."""
        with self._lock:
            doc = {
                "users": [asdict(u) for u in self.users.values()],
                "access_list": [[p, e, c] for (p, e), c in self.access_list.items()],
                "clusters": [asdict(c) for c in self.clusters.values()],
                "endpoint_services": [asdict(s) for s in self.endpoint_services.values()],
            }
        return json.dumps(doc, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> AtlasState:
        """Load what ``to_json`` wrote."""
        doc = json.loads(text)
        state = cls()
        for u in doc.get("users", []):
            u["roles"] = tuple(tuple(r) for r in u.get("roles", []))
            u["scopes"] = tuple(u.get("scopes", []))
            state.put_user(DatabaseUser(**u))
        for p, e, c in doc.get("access_list", []):
            state.add_access(p, e, c)
        for c in doc.get("clusters", []):
            state.put_cluster(Cluster(**c))
        for s in doc.get("endpoint_services", []):
            endpoints = {k: InterfaceEndpoint(**v) for k, v in (s.pop("endpoints", None) or {}).items()}
            state.put_endpoint_service(EndpointService(**s, endpoints=endpoints))
        return state

    def save(self, path: Path) -> None:
        """Write atomically to ``path`` (safe from concurrent request threads)."""
        with self._lock:
            tmp = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
            tmp.write_text(self.to_json(), encoding="utf-8")
            tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> AtlasState:
        """Read ``path``; an absent file is an empty state."""
        return cls.from_json(path.read_text(encoding="utf-8")) if path.exists() else cls()

    def users_in(self, project_id: str) -> Iterable[DatabaseUser]:
        """Every user of a project (propagated or not)."""
        with self._lock:
            return [u for (p, _), u in self.users.items() if p == project_id]
