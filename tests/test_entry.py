"""The entry point: argv reading, and the warm Terraform worker started before the CLI is imported."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from atlas_iam_tf.entry import command_of, flag_value, global_flags, warm_start_for


def test_command_and_global_flags() -> None:
    assert command_of(["--sandbox", "plan", "--config", "x.toml"]) == "plan"
    assert command_of(["--help"]) is None
    assert global_flags(["--sandbox", "plan", "--json"]) == ["--sandbox"]
    assert global_flags(["--version"]) == ["--version"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["plan", "--config", "a.toml"], "a.toml"),
        (["plan", "--config=b.toml"], "b.toml"),
        (["plan", "-c", "c.toml"], "c.toml"),
        (["plan", "--config"], None),
        (["plan"], None),
    ],
)
def test_flag_value(args: list[str], expected: str | None) -> None:
    assert flag_value(args, "--config", "-c") == expected


@pytest.mark.parametrize("args", [["render"], ["verify"], ["plan", "--help"], ["apply", "-h"], []])
def test_no_worker_for_commands_that_do_not_run_terraform(args: list[str]) -> None:
    with warm_start_for(args) as warm:
        assert warm is None


def test_a_worker_for_plan_that_goes_away_unused() -> None:
    with warm_start_for(["plan"]) as warm:
        assert warm is not None
        proc = warm._proc
        assert proc is not None and proc.poll() is None  # loading Terraform
    assert proc.wait(timeout=30) == 0  # stdin closed without a command: exits, runs nothing


def test_the_worker_starts_before_typer_is_imported() -> None:
    code = (
        "import sys, atlas_iam_tf.entry as e, atlas_iam_tf.terraform.runner as r\n"
        "seen = []\n"
        "orig = r.WarmStart.__init__\n"
        "def init(self, *a, **k):\n"
        "    seen.append('typer' in sys.modules)\n"
        "    orig(self, *a, **k)\n"
        "r.WarmStart.__init__ = init\n"
        "e.main(['plan', '--config', 'missing.toml', '--json'])\n"
        "print(seen)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLASIAM_")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert out.stdout.strip().splitlines()[-1] == "[False]", out.stderr
