"""The whole pipeline against the sandbox: real Terraform, real boto3, real pymongo MONGODB-AWS.

apply creates the host in the emulated EC2 and the database user in the emulated Atlas; verify logs in
from that host over the emulated SSM; destroy leaves nothing behind in either.
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
from atlasiam_sandbox.mirror import build_mirror
from atlasiam_sandbox.world import Sandbox
from tests.conftest import CONFIGS

pytestmark = pytest.mark.terraform
PROJECT = "0123456789abcdef01234567"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, dict[str, str]]]:
    with Sandbox(tmp_path_factory.mktemp("sandbox")) as sb:
        mirror = build_mirror(tmp_path_factory.mktemp("mirror"))
        yield sb, sb.env() | {"TF_CLI_CONFIG_FILE": str(mirror.cli_config), "AWS_EC2_METADATA_DISABLED": "true"}


@pytest.fixture
def cli(
    world: tuple[Sandbox, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Any:
    for key, value in world[1].items():
        monkeypatch.setenv(key, value)

    def run(config: Path, *args: str, expect: int = 0) -> dict[str, Any]:
        capsys.readouterr()
        code = main([*args, "--config", str(config), "--json"])
        out = capsys.readouterr()
        doc: dict[str, Any] = json.loads(out.out)
        assert code == expect, json.dumps(doc, indent=1)[:4000]
        return doc

    return run


def _project(tmp_path: Path, name: str, extra: str = "") -> Path:
    text = (CONFIGS / "new_vpc.toml").read_text().replace('name = "orders"', f'name = "{name}"') + extra
    path = tmp_path / name / "atlasiam.toml"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


def test_full_cycle(world: tuple[Sandbox, dict[str, str]], cli: Any, tmp_path: Path) -> None:
    sb = world[0]
    config = _project(tmp_path, "cycle")
    cli(config, "plan")
    outputs = cli(config, "apply", "--yes")["data"]["outputs"]
    role_arn, instance_id = outputs["role_arn"], outputs["instance_id"]

    ec2, iam = sb.cloud.client("ec2"), sb.cloud.client("iam")
    [reservation] = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    instance = reservation["Instances"][0]
    assert instance["State"]["Name"] == "running"
    profile = iam.get_instance_profile(InstanceProfileName=outputs["role_name"])["InstanceProfile"]
    assert instance["IamInstanceProfile"]["Arn"] == profile["Arn"]
    assert [r["Arn"] for r in profile["Roles"]] == [role_arn]
    user = sb.atlas.find_user(PROJECT, role_arn)
    assert user is not None and user.aws_iam_type == "ROLE" and user.auth_database_name == "$external"
    assert user.scopes == ("Cluster0",)

    verified = cli(config, "verify", "--wait", "30")["data"]
    [row] = verified["hosts"]
    assert row["ok"] and row["target"] == instance_id and row["db_user"] == role_arn
    assert row["steps"][0]["name"] == "bootstrap" and row["steps"][0]["ok"]  # it waited for user_data.sh

    cli(config, "destroy", "--yes")
    assert all(
        i["State"]["Name"] == "terminated"
        for r in ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
        for i in r["Instances"]
    )
    assert outputs["role_name"] not in [r["RoleName"] for r in iam.list_roles()["Roles"]]
    assert outputs["vpc_id"] not in [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]]
    assert sb.atlas.find_user(PROJECT, role_arn) is None
    assert not any(p == PROJECT for p, _ in sb.atlas.access_list)


def test_drift_instance_deleted_behind_terraforms_back(
    world: tuple[Sandbox, dict[str, str]], cli: Any, tmp_path: Path
) -> None:
    config = _project(tmp_path, "drift")
    instance_id = cli(config, "apply", "--yes")["data"]["outputs"]["instance_id"]
    world[0].cloud.client("ec2").terminate_instances(InstanceIds=[instance_id])
    plan = cli(config, "plan", "--detailed-exitcode", expect=4)["data"]
    actions = {c["address"]: c["action"] for c in plan["changes"]}
    assert actions["module.atlasiam.aws_instance.this[0]"] == "create"
    cli(config, "destroy", "--yes")


def test_removing_the_ssm_policy_fails_verify(world: tuple[Sandbox, dict[str, str]], cli: Any, tmp_path: Path) -> None:
    config = _project(tmp_path, "nossm")
    outputs = cli(config, "apply", "--yes")["data"]["outputs"]
    iam = world[0].cloud.client("iam")
    iam.detach_role_policy(
        RoleName=outputs["role_name"], PolicyArn="arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    )
    doc = cli(config, "verify", "--wait", "0", "--online-timeout", "3", expect=3)["data"]
    assert [f["code"] for f in doc["hosts"][0]["findings"]] == ["ssm_not_online"]
    cli(config, "destroy", "--yes")


def test_another_roles_arn_as_the_only_extra_user_fails_verify(
    world: tuple[Sandbox, dict[str, str]], cli: Any, tmp_path: Path
) -> None:
    config = _project(tmp_path, "wronguser")
    outputs = cli(config, "apply", "--yes")["data"]["outputs"]
    sb = world[0]
    # The host's own user disappears; only another role's user is left in the project.
    sb.atlas.delete_user(PROJECT, outputs["role_arn"])
    other = "arn:aws:iam::123456789012:role/someone-else"
    from atlasiam_sandbox.atlas_state import DatabaseUser

    sb.atlas.put_user(DatabaseUser(project_id=PROJECT, username=other, scopes=("Cluster0",)))
    # The host's user data must be done for --wait 0 to reach the login (else: bootstrap_unfinished, as on AWS).
    assert sb.cloud.boot.wait(outputs["instance_id"], timeout=30) == 0
    doc = cli(config, "verify", "--wait", "0", "--expect-arn", other, expect=3)["data"]
    findings = [f["code"] for f in doc["hosts"][0]["findings"]]
    assert findings == ["identity_mismatch"]
    assert outputs["role_arn"] in doc["hosts"][0]["findings"][0]["message"]
    cli(config, "destroy", "--yes")
    shutil.rmtree(config.parent / ".atlasiam", ignore_errors=True)


def test_no_credential_lands_in_files_or_output(
    world: tuple[Sandbox, dict[str, str]], cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = {"AWS_SECRET_ACCESS_KEY": "sandbox-aws-secret-7f3e0c", "MONGODB_ATLAS_CLIENT_SECRET": "atlas-sec-91ab4d"}
    for key, value in secrets.items():
        monkeypatch.setenv(key, value)
    # The emulated Atlas admits only its service account: give it this test's distinctive secret.
    api = world[0].api
    monkeypatch.setattr(api, "service_account", (api.service_account[0], secrets["MONGODB_ATLAS_CLIENT_SECRET"]))
    argvs: list[str] = []  # every child process atlasiam starts (Terraform workers, the local probe)
    real_popen = subprocess.Popen

    class RecordingPopen(real_popen):  # type: ignore[misc, valid-type]
        def __init__(self, args: Any, *a: Any, **kw: Any) -> None:
            argvs.append(json.dumps([str(x) for x in args]) if isinstance(args, list | tuple) else str(args))
            super().__init__(args, *a, **kw)

    monkeypatch.setattr(subprocess, "Popen", RecordingPopen)
    # The role must trust whoever verifies from here, as on AWS: here the sandbox's account (its anonymous
    # `testing` caller belongs to it).
    config = _project(tmp_path, "secrets")
    config.write_text(config.read_text().replace("[aws]\n", '[aws]\nverify_principals = ["123456789012"]\n', 1))
    docs = [cli(config, "plan"), cli(config, "apply", "--yes"), cli(config, "output")]
    role = docs[-1]["data"]["role_arn"]
    docs += [cli(config, "verify", "--wait", "30"), cli(config, "verify", "--from-here", "--assume-role", role)]
    docs.append(cli(config, "destroy", "--yes"))
    text = json.dumps(docs) + "\n".join(argvs)
    assert any("atlas_iam_tf.terraform.embedded_worker" in a for a in argvs)  # the recording saw Terraform
    files = [p for p in config.parent.rglob("*") if p.is_file() and "providers" not in p.parts]
    assert len(files) > 10  # rendered module, tfvars, state, backups, init stamp, ...
    # what ran "on the host": the probe's command, stdout and stderr as the emulated SSM kept them
    files += [p for p in world[0].state_dir.rglob("*") if p.is_file() and ".ssm" in p.parts]
    for value in secrets.values():
        assert value not in text
        leaked = [str(p) for p in files if value.encode() in p.read_bytes()]
        assert leaked == []
    state = config.parent / ".atlasiam" / "dev" / "terraform.tfstate"
    assert state.stat().st_mode & 0o777 == 0o600
