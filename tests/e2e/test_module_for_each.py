"""A platform team's own root calls the module with for_each over two apps, under its own providers.

Real Terraform (embedded) inits, plans, applies and destroys ``examples/for-each`` against the sandbox; every
app's host is then verified over SSM by ``atlasiam verify`` in standalone mode, as a team would verify a
module they call themselves. The module has no provider block, so the caller's ``default_tags`` reach every
resource, beside the module's own ``tags``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atlas_iam_tf.cli import main
from atlas_iam_tf.terraform.engine import embedded_engine
from atlas_iam_tf.terraform.runner import terraform_env
from atlasiam_sandbox.mirror import build_mirror
from atlasiam_sandbox.provider.backends import atlas as atlas_backend
from atlasiam_sandbox.world import Sandbox

pytestmark = pytest.mark.terraform
ROOT = Path(__file__).resolve().parents[2]
PROJECT = "0123456789abcdef01234567"
# examples/for-each's provider default_tags and the module's own tags.
CALLER_TAGS = {"team": "platform", "cost-center": "cc-1234"}
APPS = ("billing", "orders")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, dict[str, str]]]:
    with Sandbox(tmp_path_factory.mktemp("sandbox")) as sb:
        atlas_backend._TOKEN.clear()  # a token of another module's Atlas emulation is no good here
        mirror = build_mirror(tmp_path_factory.mktemp("mirror"))
        yield sb, sb.env() | {"TF_CLI_CONFIG_FILE": str(mirror.cli_config), "AWS_EC2_METADATA_DISABLED": "true"}
        atlas_backend._TOKEN.clear()


def _terraform(workdir: Path, env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(
        [*embedded_engine().argv, *args],
        cwd=workdir,
        env=terraform_env(env),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, f"terraform {args[0]}:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout


def _verify(capsys: pytest.CaptureFixture[str], app: dict[str, Any]) -> dict[str, Any]:
    capsys.readouterr()
    code = main(
        [
            "verify",
            "--instance-id",
            app["instance_id"],
            "--uri",
            app["mongodb_uri"],
            "--expect-arn",
            app["role_arn"],
            "--region",
            app["region"],
            "--wait",
            "60",
            "--json",
        ]
    )
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert code == 0, json.dumps(doc, indent=1)[:4000]
    return doc


def test_for_each_over_two_apps_applies_verifies_and_destroys(
    world: tuple[Sandbox, dict[str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sb, env = world
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    shutil.copytree(ROOT / "modules", tmp_path / "modules")
    workdir = tmp_path / "examples" / "for-each"
    shutil.copytree(ROOT / "examples" / "for-each", workdir)
    full_env = {**dict(__import__("os").environ), **env}

    _terraform(workdir, full_env, "init", "-input=false", "-no-color")
    _terraform(workdir, full_env, "plan", "-input=false", "-no-color", "-out=tfplan")
    plan = json.loads(_terraform(workdir, full_env, "show", "-json", "tfplan"))
    creates = [c for c in plan["resource_changes"] if c["change"]["actions"] == ["create"]]
    hosts = sorted(c["address"] for c in creates if c["type"] == "aws_instance")
    assert hosts == [f'module.app["{app}"].aws_instance.this[0]' for app in APPS]
    # Every taggable AWS resource carries the caller's default tags and the module's var.tags (tags_all is what
    # the provider sends to AWS: the resource's tags merged over the provider's default_tags).
    taggable = [c for c in creates if c["type"].startswith("aws_") and "tags_all" in c["change"]["after"]]
    assert len(taggable) >= 20
    for change in taggable:
        app = change["address"].split('"')[1]
        expected = {**CALLER_TAGS, "app": app, "managed-by": "atlasiam", "atlasiam:name": app}
        assert change["change"]["after"]["tags_all"].items() >= expected.items(), change["address"]

    _terraform(workdir, full_env, "apply", "-input=false", "-no-color", "tfplan")
    apps = json.loads(_terraform(workdir, full_env, "output", "-json", "apps"))
    assert sorted(apps) == list(APPS)
    assert apps["orders"]["role_arn"] != apps["billing"]["role_arn"]

    # What AWS holds: the caller's default tags and the module's tags on the hosts themselves.
    ec2 = sb.cloud.client("ec2")
    for name in APPS:
        [reservation] = ec2.describe_instances(InstanceIds=[apps[name]["instance_id"]])["Reservations"]
        tags = {t["Key"]: t["Value"] for t in reservation["Instances"][0]["Tags"]}
        assert tags.items() >= {**CALLER_TAGS, "app": name, "atlasiam:name": name}.items(), tags

    for name in APPS:
        # Standalone verify does not wait for a host's user data (README, verify); a team would verify once the
        # bootstrap is done, as here. Boot starts when the host is first seen running, which this wait does.
        assert sb.cloud.boot.wait(apps[name]["instance_id"], timeout=60) == 0
        [row] = _verify(capsys, apps[name])["data"]["hosts"]
        assert row["ok"] and row["target"] == apps[name]["instance_id"] and row["db_user"] == apps[name]["role_arn"]

    _terraform(workdir, full_env, "destroy", "-auto-approve", "-input=false", "-no-color")
    state = json.loads((workdir / "terraform.tfstate").read_text())
    assert [r for r in state["resources"] if r["mode"] == "managed"] == []
    for name in APPS:
        assert sb.atlas.find_user(PROJECT, apps[name]["role_arn"]) is None
        [reservation] = ec2.describe_instances(InstanceIds=[apps[name]["instance_id"]])["Reservations"]
        assert reservation["Instances"][0]["State"]["Name"] == "terminated"
