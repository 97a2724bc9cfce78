"""Rendered modules are `terraform fmt` clean, checked by the embedded Terraform."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from atlas_iam_tf.config import load_config
from atlas_iam_tf.render import render_module, write_module
from atlas_iam_tf.terraform.args import build_args
from atlas_iam_tf.terraform.engine import embedded_engine
from atlas_iam_tf.terraform.runner import TerraformRunner, terraform_env
from tests.conftest import CONFIGS, VARIANTS

pytestmark = pytest.mark.terraform


def test_embedded_engine_is_terraform_1_15_5(tmp_path: Path) -> None:
    runner = TerraformRunner(embedded_engine(), tmp_path, terraform_env(os.environ))
    assert '"terraform_version":"1.15.5"' in runner.execute(build_args("version")).stdout.replace(" ", "")


@pytest.mark.parametrize("variant", [*VARIANTS, "s3_backend"])
def test_rendered_module_is_fmt_clean(tmp_path: Path, variant: str) -> None:
    if variant == "s3_backend":
        text = (CONFIGS / "new_vpc.toml").read_text() + '\n[backend]\ntype = "s3"\nbucket = "team-state"\n'
        (tmp_path / "c.toml").write_text(text)
        config = load_config(tmp_path / "c.toml", environ={})
    else:
        config = load_config(CONFIGS / f"{variant}.toml", environ={})
    write_module(render_module(config), tmp_path / "module")
    runner = TerraformRunner(embedded_engine(), tmp_path / "module", terraform_env(os.environ))
    result = runner.execute(build_args("fmt", check=True, extra=["-recursive"]), ok_codes=(0, 3))
    assert result.returncode == 0, result.stdout
