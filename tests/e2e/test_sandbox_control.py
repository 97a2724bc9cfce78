"""`atlasiam sandbox up|status|env|down`: a background daemon that leaves nothing behind."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from atlas_iam_tf.cli import main
from atlasiam_sandbox import control


def _processes_mentioning(text: str) -> list[int]:
    """Pids whose command line mentions ``text`` (our daemon and anything it started)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environ = (entry / "environ").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if text in cmdline or text in environ:
            found.append(int(entry.name))
    return found


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    capsys.readouterr()
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_up_status_env_down_leaves_no_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = str(tmp_path)
    code, doc = _cli(capsys, "sandbox", "up", "--dir", root)
    assert code == 0 and doc["data"]["started"] is True
    pid = doc["data"]["pid"]
    try:
        code, doc = _cli(capsys, "sandbox", "up", "--dir", root)  # idempotent
        assert doc["data"] == doc["data"] | {"started": False, "pid": pid}
        code, doc = _cli(capsys, "sandbox", "status", "--dir", root)
        assert code == 0 and doc["data"]["running"] is True
        for url in doc["data"]["endpoints"].values():
            assert url.startswith("http://127.0.0.1:")  # nothing bound beyond loopback
        code, env = _cli(capsys, "sandbox", "env", "--dir", root)
        assert {
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_SSM",
            "MONGODB_ATLAS_BASE_URL",
            "TF_CLI_CONFIG_FILE",
            "SSL_CERT_FILE",
        } <= set(env["data"])
        # a long command "on a host" is a process of the sandbox too: down must end it
        info = control.status(tmp_path)
        assert info is not None
        _launch_sleeper(info.env)
        assert len(_processes_mentioning(str(control.state_dir(tmp_path)))) >= 2
    finally:
        code, doc = _cli(capsys, "sandbox", "down", "--dir", root)
    assert doc["data"]["stopped"] is True
    deadline = time.monotonic() + 10
    while _processes_mentioning(str(control.state_dir(tmp_path))) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_mentioning(str(control.state_dir(tmp_path))) == []
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    code, doc = _cli(capsys, "sandbox", "status", "--dir", root)
    assert code == 1 and doc["data"]["running"] is False


def _launch_sleeper(env: dict[str, str]) -> None:
    import boto3

    kw = {"region_name": "us-east-1", "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    iam = boto3.client("iam", endpoint_url=env["AWS_ENDPOINT_URL"], **kw)
    ec2 = boto3.client("ec2", endpoint_url=env["AWS_ENDPOINT_URL"], **kw)
    ssm = boto3.client("ssm", endpoint_url=env["AWS_ENDPOINT_URL_SSM"], **kw)
    trust = '{"Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
    iam.create_role(RoleName="sleeper", AssumeRolePolicyDocument=trust)
    iam.attach_role_policy(RoleName="sleeper", PolicyArn="arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore")
    iam.create_instance_profile(InstanceProfileName="sleeper")
    iam.add_role_to_instance_profile(InstanceProfileName="sleeper", RoleName="sleeper")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.0.0/24")["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    rtb = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"][0]["RouteTableId"]
    ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    instance = ec2.run_instances(
        ImageId="ami-12c6146b",
        InstanceType="t3.micro",
        MinCount=1,
        MaxCount=1,
        SubnetId=subnet,
        IamInstanceProfile={"Name": "sleeper"},
    )["Instances"][0]["InstanceId"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        info = ssm.describe_instance_information()["InstanceInformationList"]
        if any(i["InstanceId"] == instance and i["PingStatus"] == "Online" for i in info):
            break
        time.sleep(0.2)
    ssm.send_command(InstanceIds=[instance], DocumentName="AWS-RunShellScript", Parameters={"commands": ["sleep 300"]})
    time.sleep(1.0)


def test_sandbox_flag_starts_the_sandbox_and_uses_it(tmp_path: Path) -> None:
    """`atlasiam --sandbox plan` on a fresh project: no manual environment at all."""
    import subprocess
    import sys

    from tests.conftest import CONFIGS

    (tmp_path / "atlasiam.toml").write_text((CONFIGS / "new_vpc.toml").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MONGODB_ATLAS_", "TF_"))}
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "atlas_iam_tf", "--sandbox", "plan", "--json"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert json.loads(proc.stdout)["data"]["counts"]["create"] >= 16
        assert control.status(tmp_path) is not None  # started on demand, and still running for the next command
    finally:
        control.down(tmp_path)
    assert control.status(tmp_path) is None
