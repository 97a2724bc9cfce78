"""A loaded project: the values commands need from its config, its rendered module, and its engine.

Plain values, not the pydantic ``Config``: a project whose config has not changed since the last
command is read back from ``project_cache`` without validating or rendering again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, TypeGuard

from atlas_iam_tf.render import RenderedModule, render_module
from atlas_iam_tf.terraform.engine import Engine, resolve_engine

if TYPE_CHECKING:
    from atlas_iam_tf.config import Config

STATE_DIR = ".atlasiam"


@dataclass(frozen=True)
class ProjectValues:
    """What a validated config decides for the commands: names, places, and the rendered module."""

    name: str
    environment: str
    region: str
    cluster_name: str
    terraform_bin: str | None
    backend: Mapping[str, str]  # -backend-config values; empty for local state
    module: RenderedModule

    @classmethod
    def from_config(cls, config: Config) -> ProjectValues:
        """The values of a validated ``config``; renders the module."""
        return cls(
            name=config.name,
            environment=config.environment,
            region=config.aws.region,
            cluster_name=config.atlas.cluster_name,
            terraform_bin=config.terraform.bin,
            backend=_backend_config(config),
            module=render_module(config),
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-able form (for the cache)."""
        return {
            "name": self.name,
            "environment": self.environment,
            "region": self.region,
            "cluster_name": self.cluster_name,
            "terraform_bin": self.terraform_bin,
            "backend": dict(self.backend),
            "module": {rel.as_posix(): text for rel, text in self.module.items()},
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> ProjectValues:
        """The inverse of ``to_json``; raises ValueError on anything that is not exactly that shape."""
        strings = ("name", "environment", "region", "cluster_name")
        if not all(isinstance(doc.get(k), str) for k in strings):
            raise ValueError("project values: a name field is not a string")
        bin_ = doc.get("terraform_bin")
        backend, module = doc.get("backend"), doc.get("module")
        if bin_ is not None and not isinstance(bin_, str):
            raise ValueError("project values: terraform_bin")
        if not _str_map(backend) or not _str_map(module) or not module:
            raise ValueError("project values: backend or module")
        if any(PurePosixPath(rel).is_absolute() or ".." in PurePosixPath(rel).parts for rel in module):
            raise ValueError("project values: a module file outside the module")
        return cls(
            name=doc["name"],
            environment=doc["environment"],
            region=doc["region"],
            cluster_name=doc["cluster_name"],
            terraform_bin=bin_,
            backend=dict(backend),
            module={PurePosixPath(rel): text for rel, text in module.items()},
        )


@dataclass(frozen=True)
class Project:
    """Everything a command needs to drive Terraform for one environment."""

    values: ProjectValues
    config_path: Path
    engine: Engine
    base_env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    # Set when the values were just validated: stored in the project cache under this key once the
    # command writes its working directory anyway (a command refused earlier writes nothing).
    cache_key: str | None = None

    @property
    def name(self) -> str:
        """The resource name prefix."""
        return self.values.name

    @property
    def environment(self) -> str:
        """The environment; keys the state."""
        return self.values.environment

    @property
    def module(self) -> RenderedModule:
        """The rendered Terraform module."""
        return self.values.module

    @property
    def root(self) -> Path:
        """The directory holding the config file; ``.atlasiam/`` lives beside it."""
        return self.config_path.resolve().parent

    @property
    def workdir(self) -> Path:
        """Terraform's working directory: ``.atlasiam/<environment>/``."""
        return self.root / STATE_DIR / self.values.environment


def open_project(config: Config, config_path: Path, environ: Mapping[str, str] | None = None) -> Project:
    """Build the project for a validated config."""
    return project_for(ProjectValues.from_config(config), config_path, environ)


def project_for(
    values: ProjectValues,
    config_path: Path,
    environ: Mapping[str, str] | None = None,
    *,
    cache_key: str | None = None,
) -> Project:
    """Build the project from its values, choosing the engine from terraform.bin."""
    env = dict(os.environ if environ is None else environ)
    engine = resolve_engine(values.terraform_bin)
    return Project(values=values, config_path=config_path, engine=engine, base_env=env, cache_key=cache_key)


def _backend_config(config: Config) -> dict[str, str]:
    """``-backend-config`` values for an S3 backend (empty for local state)."""
    b = config.backend
    if b.type != "s3" or b.bucket is None:
        return {}
    return {
        "bucket": b.bucket,
        "key": b.key or f"atlasiam/{config.name}/{config.environment}.tfstate",
        "region": b.region or config.aws.region,
    }


def _str_map(value: object) -> TypeGuard[dict[str, str]]:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
