"""The sandbox's Lambda through real boto3: create (with Lambda's checks), Pending then Active, invoke, delete.

The handlers are stdlib only; one signs STS GetCallerIdentity itself (SigV4 in a few lines) to show which
identity the function's environment credentials are.
"""

from __future__ import annotations

import base64
import io
import json
import time
import uuid
import zipfile
from typing import Any

import pytest
from botocore.exceptions import ClientError

from atlasiam_sandbox.aws import SandboxCloud

LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
VPC_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"

#: A handler that reports its environment and who STS says it is (GetCallerIdentity signed with SigV4, stdlib only).
ENV_HANDLER = """
import datetime, hashlib, hmac, json, os, sys, urllib.request

def _sign(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()

def caller_identity():
    region = os.environ["AWS_REGION"]
    url = os.environ["AWS_ENDPOINT_URL_STS"].rstrip("/") + "/"
    host = url.split("/")[2]
    body = "Action=GetCallerIdentity&Version=2011-06-15"
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    token = os.environ["AWS_SESSION_TOKEN"]
    headers = {"content-type": "application/x-www-form-urlencoded", "host": host, "x-amz-date": amz_date,
               "x-amz-security-token": token}
    signed = ";".join(sorted(headers))
    canonical = "\\n".join(["POST", "/", "", "".join(f"{k}:{headers[k]}\\n" for k in sorted(headers)), signed,
                           hashlib.sha256(body.encode()).hexdigest()])
    scope = f"{day}/{region}/sts/aws4_request"
    to_sign = "\\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + os.environ["AWS_SECRET_ACCESS_KEY"]).encode()
    for part in (day, region, "sts", "aws4_request"):
        key = _sign(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={os.environ['AWS_ACCESS_KEY_ID']}/{scope}, "
                                f"SignedHeaders={signed}, Signature={signature}")
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    return text.split("<Arn>")[1].split("</Arn>")[0]

def handler(event, context):
    print("hello from", context.function_name)
    try:
        import boto3  # noqa: F401
        boto3_visible = True
    except ImportError:
        boto3_visible = False
    return {
        "event": event,
        "arn": caller_identity(),
        "boto3_visible": boto3_visible,
        "site_packages": [p for p in sys.path if "site-packages" in p],
        "cwd": os.getcwd(),
        "env": {k: v for k, v in os.environ.items() if k not in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")},
        "remaining_ms": context.get_remaining_time_in_millis(),
        "request_id": context.aws_request_id,
    }
"""
FAILING_HANDLER = """
def handler(event, context):
    raise ValueError("no such order: " + str(event["order"]))
"""
SLOW_HANDLER = """
import time
def handler(event, context):
    print("going to sleep")
    time.sleep(30)
"""


def package(source: str, module: str = "app") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{module}.py", source)
    return buffer.getvalue()


def make_role(cloud: SandboxCloud, trust: dict[str, Any] = LAMBDA_TRUST, *policy_arns: str) -> tuple[str, str]:
    iam = cloud.client("iam")
    name = f"fn-role-{uuid.uuid4().hex[:8]}"
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    for policy_arn in policy_arns:
        iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
    return name, arn


def create(cloud: SandboxCloud, role_arn: str, source: str, **extra: Any) -> dict[str, Any]:
    created: dict[str, Any] = cloud.client("lambda").create_function(
        FunctionName=f"fn-{uuid.uuid4().hex[:8]}",
        Runtime="python3.12",
        Handler="app.handler",
        Role=role_arn,
        Code={"ZipFile": package(source)},
        Timeout=extra.pop("Timeout", 10),
        MemorySize=512,
        **extra,
    )
    return created


def wait_active(cloud: SandboxCloud, name: str, timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        config: dict[str, Any] = cloud.client("lambda").get_function(FunctionName=name)["Configuration"]
        if config["State"] != "Pending" or time.monotonic() > deadline:
            return config
        time.sleep(0.05)


def invoke(cloud: SandboxCloud, name: str, event: Any) -> tuple[dict[str, Any], Any]:
    response: dict[str, Any] = cloud.client("lambda").invoke(
        FunctionName=name, InvocationType="RequestResponse", LogType="Tail", Payload=json.dumps(event)
    )
    return response, json.loads(response["Payload"].read())


def test_a_function_is_created_pending_then_runs_as_its_role_and_is_deleted(cloud: SandboxCloud) -> None:
    role_name, role_arn = make_role(cloud)
    created = create(cloud, role_arn, ENV_HANDLER)
    name = created["FunctionName"]
    assert (created["State"], created["StateReasonCode"]) == ("Pending", "Creating")
    with pytest.raises(ClientError) as pending:
        invoke(cloud, name, {})
    assert pending.value.response["Error"]["Code"] == "ResourceConflictException"
    assert "currently in the following state: Pending" in pending.value.response["Error"]["Message"]
    assert wait_active(cloud, name)["State"] == "Active"

    response, result = invoke(cloud, name, {"order": 7})

    assert "FunctionError" not in response
    assert result["event"] == {"order": 7}
    assert result["arn"] == f"arn:aws:sts::{cloud.account_id}:assumed-role/{role_name}/{name}"
    assert result["boto3_visible"] is False
    assert result["site_packages"] == []
    env = result["env"]
    assert env["LAMBDA_TASK_ROOT"] == result["cwd"] == env["PYTHONPATH"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == cloud.region
    assert env["_HANDLER"] == "app.handler"
    assert env["TZ"] == ":UTC"
    assert "VIRTUAL_ENV" not in env
    assert not any(key.startswith("PYTEST") for key in env)
    assert 0 < result["remaining_ms"] <= 10_000
    log = base64.b64decode(response["LogResult"]).decode()
    assert log.startswith(f"START RequestId: {result['request_id']} Version: $LATEST\n")
    assert f"hello from {name}\n" in log
    assert f"END RequestId: {result['request_id']}\nREPORT RequestId: {result['request_id']}\tDuration: " in log

    cloud.client("lambda").delete_function(FunctionName=name)
    with pytest.raises(ClientError) as gone:
        cloud.client("lambda").get_function(FunctionName=name)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_an_unhandled_exception_is_the_function_error(cloud: SandboxCloud) -> None:
    _, role_arn = make_role(cloud)
    name = create(cloud, role_arn, FAILING_HANDLER)["FunctionName"]
    wait_active(cloud, name)

    response, payload = invoke(cloud, name, {"order": 42})

    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "ValueError"
    assert payload["errorMessage"] == "no such order: 42"
    assert any("in handler" in frame for frame in payload["stackTrace"])
    assert "[ERROR] ValueError: no such order: 42" in base64.b64decode(response["LogResult"]).decode()


def test_a_function_that_runs_out_of_time_is_stopped(cloud: SandboxCloud) -> None:
    _, role_arn = make_role(cloud)
    name = create(cloud, role_arn, SLOW_HANDLER, Timeout=1)["FunctionName"]
    wait_active(cloud, name)

    started = time.monotonic()
    response, payload = invoke(cloud, name, {})

    assert time.monotonic() - started < 5
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Sandbox.Timedout"
    assert payload["errorMessage"].endswith("Error: Task timed out after 1.00 seconds")
    log = base64.b64decode(response["LogResult"]).decode()
    assert "going to sleep" in log
    assert "Task timed out after 1.00 seconds" in log


@pytest.mark.parametrize(
    ("principal", "condition", "accepted"),
    [
        ({"Service": "ec2.amazonaws.com"}, None, False),
        ({"Service": "lambda.amazonaws.com"}, {"StringEquals": {"aws:SourceAccount": "999999999999"}}, False),
        ({"Service": "lambda.amazonaws.com"}, {"StringEquals": {"aws:SourceAccount": "123456789012"}}, True),
    ],
)
def test_a_role_lambda_cannot_assume_is_refused(
    cloud: SandboxCloud, principal: dict[str, str], condition: dict[str, Any] | None, accepted: bool
) -> None:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    _, role_arn = make_role(cloud, {"Version": "2012-10-17", "Statement": [statement]})
    if accepted:
        assert create(cloud, role_arn, FAILING_HANDLER)["State"] == "Pending"
        return
    with pytest.raises(ClientError) as refused:
        create(cloud, role_arn, FAILING_HANDLER)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert (
        refused.value.response["Error"]["Message"] == "The role defined for the function cannot be assumed by Lambda."
    )


def _network(cloud: SandboxCloud) -> tuple[str, str, str]:
    ec2 = cloud.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.7.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(VpcId=vpc, GroupName=f"fn-{uuid.uuid4().hex[:6]}", Description="fn")["GroupId"]
    return vpc, subnet, group


def test_a_vpc_function_needs_a_role_that_may_manage_its_network_interfaces(cloud: SandboxCloud) -> None:
    vpc, subnet, group = _network(cloud)
    config = {"SubnetIds": [subnet], "SecurityGroupIds": [group]}
    role_name, bare_role = make_role(cloud)
    with pytest.raises(ClientError) as refused:
        create(cloud, bare_role, FAILING_HANDLER, VpcConfig=config)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert refused.value.response["Error"]["Message"] == (
        "The provided execution role does not have permissions to call CreateNetworkInterface on EC2"
    )

    only_create = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ec2:CreateNetworkInterface", "Resource": "*"}
    ]}  # fmt: skip
    cloud.client("iam").put_role_policy(RoleName=role_name, PolicyName="eni", PolicyDocument=json.dumps(only_create))
    with pytest.raises(ClientError) as still:
        create(cloud, bare_role, FAILING_HANDLER, VpcConfig=config)
    assert "to call DescribeNetworkInterfaces on EC2" in still.value.response["Error"]["Message"]

    _, vpc_role = make_role(cloud, LAMBDA_TRUST, VPC_POLICY_ARN)
    with pytest.raises(ClientError) as no_subnet:
        create(cloud, vpc_role, FAILING_HANDLER, VpcConfig={**config, "SubnetIds": ["subnet-0123456789abcdef0"]})
    assert "InvalidSubnetID.NotFound" in no_subnet.value.response["Error"]["Message"]

    created = create(cloud, vpc_role, FAILING_HANDLER, VpcConfig=config)
    assert created["VpcConfig"]["VpcId"] == vpc
    assert wait_active(cloud, created["FunctionName"])["State"] == "Active"


def test_a_reserved_environment_variable_is_refused(cloud: SandboxCloud) -> None:
    _, role_arn = make_role(cloud)
    with pytest.raises(ClientError) as refused:
        create(cloud, role_arn, FAILING_HANDLER, Environment={"Variables": {"AWS_REGION": "eu-west-1", "MODE": "x"}})
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert refused.value.response["Error"]["Message"].endswith("Reserved keys used in this request: AWS_REGION")


def test_the_functions_own_variables_reach_the_handler(cloud: SandboxCloud) -> None:
    _, role_arn = make_role(cloud)
    name = create(cloud, role_arn, ENV_HANDLER, Environment={"Variables": {"MODE": "probe"}})["FunctionName"]
    wait_active(cloud, name)
    _, result = invoke(cloud, name, {})
    assert result["env"]["MODE"] == "probe"
