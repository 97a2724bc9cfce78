"""Shared fixtures: a clean environment, config files, the CLI runner."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CONFIGS = Path(__file__).parent / "configs"
VARIANTS = ("new_vpc", "existing_vpc", "iam_users")
_STRIPPED_PREFIXES = ("AWS_", "MONGODB_ATLAS_", "TF_", "ATLASIAM_")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test sees the developer's cloud credentials, Terraform settings or atlasiam overrides."""
    for name in list(os.environ):
        if name.startswith(_STRIPPED_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))
    # Never let an SDK look for the real instance metadata service from a test.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield


@pytest.fixture
def config_text() -> str:
    """The baseline valid config."""
    return (CONFIGS / "new_vpc.toml").read_text()


def write_config(directory: Path, text: str, name: str = "atlasiam.toml") -> Path:
    """Write a config file and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path
