"""Fixtures: one moto server per session (reset per test), an emulated Atlas, the endpoint, pymongo clients."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from atlasiam_sandbox.atlas_state import AtlasState, Cluster, DatabaseUser
from atlasiam_sandbox.mongo import MongoEndpoint
from atlasiam_sandbox.mongo.server import THREAD_PREFIX

from .support import CLUSTER, PROJECT, REPLICA_SET, AwsCreds, Clients, Clock, Moto


@pytest.fixture(scope="session")
def moto_server() -> Iterator[Moto]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield Moto(f"http://{host}:{port}", host, port)
    finally:
        server.stop()


@pytest.fixture
def moto(moto_server: Moto) -> Moto:
    moto_server.reset()
    return moto_server


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def atlas() -> AtlasState:
    state = AtlasState()
    state.put_cluster(Cluster(PROJECT, CLUSTER, REPLICA_SET))
    return state


@pytest.fixture(scope="session")
def tls_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mongo-tls")


@pytest.fixture
def endpoint(atlas: AtlasState, moto: Moto, tls_dir: Path, clock: Clock) -> Iterator[MongoEndpoint]:
    ep = MongoEndpoint(
        atlas,
        project_id=PROJECT,
        cluster_name=CLUSTER,
        sts_endpoint=moto.url,
        keys=moto.keys,
        tls_dir=tls_dir,
        clock=clock,
    )
    ep.start()
    yield ep
    ep.stop()
    assert not [t.name for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX)]


@pytest.fixture
def clients(endpoint: MongoEndpoint, monkeypatch: pytest.MonkeyPatch) -> Iterator[Clients]:
    made = Clients(endpoint, monkeypatch)
    yield made
    for client in made.made:
        client.close()


@pytest.fixture
def role_user(atlas: AtlasState, moto: Moto) -> Callable[..., tuple[str, AwsCreds]]:
    """Create an IAM role in moto, assume it, and (unless told otherwise) add a ROLE database user for it."""

    def make(name: str = "atlas-login", *, add_user: bool = True, **user: Any) -> tuple[str, AwsCreds]:
        arn = moto.create_role(name)
        if add_user:
            atlas.put_user(DatabaseUser(PROJECT, arn, **{"aws_iam_type": "ROLE", **user}))
        return arn, moto.assume_role(arn)

    return make
