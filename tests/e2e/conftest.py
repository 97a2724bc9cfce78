"""The offline cloud for end-to-end tests: real boto3, real pymongo, real probe, emulated AWS and Atlas."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atlas_iam_tf.cli import main
from atlasiam_sandbox.atlas_state import DatabaseUser
from atlasiam_sandbox.world import Sandbox

PROJECT = "0123456789abcdef01234567"
CLUSTER = "Cluster0"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """One emulated cloud per test module (tests use distinct names, so they do not collide)."""
    with Sandbox(tmp_path_factory.mktemp("sandbox")) as sb:
        yield sb


@pytest.fixture
def sandbox_env(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The CLI reaches the sandbox only through standard settings."""
    env = sandbox.env()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def add_user(
    sandbox: Sandbox,
    username: str,
    *,
    iam_type: str = "ROLE",
    scopes: tuple[str, ...] = (CLUSTER,),
    visible_after: float = 0.0,
) -> None:
    sandbox.atlas.put_user(
        DatabaseUser(
            project_id=PROJECT,
            username=username,
            aws_iam_type=iam_type,  # type: ignore[arg-type]
            roles=(("readWrite", "orders"),),
            scopes=scopes,
            visible_after=visible_after,
        )
    )


def run_verify(capsys: pytest.CaptureFixture[str], *args: str, expect: int) -> dict[str, Any]:
    """Run `atlasiam verify ... --json` in-process; assert the exit code; return the JSON document."""
    capsys.readouterr()
    code = main(["verify", *args, "--json"])
    out = capsys.readouterr()
    assert out.err == ""
    doc: dict[str, Any] = json.loads(out.out)
    assert code == expect, json.dumps(doc, indent=1)[:3000]
    return doc


def findings(doc: dict[str, Any]) -> list[list[str]]:
    return [[f["code"] for f in host["findings"]] for host in doc["data"]["hosts"]]


__all__ = ["CLUSTER", "PROJECT", "Path", "add_user", "findings", "run_verify"]
