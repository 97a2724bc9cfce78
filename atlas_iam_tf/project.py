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
WHEELHOUSE_DIR = "wheelhouse"


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
    def wheelhouse(self) -> Path | None:
        """The private host's wheelhouse: ``aws.wheelhouse_dir`` (beside the config), or the one atlasiam builds."""
        return wheelhouse_path(self.config, self.config_path)

    @property
    def builds_wheelhouse(self) -> bool:
        """True when atlasiam must fill ``wheelhouse`` itself (private mode, no ``aws.wheelhouse_dir``)."""
        return self.config.aws.private and self.config.aws.wheelhouse_dir is None

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


def wheelhouse_path(config: Config, config_path: Path) -> Path | None:
    """Where a private-mode host's wheels are; None in public mode.

    ``aws.wheelhouse_dir`` (relative to the config file), else ``.atlasiam/wheelhouse``, shared by the environments.
    """
    if not config.aws.private:
        return None
    root = config_path.resolve().parent
    given = config.aws.wheelhouse_dir
    return (root / given).resolve() if given is not None else root / STATE_DIR / WHEELHOUSE_DIR


def project_for(config: Config, config_path: Path, environ: Mapping[str, str] | None = None) -> Project:
    """The project of an already validated ``config``."""
    wheels = wheelhouse_path(config, config_path)
    return Project(
        config=config,
        config_path=config_path,
        module=render_module(config, wheelhouse_dir=str(wheels) if wheels else None),
        engine=resolve_engine(config.terraform.bin),
        env=dict(os.environ if environ is None else environ),
    )
