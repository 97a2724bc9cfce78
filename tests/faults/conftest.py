"""Faults injected through the sandbox: what breaks, what atlasiam says, and that the next run converges.

``FaultProxy`` sits between the CLI (or Terraform's providers) and moto: it can hold a request until the
test lets it go (to interrupt or race an apply at a known moment) or answer it with an AWS query-protocol
error (STS has no fault injector of its own).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from atlasiam_sandbox.aws._http import LocalServer, QuietHandler
from atlasiam_sandbox.mirror import build_mirror
from atlasiam_sandbox.world import Sandbox
from tests.conftest import CONFIGS

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Hold:
    """A request held at the proxy: ``arrived`` is set when it comes in, it goes on at ``release``."""

    marker: bytes
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


class FaultProxy(LocalServer):
    """An HTTP proxy in front of ``upstream`` (moto) that holds or fails requests whose body has a marker."""

    def __init__(self, upstream: str) -> None:
        super().__init__(_ProxyHandler, name="fault-proxy")
        self.upstream = upstream
        self.holds: list[Hold] = []
        self.failures: dict[bytes, list[tuple[int, str]]] = {}
        self.failed: list[str] = []
        self._lock = threading.Lock()

    def hold(self, marker: bytes) -> Hold:
        """Hold the next request whose body contains ``marker`` until ``release`` is set."""
        hold = Hold(marker)
        with self._lock:
            self.holds.append(hold)
        return hold

    def fail(self, action: str, times: int, status: int = 400, code: str = "Throttling") -> None:
        """Answer the next ``times`` query-protocol calls of ``action`` with an AWS error."""
        with self._lock:
            self.failures.setdefault(f"Action={action}".encode(), []).extend([(status, code)] * times)

    def _take(self, body: bytes) -> tuple[Hold | None, tuple[int, str] | None]:
        with self._lock:
            hold = next((h for h in self.holds if h.marker in body), None)
            if hold is not None:
                self.holds.remove(hold)
            for marker, queue in self.failures.items():
                if marker in body and queue:
                    self.failed.append(marker.decode())
                    return hold, queue.pop(0)
        return hold, None


class _ProxyHandler(QuietHandler):
    server: FaultProxy

    def do_POST(self) -> None:
        """Hold, fail or forward."""
        self._handle(self.read_body())

    def do_GET(self) -> None:
        """Forward."""
        self._handle(b"")

    def _handle(self, body: bytes) -> None:
        hold, failure = self.server._take(body)
        if hold is not None:
            hold.arrived.set()
            hold.release.wait(60)
        if failure is not None:
            status, code = failure
            xml = (
                f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>injected</Message></Error>"
                f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
            )
            self.send_body(status, xml.encode(), "text/xml")
            return
        self.forward(self.server.upstream, body, "text/xml")


@dataclass(frozen=True)
class World:
    """A started sandbox and the environment (besides the test's own) a CLI run needs to use it."""

    sandbox: Sandbox
    env: dict[str, str]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One emulated cloud and provider mirror per test module; tests use distinct stack names."""
    with Sandbox(tmp_path_factory.mktemp("sandbox")) as sb:
        mirror = build_mirror(tmp_path_factory.mktemp("mirror"))
        env = sb.env() | {"TF_CLI_CONFIG_FILE": str(mirror.cli_config), "AWS_EC2_METADATA_DISABLED": "true"}
        yield World(sb, env)


@pytest.fixture
def proxy(world: World) -> Iterator[FaultProxy]:
    """A fault proxy in front of the sandbox's moto."""
    server = FaultProxy(world.sandbox.cloud.moto_url)
    server.start()
    try:
        yield server
    finally:
        for hold in server.holds:
            hold.release.set()
        server.stop()


def project(tmp_path: Path, name: str) -> Path:
    """A config for stack ``name`` (new VPC variant)."""
    text = (CONFIGS / "new_vpc.toml").read_text().replace('name = "orders"', f'name = "{name}"')
    path = tmp_path / name / "atlasiam.toml"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


def workdir(config: Path) -> Path:
    """Where Terraform runs for the config's (dev) environment."""
    return config.parent / ".atlasiam" / "dev"


def subprocess_env(world: World, **extra: str) -> dict[str, str]:
    """This (already cleaned) environment plus the sandbox's, for a CLI child process."""
    return dict(os.environ) | world.env | {"PYTHONPATH": str(REPO)} | extra


def start_cli(env: dict[str, str], config: Path, *args: str) -> subprocess.Popen[str]:
    """``python -m atlas_iam_tf ARGS --config CONFIG`` as a child process, output piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "atlas_iam_tf", *args, "--config", str(config)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def json_doc(stdout: str) -> dict[str, Any]:
    """The one JSON document of a ``--json`` run."""
    doc: dict[str, Any] = json.loads(stdout)
    return doc


def running_instances(world: World, name: str) -> list[str]:
    """Ids of the pending/running instances whose Name tag is ``name``."""
    ec2 = world.sandbox.cloud.client("ec2")
    pages = ec2.describe_instances(
        Filters=[
            {"Name": "tag:Name", "Values": [name]},
            {"Name": "instance-state-name", "Values": ["pending", "running"]},
        ]
    )
    return [i["InstanceId"] for r in pages["Reservations"] for i in r["Instances"]]


def state_resources(config: Path) -> list[str]:
    """Addresses of the managed resources in the local state (which must be valid JSON)."""
    state = json.loads((workdir(config) / "terraform.tfstate").read_text())
    return sorted(f"{r['type']}.{r['name']}" for r in state["resources"] if r["mode"] == "managed")
