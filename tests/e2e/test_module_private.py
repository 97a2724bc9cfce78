"""The atlas-iam-access module in private mode, applied by the real Terraform through the stand-ins.

No internet route: the host boots the module's own user data through the module's S3 gateway endpoint and
wheelhouse bucket, SSM reaches it through the module's interface endpoints, and ``atlasiam verify`` logs in with
the module's ``mongodb_uri`` (the cluster's private-endpoint string). Then a plan shows no drift and destroy
removes it all.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atlasiam_sandbox.mirror import build_mirror
from atlasiam_sandbox.world import Sandbox
from tests.e2e.conftest import CLUSTER, PROJECT, run_verify
from tests.e2e.test_private_apply import WHEELS, _terraform
from tests.user_data import requirements

pytestmark = [pytest.mark.terraform, pytest.mark.usefixtures("sandbox_env")]

MODULE = Path(__file__).resolve().parents[2] / "modules" / "atlas-iam-access"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    from atlasiam_sandbox.provider.backends import atlas as atlas_backend

    with Sandbox(tmp_path_factory.mktemp("sandbox"), privatelink_delay_s=0.3) as sb:
        atlas_backend._TOKEN.clear()
        yield sb
        atlas_backend._TOKEN.clear()


def _wheelhouse(directory: Path) -> Path:
    pin = next(r for r in requirements() if r.startswith("pymongo[")).split("==")[1]
    directory.mkdir()
    for wheel in WHEELS:
        name = wheel if not wheel.startswith("pymongo-") else wheel.replace("4.13.0", pin)
        (directory / name).write_bytes(b"PK\x03\x04" + name.encode())
    return directory


def test_module_private_mode(sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wheelhouse = _wheelhouse(tmp_path / "wheelhouse")
    workdir = tmp_path / "work"
    workdir.mkdir()
    root = {
        "terraform": {
            "required_providers": {
                "aws": {"source": "hashicorp/aws", "version": "~> 6.0"},
                "mongodbatlas": {"source": "mongodb/mongodbatlas", "version": "~> 2.0"},
            }
        },
        "provider": {"aws": {"region": "us-east-1"}, "mongodbatlas": {}},
        "module": {
            "access": {
                "source": str(MODULE),
                "name": "pmod",
                "network_mode": "private",
                "wheelhouse_dir": str(wheelhouse),
                "atlas_project_id": PROJECT,
                "atlas_cluster_name": CLUSTER,
                "database_roles": [{"role_name": "readWrite", "database_name": "orders"}],
            }
        },
        "output": {
            name: {"value": f"${{module.access.{name}}}"}
            for name in ("instance_id", "role_arn", "mongodb_uri", "network_mode", "public_ip")
        },
    }
    (workdir / "main.tf.json").write_text(json.dumps(root))
    mirror = build_mirror(tmp_path / "mirror")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "AWS_", "MONGODB_ATLAS_"))}
    env |= sandbox.env() | {"TF_CLI_CONFIG_FILE": str(mirror.cli_config), "CHECKPOINT_DISABLE": "1"}

    _terraform(workdir, env, "init", "-input=false", "-no-color")
    _terraform(workdir, env, "apply", "-auto-approve", "-input=false", "-no-color")
    raw = json.loads(_terraform(workdir, env, "output", "-json"))
    out: dict[str, Any] = {k: v["value"] for k, v in raw.items()}
    assert out["network_mode"] == "private" and not out.get("public_ip")
    assert out["mongodb_uri"] != sandbox.cluster_uri(PROJECT, CLUSTER)

    assert sandbox.cloud.boot.wait(out["instance_id"], timeout=60) == 0
    doc = run_verify(
        capsys,
        "--instance-id",
        out["instance_id"],
        "--uri",
        out["mongodb_uri"],
        "--expect-arn",
        out["role_arn"],
        "--region",
        "us-east-1",
        "--wait",
        "10",
        "--online-timeout",
        "30",
        expect=0,
    )
    assert doc["data"]["hosts"][0]["db_user"] == out["role_arn"]

    _terraform(workdir, env, "plan", "-detailed-exitcode", "-input=false", "-no-color")
    _terraform(workdir, env, "destroy", "-auto-approve", "-input=false", "-no-color")
    assert sandbox.atlas.services_in(PROJECT) == []
