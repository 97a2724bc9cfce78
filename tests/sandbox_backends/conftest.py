"""Fixtures: a moto server on 127.0.0.1 and an environment that points Terraform's aws plugin at it."""

from __future__ import annotations

import os
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from atlasiam_sandbox.mirror import MirrorInfo, build_mirror


@dataclass
class Moto:
    """A running moto server and boto3 clients for it."""

    endpoint: str
    timings: dict[str, float] = field(default_factory=dict)

    def client(self, service: str, region: str = "us-east-1") -> Any:
        import boto3

        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local moto server
            response.read()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[Moto]:
    from moto.server import ThreadedMotoServer

    previous = os.environ.get("MOTO_IAM_LOAD_MANAGED_POLICIES")
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield Moto(f"http://{host}:{port}")
    finally:
        server.stop()
        if previous is None:
            os.environ.pop("MOTO_IAM_LOAD_MANAGED_POLICIES", None)
        else:
            os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = previous


@pytest.fixture
def moto(moto_server: Moto) -> Moto:
    """The shared moto server (not reset between tests: each test names its resources uniquely)."""
    return moto_server


@pytest.fixture
def unique_name() -> str:
    """A fresh atlasiam `name` (keeps tests apart on the shared moto server)."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def backends_mirror(tmp_path_factory: pytest.TempPathFactory) -> MirrorInfo:
    return build_mirror(tmp_path_factory.mktemp("mirror"))


@pytest.fixture
def cloud_env(moto: Moto, backends_mirror: MirrorInfo, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment for Terraform (and so its plugins): moto endpoint, credentials, the stand-in mirror."""
    env = {
        "AWS_ENDPOINT_URL": moto.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MONGODB_ATLAS_CLIENT_ID": "sandbox-client",
        "MONGODB_ATLAS_CLIENT_SECRET": "sandbox-secret",
        "TF_CLI_CONFIG_FILE": str(backends_mirror.cli_config),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


class Stopwatch:
    """Collects named durations and prints them at the end of a test."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}

    def __call__(self, name: str) -> _Lap:
        return _Lap(self, name)

    def report(self, title: str) -> None:
        print(f"\n{title}: " + ", ".join(f"{k} {v:.2f}s" for k, v in self.times.items()))


class _Lap:
    def __init__(self, watch: Stopwatch, name: str) -> None:
        self.watch, self.name = watch, name

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.watch.times[self.name] = time.perf_counter() - self.start


@pytest.fixture
def stopwatch() -> Stopwatch:
    return Stopwatch()


def project_config(src: Path, dest_dir: Path, replacements: dict[str, str] | None = None) -> Path:
    text = src.read_text()
    for old, new in (replacements or {}).items():
        text = text.replace(old, new)
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / "atlasiam.toml"
    path.write_text(text)
    return path
