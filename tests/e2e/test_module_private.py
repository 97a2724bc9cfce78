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
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atlasiam_sandbox.mirror import build_mirror
from atlasiam_sandbox.world import Sandbox
from tests.e2e.conftest import CLUSTER, PROJECT, run_verify
from tests.sandbox.conftest import TF_SCRIPT
from tests.user_data import requirements

pytestmark = [pytest.mark.terraform, pytest.mark.usefixtures("sandbox_env")]

ROOT = Path(__file__).resolve().parents[2]
# Stand-in wheels: pymongo[aws] and its dependencies as pip download names them; the host's pip stand-in checks
# the names and the pinned versions (README fidelity table), the bytes are placeholders.
WHEELS = (
    "pymongo-4.13.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "dnspython-2.7.0-py3-none-any.whl",
    "pymongo_auth_aws-1.3.0-py3-none-any.whl",
    "boto3-1.40.0-py3-none-any.whl",
    "botocore-1.40.0-py3-none-any.whl",
    "jmespath-1.0.1-py3-none-any.whl",
    "s3transfer-0.13.0-py3-none-any.whl",
    "python_dateutil-2.9.0.post0-py2.py3-none-any.whl",
    "six-1.17.0-py2.py3-none-any.whl",
    "urllib3-2.5.0-py3-none-any.whl",
)
# The sandbox emulates hosts and their network in one region (README, "What the sandbox does not do").
REGION = "us-east-1"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    from atlasiam_sandbox.provider.backends import atlas as atlas_backend

    with Sandbox(tmp_path_factory.mktemp("sandbox"), privatelink_delay_s=0.3) as sb:
        atlas_backend._TOKEN.clear()
        yield sb
        atlas_backend._TOKEN.clear()


def _terraform(workdir: Path, env: dict[str, str], *args: str, ok: tuple[int, ...] = (0,)) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", TF_SCRIPT, *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode in ok, f"terraform {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _wheel_buckets(sandbox: Sandbox) -> dict[str, list[str]]:
    """The sandbox's wheelhouse buckets (the module's bucket_prefix) and their object keys."""
    s3 = sandbox.cloud.client("s3")
    names = [b["Name"] for b in s3.list_buckets()["Buckets"] if "-wheels-" in b["Name"]]
    return {n: sorted(o["Key"] for o in s3.list_objects_v2(Bucket=n).get("Contents", [])) for n in names}


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob("*.whl"))


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
    # The module uploaded every wheel of wheelhouse_dir to its bucket, under wheels/.
    [(bucket, keys)] = _wheel_buckets(sandbox).items()
    assert bucket.startswith("orders-prod-wheels-") and keys == sorted(f"wheels/{w}" for w in _names(wheelhouse))

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
    assert _wheel_buckets(sandbox) == {}  # force_destroy: the bucket went, wheels and all
