"""The stand-in mongodbatlas_project_ip_access_list against the Atlas Admin API emulation, without Terraform."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from atlasiam_sandbox.atlas_api import AtlasAdminApi
from atlasiam_sandbox.atlas_state import AtlasState
from atlasiam_sandbox.mirror import SCHEMA_DIR
from atlasiam_sandbox.provider import backends
from atlasiam_sandbox.provider.backends import atlas as atlas_backend
from atlasiam_sandbox.provider.backends import dispatch
from atlasiam_sandbox.provider.fill import empty_blocks
from atlasiam_sandbox.provider.planning import plan_resource
from atlasiam_sandbox.provider.schema import ProviderSchema

PROJECT = "0123456789abcdef01234567"
TYPE = "mongodbatlas_project_ip_access_list"


@pytest.fixture
def state(monkeypatch: pytest.MonkeyPatch) -> Iterator[AtlasState]:
    atlas = AtlasState()
    api = AtlasAdminApi(atlas, lambda _p, n: f"mongodb://127.0.0.1:1/?replicaSet={n}").start()
    monkeypatch.setenv("MONGODB_ATLAS_BASE_URL", api.url)
    monkeypatch.setenv("MONGODB_ATLAS_CLIENT_ID", "sandbox-client")
    monkeypatch.setenv("MONGODB_ATLAS_CLIENT_SECRET", "sandbox-secret")
    atlas_backend._TOKEN.clear()
    yield atlas
    atlas_backend._TOKEN.clear()
    api.stop()


@pytest.mark.parametrize(("attribute", "entry"), [("cidr_block", "198.51.100.7/32"), ("ip_address", "198.51.100.8")])
def test_an_entry_is_read_and_deleted_by_what_was_configured(state: AtlasState, attribute: str, entry: str) -> None:
    block = ProviderSchema.load(Path(SCHEMA_DIR) / "mongodbatlas.json").resource(TYPE).block
    handler = backends.resource_handler(TYPE)
    assert handler is not None
    config = empty_blocks(block, {"project_id": PROJECT, attribute: entry, "comment": "egress"})
    created = dispatch.apply_change(handler, TYPE, block, (None, plan_resource(block, config), config), {})
    assert created.error is None and state.access_list == {(PROJECT, entry): "egress"}

    refreshed = dispatch.refresh(handler, created.state, {})
    assert refreshed.error is None and refreshed.state == created.state  # still there, not "gone"

    deleted = dispatch.apply_change(handler, TYPE, block, (created.state, None, None), {})
    assert deleted.error is None and state.access_list == {}
