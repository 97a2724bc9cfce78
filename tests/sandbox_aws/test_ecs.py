"""ECS on Fargate in the sandbox (``aws/ecs_tasks.py``), through real boto3 ``ecs`` and ``logs`` clients."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from atlasiam_sandbox.aws import SandboxCloud
from atlasiam_sandbox.aws.containers import PROBE_IMAGE

PIP = (
    "python3 -m pip install --quiet --no-cache-dir --disable-pip-version-check --root-user-action=ignore "
    "'pymongo[aws]==4.20.1' 'pymongo-auth-aws==1.3.0' >&2"
)
IDENTITY = "import boto3; print(boto3.client('sts').get_caller_identity()['Arn'])"
CLUSTER = "verify"


def _trust(service: str = "ecs-tasks.amazonaws.com", condition: dict[str, Any] | None = None) -> str:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _role(cloud: SandboxCloud, trust: str | None = None) -> tuple[str, str]:
    name = f"task-{uuid.uuid4().hex[:8]}"
    arn = cloud.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=trust or _trust())["Role"]["Arn"]
    return name, arn


def _network(cloud: SandboxCloud, route: str) -> tuple[str, str]:
    """(subnet, security group) in a fresh VPC whose default route goes to ``route``: igw, nat or none."""
    ec2 = cloud.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=f"sg-{uuid.uuid4().hex[:6]}", Description="t", VpcId=vpc)["GroupId"]
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    if route != "none":
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        if route == "igw":
            ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
        else:
            public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.2.0/24")["Subnet"]["SubnetId"]
            eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
            nat = ec2.create_nat_gateway(SubnetId=public, AllocationId=eip)["NatGateway"]["NatGatewayId"]
            ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    return subnet, group


@pytest.fixture(scope="module")
def setup(cloud: SandboxCloud) -> dict[str, Any]:
    cloud.client("ecs").create_cluster(clusterName=CLUSTER)
    cloud.client("logs").create_log_group(logGroupName="/atlasiam/verify")
    _, execution = _role(cloud)
    return {"execution": execution}


def _register(
    cloud: SandboxCloud,
    script: str,
    *,
    task_role: str | None,
    execution_role: str | None,
    log_group: str = "/atlasiam/verify",
    image: str = PROBE_IMAGE,
) -> str:
    args: dict[str, Any] = {
        "family": f"atlasiam-verify-{uuid.uuid4().hex[:6]}",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [
            {
                "name": "probe",
                "image": image,
                "essential": True,
                "command": ["/bin/sh", "-c", script],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": log_group,
                        "awslogs-region": cloud.region,
                        "awslogs-stream-prefix": "atlasiam",
                    },
                },
            }
        ],
    }
    if task_role:
        args["taskRoleArn"] = task_role
    if execution_role:
        args["executionRoleArn"] = execution_role
    return str(cloud.client("ecs").register_task_definition(**args)["taskDefinition"]["taskDefinitionArn"])


def _run(cloud: SandboxCloud, task_definition: str, subnet: str, group: str, public_ip: str = "ENABLED") -> str:
    task = cloud.client("ecs").run_task(
        cluster=CLUSTER,
        taskDefinition=task_definition,
        launchType="FARGATE",
        count=1,
        startedBy="atlasiam-verify",
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group], "assignPublicIp": public_ip}
        },
    )["tasks"][0]
    return str(task["taskArn"])


def _until_stopped(cloud: SandboxCloud, task_arn: str, timeout: float = 60) -> tuple[dict[str, Any], list[str]]:
    """Poll DescribeTasks as the product does; returns the stopped task and every lastStatus seen."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task: dict[str, Any] = cloud.client("ecs").describe_tasks(cluster=CLUSTER, tasks=[task_arn])["tasks"][0]
        if not seen or seen[-1] != task["lastStatus"]:
            seen.append(task["lastStatus"])
        if task["lastStatus"] == "STOPPED":
            return task, seen
        time.sleep(0.02)
    raise AssertionError(f"{task_arn} did not stop in {timeout}s (saw {seen})")


def _log_lines(cloud: SandboxCloud, task_arn: str, group: str = "/atlasiam/verify") -> list[str]:
    stream = f"atlasiam/probe/{task_arn.rsplit('/', 1)[-1]}"
    events = cloud.client("logs").get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    return [e["message"] for e in events["events"]]


def test_task_role_identity_after_pip_install_and_its_log_lines(cloud: SandboxCloud, setup: dict[str, Any]) -> None:
    role_name, role_arn = _role(cloud)
    script = f"echo before; python3 -c 'import pymongo' 2>&1 | tail -1; {PIP} && exec python3 -c \"{IDENTITY}\""
    definition = _register(cloud, script, task_role=role_arn, execution_role=setup["execution"])
    arn = _run(cloud, definition, *_network(cloud, "igw"))
    task, seen = _until_stopped(cloud, arn)
    task_id = arn.rsplit("/", 1)[-1]
    assert seen[0] in ("PROVISIONING", "PENDING")
    assert "RUNNING" in seen
    assert task["stopCode"] == "EssentialContainerExited"
    assert task["stoppedReason"] == "Essential container in task exited"
    assert task["desiredStatus"] == "STOPPED"
    assert task["containers"][0]["exitCode"] == 0
    assert _log_lines(cloud, arn) == [
        "before",
        "ModuleNotFoundError: No module named 'pymongo'",
        f"arn:aws:sts::{cloud.account_id}:assumed-role/{role_name}/{task_id}",
    ]


def test_container_environment_as_fargate_sets_it(cloud: SandboxCloud, setup: dict[str, Any]) -> None:
    _, role_arn = _role(cloud)
    definition = _register(cloud, "env | sort", task_role=role_arn, execution_role=setup["execution"])
    arn = _run(cloud, definition, *_network(cloud, "nat"), public_ip="DISABLED")
    _until_stopped(cloud, arn)
    env = dict(line.split("=", 1) for line in _log_lines(cloud, arn))
    assert env["AWS_EXECUTION_ENV"] == "AWS_ECS_FARGATE"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == cloud.region
    assert env["AWS_ENDPOINT_URL_STS"] == cloud.sts_gate.url
    assert env["AWS_CONTAINER_CREDENTIALS_FULL_URI"].startswith(f"{cloud.ecs.url}/v2/credentials/")
    assert env["ECS_CONTAINER_METADATA_URI_V4"].startswith(f"{cloud.ecs.url}/v4/")
    assert "AWS_ACCESS_KEY_ID" not in env
    assert "AWS_EC2_METADATA_SERVICE_ENDPOINT" not in env


def test_metadata_endpoint_names_the_task(cloud: SandboxCloud, setup: dict[str, Any]) -> None:
    read = "import json, os, urllib.request as u; uri = os.environ['ECS_CONTAINER_METADATA_URI_V4'] + '/task'"
    script = f"exec python3 -c \"{read}; print(json.load(u.urlopen(uri))['TaskARN'])\""
    definition = _register(cloud, script, task_role=None, execution_role=setup["execution"])
    arn = _run(cloud, definition, *_network(cloud, "igw"))
    _until_stopped(cloud, arn)
    assert _log_lines(cloud, arn) == [arn]


def test_no_task_role_no_credentials(cloud: SandboxCloud, setup: dict[str, Any]) -> None:
    script = f'env | grep -c AWS_CONTAINER_CREDENTIALS || true; {PIP} && exec python3 -c "{IDENTITY}"'
    definition = _register(cloud, script, task_role=None, execution_role=setup["execution"])
    arn = _run(cloud, definition, *_network(cloud, "igw"))
    task, _ = _until_stopped(cloud, arn)
    lines = _log_lines(cloud, arn)
    assert lines[0] == "0"
    assert lines[-1] == "botocore.exceptions.NoCredentialsError: Unable to locate credentials"
    assert task["containers"][0]["exitCode"] == 1


@pytest.mark.parametrize(("route", "public_ip"), [("none", "ENABLED"), ("igw", "DISABLED")])
def test_no_internet_the_image_pull_fails(
    cloud: SandboxCloud, setup: dict[str, Any], route: str, public_ip: str
) -> None:
    definition = _register(cloud, "echo never", task_role=None, execution_role=setup["execution"])
    arn = _run(cloud, definition, *_network(cloud, route), public_ip=public_ip)
    task, _ = _until_stopped(cloud, arn)
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].startswith(
        "CannotPullContainerError: pull image manifest has been retried 5 time(s): "
        f"failed to resolve ref {PROBE_IMAGE}: failed to do request: Head "
    )
    assert task["containers"][0]["reason"] == task["stoppedReason"]
    assert "exitCode" not in task["containers"][0]


def test_another_image_is_not_found(cloud: SandboxCloud, setup: dict[str, Any]) -> None:
    definition = _register(cloud, "true", task_role=None, execution_role=setup["execution"], image="python:3.12")
    task, _ = _until_stopped(cloud, _run(cloud, definition, *_network(cloud, "igw")))
    assert task["stoppedReason"].endswith("docker.io/library/python:3.12: not found")


def test_untrusted_task_role_is_refused(cloud: SandboxCloud, setup: dict[str, Any]) -> None:
    _, lambda_role = _role(cloud, _trust("lambda.amazonaws.com"))
    definition = _register(cloud, "true", task_role=lambda_role, execution_role=setup["execution"])
    with pytest.raises(cloud.client("ecs").exceptions.ClientException) as raised:
        _run(cloud, definition, *_network(cloud, "igw"))
    assert raised.value.response["Error"]["Message"] == (
        f"ECS was unable to assume the role '{lambda_role}' that was provided for this task. Please verify that the "
        "role being passed has the proper trust relationship and permissions and that your IAM user has permissions "
        "to pass this role."
    )
    tasks = cloud.client("ecs").list_tasks(cluster=CLUSTER, family=definition.split("/")[-1].split(":")[0])
    assert tasks["taskArns"] == []


def test_trust_conditions_see_source_account_and_task_arn(cloud: SandboxCloud, setup: dict[str, Any]) -> None:
    account = cloud.account_id
    _, good = _role(
        cloud,
        _trust(
            condition={
                "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:{cloud.region}:{account}:*"},
                "StringEquals": {"aws:SourceAccount": account},
            }
        ),
    )
    _, other_account = _role(cloud, _trust(condition={"StringEquals": {"aws:SourceAccount": "999999999999"}}))
    subnet, group = _network(cloud, "igw")
    arn = _run(cloud, _register(cloud, "true", task_role=good, execution_role=setup["execution"]), subnet, group)
    assert _until_stopped(cloud, arn)[0]["containers"][0]["exitCode"] == 0
    with pytest.raises(cloud.client("ecs").exceptions.ClientException):
        _run(cloud, _register(cloud, "true", task_role=other_account, execution_role=setup["execution"]), subnet, group)


def test_missing_log_group_fails_to_start(cloud: SandboxCloud, setup: dict[str, Any]) -> None:
    definition = _register(cloud, "echo x", task_role=None, execution_role=setup["execution"], log_group="/nope")
    task, _ = _until_stopped(cloud, _run(cloud, definition, *_network(cloud, "igw")))
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"] == (
        "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: "
        "failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist. "
        ": exit status 1"
    )


def test_awslogs_on_fargate_needs_an_execution_role(cloud: SandboxCloud) -> None:
    with pytest.raises(cloud.client("ecs").exceptions.ClientException) as raised:
        _register(cloud, "true", task_role=None, execution_role=None)
    assert raised.value.response["Error"]["Message"] == (
        "Fargate requires task definition to have execution role ARN to support log driver awslogs."
    )


@pytest.mark.parametrize("missing", ["subnet", "group"])
def test_network_must_exist(cloud: SandboxCloud, setup: dict[str, Any], missing: str) -> None:
    subnet, group = _network(cloud, "igw")
    subnet, group = ("subnet-0123456789abcdef0", group) if missing == "subnet" else (subnet, "sg-0123456789abcdef0")
    definition = _register(cloud, "true", task_role=None, execution_role=setup["execution"])
    with pytest.raises(cloud.client("ecs").exceptions.InvalidParameterException) as raised:
        _run(cloud, definition, subnet, group)
    wanted = "InvalidSubnetID.NotFound" if missing == "subnet" else "InvalidGroup.NotFound"
    assert raised.value.response["Error"]["Message"].endswith(f"(ErrorCode: {wanted})")


def test_stop_task_kills_the_container(cloud: SandboxCloud, setup: dict[str, Any]) -> None:
    definition = _register(cloud, "echo up; exec sleep 60", task_role=None, execution_role=setup["execution"])
    arn = _run(cloud, definition, *_network(cloud, "igw"))
    deadline = time.monotonic() + 20
    while cloud.client("ecs").describe_tasks(cluster=CLUSTER, tasks=[arn])["tasks"][0]["lastStatus"] != "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    started = time.monotonic()
    stopped = cloud.client("ecs").stop_task(cluster=CLUSTER, task=arn, reason="verify finished")["task"]
    assert stopped["desiredStatus"] == "STOPPED"
    task, _ = _until_stopped(cloud, arn)
    assert time.monotonic() - started < 10  # SIGTERM ends sleep at once: no 30 s SIGKILL wait
    assert task["stopCode"] == "UserInitiated"
    assert task["stoppedReason"] == "verify finished"
    assert task["containers"][0]["exitCode"] == 143
    assert _log_lines(cloud, arn) == ["up"]


def test_deregister_task_definition(cloud: SandboxCloud, setup: dict[str, Any]) -> None:
    definition = _register(cloud, "true", task_role=None, execution_role=setup["execution"])
    gone = cloud.client("ecs").deregister_task_definition(taskDefinition=definition)["taskDefinition"]
    assert gone["status"] == "INACTIVE"
