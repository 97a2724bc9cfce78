"""A loaded project: its validated config, its rendered module, its engine and where it lives.

The one path from a config file to Terraform starts here: ``load_config`` (read → parse TOML →
overrides → validate), then ``render_module``, then the engine ``terraform.bin`` names.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from atlas_iam_tf.config import Config, load_config
from atlas_iam_tf.render import RenderedModule, render_module
from atlas_iam_tf.terraform.engine import Engine, resolve_engine

STATE_DIR = ".atlasiam"


@dataclass(frozen=True)
class Project:
    """Everything a command needs to drive Terraform for one environment."""

    config: Config
    config_path: Path
    module: RenderedModule
    engine: Engine
    env: Mapping[str, str]

    @property
    def name(self) -> str:
        """The resource name prefix."""
        return self.config.name

    @property
    def environment(self) -> str:
        """The environment; keys the state."""
        return self.config.environment

    @property
    def root(self) -> Path:
        """The directory holding the config file; ``.atlasiam/`` lives beside it."""
        return self.config_path.resolve().parent

    @property
    def workdir(self) -> Path:
        """Terraform's working directory: ``.atlasiam/<environment>/``."""
        return self.root / STATE_DIR / self.config.environment

    @property
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


def load_project(
    config_path: Path,
    *,
    terraform_bin: str | None = None,
    environment: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Project:
    """Load and validate the config (CLI values beat ``ATLASIAM_*`` variables, which beat the file), render it."""
    env = dict(os.environ if environ is None else environ)
    config = load_config(config_path, {"terraform.bin": terraform_bin, "environment": environment}, env)
    return project_for(config, config_path, env)


def project_for(config: Config, config_path: Path, environ: Mapping[str, str] | None = None) -> Project:
    """The project of an already validated ``config``."""
    return Project(
        config=config,
        config_path=config_path,
        module=render_module(config),
        engine=resolve_engine(config.terraform.bin),
        env=dict(os.environ if environ is None else environ),
    )
