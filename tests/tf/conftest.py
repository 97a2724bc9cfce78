"""Fixtures for tests that run the real (embedded) Terraform against the offline stand-in providers."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from atlas_iam_tf.cli import main
from atlasiam_sandbox.mirror import MirrorInfo, build_mirror

# Placeholder credentials: the stand-ins accept anything; the names are what atlasiam checks for.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "MONGODB_ATLAS_CLIENT_ID": "sandbox-client",
    "MONGODB_ATLAS_CLIENT_SECRET": "sandbox-secret",
}


@pytest.fixture(scope="session")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> MirrorInfo:
    """The stand-in provider mirror, built once per test session (per xdist worker)."""
    return build_mirror(tmp_path_factory.mktemp("mirror"))


@pytest.fixture
def standin_env(mirror: MirrorInfo, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point Terraform at the stand-in mirror and provide placeholder credentials."""
    env = {"TF_CLI_CONFIG_FILE": str(mirror.cli_config), **FAKE_CREDENTIALS}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


class Cli:
    """Runs atlasiam in-process and parses its --json output."""

    def __init__(self, capsys: pytest.CaptureFixture[str], config: Path) -> None:
        self.capsys = capsys
        self.config = config

    def __call__(self, *args: str, expect: int = 0) -> dict[str, object]:
        self.capsys.readouterr()
        code = main([*args, "--config", str(self.config), "--json"])
        captured = self.capsys.readouterr()
        assert captured.err == "", captured.err  # JSON mode writes nothing to stderr
        doc: dict[str, object] = json.loads(captured.out)
        assert code == expect, doc
        return doc


@pytest.fixture
def project_dir(tmp_path: Path) -> Iterator[Path]:
    """An empty project directory."""
    path = tmp_path / "project"
    path.mkdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


def copy_config(src: Path, dest_dir: Path) -> Path:
    """Copy a config file into a project directory as atlasiam.toml."""
    dest = dest_dir / "atlasiam.toml"
    shutil.copyfile(src, dest)
    return dest


def state_resources(workdir: Path) -> list[str]:
    """Addresses of managed resources in the local state file, which must exist.

    A missing state file is a failure, not "nothing left": after a destroy Terraform keeps a state
    with no resources, and "nothing was applied" is asserted by the state's absence instead.
    """
    state = workdir / "terraform.tfstate"
    assert state.is_file(), f"no state file in {workdir}"
    doc = json.loads(state.read_text())
    return [
        ".".join(filter(None, (r.get("module"), r["type"], r["name"])))
        for r in doc.get("resources", [])
        if r.get("mode") == "managed"
    ]


def iam_name(name: str, environment: str, region: str) -> str:
    """The stem of the IAM names the module makes (main.tf ``local.iam_name``): cut, plus a hash with the region."""
    digest = hashlib.sha256(f"{name}/{environment}/{region}".encode()).hexdigest()[:8]
    return f"{f'{name}-{environment}'[:44]}-{digest}"


__all__ = ["Cli", "copy_config", "iam_name", "state_resources"]
