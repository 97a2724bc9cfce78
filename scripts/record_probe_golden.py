"""Record the probe's real stdout for the golden parser tests (tests/verify/golden/).

Runs the real probe over the emulated SSM in the sandbox for a few outcomes and saves exactly what
the host printed. Re-run after changing the probe's output format.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from atlas_iam_tf.verify.command import ProbeInput, shell_commands  # noqa: E402
from atlas_iam_tf.verify.ssm import SsmVerifier  # noqa: E402
from atlasiam_sandbox.atlas_state import DatabaseUser  # noqa: E402
from atlasiam_sandbox.aws.hosts import HostSettings  # noqa: E402
from atlasiam_sandbox.world import Sandbox  # noqa: E402

PROJECT, CLUSTER = "0123456789abcdef01234567", "Cluster0"
OUT = ROOT / "tests" / "verify" / "golden"
sys.path.insert(0, str(ROOT))
from tests.user_data import USER_DATA  # noqa: E402 - after the path is set


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    with Sandbox(Path(tempfile.mkdtemp(prefix="golden-"))) as sb:
        uri = sb.cluster_uri(PROJECT, CLUSTER)
        ssm = sb.cloud.client("ssm")
        cases = {
            "pass": sb.cloud.launch_host("golden-pass"),
            "fail-auth": sb.cloud.launch_host("golden-auth"),
            "fail-no-credentials": sb.cloud.launch_host(
                "golden-nocreds", settings=HostSettings(imds_hop_limit_ok=False)
            ),
            "fail-aws-extra": sb.cloud.launch_host(
                "golden-extra", settings=HostSettings(extra_env={"PYTHONPATH": str(_shim())})
            ),
            # No route to STS: the identity step fails, and the login (which needs no STS call) still passes.
            "pass-no-sts": sb.cloud.launch_host("golden-nosts", settings=HostSettings(sts_reachable=False)),
            # atlasiam's user data failed: the wrapper reports it, and the probe ran on the system python3.
            "fail-bootstrap": sb.cloud.launch_host(
                "golden-boot", user_data=USER_DATA, settings=HostSettings(bootstrap_delay=0.0, bootstrap_fails=True)
            ),
        }
        for name in ("pass", "pass-no-sts"):
            sb.atlas.put_user(DatabaseUser(project_id=PROJECT, username=cases[name].role_arn, scopes=(CLUSTER,)))
        verifier = SsmVerifier(ssm)
        ids = [h.instance_id for h in cases.values()]
        verifier.wait_online(ids, time.monotonic() + 60)
        sent = {}
        for name, host in cases.items():
            booting = name == "fail-bootstrap"  # atlasiam's host: the wrapper waits for its bootstrap
            inp = ProbeInput(uri=uri, expect_arn=host.role_arn, connect_timeout_s=3, wait_bootstrap=booting)
            inp = replace(inp, wait_s=10) if booting else inp
            sent[name] = verifier.send([host.instance_id], shell_commands(inp), 120)[host.instance_id]
        for name, host in cases.items():
            inv = verifier.collect({host.instance_id: sent[name]}, time.monotonic() + 120)[host.instance_id]
            # The sandbox host runs this machine's Python: keep its path out of the repository.
            python_dir = "/usr/bin" if name == "fail-bootstrap" else "/opt/atlasiam/venv/bin"
            text = inv.stdout.replace(str(Path(sys.executable).parent), python_dir)
            (OUT / f"{name}.json").write_text(text)
            print(f"{name}: {inv.status}, {len(inv.stdout)} chars")
    return 0


def _shim() -> Path:
    shim = Path(tempfile.mkdtemp(prefix="shim-")) / "pymongo_auth_aws"
    shim.mkdir()
    (shim / "__init__.py").write_text("raise ImportError('No module named pymongo_auth_aws (shimmed)')\n")
    return shim.parent


if __name__ == "__main__":
    raise SystemExit(main())
