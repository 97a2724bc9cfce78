"""The emulated Atlas control plane: database users, access list and clusters of the sandbox.

Thread-safe and JSON-persistable. The stand-in mongodbatlas provider writes it (sandbox issue); the
MongoDB wire endpoint reads it to decide whether an authenticated AWS identity may log in.
"""

from __future__ import annotations

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
    """An emulated cluster: its name and replica-set name."""

    project_id: str
    name: str
    replica_set: str


@dataclass
class AtlasState:
    """Users, access-list entries and clusters, guarded by one lock."""

    users: dict[tuple[str, str], DatabaseUser] = field(default_factory=dict)
    access_list: dict[tuple[str, str], str] = field(default_factory=dict)  # (project, cidr/ip) -> comment
    clusters: dict[tuple[str, str], Cluster] = field(default_factory=dict)
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

    def add_access(self, project_id: str, entry: str, comment: str = "") -> None:
        """Add an access-list entry (an IP address or CIDR block)."""
        with self._lock:
            self.access_list[(project_id, entry)] = comment

    def remove_access(self, project_id: str, entry: str) -> None:
        """Remove an access-list entry."""
        with self._lock:
            self.access_list.pop((project_id, entry), None)

    def to_json(self) -> str:
        """Serialise everything (for the sandbox's state directory)."""
        with self._lock:
            doc = {
                "users": [asdict(u) for u in self.users.values()],
                "access_list": [[p, e, c] for (p, e), c in self.access_list.items()],
                "clusters": [asdict(c) for c in self.clusters.values()],
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
