"""ECS on Fargate for the sandbox: RunTask's tasks run as local containers (:mod:`containers`), as Fargate runs them.

moto's ECS stores clusters, task definitions and tasks but runs nothing (a Fargate task is reported STOPPED at once).
``moto_patches`` hands RunTask and StopTask to :class:`EcsTasks`, which keeps moto's records and adds what Fargate
does (Amazon ECS Developer Guide, "Amazon ECS task lifecycle",
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html):

- RunTask refuses, as ECS does: a task definition not compatible with FARGATE; awsvpc without subnets, or with a
  subnet or security group that does not exist (InvalidParameterException, the EC2 error code quoted); a task or
  execution role ECS cannot assume, because it does not exist or its trust policy does not admit
  ``ecs-tasks.amazonaws.com`` with the keys ECS sends, ``aws:SourceAccount`` (the account) and ``aws:SourceArn``
  (the task's ARN; the ECS guide's confused-deputy example matches ``arn:aws:ecs:REGION:ACCOUNT:*``,
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html) (ClientException "ECS was unable to
  assume the role ..."; the service reports the same sentence when a service fails to launch a task).
- The task then goes PROVISIONING -> PENDING -> RUNNING -> DEPROVISIONING -> STOPPED (desiredStatus RUNNING, then
  STOPPED). Provisioning attaches the ENI in the first subnet; pending pulls the image, which needs the internet
  (ECR Public): a default route to a NAT gateway, or to an internet gateway *and* ``assignPublicIp`` ENABLED ("Amazon
  ECS task networking options for Fargate", https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-networking.html).
  A failed pull stops the task with stopCode ``TaskFailedToStart`` and ``CannotPullContainerError: ...``
  ("CannotPullContainer task errors", https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_cannot_pull_image.html).
  Then the awslogs driver creates the log stream ``PREFIX/CONTAINER/TASK_ID`` in its group
  ("Send Amazon ECS logs to CloudWatch", https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html);
  a group that does not exist stops the task with ``ResourceInitializationError: failed to validate logger args:
  ... The specified log group does not exist.`` Every line the container writes becomes an event of that stream.
- The essential container's exit stops the task: stopCode ``EssentialContainerExited``, stoppedReason "Essential
  container in task exited", the container's exitCode. StopTask sends SIGTERM, then SIGKILL after the container's
  stopTimeout (30 s by default on Fargate): stopCode ``UserInitiated``.
- The container's environment: its definition's (and RunTask's override's) ``environment``, AWS_REGION,
  AWS_DEFAULT_REGION, AWS_EXECUTION_ENV=AWS_ECS_FARGATE, ECS_CONTAINER_METADATA_URI(_V4) (task metadata endpoint v4,
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-metadata-endpoint-v4-fargate.html) and, only
  with a task role, the role's credentials through the container credentials endpoint (session name: the task id).

Fidelity differences (for the README table): ECS sets ``AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`` for the fixed
169.254.170.2, which the sandbox cannot bind; it sets ``AWS_CONTAINER_CREDENTIALS_FULL_URI`` on 127.0.0.1 (botocore's
same ContainerProvider reads it). The metadata endpoint is minimal. ``AWS_ENDPOINT_URL_STS`` (the STS gate) and
``SSL_CERT_FILE`` are added as emulated hosts get them. Only one container per task runs (moto keeps one); the
execution role's permissions (logs:CreateLogStream/PutLogEvents) are not checked, only that ECS can assume it;
the states pass in tenths of a second where Fargate takes tens of seconds.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from atlasiam_sandbox.aws import moto_patches, trust_policy
from atlasiam_sandbox.aws._http import LocalServer, QuietHandler
from atlasiam_sandbox.aws.containers import ContainerProcess, PullFailed, pull_failure, start_container
from atlasiam_sandbox.aws.moto_server import MotoView, RoleCredentials

logger = logging.getLogger(__name__)

ECS_TASKS_SERVICE = "ecs-tasks.amazonaws.com"
#: RunTask's refusal of a role ECS cannot assume (quoted in ECS service events and RunTask errors alike).
UNABLE_TO_ASSUME = (
    "ECS was unable to assume the role '{role}' that was provided for this task. Please verify that the role being "
    "passed has the proper trust relationship and permissions and that your IAM user has permissions to pass this role."
)
#: The Fargate awslogs driver's failure when the group is missing (Fargate platform 1.4; AWS re:Post and the ECS
#: troubleshooting guide quote it, "ResourceInitializationError" in
#: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/resource-initialization-error.html).
LOG_GROUP_MISSING = (
    "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: failed to "
    "create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist. : exit status 1"
)
ESSENTIAL_EXITED = "Essential container in task exited"
USER_STOPPED = "Task stopped by user"
DEFAULT_STOP_TIMEOUT = 30.0
#: Credentials are handed out again this long before they expire (the agent refreshes them likewise).
REFRESH_MARGIN = timedelta(minutes=15)


@dataclass(frozen=True)
class EcsTiming:
    """How long each state lasts at least (observable by a poller of DescribeTasks)."""

    provisioning: float = 0.1
    pending: float = 0.1
    deprovisioning: float = 0.1


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _invalid(message: str) -> Exception:
    from moto.ecs.exceptions import InvalidParameterException

    return InvalidParameterException(message)


def _client_error(message: str) -> Exception:
    from moto.ecs.exceptions import EcsClientException

    return EcsClientException(message)


@dataclass
class _Run:
    """The sandbox side of one task."""

    task: Any
    task_definition: Any
    container_def: dict[str, Any]
    command: list[str]
    environment: dict[str, str]
    online: bool
    credentials_id: str | None
    task_role_arn: str | None
    container_id: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop_reason: str | None = None
    stop_requested: threading.Event = field(default_factory=threading.Event)
    process: ContainerProcess | None = None
    credentials: RoleCredentials | None = None
    thread: threading.Thread | None = None


class EcsTasks:
    """Runs the Fargate tasks of moto's ECS as local containers; serves their credentials and metadata endpoint.

    Args:
        view: moto's state (network, IAM, STS minting).
        state_dir: Where each task's container gets its root directory.
        sts_endpoint: The STS the containers reach (``AWS_ENDPOINT_URL_STS``).
        ssl_cert_file: The CA bundle containers trust (``SSL_CERT_FILE``), as hosts get it.
        timing: How long the states last.
    """

    def __init__(
        self,
        view: MotoView,
        state_dir: Path,
        *,
        sts_endpoint: str,
        ssl_cert_file: Path | None = None,
        timing: EcsTiming | None = None,
    ) -> None:
        self.view = view
        self.state_dir = state_dir
        self.sts_endpoint = sts_endpoint
        self.ssl_cert_file = ssl_cert_file
        self.timing = timing or EcsTiming()
        self._runs: dict[str, _Run] = {}  # task id -> run
        self._by_credentials: dict[str, _Run] = {}
        self._lock = threading.Lock()
        self._logs_lock = threading.Lock()
        self._closed = threading.Event()
        self._server = LocalServer(_AgentHandler, "ecs-agent")
        self._server.tasks = self  # type: ignore[attr-defined]
        self._server.start()
        moto_patches.ECS_RUNNERS.append(self)

    @property
    def url(self) -> str:
        """The container credentials and task metadata endpoint (``http://127.0.0.1:PORT``)."""
        return self._server.url

    # --- RunTask ---------------------------------------------------------------------------------------
    def run_task(self, backend: Any, original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """RunTask, checked as ECS checks it (then moto records the tasks); each Fargate task then runs here."""
        params = _run_task_params(args, kwargs)
        task_definition = backend.describe_task_definition(params["task_definition_str"])
        fargate = params["launch_type"] == "FARGATE"
        if fargate:
            self._check_fargate(task_definition, params["networking_configuration"])
        tasks = original(backend, *args, **kwargs)
        if not fargate:
            return tasks
        try:
            runs = [self._prepare(task, task_definition, params) for task in tasks]
        except Exception:
            for task in tasks:
                backend.tasks.get(task.cluster_name, {}).pop(task.task_arn, None)
            raise
        for run in runs:
            self._launch(run)
        return tasks

    def _check_fargate(self, task_definition: Any, network: dict[str, Any] | None) -> None:
        if "FARGATE" not in (task_definition.compatibilities or []) or "FARGATE" not in (
            task_definition.requires_compatibilities or []
        ):
            raise _invalid("Task definition does not support launch_type FARGATE.")
        vpc = (network or {}).get("awsvpcConfiguration") or {}
        if not network or not vpc:
            raise _invalid("Network Configuration must be provided when networkMode 'awsvpc' is specified.")
        subnets = list(vpc.get("subnets") or [])
        if not subnets:
            raise _invalid("subnets can not be empty.")
        for subnet in subnets:
            if self.view.subnet_vpc(subnet) is None:
                raise _invalid(
                    f"Error retrieving subnet information for [{subnet}]: The subnet ID '{subnet}' does not exist "
                    "(ErrorCode: InvalidSubnetID.NotFound)"
                )
        for group in vpc.get("securityGroups") or []:
            if not self.view.security_group_exists(group):
                raise _invalid(
                    f"Error retrieving security group information for [{group}]: The security group '{group}' does "
                    "not exist (ErrorCode: InvalidGroup.NotFound)"
                )

    def _prepare(self, task: Any, task_definition: Any, params: dict[str, Any]) -> _Run:
        """Check the roles (ECS assumes them for this task) and record the task as PROVISIONING."""
        task_id = str(task.id)
        task_role = getattr(task_definition, "task_role_arn", None)
        overrides = params["overrides"] or {}
        task_role = overrides.get("taskRoleArn") or task_role
        execution_role = overrides.get("executionRoleArn") or getattr(task_definition, "execution_role_arn", None)
        for role in (task_role, execution_role):
            if role:
                self._check_trust(role, task.task_arn)
        container_def = dict(task_definition.container_definitions[0])
        command = list(container_def.get("command") or [])
        environment = {str(e["name"]): str(e.get("value", "")) for e in container_def.get("environment") or []}
        for override in overrides.get("containerOverrides") or []:
            if override.get("name") == container_def.get("name"):
                command = list(override.get("command") or command)
                environment |= {str(e["name"]): str(e.get("value", "")) for e in override.get("environment") or []}
        vpc = params["networking_configuration"]["awsvpcConfiguration"]
        subnet = vpc["subnets"][0]
        route = self.view.default_route_target(subnet, self.view.subnet_vpc(subnet) or "")
        online = route == "nat" or (route == "igw" and vpc.get("assignPublicIp") == "ENABLED")
        run = _Run(
            task=task,
            task_definition=task_definition,
            container_def=container_def,
            command=command,
            environment=environment,
            online=online,
            credentials_id=secrets.token_hex(16) if task_role else None,
            task_role_arn=task_role,
            container_id=f"{task_id}-{secrets.randbelow(10**10):010d}",
        )
        now = _now()
        task._transitions = []  # the sandbox sets lastStatus itself (moto's ManagedState would jump to STOPPED)
        task.last_status = "PROVISIONING"
        task.desired_status = "RUNNING"
        task.created_at = now
        task.launch_type = "FARGATE"
        task.platform_version = task.platform_version or "1.4.0"
        task.platform_family = "Linux"
        task.cpu = task_definition.cpu
        task.memory = task_definition.memory
        task.availability_zone = f"{self.view.region}a"
        task.connectivity = "CONNECTED"
        task.connectivity_at = now
        container = task.containers[0]
        container.last_status = "PENDING"
        container.exitCode = None
        container.task_arn = task.task_arn
        container.container_arn = (
            f"arn:aws:ecs:{self.view.region}:{self.view.account_id}:container/{task.cluster_name}/{task_id}/"
            f"{secrets.token_hex(16)}"
        )
        return run

    def _check_trust(self, role_arn: str, task_arn: str) -> None:
        policy = self.view.role_trust_policy(role_arn)
        caller = trust_policy.service_caller(ECS_TASKS_SERVICE)
        context = {"aws:sourceaccount": self.view.account_id, "aws:sourcearn": task_arn}
        if policy is None or not trust_policy.allows(policy, caller, "sts:AssumeRole", context):
            raise _client_error(UNABLE_TO_ASSUME.format(role=role_arn))

    def _launch(self, run: _Run) -> None:
        task_id = str(run.task.id)
        with self._lock:
            if self._closed.is_set():
                return
            self._runs[task_id] = run
            if run.credentials_id:
                self._by_credentials[run.credentials_id] = run
            run.thread = threading.Thread(target=self._lifecycle_guarded, args=(run,), name=f"ecs-{task_id[:8]}")
            run.thread.start()

    # --- the task's life --------------------------------------------------------------------------------
    def _lifecycle_guarded(self, run: _Run) -> None:
        try:
            self._lifecycle(run)
        except Exception as exc:  # a broken emulation must show up as a stopped task, not a hang
            logger.exception("task %s crashed", run.task.id)
            self._stopped(run, "TaskFailedToStart", f"sandbox error: {exc!r}", container_reason=None)

    def _pause(self, run: _Run, seconds: float) -> bool:
        """Wait; True when the task is to stop (StopTask, or the cloud stopping)."""
        return run.stop_requested.wait(seconds) or self._closed.is_set()

    def _lifecycle(self, run: _Run) -> None:
        task = run.task
        if self._pause(run, self.timing.provisioning):
            self._stopped(run, "UserInitiated", run.stop_reason or USER_STOPPED)
            return
        task.last_status = "PENDING"
        task.pull_started_at = _now()
        failed = pull_failure(str(run.container_def.get("image", "")), run.online)
        if failed is not None:
            task.pull_stopped_at = _now()
            self._pause(run, self.timing.pending)
            self._stopped(run, "TaskFailedToStart", failed.stopped_reason, container_reason=failed.stopped_reason)
            return
        task.pull_stopped_at = _now()
        log = self._log_target(run)
        if log is not None and not self._create_stream(*log):
            self._pause(run, self.timing.pending)
            self._stopped(run, "TaskFailedToStart", LOG_GROUP_MISSING)
            return
        if self._pause(run, self.timing.pending):
            self._stopped(run, "UserInitiated", run.stop_reason or USER_STOPPED)
            return
        if run.credentials_id and run.task_role_arn:
            run.credentials = self.view.mint_role_credentials(run.task_role_arn, str(task.id))
        on_line = None if log is None else (lambda line: self._put_event(log, line))
        started = start_container(
            str(run.container_def.get("image", "")),
            run.command,
            self._container_env(run),
            self.state_dir / str(task.id),
            egress=lambda: run.online,
            on_line=on_line,
        )
        if isinstance(started, PullFailed):  # pragma: no cover - pull_failure above said it would pull
            self._stopped(run, "TaskFailedToStart", started.stopped_reason, container_reason=started.stopped_reason)
            return
        with run.lock:
            run.process = started
        container = task.containers[0]
        container.last_status = "RUNNING"
        container.runtime_id = run.container_id
        task.last_status = "RUNNING"
        task.started_at = _now()
        code = None
        grace = float(run.container_def.get("stopTimeout") or DEFAULT_STOP_TIMEOUT)
        while code is None:
            code = started.wait(timeout=0.05)
            if code is None and (run.stop_requested.is_set() or self._closed.is_set()):
                started.stop(0.0 if self._closed.is_set() else grace)
                code = started.wait()
        container.exitCode = code
        if run.stop_requested.is_set():
            self._stopped(run, "UserInitiated", run.stop_reason or USER_STOPPED)
        else:
            self._stopped(run, "EssentialContainerExited", ESSENTIAL_EXITED)

    def _stopped(self, run: _Run, stop_code: str, reason: str, *, container_reason: str | None = None) -> None:
        task = run.task
        now = _now()
        task.desired_status = "STOPPED"
        task.stop_code = stop_code
        task.stopped_reason = reason
        task.stopping_at = now
        task.execution_stopped_at = now
        container = task.containers[0]
        container.last_status = "STOPPED"
        if container_reason:
            container.reason = container_reason
        task.last_status = "DEPROVISIONING"
        if not self._closed.is_set():
            time.sleep(self.timing.deprovisioning)
        task.stopped_at = _now()
        task.last_status = "STOPPED"
        with self._lock:
            if run.credentials_id:
                self._by_credentials.pop(run.credentials_id, None)

    # --- awslogs ----------------------------------------------------------------------------------------
    def _log_target(self, run: _Run) -> tuple[str, str, str] | None:
        """(region, group, stream) of the awslogs driver, None for another driver."""
        config = run.container_def.get("logConfiguration") or {}
        if config.get("logDriver") != "awslogs":
            return None
        options = config.get("options") or {}
        prefix = options.get("awslogs-stream-prefix")
        name = str(run.container_def.get("name", ""))
        stream = f"{prefix}/{name}/{run.task.id}" if prefix else str(run.task.id)
        return str(options.get("awslogs-region") or self.view.region), str(options.get("awslogs-group", "")), stream

    def _logs(self, region: str) -> Any:
        from moto.logs.models import logs_backends

        return logs_backends[self.view.account_id][region]

    def _create_stream(self, region: str, group: str, stream: str) -> bool:
        from moto.logs.exceptions import ResourceAlreadyExistsException, ResourceNotFoundException

        with self._logs_lock:
            try:
                self._logs(region).create_log_stream(group, stream)
            except ResourceNotFoundException:
                return False
            except ResourceAlreadyExistsException:
                return True
        return True

    def _put_event(self, log: tuple[str, str, str], line: str) -> None:
        region, group, stream = log
        event = {"timestamp": int(time.time() * 1000), "message": line}
        with self._logs_lock:
            try:
                self._logs(region).put_log_events(group, stream, [event])
            except Exception:  # the group was deleted while the task ran: the driver drops the line
                logger.warning("awslogs: dropped a line of %s/%s", group, stream)

    # --- the container's environment -----------------------------------------------------------------------
    def _container_env(self, run: _Run) -> dict[str, str]:
        env = dict(run.environment)
        metadata = f"{self.url}/v4/{run.container_id}"
        env |= {
            "AWS_REGION": self.view.region,
            "AWS_DEFAULT_REGION": self.view.region,
            "AWS_EXECUTION_ENV": "AWS_ECS_FARGATE",
            "ECS_CONTAINER_METADATA_URI_V4": metadata,
            "ECS_CONTAINER_METADATA_URI": f"{self.url}/v3/{run.container_id}",
            "AWS_ENDPOINT_URL_STS": self.sts_endpoint,
        }
        if run.credentials_id:
            env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = f"{self.url}/v2/credentials/{run.credentials_id}"
        if self.ssl_cert_file is not None:
            env["SSL_CERT_FILE"] = str(self.ssl_cert_file)
        return env

    # --- StopTask -------------------------------------------------------------------------------------------
    def stop_task(self, backend: Any, cluster_str: str, task_str: str, reason: str | None) -> Any:
        """StopTask for a task this runner runs (None: not one of ours, moto answers)."""
        cluster = backend._get_cluster(cluster_str)
        task_id = task_str.split("/")[-1]
        with self._lock:
            run = self._runs.get(task_id)
        if run is None:
            if not any(arn.endswith(task_id) for arn in backend.tasks.get(cluster.name, {})):
                raise _invalid("The referenced task was not found.")
            return None
        if run.task.cluster_name != cluster.name:
            raise _invalid("The referenced task was not found.")
        if run.task.last_status != "STOPPED" and not run.stop_requested.is_set():
            run.stop_reason = reason or USER_STOPPED
            run.task.desired_status = "STOPPED"
            run.task.stop_code = "UserInitiated"
            run.task.stopped_reason = run.stop_reason
            run.stop_requested.set()
        return run.task

    # --- the agent's endpoints --------------------------------------------------------------------------------
    def credentials_document(self, credentials_id: str) -> dict[str, str] | None:
        """The container credentials endpoint's answer for one task (None: no such credentials id)."""
        with self._lock:
            run = self._by_credentials.get(credentials_id)
        if run is None or run.task_role_arn is None:
            return None
        with run.lock:
            creds = run.credentials
            if creds is None or creds.expiration - REFRESH_MARGIN <= _now():
                creds = self.view.mint_role_credentials(run.task_role_arn, str(run.task.id))
                run.credentials = creds
        return {
            "RoleArn": run.task_role_arn,
            "AccessKeyId": creds.access_key_id,
            "SecretAccessKey": creds.secret_access_key,
            "Token": creds.session_token,
            "Expiration": creds.expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    def metadata(self, container_id: str, what: str) -> dict[str, Any] | None:
        """Task metadata endpoint v4: ``""`` the container, ``"task"`` the task (None: unknown container)."""
        with self._lock:
            run = next((r for r in self._runs.values() if r.container_id == container_id), None)
        if run is None:
            return None
        task = run.task
        container = {
            "DockerId": run.container_id,
            "Name": run.container_def.get("name"),
            "Image": run.container_def.get("image"),
            "Labels": {
                "com.amazonaws.ecs.cluster": task.cluster_arn,
                "com.amazonaws.ecs.container-name": run.container_def.get("name"),
                "com.amazonaws.ecs.task-arn": task.task_arn,
                "com.amazonaws.ecs.task-definition-family": run.task_definition.family,
                "com.amazonaws.ecs.task-definition-version": str(run.task_definition.revision),
            },
            "DesiredStatus": task.desired_status,
            "KnownStatus": task.containers[0].last_status,
            "Type": "NORMAL",
            "ContainerARN": task.containers[0].container_arn,
            "LogDriver": (run.container_def.get("logConfiguration") or {}).get("logDriver"),
            "Networks": [{"NetworkMode": "awsvpc", "IPv4Addresses": [_private_ip(task)]}],
        }
        if what == "task":
            return {
                "Cluster": task.cluster_arn,
                "TaskARN": task.task_arn,
                "Family": run.task_definition.family,
                "Revision": str(run.task_definition.revision),
                "DesiredStatus": task.desired_status,
                "KnownStatus": task.last_status,
                "Limits": {
                    "CPU": float(run.task_definition.cpu or 0) / 1024,
                    "Memory": int(run.task_definition.memory or 0),
                },
                "AvailabilityZone": task.availability_zone,
                "LaunchType": "FARGATE",
                "Containers": [container],
            }
        return container

    # --- lifecycle ------------------------------------------------------------------------------------------
    def wait(self, task_id: str, timeout: float) -> bool:
        """Wait until the task has STOPPED (tests); False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                run = self._runs.get(task_id)
            if run is not None and run.task.last_status == "STOPPED":
                return True
            time.sleep(0.02)
        return False

    def stop(self) -> None:
        """Kill every task's container, join the task threads, stop the endpoint. Idempotent."""
        self._closed.set()
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            run.stop_requested.set()
        for run in runs:
            if run.thread is not None:
                run.thread.join()
        if self in moto_patches.ECS_RUNNERS:
            moto_patches.ECS_RUNNERS.remove(self)
        self._server.stop()


def _private_ip(task: Any) -> str:
    for attachment in getattr(task, "attachments", []) or []:
        for detail in attachment.get("details", []):
            if detail.get("name") == "privateIPv4Address":
                return str(detail.get("value"))
    return ""


_RUN_TASK_PARAMS = (
    "cluster_str",
    "task_definition_str",
    "count",
    "overrides",
    "started_by",
    "tags",
    "launch_type",
    "networking_configuration",
    "group",
    "platform_version",
    "capacity_provider_strategy",
)


def _run_task_params(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The arguments of moto's ``run_task`` by name (its responses pass them by position)."""
    params = dict.fromkeys(_RUN_TASK_PARAMS)
    params.update(zip(_RUN_TASK_PARAMS, args, strict=False))
    params.update(kwargs)
    return params


class _AgentHandler(QuietHandler):
    """The container credentials endpoint (``/v2/credentials/ID``) and task metadata endpoint (``/v4/ID[/task]``).

    An unknown credentials id gets the agent's 400 ``InvalidIdInRequest`` (amazon-ecs-agent
    ``agent/handlers/v2/credentials_handler.go``), as botocore's ContainerProvider sees it: no credentials.
    """

    server: LocalServer

    def _tasks(self) -> EcsTasks:
        tasks: EcsTasks = self.server.tasks  # type: ignore[attr-defined]
        return tasks

    def _json(self, status: int, document: object) -> None:
        self.send_body(status, json.dumps(document).encode(), "application/json")

    def do_GET(self) -> None:
        """Serve credentials or metadata."""
        parts = [p for p in self.path.split("?", 1)[0].split("/") if p]
        if len(parts) == 3 and parts[:2] == ["v2", "credentials"]:
            document = self._tasks().credentials_document(parts[2])
            if document is None:
                self._json(
                    400,
                    {
                        "code": "InvalidIdInRequest",
                        "message": "CredentialsV2Request: Credentials not found",
                        "HTTPErrorCode": 400,
                    },
                )
            else:
                self._json(200, document)
            return
        if len(parts) in (2, 3) and parts[0] in ("v3", "v4"):
            metadata = self._tasks().metadata(parts[1], parts[2] if len(parts) == 3 else "")
            if metadata is not None:
                self._json(200, metadata)
                return
        self._json(404, {"message": "not found"})
