"""Projects remembered by their inputs: a command whose config has not changed skips validation and rendering.

Validating the config (pydantic) and rendering the module (Jinja) cost about 0.15 s of start-up,
on every plan, apply, destroy, output and verify. Their result is a pure function of:

* the config file's bytes,
* the overrides (CLI flags, ``ATLASIAM_*`` variables),
* atlasiam's own code and templates that validate and render (version, plus a digest of them).

The key is a SHA-256 over all of that, so any change is a miss and the config is validated and
rendered again; a hit returns exactly what doing so would. Entries hold no secret (credentials
never come from the config file), live in ``.atlasiam/.cache/`` (written 0600), the newest few are
kept, and anything unreadable is simply a miss.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import atlas_iam_tf
from atlas_iam_tf.project import STATE_DIR, ProjectValues
from atlas_iam_tf.render import templates_dir

log = logging.getLogger(__name__)

CACHE_DIR = ".cache"
KEEP = 8
FORMAT = 1
# The modules whose code decides a project's values: a change to any of them changes every key.
_SHAPING_MODULES = ("config.py", "config_file.py", "project.py", "render.py")


@cache
def code_digest() -> str:
    """A digest of the code and templates that turn a config into project values."""
    h = hashlib.sha256(f"{FORMAT}:{atlas_iam_tf.__version__}".encode())
    package = Path(atlas_iam_tf.__file__).resolve().parent
    root = templates_dir()
    sources = [package / name for name in _SHAPING_MODULES]
    sources += sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for path in sources:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def cache_key(raw_config: bytes, overrides: Sequence[Mapping[str, Any]]) -> str:
    """The key of a project: config bytes, overrides (in precedence order) and the shaping code."""
    h = hashlib.sha256(code_digest().encode())
    h.update(hashlib.sha256(raw_config).digest())
    h.update(json.dumps([dict(layer) for layer in overrides], sort_keys=True, default=str).encode())
    return h.hexdigest()


class ProjectCache:
    """The cache of one project directory (the directory holding the config file)."""

    def __init__(self, root: Path) -> None:
        self.dir = root / STATE_DIR / CACHE_DIR

    def _path(self, key: str) -> Path:
        return self.dir / f"project-{key}.json"

    def get(self, key: str) -> ProjectValues | None:
        """The values stored under ``key``, or None (missing, unreadable, or not the expected shape)."""
        try:
            doc = json.loads(self._path(key).read_text(encoding="utf-8"))
            if not isinstance(doc, dict) or doc.get("key") != key:
                return None
            return ProjectValues.from_json(doc["values"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, values: ProjectValues) -> None:
        """Store ``values`` under ``key`` atomically, then drop all but the newest entries."""
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".project-", suffix=".tmp")  # 0600
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"key": key, "values": values.to_json()}, fh)
            Path(tmp).replace(self._path(key))
            entries = sorted(self.dir.glob("project-*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
            for old in entries[KEEP:]:
                old.unlink(missing_ok=True)
        except OSError as exc:  # a read-only project directory only costs speed
            log.debug("project cache not written: %s", exc)
