"""The workload runners against the services' real API shapes: botocore's Stubber for Lambda and ECS (each call's
parameters checked against the service model), small fakes for the Kubernetes API; cleanup always happens."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import botocore.session
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from atlas_iam_tf.verify.command import ProbeInput, encode_input
from atlas_iam_tf.verify.ecs_run import EcsRunner
from atlas_iam_tf.verify.eks_run import EksRunner, job_name, pick_context
from atlas_iam_tf.verify.lambda_run import LambdaRunner, function_name
from atlas_iam_tf.verify.workload import WorkloadTarget
from atlas_iam_tf.verify.workload_run import CREATE_FAILED, FAILED, PULL_FAILED, SUCCESS, TIMED_OUT

ROLE = "arn:aws:iam::123456789012:role/orders-api"
RESULT = '{"probe":1,"ok":true,"host":"h","steps":[],"ms":1.0}'
INP = ProbeInput(uri="mongodb+srv://c.example.mongodb.net/")


def client(service: str) -> Any:
    session = botocore.session.get_session()
    return session.create_client(service, region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")


class Clock:
    """Time that passes only when slept."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.01)


@pytest.fixture
def lam() -> Iterator[tuple[Any, Stubber]]:
    c = client("lambda")
    with Stubber(c) as stub:
        yield c, stub
        stub.assert_no_pending_responses()


def _function_config(name: str, state: str = "Active") -> dict[str, Any]:
    return {"FunctionName": name, "State": state}


def test_lambda_creates_invokes_and_deletes(lam: tuple[Any, Stubber], monkeypatch: pytest.MonkeyPatch) -> None:
    c, stub = lam
    monkeypatch.setattr("atlas_iam_tf.verify.lambda_run.secrets.token_hex", lambda _n: "0a1b2c")
    name = "atlasiam-verify-api-0a1b2c"
    target = WorkloadTarget("api", "lambda", ROLE, subnet_ids=("subnet-1",), security_group_ids=("sg-1",))
    stub.add_response(
        "create_function",
        {**_function_config(name, "Pending"), "VpcConfig": {"VpcId": "vpc-1"}},
        {
            "FunctionName": name,
            "Runtime": "python3.12",
            "Handler": "atlasiam_probe.lambda_handler",
            "Role": ROLE,
            "Code": {"ZipFile": b"zip"},
            "Timeout": 120,
            "MemorySize": 512,
            "Architectures": ["x86_64"],
            "Description": ANY,
            "VpcConfig": {"SubnetIds": ["subnet-1"], "SecurityGroupIds": ["sg-1"]},
        },
    )
    stub.add_response("get_function", {"Configuration": _function_config(name, "Pending")}, {"FunctionName": name})
    stub.add_response("get_function", {"Configuration": _function_config(name)}, {"FunctionName": name})
    payload = json.dumps({"input": encode_input(INP)}).encode()
    stub.add_response(
        "invoke",
        {
            "StatusCode": 200,
            "Payload": StreamingBody(io.BytesIO(RESULT.encode()), len(RESULT)),
            "LogResult": base64.b64encode(b"START RequestId\nEND").decode(),
        },
        {"FunctionName": name, "InvocationType": "RequestResponse", "LogType": "Tail", "Payload": payload},
    )
    stub.add_response("delete_function", {}, {"FunctionName": name})
    clock = Clock()
    said: list[str] = []
    run = LambdaRunner(c, said.append, clock=clock, sleep=clock.sleep).run(target, INP, b"zip", 119.2)
    assert (run.status, run.stdout) == (SUCCESS, RESULT)
    assert run.evidence["vpc_id"] == "vpc-1" and run.evidence["in_vpc"] is True
    assert "START RequestId" in run.log_tail
    assert any("waiting for" in s for s in said)


def test_lambda_role_refused_is_retried_then_reported(lam: tuple[Any, Stubber]) -> None:
    c, stub = lam
    message = "The role defined for the function cannot be assumed by Lambda."
    for _ in range(3):
        stub.add_client_error("create_function", "InvalidParameterValueException", message, 400)
    clock = Clock()
    runner = LambdaRunner(c, lambda _m: None, clock=clock, sleep=clock.sleep, role_retry_s=5.0)
    run = runner.run(WorkloadTarget("api", "lambda", ROLE), INP, b"zip", 60)
    assert run.status == CREATE_FAILED
    assert run.evidence["create_error_code"] == "InvalidParameterValueException"
    assert run.evidence["create_error"] == message
    assert clock.now < 10  # bounded: 1 + 2 s of retries, then given up


def test_lambda_function_error_is_evidence_and_the_function_is_still_deleted(lam: tuple[Any, Stubber]) -> None:
    c, stub = lam
    stub.add_response("create_function", _function_config("f"), None)
    stub.add_response("get_function", {"Configuration": _function_config("f")}, None)
    body = b'{"errorMessage": "2024-01-01 Task timed out after 60.05 seconds"}'
    stub.add_response(
        "invoke",
        {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": StreamingBody(io.BytesIO(body), len(body))},
    )
    stub.add_response("delete_function", {}, None)
    run = LambdaRunner(c, lambda _m: None).run(WorkloadTarget("api", "lambda", ROLE), INP, b"zip", 60)
    assert run.status == TIMED_OUT
    assert run.evidence["function_error"] == "Unhandled"


def test_function_names_fit_lambdas_limit() -> None:
    assert function_name("api", "0a1b2c") == "atlasiam-verify-api-0a1b2c"
    assert len(function_name("x" * 80)) <= 64


ECS_TARGET = WorkloadTarget(
    "worker",
    "ecs",
    ROLE,
    subnet_ids=("subnet-1",),
    security_group_ids=("sg-1",),
    cluster="apps",
    execution_role_arn="arn:aws:iam::123456789012:role/exec",
    log_group="/atlasiam/verify",
)
TASK = "arn:aws:ecs:eu-west-1:123456789012:task/apps/0123456789abcdef"
TASKDEF = "arn:aws:ecs:eu-west-1:123456789012:task-definition/atlasiam-verify-worker:1"


def _ecs_stubs(ecs: Stubber, iam: Stubber, stopped: dict[str, Any], policies: list[str] | None = None) -> None:
    iam.add_response(
        "list_attached_role_policies",
        {"AttachedPolicies": [{"PolicyName": p, "PolicyArn": f"arn:aws:iam::aws:policy/{p}"} for p in policies or []]},
        {"RoleName": "orders-api"},
    )
    ecs.add_response(
        "register_task_definition",
        {"taskDefinition": {"taskDefinitionArn": TASKDEF}},
        {
            "family": "atlasiam-verify-worker",
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "256",
            "memory": "512",
            "taskRoleArn": ROLE,
            "executionRoleArn": ECS_TARGET.execution_role_arn,
            "containerDefinitions": [
                {
                    "name": "probe",
                    "image": "img",
                    "essential": True,
                    "command": ["/bin/sh", "-c", "x"],
                    "logConfiguration": {
                        "logDriver": "awslogs",
                        "options": {
                            "awslogs-group": "/atlasiam/verify",
                            "awslogs-region": "eu-west-1",
                            "awslogs-stream-prefix": "atlasiam",
                        },
                    },
                }
            ],
        },
    )
    ecs.add_response(
        "run_task",
        {"tasks": [{"taskArn": TASK, "lastStatus": "PROVISIONING"}], "failures": []},
        {
            "cluster": "apps",
            "taskDefinition": TASKDEF,
            "launchType": "FARGATE",
            "count": 1,
            "startedBy": "atlasiam-verify",
            "networkConfiguration": {
                "awsvpcConfiguration": {
                    "subnets": ["subnet-1"],
                    "securityGroups": ["sg-1"],
                    "assignPublicIp": "DISABLED",
                }
            },
        },
    )
    ecs.add_response(
        "describe_tasks", {"tasks": [{"taskArn": TASK, "lastStatus": "RUNNING"}]}, {"cluster": "apps", "tasks": [TASK]}
    )
    ecs.add_response("describe_tasks", {"tasks": [{"taskArn": TASK, **stopped}]}, {"cluster": "apps", "tasks": [TASK]})


@pytest.fixture
def aws() -> Iterator[tuple[Any, Any, Any, Stubber, Stubber, Stubber]]:
    ecs, logs, iam = client("ecs"), client("logs"), client("iam")
    with Stubber(ecs) as e, Stubber(logs) as lg, Stubber(iam) as i:
        yield ecs, logs, iam, e, lg, i
        for stub in (e, lg, i):
            stub.assert_no_pending_responses()


def test_ecs_runs_a_task_reads_its_log_and_deregisters(aws: Any) -> None:
    ecs, logs, iam, e, lg, i = aws
    stopped = {
        "lastStatus": "STOPPED",
        "stopCode": "EssentialContainerExited",
        "containers": [{"name": "probe", "exitCode": 0}],
    }
    _ecs_stubs(e, i, stopped)
    lg.add_response(
        "get_log_events",
        {"events": [{"message": "pip noise"}, {"message": RESULT}], "nextForwardToken": "f/1"},
        {"logGroupName": "/atlasiam/verify", "logStreamName": "atlasiam/probe/0123456789abcdef", "startFromHead": True},
    )
    lg.add_response(
        "get_log_events",
        {"events": [], "nextForwardToken": "f/1"},
        {
            "logGroupName": "/atlasiam/verify",
            "logStreamName": "atlasiam/probe/0123456789abcdef",
            "startFromHead": True,
            "nextToken": "f/1",
        },
    )
    e.add_response("deregister_task_definition", {}, {"taskDefinition": TASKDEF})
    clock = Clock()
    runner = EcsRunner(ecs, logs, iam, lambda _m: None, region="eu-west-1", clock=clock, sleep=clock.sleep)
    run = runner.run(ECS_TARGET, ["/bin/sh", "-c", "x"], "img", 60)
    assert run.status == SUCCESS
    assert run.stdout.splitlines() == ["pip noise", RESULT]
    assert run.evidence["exit_code"] == 0 and "execution_role" not in run.evidence


def test_ecs_pull_failure_and_execution_role_are_evidence(aws: Any) -> None:
    ecs, logs, iam, e, lg, i = aws
    reason = "CannotPullContainerError: pull image manifest has been retried 5 time(s): dial tcp: i/o timeout"
    stopped = {
        "lastStatus": "STOPPED",
        "stopCode": "TaskFailedToStart",
        "stoppedReason": reason,
        "containers": [{"name": "probe"}],
    }
    _ecs_stubs(e, i, stopped, policies=["AmazonECSTaskExecutionRolePolicy"])
    lg.add_client_error("get_log_events", "ResourceNotFoundException", "The specified log stream does not exist.", 400)
    e.add_response("deregister_task_definition", {}, {"taskDefinition": TASKDEF})
    clock = Clock()
    runner = EcsRunner(ecs, logs, iam, lambda _m: None, region="eu-west-1", clock=clock, sleep=clock.sleep)
    run = runner.run(ECS_TARGET, ["/bin/sh", "-c", "x"], "img", 60)
    assert run.status == PULL_FAILED
    assert run.evidence["pull_error"] == reason
    assert "AmazonECSTaskExecutionRolePolicy" in run.evidence["execution_role"]


def test_ecs_still_running_at_the_deadline_is_stopped(aws: Any) -> None:
    ecs, logs, iam, e, lg, i = aws
    _ecs_stubs(e, i, {"lastStatus": "RUNNING", "containers": [{"name": "probe"}]})
    lg.add_response("get_log_events", {"events": [], "nextForwardToken": "f/0"}, None)
    e.add_response("stop_task", {}, {"cluster": "apps", "task": TASK, "reason": ANY})
    e.add_response("deregister_task_definition", {}, {"taskDefinition": TASKDEF})

    clock = Clock()

    def slow_sleep(_seconds: float) -> None:
        clock.now += 1000  # the deadline passes at the first wait

    runner = EcsRunner(ecs, logs, iam, lambda _m: None, region="eu-west-1", clock=clock, sleep=slow_sleep)
    run = runner.run(ECS_TARGET, ["/bin/sh", "-c", "x"], "img", 60)
    assert run.status == TIMED_OUT


# -- EKS: fakes of BatchV1Api / CoreV1Api, shaped like the kubernetes client's models ------------------------------
def _pod(phase: str, waiting: tuple[str, str] | None = None, exit_code: int | None = None) -> Any:
    state = SimpleNamespace(
        waiting=SimpleNamespace(reason=waiting[0], message=waiting[1]) if waiting else None,
        terminated=SimpleNamespace(exit_code=exit_code, reason="Completed") if exit_code is not None else None,
    )
    status = SimpleNamespace(phase=phase, container_statuses=[SimpleNamespace(name="probe", state=state)])
    return SimpleNamespace(metadata=SimpleNamespace(name="atlasiam-verify-web-abcde-x1y2z"), status=status)


class FakeKube:
    def __init__(self, pods: list[Any], annotations: dict[str, str] | None = None) -> None:
        self.pods = pods
        self.annotations = annotations
        self.calls: list[tuple[str, Any]] = []

    def read_namespaced_service_account(self, name: str, namespace: str, **_: Any) -> Any:
        from kubernetes.client.exceptions import ApiException

        self.calls.append(("read_sa", (namespace, name)))
        if self.annotations is None:
            raise ApiException(status=404, reason="Not Found")
        return SimpleNamespace(metadata=SimpleNamespace(annotations=self.annotations))

    def create_namespaced_job(self, namespace: str, body: Any, **_: Any) -> None:
        self.calls.append(("create", (namespace, body)))

    def list_namespaced_pod(self, namespace: str, label_selector: str, **_: Any) -> Any:
        self.calls.append(("list", (namespace, label_selector)))
        return SimpleNamespace(items=[self.pods.pop(0)] if len(self.pods) > 1 else list(self.pods))

    def read_namespaced_pod_log(self, name: str, namespace: str, container: str, **_: Any) -> str:
        self.calls.append(("log", (name, namespace, container)))
        return f"pip noise\n{RESULT}\n"

    def delete_namespaced_job(self, name: str, namespace: str, propagation_policy: str, **_: Any) -> None:
        self.calls.append(("delete", (name, namespace, propagation_policy)))


EKS_TARGET = WorkloadTarget(
    "web", "eks", ROLE, cluster="prod", namespace="shop", service_account="web", identity="irsa"
)


def _eks(kube: FakeKube) -> EksRunner:
    clock = Clock()
    return EksRunner(kube, kube, lambda _m: None, clock=clock, sleep=clock.sleep)


def test_eks_runs_a_job_reads_the_pod_log_and_deletes_the_job() -> None:
    kube = FakeKube(
        [_pod("Pending"), _pod("Running"), _pod("Succeeded", exit_code=0)], {"eks.amazonaws.com/role-arn": ROLE}
    )
    run = _eks(kube).run(EKS_TARGET, ["/bin/sh", "-c", "x"], "img", 100.5)
    assert run.status == SUCCESS and run.stdout.splitlines()[-1] == RESULT
    assert run.evidence["irsa_role_annotation"] == ROLE
    assert kube.calls[0] == ("read_sa", ("shop", "web"))
    (namespace, job), name = kube.calls[1][1], run.evidence["job"]
    assert namespace == "shop" and job["metadata"]["name"] == name
    assert job["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "atlasiam"}
    assert job["spec"]["backoffLimit"] == 0 and job["spec"]["activeDeadlineSeconds"] == 101
    pod_spec = job["spec"]["template"]["spec"]
    assert (pod_spec["restartPolicy"], pod_spec["serviceAccountName"]) == ("Never", "web")
    assert pod_spec["containers"] == [{"name": "probe", "image": "img", "command": ["/bin/sh", "-c", "x"]}]
    assert ("list", ("shop", f"job-name={name}")) in kube.calls
    assert ("log", ("atlasiam-verify-web-abcde-x1y2z", "shop", "probe")) in kube.calls
    assert kube.calls[-1] == ("delete", (name, "shop", "Background"))


def test_eks_image_pull_failure_ends_the_wait_and_the_job_is_deleted() -> None:
    kube = FakeKube([_pod("Pending", ("ErrImagePull", "dial tcp: i/o timeout"))], {})
    run = _eks(kube).run(EKS_TARGET, ["x"], "img", 60)
    assert run.status == PULL_FAILED
    assert run.evidence["pull_error"] == "ErrImagePull: dial tcp: i/o timeout"
    assert kube.calls[-1][0] == "delete"


def test_eks_failed_pod_still_gives_its_log() -> None:
    kube = FakeKube([_pod("Failed", exit_code=1)], {})
    run = _eks(kube).run(EKS_TARGET, ["x"], "img", 60)
    assert (run.status, run.evidence["exit_code"], run.evidence["irsa_role_annotation"]) == (FAILED, 1, None)
    assert RESULT in run.stdout


def test_eks_missing_service_account_creates_no_job() -> None:
    kube = FakeKube([], None)
    run = _eks(kube).run(EKS_TARGET, ["x"], "img", 60)
    assert "service account shop/web not found" in (run.reason or "")
    assert kube.calls == [("read_sa", ("shop", "web"))]


def test_job_names_are_dns_labels() -> None:
    assert job_name("Web_API", "x1y2z") == "atlasiam-verify-web-api-x1y2z"
    assert len(job_name("a" * 80)) <= 63


def test_the_context_is_the_workloads_then_the_clusters_arn_then_the_current() -> None:
    arn = "arn:aws:eks:eu-west-1:123456789012:cluster/prod"
    assert pick_context([arn, "other"], EKS_TARGET, "eu-west-1") == arn
    assert pick_context(["other"], EKS_TARGET, "eu-west-1") is None
    other_account = "arn:aws:eks:eu-west-1:210987654321:cluster/prod"
    assert pick_context([other_account], EKS_TARGET, "eu-west-1") == other_account
    assert pick_context([arn], EKS_TARGET, "us-east-1") is None
    named = WorkloadTarget("web", "eks", ROLE, cluster="prod", kube_context="mine")
    assert pick_context([arn], named, "eu-west-1") == "mine"
