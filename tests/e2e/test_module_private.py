"""examples/private: the atlas-iam-access module in private mode, applied by the real Terraform through the stand-ins.

No internet route: the host boots the module's own user data through the module's S3 gateway endpoint and
wheelhouse bucket, SSM reaches it through the module's interface endpoints, and ``atlasiam verify`` logs in with
the module's ``mongodb_uri`` (the cluster's private-endpoint string). Then a plan shows no drift and destroy
removes it all.
"""

from __future__ import annotations

import json
import os
import shutil
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

ROOT = Path(__file__).resolve().parents[2]
# The sandbox emulates hosts and their network in one region (README, "What the sandbox does not do").
REGION = "us-east-1"


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
    shutil.copytree(ROOT / "modules", tmp_path / "modules")
    workdir = tmp_path / "examples" / "private"
    shutil.copytree(ROOT / "examples" / "private", workdir)
    (workdir / "terraform.tfvars.json").write_text(json.dumps({"wheelhouse_dir": str(wheelhouse), "region": REGION}))
    mirror = build_mirror(tmp_path / "mirror")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "AWS_", "MONGODB_ATLAS_"))}
    env |= sandbox.env() | {"TF_CLI_CONFIG_FILE": str(mirror.cli_config), "CHECKPOINT_DISABLE": "1"}

    _terraform(workdir, env, "init", "-input=false", "-no-color")
    _terraform(workdir, env, "apply", "-auto-approve", "-input=false", "-no-color")
    raw = json.loads(_terraform(workdir, env, "output", "-json"))
    out: dict[str, Any] = {k: v["value"] for k, v in raw.items()}
    assert out["mongodb_uri"] != sandbox.cluster_uri(PROJECT, CLUSTER)
    assert out["privatelink_endpoint_id"].startswith("vpce-")
    [reservation] = sandbox.cloud.client("ec2", region_name=REGION).describe_instances(
        InstanceIds=[out["instance_id"]]
    )["Reservations"]
    assert "PublicIpAddress" not in reservation["Instances"][0]  # no public IP: only the private path exists

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
        REGION,
        "--wait",
        "10",
        "--online-timeout",
        "30",
        "--privatelink-endpoint-id",
        out["privatelink_endpoint_id"],
        "--cluster-name",
        CLUSTER,
        "--atlas-project-id",
        PROJECT,
        expect=0,
    )
    assert doc["data"]["hosts"][0]["db_user"] == out["role_arn"]
    # the path verify proved, and Atlas's word on it (the stand-in cluster is a dedicated one)
    assert doc["data"]["path"] == f"the private endpoint {out['privatelink_endpoint_id']} (AWS PrivateLink)"
    assert doc["data"]["path_proven"] is True
    assert "PrivateLink: the cluster is M10 (providerName AWS)" in doc["data"]["atlas"]

    _terraform(workdir, env, "plan", "-detailed-exitcode", "-input=false", "-no-color")
    _terraform(workdir, env, "destroy", "-auto-approve", "-input=false", "-no-color")
    assert sandbox.atlas.services_in(PROJECT) == []
