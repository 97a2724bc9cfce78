"""A loaded project: its config, where its Terraform working directory is, which engine runs it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from atlas_iam_tf.config import Config
from atlas_iam_tf.terraform.engine import Engine, resolve_engine

STATE_DIR = ".atlasiam"


@dataclass(frozen=True)
class Project:
    """Everything a command needs to drive Terraform for one environment."""

    config: Config
    config_path: Path
    engine: Engine
    base_env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    @property
    def root(self) -> Path:
        """The directory holding the config file; ``.atlasiam/`` lives beside it."""
        return self.config_path.resolve().parent

    @property
    def workdir(self) -> Path:
        """Terraform's working directory: ``.atlasiam/<environment>/``."""
        return self.root / STATE_DIR / self.config.environment

    def backend_config(self) -> dict[str, str]:
        """``-backend-config`` values for an S3 backend (empty for local state)."""
        b = self.config.backend
        if b.type != "s3" or b.bucket is None:
            return {}
        return {
            "bucket": b.bucket,
            "key": b.key or f"atlasiam/{self.config.name}/{self.config.environment}.tfstate",
            "region": b.region or self.config.aws.region,
        }


def open_project(config: Config, config_path: Path, environ: Mapping[str, str] | None = None) -> Project:
    """Build the project for a loaded config, choosing the engine from the config."""
    env = dict(os.environ if environ is None else environ)
    return Project(config=config, config_path=config_path, engine=resolve_engine(config.terraform.bin), base_env=env)
