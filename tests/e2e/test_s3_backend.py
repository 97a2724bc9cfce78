"""Team state: the S3 backend (native lock file) against the emulated S3."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atlas_iam_tf.cli import main
from atlasiam_sandbox.mirror import build_mirror
from atlasiam_sandbox.world import Sandbox
from tests.conftest import CONFIGS

pytestmark = pytest.mark.terraform
KEY = "atlasiam/teamstate/dev.tfstate"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, dict[str, str]]]:
    with Sandbox(tmp_path_factory.mktemp("sandbox")) as sb:
        mirror = build_mirror(tmp_path_factory.mktemp("mirror"))
        sb.cloud.client("s3").create_bucket(Bucket="team-state")
        yield sb, sb.env() | {"TF_CLI_CONFIG_FILE": str(mirror.cli_config), "AWS_EC2_METADATA_DISABLED": "true"}


def _cli(capsys: pytest.CaptureFixture[str], config: Path, *args: str, expect: int = 0) -> dict[str, Any]:
    capsys.readouterr()
    code = main([*args, "--config", str(config), "--json"])
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert code == expect, json.dumps(doc)[:3000]
    return doc


def test_state_lives_in_s3_and_a_held_lock_refuses_apply(
    world: tuple[Sandbox, dict[str, str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sb, env = world
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    config = tmp_path / "atlasiam.toml"
    config.write_text(
        (CONFIGS / "new_vpc.toml").read_text().replace('name = "orders"', 'name = "teamstate"')
        + '\n[backend]\ntype = "s3"\nbucket = "team-state"\n'
    )
    s3 = sb.cloud.client("s3")
    _cli(capsys, config, "apply", "--yes")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="team-state").get("Contents", [])]
    assert keys == [KEY]  # the state, keyed by name and environment; the lock file is gone again
    assert not (tmp_path / ".atlasiam" / "dev" / "terraform.tfstate").exists()
    state = json.loads(s3.get_object(Bucket="team-state", Key=KEY)["Body"].read())
    assert any(r["type"] == "aws_instance" for r in state["resources"])

    # Another engineer holds the lock: atlasiam must refuse, name the lock, and change nothing.
    lock = {
        "ID": "11111111-2222-3333-4444-555555555555",
        "Operation": "OperationTypeApply",
        "Who": "alice@laptop",
        "Version": "1.15.5",
        "Created": "2026-11-28T10:00:00Z",
        "Path": f"team-state/{KEY}",
    }
    s3.put_object(Bucket="team-state", Key=KEY + ".tflock", Body=json.dumps(lock).encode())
    config.write_text(
        config.read_text().replace('vpc_cidr = "10.42.0.0/16"', 'vpc_cidr = "10.42.0.0/16"\nroot_volume_size = 16')
    )
    before = s3.get_object(Bucket="team-state", Key=KEY)["Body"].read()
    doc = _cli(capsys, config, "apply", "--yes", expect=1)
    message = doc["error"]["message"]
    # The lock named whole (README: ID, operation, who): either part alone used to be enough here.
    assert doc["error"]["code"] == "state_locked", message
    assert f"(lock ID {lock['ID']}: apply, by alice@laptop" in message, message
    assert f"terraform force-unlock {lock['ID']}" in doc["error"]["hint"]
    assert s3.get_object(Bucket="team-state", Key=KEY)["Body"].read() == before

    s3.delete_object(Bucket="team-state", Key=KEY + ".tflock")  # alice is done
    _cli(capsys, config, "apply", "--yes")
    assert _cli(capsys, config, "plan", "--detailed-exitcode")["data"]["has_changes"] is False
    _cli(capsys, config, "destroy", "--yes")
    state = json.loads(s3.get_object(Bucket="team-state", Key=KEY)["Body"].read())
    assert [r for r in state["resources"] if r["mode"] == "managed"] == []
