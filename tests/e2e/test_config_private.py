"""atlasiam's own path in private mode: ``network_mode = "private"`` in atlasiam.toml, then apply, verify, destroy.

The CLI renders its root with the module, Terraform applies it against the sandbox (the host has no public IP and no
internet route), the host boots through the module's endpoints, and ``atlasiam verify`` in config mode waits for the
bootstrap, then logs in over the stack's ``mongodb_uri``: the private-endpoint string.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atlas_iam_tf.cli import main
from atlasiam_sandbox.mirror import build_mirror
from atlasiam_sandbox.provider.backends import atlas as atlas_backend
from atlasiam_sandbox.world import Sandbox
from tests.conftest import CONFIGS
from tests.e2e.conftest import CLUSTER, PROJECT
from tests.e2e.test_module_private import _wheelhouse

pytestmark = pytest.mark.terraform


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, dict[str, str]]]:
    with Sandbox(tmp_path_factory.mktemp("sandbox"), privatelink_delay_s=0.3) as sb:
        atlas_backend._TOKEN.clear()
        mirror = build_mirror(tmp_path_factory.mktemp("mirror"))
        yield sb, sb.env() | {"TF_CLI_CONFIG_FILE": str(mirror.cli_config), "AWS_EC2_METADATA_DISABLED": "true"}
        atlas_backend._TOKEN.clear()


def _cli(capsys: pytest.CaptureFixture[str], config: Path, *args: str, expect: int = 0) -> dict[str, Any]:
    capsys.readouterr()
    code = main([*args, "--config", str(config), "--json"])
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert code == expect, json.dumps(doc, indent=1)[:4000]
    return doc


def test_a_private_config_applies_verifies_over_privatelink_and_destroys(
    world: tuple[Sandbox, dict[str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sb, env = world
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    _wheelhouse(tmp_path / "wheels")
    text = (CONFIGS / "new_vpc.toml").read_text().replace('name = "orders"', 'name = "privcfg"')
    text = text.replace("[aws]\n", '[aws]\nnetwork_mode = "private"\nwheelhouse_dir = "wheels"\n')
    assert 'network_mode = "private"' in text and f'project_id = "{PROJECT}"' in text
    config = tmp_path / "atlasiam.toml"
    config.write_text(text)

    outputs = _cli(capsys, config, "apply", "--yes")["data"]["outputs"]
    assert outputs["network_mode"] == "private" and outputs.get("public_ip") is None
    assert outputs["privatelink_endpoint_id"].startswith("vpce-")
    assert outputs["mongodb_uri"] != sb.cluster_uri(PROJECT, CLUSTER)  # the private-endpoint string
    assert not any(p == PROJECT for p, _ in sb.atlas.access_list)  # PrivateLink: no access-list entry

    verified = _cli(capsys, config, "verify", "--wait", "60")["data"]
    [row] = verified["hosts"]
    assert row["ok"] and row["db_user"] == outputs["role_arn"], row
    assert row["steps"][0]["name"] == "bootstrap" and row["steps"][0]["ok"]  # its wheels came through S3

    _cli(capsys, config, "destroy", "--yes")
    assert sb.atlas.services_in(PROJECT) == []
    assert sb.atlas.find_user(PROJECT, outputs["role_arn"]) is None
