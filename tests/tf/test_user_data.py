"""tests/user_data.py renders the module's user data exactly as Terraform's templatefile call in host.tf does.

The tests that boot hosts without Terraform (test_boot, test_verify_bootstrap, the probe golden files) use that
helper; this plans a rendered root with the real Terraform and compares the planned
``user_data`` with the helper's text, so the two cannot drift apart.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from atlas_iam_tf.terraform.engine import embedded_engine
from atlas_iam_tf.terraform.runner import terraform_env
from tests.conftest import CONFIGS
from tests.tf.conftest import Cli, copy_config
from tests.user_data import user_data

pytestmark = [pytest.mark.terraform, pytest.mark.usefixtures("standin_env")]


def _planned_user_data(workdir: Path) -> str:
    proc = subprocess.run(
        [*embedded_engine().argv, "show", "-json", "atlasiam.tfplan"],
        cwd=workdir,
        env=terraform_env(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    [instance] = [c for c in json.loads(proc.stdout)["resource_changes"] if c["type"] == "aws_instance"]
    text: str = instance["change"]["after"]["user_data"]
    return text


def test_public_user_data_is_what_terraform_renders(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = copy_config(CONFIGS / "new_vpc.toml", project_dir)
    Cli(capsys, config)("plan")
    planned = _planned_user_data(project_dir / ".atlasiam" / "dev")
    assert planned == user_data()
    assert 'WHEELHOUSE_BUCKET=""' in planned and 'BOOTSTRAP="true"' in planned
