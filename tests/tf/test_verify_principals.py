"""aws.verify_principals reaches the host role's trust policy, through real Terraform and the stand-ins."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CONFIGS, write_config
from tests.tf.conftest import Cli

pytestmark = [pytest.mark.terraform, pytest.mark.usefixtures("standin_env")]

EC2_STATEMENT = {
    "Sid": "EC2AssumeRole",
    "Effect": "Allow",
    "Action": "sts:AssumeRole",
    "Principal": {"Service": "ec2.amazonaws.com"},
}


def _trust_policy(project: Path, principals: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    text = (CONFIGS / "new_vpc.toml").read_text()
    if principals:
        text = text.replace("[aws]\n", f"[aws]\nverify_principals = {json.dumps(principals)}\n", 1)
    Cli(capsys, write_config(project, text))("apply", "--yes")
    state = json.loads((project / ".atlasiam" / "dev" / "terraform.tfstate").read_text())
    [role] = [
        r
        for r in state["resources"]
        if r.get("module") == "module.atlasiam" and r["type"] == "aws_iam_role" and r["name"] == "host"
    ]
    policy: dict[str, Any] = json.loads(role["instances"][0]["attributes"]["assume_role_policy"])
    return policy


def test_no_principals_no_statement(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _trust_policy(tmp_path, [], capsys)["Statement"] == [EC2_STATEMENT]


def test_the_listed_principals_and_nothing_else(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    listed = ["arn:aws:iam::123456789012:role/ci", "arn:aws:iam::123456789012:user/ops/alice", "210987654321"]
    statements = _trust_policy(tmp_path, listed, capsys)["Statement"]
    assert statements[0] == EC2_STATEMENT
    assert statements[1:] == [
        {
            "Sid": "VerifyFromHere",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"AWS": sorted(listed, reverse=True)},  # the provider's order for several values
        }
    ]
