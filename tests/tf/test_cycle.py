"""The whole lifecycle on real Terraform against the stand-in providers, for every config variant."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from atlas_iam_tf.config import load_config
from atlas_iam_tf.deploy import Deployment
from atlas_iam_tf.project import project_for
from tests.conftest import CONFIGS, VARIANTS
from tests.tf.conftest import Cli, copy_config, iam_name, state_resources

pytestmark = [pytest.mark.terraform, pytest.mark.usefixtures("standin_env")]

M = "module.atlasiam."
ALWAYS = {
    M + a
    for a in (
        "aws_security_group.host[0]",
        "aws_vpc_security_group_egress_rule.https[0]",
        "aws_vpc_security_group_egress_rule.atlas[0]",
        "aws_iam_role.host[0]",
        "aws_iam_role_policy_attachment.ssm[0]",
        "aws_iam_instance_profile.host[0]",
        "aws_instance.this[0]",
        "terraform_data.ami[0]",
        'mongodbatlas_database_user.this["host"]',
        "mongodbatlas_project_ip_access_list.host[0]",
    )
}
NETWORK = {
    M + a
    for a in (
        "aws_vpc.this[0]",
        "aws_default_security_group.this[0]",
        "aws_subnet.this[0]",
        "aws_internet_gateway.this[0]",
        "aws_route_table.this[0]",
        "aws_route.internet[0]",
        "aws_route_table_association.this[0]",
    )
}
FLOW_LOGS = {
    M + a
    for a in (
        "aws_cloudwatch_log_group.flow_logs[0]",
        "aws_iam_role.flow_logs[0]",
        "aws_iam_role_policy.flow_logs[0]",
        "aws_flow_log.this[0]",
    )
}
EXPECTED: dict[str, set[str]] = {
    "new_vpc": ALWAYS | NETWORK,
    "existing_vpc": ALWAYS,
    "iam_users": ALWAYS
    | NETWORK
    | FLOW_LOGS
    | {
        M + 'mongodbatlas_database_user.this["arn:aws:iam::123456789012:user/alice"]',
        M + 'mongodbatlas_database_user.this["arn:aws:iam::123456789012:user/ci/bob"]',
    },
}


def _changes(doc: dict[str, Any]) -> dict[str, str]:
    return {c["address"]: c["action"] for c in doc["data"]["changes"]}


@pytest.mark.parametrize("variant", VARIANTS)
def test_full_cycle(variant: str, project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config_path = copy_config(CONFIGS / f"{variant}.toml", project_dir)
    cli = Cli(capsys, config_path)
    config = load_config(config_path, environ={})
    workdir = project_dir / ".atlasiam" / config.environment

    # validate (real Terraform against the real provider schemas)
    Deployment(project_for(config, config_path)).validate()

    plan = cli("plan")
    changes = _changes(plan)
    reads = {a for a, action in changes.items() if action == "read"}  # data sources that wait for apply
    assert reads == ({M + "data.aws_iam_policy_document.flow_logs[0]"} if variant == "iam_users" else set())
    assert {a: c for a, c in changes.items() if a not in reads} == dict.fromkeys(EXPECTED[variant], "create")
    assert (workdir / "atlasiam.tfplan").is_file()

    applied = cli("apply", "--yes")
    outputs = applied["data"]["outputs"]
    role = f"{iam_name(config.name, config.environment, config.aws.region)}-host"
    assert outputs["role_arn"] == f"arn:aws:iam::123456789012:role/{role}"
    assert outputs["db_usernames"][0] == outputs["role_arn"]
    assert outputs["db_usernames"][1:] == list(config.atlas.iam_user_arns)
    assert outputs["instance_id"].startswith("i-")
    assert outputs["region"] == config.aws.region
    assert outputs["mongodb_uri"].startswith("mongodb+srv://")
    if variant == "existing_vpc":
        assert (outputs["vpc_id"], outputs["subnet_ids"]) == (config.aws.vpc_id, [config.aws.subnet_id])
    assert set(state_resources(workdir)) >= {a.split("[")[0] for a in EXPECTED[variant]}
    assert not (workdir / "atlasiam.tfplan").exists()
    assert (workdir / "terraform.tfstate").stat().st_mode & 0o777 == 0o600  # state can hold secrets

    # a second plan sees no changes: the stand-ins are stable and the templates converge
    again = cli("plan", "--detailed-exitcode")
    assert again["data"]["has_changes"] is False

    shown = cli("output")
    assert shown["data"] == outputs

    destroyed = cli("destroy", "--yes")
    assert destroyed["data"]["destroyed"] == len(EXPECTED[variant])
    assert state_resources(workdir) == []


def test_detailed_exitcode_and_stale_plan(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config_path = copy_config(CONFIGS / "new_vpc.toml", project_dir)
    cli = Cli(capsys, config_path)
    cli("plan", "--detailed-exitcode", expect=4)
    # The config changes after the plan was saved: apply must not apply the old plan.
    config_path.write_text(
        config_path.read_text()
        .replace('"t3.micro"', '"t3.small"')
        .replace('region = "us-east-1"', 'region = "us-east-1"\ninstance_type = "t3.small"')
    )
    cli("apply", "--yes")
    tfvars = json.loads((project_dir / ".atlasiam" / "dev" / "terraform.tfvars.json").read_text())
    assert tfvars["stack"]["instance_type"] == "t3.small"
    state = json.loads((project_dir / ".atlasiam" / "dev" / "terraform.tfstate").read_text())
    instance = next(r for r in state["resources"] if r["type"] == "aws_instance")
    assert instance["instances"][0]["attributes"]["instance_type"] == "t3.small"
    cli("destroy", "--yes")


def test_apply_without_tty_needs_yes(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli = Cli(capsys, copy_config(CONFIGS / "new_vpc.toml", project_dir))
    doc = cli("apply", expect=2)
    assert doc["error"]["code"] == "confirmation_required"
    assert not (project_dir / ".atlasiam" / "dev" / "terraform.tfstate").exists()  # nothing was applied
