"""Run the probe as a one-off Fargate task with the workload's task role: register, run, wait, read logs, clean up.

The ``ecs``, ``logs`` and ``iam`` clients are passed in (tests use botocore's Stubber or the sandbox). The task
runs on the workload's cluster, subnets and security groups, so the login goes out the way its own tasks go; its
output reaches CloudWatch Logs through the awslogs driver, read back from the task's stream. The task is stopped
(if still running) and the task definition deregistered in every case (``finally``).
API: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html, API_DescribeTasks.html;
awslogs stream names: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html
(``prefix/container-name/task-id``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import ClientError

from atlas_iam_tf.verify.clients import error_code, error_message
from atlas_iam_tf.verify.workload import WorkloadTarget
from atlas_iam_tf.verify.workload_run import (
    CREATE_FAILED,
    FAILED,
    NOT_RUN,
    PULL_FAILED,
    START_FAILED,
    SUCCESS,
    TIMED_OUT,
    Say,
    WorkloadRun,
    tail,
)

CONTAINER = "probe"
STREAM_PREFIX = "atlasiam"
#: Beyond the probe's own time: Fargate provisioning, the image pull and pip (a cold task takes a minute or so).
START_ALLOWANCE_S = 180.0
#: awslogs delivers a stopped task's last lines within seconds, not at once.
LOG_GRACE_S = 10.0
#: The managed policy and the default name of the ECS task EXECUTION role
#: (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html).
EXECUTION_POLICY = "AmazonECSTaskExecutionRolePolicy"
EXECUTION_ROLE_NAME = "ecsTaskExecutionRole"


def family(workload: str) -> str:
    """The task definition family: ``atlasiam-verify-<workload>``."""
    return f"atlasiam-verify-{workload}"


def execution_role_evidence(iam: Any, target: WorkloadTarget) -> tuple[str | None, str | None]:
    """Why the workload's role looks like a task EXECUTION role (None: it does not), and why that was not checked.

    Cheap evidence only: the same ARN as the stack's execution role, the console's default name, or the managed
    execution policy attached (IAM ListAttachedRolePolicies; refused: not known).
    """
    name = target.role_arn.rsplit("/", 1)[-1]
    if target.execution_role_arn and target.role_arn == target.execution_role_arn:
        return "it is the task execution role the task definition names (executionRoleArn)", None
    if name == EXECUTION_ROLE_NAME:
        return f"its name is {EXECUTION_ROLE_NAME}, the name AWS gives the task execution role", None
    try:
        attached = iam.list_attached_role_policies(RoleName=name).get("AttachedPolicies", [])
    except ClientError as err:
        return None, f"iam:ListAttachedRolePolicies: {error_message(err)}"
    if any(p.get("PolicyName") == EXECUTION_POLICY for p in attached):
        return f"it has {EXECUTION_POLICY} attached, the task execution role's policy", None
    return None, None


class EcsRunner:
    """One probe run as a Fargate task. Time is injected (``clock``/``sleep``) so tests run at once."""

    def __init__(
        self,
        ecs: Any,
        logs: Any,
        iam: Any,
        say: Say,
        *,
        region: str,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.ecs = ecs
        self.logs = logs
        self.iam = iam
        self.say = say
        self.region = region
        self.clock = clock
        self.sleep = sleep

    def run(self, target: WorkloadTarget, command: Sequence[str], image: str, timeout_s: float) -> WorkloadRun:
        """Register the task definition, run one task, wait for it to stop, read its log, clean up."""
        evidence: dict[str, Any] = {"cluster": target.cluster, "image": image}
        execution, unchecked = execution_role_evidence(self.iam, target)
        if execution:
            evidence["execution_role"] = execution
        if unchecked:
            evidence["execution_role_unchecked"] = unchecked
        missing = [k for k in ("cluster", "execution_role_arn", "log_group") if not getattr(target, k)]
        if not target.subnet_ids:
            missing.append("subnet_ids")
        if missing:
            return WorkloadRun(NOT_RUN, reason=f"the ECS workload has no {', '.join(missing)}", evidence=evidence)
        definition: str | None = None
        task: str | None = None
        stopped = False
        try:
            try:
                definition = self._register(target, command, image)
            except ClientError as err:
                evidence |= {"create_error_code": error_code(err), "create_error": error_message(err)}
                return WorkloadRun(
                    CREATE_FAILED, reason=f"RegisterTaskDefinition: {error_message(err)}", evidence=evidence
                )
            self.say(f"running a Fargate task ({image}) on {target.cluster} with task role {target.role_arn}")
            task, failure = self._run_task(target, definition)
            if task is None:
                evidence["run_failures"] = failure
                return WorkloadRun(START_FAILED, reason=f"RunTask: {failure}", evidence=evidence)
            evidence["task_arn"] = task
            described = self._wait_stopped(target, task, self.clock() + timeout_s + START_ALLOWANCE_S)
            stopped = described.get("lastStatus") == "STOPPED"
            return self._outcome(target, task, described, stopped, evidence)
        except ClientError as err:
            return WorkloadRun(FAILED, reason=f"ECS: {error_message(err)}", evidence=evidence)
        finally:
            self._clean_up(target, definition, task, stopped)

    def _register(self, target: WorkloadTarget, command: Sequence[str], image: str) -> str:
        resp = self.ecs.register_task_definition(
            family=family(target.name),
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="256",
            memory="512",
            taskRoleArn=target.role_arn,
            executionRoleArn=target.execution_role_arn,
            containerDefinitions=[
                {
                    "name": CONTAINER,
                    "image": image,
                    "essential": True,
                    "command": list(command),
                    "logConfiguration": {
                        "logDriver": "awslogs",
                        "options": {
                            "awslogs-group": target.log_group,
                            "awslogs-region": self.region,
                            "awslogs-stream-prefix": STREAM_PREFIX,
                        },
                    },
                }
            ],
        )
        return str(resp["taskDefinition"]["taskDefinitionArn"])

    def _run_task(self, target: WorkloadTarget, definition: str) -> tuple[str | None, str]:
        resp = self.ecs.run_task(
            cluster=target.cluster,
            taskDefinition=definition,
            launchType="FARGATE",
            count=1,
            startedBy="atlasiam-verify",
            networkConfiguration={
                "awsvpcConfiguration": {
                    "subnets": list(target.subnet_ids),
                    "securityGroups": list(target.security_group_ids),
                    "assignPublicIp": "ENABLED" if target.assign_public_ip else "DISABLED",
                }
            },
        )
        tasks = resp.get("tasks") or []
        if tasks:
            return str(tasks[0]["taskArn"]), ""
        failures = resp.get("failures") or [{"reason": "no task started", "detail": ""}]
        return None, "; ".join(f"{f.get('reason', '?')} {f.get('detail') or ''}".strip() for f in failures)

    def _wait_stopped(self, target: WorkloadTarget, task: str, deadline: float) -> dict[str, Any]:
        """Poll DescribeTasks until the task is STOPPED or the deadline passes; the last description."""
        last = ""
        delay = 0.5
        while True:
            tasks = self.ecs.describe_tasks(cluster=target.cluster, tasks=[task]).get("tasks") or [{}]
            described: dict[str, Any] = tasks[0]
            status = str(described.get("lastStatus", ""))
            if status == "STOPPED" or self.clock() >= deadline:
                return described
            if status != last:
                self.say(f"task {task.rsplit('/', 1)[-1]} is {status or 'starting'}")
                last = status
            self.sleep(min(delay, max(0.0, deadline - self.clock())))
            delay = min(5.0, delay * 1.5)

    def _outcome(
        self, target: WorkloadTarget, task: str, described: dict[str, Any], stopped: bool, evidence: dict[str, Any]
    ) -> WorkloadRun:
        container: dict[str, Any] = next(
            (c for c in described.get("containers") or [] if c.get("name") == CONTAINER), {}
        )
        evidence |= {
            "last_status": described.get("lastStatus"),
            "stopped_reason": described.get("stoppedReason"),
            "stop_code": described.get("stopCode"),
            "exit_code": container.get("exitCode"),
            "container_reason": container.get("reason"),
        }
        # Wait for late log lines only from a container that ran (exit code set): else there are none to come.
        lines = self._log_lines(target, task, wait=stopped and container.get("exitCode") is not None)
        text = "\n".join(lines)
        said = f"{described.get('stoppedReason') or ''} {container.get('reason') or ''}"
        if "CannotPullContainer" in said:
            evidence["pull_error"] = said.strip()
            return WorkloadRun(PULL_FAILED, stdout=text, log_tail=tail(text), reason=said.strip(), evidence=evidence)
        if not stopped:
            return WorkloadRun(
                TIMED_OUT,
                stdout=text,
                log_tail=tail(text),
                reason="the task was still running at the deadline",
                evidence=evidence,
            )
        if container.get("exitCode") is None:
            reason = said.strip() or "the task stopped before its container ran"
            return WorkloadRun(START_FAILED, stdout=text, log_tail=tail(text), reason=reason, evidence=evidence)
        status = SUCCESS if container.get("exitCode") == 0 else FAILED
        return WorkloadRun(status, stdout=text, log_tail=tail(text), evidence=evidence)

    def _log_lines(self, target: WorkloadTarget, task: str, *, wait: bool) -> list[str]:
        """The container's lines from its awslogs stream, waiting briefly for a result line to arrive."""
        stream = f"{STREAM_PREFIX}/{CONTAINER}/{task.rsplit('/', 1)[-1]}"
        deadline = self.clock() + (LOG_GRACE_S if wait else 0.0)
        while True:
            lines = self._read_stream(str(target.log_group), stream)
            if any(line.lstrip().startswith('{"probe"') for line in lines) or self.clock() >= deadline:
                return lines
            self.sleep(1.0)

    def _read_stream(self, group: str, stream: str) -> list[str]:
        lines: list[str] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
            if token:
                kwargs["nextToken"] = token
            try:
                page = self.logs.get_log_events(**kwargs)
            except ClientError as err:
                if error_code(err) == "ResourceNotFoundException":
                    return lines  # the container never wrote a line (or never started)
                raise
            lines += [str(e.get("message", "")) for e in page.get("events", [])]
            nxt = page.get("nextForwardToken")
            if not page.get("events") or not nxt or nxt == token:
                return lines
            token = nxt

    def _clean_up(self, target: WorkloadTarget, definition: str | None, task: str | None, stopped: bool) -> None:
        calls: list[tuple[str, Callable[[], Any]]] = []
        if task and not stopped:
            calls.append(
                (
                    "StopTask",
                    lambda: self.ecs.stop_task(cluster=target.cluster, task=task, reason="atlasiam verify: deadline"),
                )
            )
        if definition:
            calls.append(
                ("DeregisterTaskDefinition", lambda: self.ecs.deregister_task_definition(taskDefinition=definition))
            )
        for what, call in calls:
            try:
                call()
            except ClientError as err:  # noqa: PERF203 - each clean-up step is tried
                self.say(f"could not clean up ({what}): {error_message(err)}")
