"""Run the probe as a Kubernetes Job in the workload's namespace with its service account; read the pod's log.

The Kubernetes API objects are passed in (``BatchV1Api`` and ``CoreV1Api`` of the official ``kubernetes``
client, made from the user's kubeconfig by :func:`api_client`; tests use small fakes). The pod gets its AWS
identity the way the workload's own pods do: IRSA (the service account's ``eks.amazonaws.com/role-arn``
annotation) or an EKS Pod Identity association, and without either, the node's role through IMDS. The Job is
deleted in every case (``finally``), its pod with it (propagation policy Background).
"""

from __future__ import annotations

import math
import re
import secrets
import string
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

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
MANAGED_BY = {"app.kubernetes.io/managed-by": "atlasiam"}
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"  # the EKS pod identity webhook reads it
START_ALLOWANCE_S = 180.0  # scheduling, the image pull and pip, beyond the probe's own time
REQUEST_TIMEOUT_S = 30  # every API call's own timeout
#: Waiting reasons that end the run: the kubelet keeps retrying them, but they do not fix themselves
#: (https://kubernetes.io/docs/concepts/containers/images/#imagepullbackoff).
PULL_REASONS = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"})
FATAL_REASONS = PULL_REASONS | {"CreateContainerConfigError", "CreateContainerError", "RunContainerError"}
_ROLE_ARN = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):role/")


def job_name(workload: str, suffix: str | None = None) -> str:
    """``atlasiam-verify-<workload>-<5 lowercase alnum>``, a DNS-1123 label (63 characters at most)."""
    label = re.sub(r"[^a-z0-9-]+", "-", workload.lower()).strip("-")[:41] or "workload"
    tag = suffix or "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(5))
    return f"atlasiam-verify-{label}-{tag}"


def cluster_arn(target: WorkloadTarget, region: str | None) -> str | None:
    """``arn:aws:eks:REGION:ACCOUNT:cluster/NAME``, the context name ``aws eks update-kubeconfig`` writes."""
    m = _ROLE_ARN.match(target.role_arn)
    if not (m and region and target.cluster):
        return None
    return f"arn:{m.group(1)}:eks:{region}:{m.group(2)}:cluster/{target.cluster}"


def pick_context(names: Sequence[str], target: WorkloadTarget, region: str | None) -> str | None:
    """The kubeconfig context: the workload's ``kube_context``, else the cluster's ARN, else None (the current)."""
    if target.kube_context:
        return target.kube_context
    arn = cluster_arn(target, region)
    if arn in names:
        return arn
    if target.cluster and region:  # the role may live in another account than the cluster
        suffix = f":eks:{region}:"
        found = [n for n in names if suffix in n and n.endswith(f":cluster/{target.cluster}")]
        if len(found) == 1:
            return found[0]
    return None


def api_client(target: WorkloadTarget, region: str | None) -> Any:
    """A ``kubernetes`` ApiClient from the user's kubeconfig (``KUBECONFIG``, else ``~/.kube/config``)."""
    import os
    from pathlib import Path

    from kubernetes import config

    path = os.environ.get("KUBECONFIG") or str(Path("~/.kube/config").expanduser())
    contexts, _current = config.list_kube_config_contexts(config_file=path)  # type: ignore[no-untyped-call]
    name = pick_context([str(c["name"]) for c in contexts], target, region)
    return config.new_client_from_config(config_file=path, context=name)  # type: ignore[no-untyped-call]


def _api_status(err: Exception) -> int | None:
    status = getattr(err, "status", None)
    return int(status) if isinstance(status, int) else None


def _api_reason(err: Exception) -> str:
    import json

    body = getattr(err, "body", None)
    try:
        message = json.loads(body).get("message") if body else None
    except (ValueError, AttributeError):
        message = None
    return str(message or getattr(err, "reason", None) or err)


class EksRunner:
    """One probe run as a Kubernetes Job. Time is injected (``clock``/``sleep``) so tests run at once."""

    def __init__(
        self,
        batch: Any,
        core: Any,
        say: Say,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.batch = batch
        self.core = core
        self.say = say
        self.clock = clock
        self.sleep = sleep

    @classmethod
    def from_api_client(cls, client: Any, say: Say) -> EksRunner:
        """The runner over a ``kubernetes.client.ApiClient``."""
        from kubernetes import client as k8s

        return cls(k8s.BatchV1Api(client), k8s.CoreV1Api(client), say)

    def run(self, target: WorkloadTarget, command: Sequence[str], image: str, timeout_s: float) -> WorkloadRun:
        """Create the Job, wait for its pod to finish, read the pod's log, delete the Job."""
        from kubernetes.client.exceptions import ApiException

        namespace, account = target.namespace, target.service_account
        evidence: dict[str, Any] = {
            "namespace": namespace,
            "service_account": account,
            "identity": target.identity,
            "image": image,
        }
        if not (namespace and account):
            return WorkloadRun(NOT_RUN, reason="the EKS workload has no namespace/service_account", evidence=evidence)
        name = job_name(target.name)
        evidence["job"] = name
        created = False
        try:
            try:
                evidence |= self._service_account(namespace, account)
            except ApiException as err:
                if _api_status(err) == 404:
                    evidence["service_account_missing"] = True
                    reason = f"service account {namespace}/{account} not found: {_api_reason(err)}"
                    return WorkloadRun(NOT_RUN, reason=reason, evidence=evidence)
                evidence["service_account_unread"] = _api_reason(err)  # e.g. RBAC: go on without it
            self.say(f"creating Job {namespace}/{name} ({image}) as service account {account}")
            try:
                self.batch.create_namespaced_job(
                    namespace, self._job(name, account, command, image, timeout_s), _request_timeout=REQUEST_TIMEOUT_S
                )
            except ApiException as err:
                evidence["create_error"] = _api_reason(err)
                return WorkloadRun(CREATE_FAILED, reason=f"create Job: {_api_reason(err)}", evidence=evidence)
            created = True
            pod = self._wait_pod(namespace, name, self.clock() + timeout_s + START_ALLOWANCE_S)
            return self._outcome(namespace, pod, evidence)
        except ApiException as err:
            return WorkloadRun(FAILED, reason=f"Kubernetes API: {_api_reason(err)}", evidence=evidence)
        finally:
            if created:
                self._delete(namespace, name)

    def _service_account(self, namespace: str, account: str) -> dict[str, Any]:
        sa = self.core.read_namespaced_service_account(account, namespace, _request_timeout=REQUEST_TIMEOUT_S)
        annotations: Mapping[str, str] = (sa.metadata.annotations if sa.metadata else None) or {}
        return {"irsa_role_annotation": annotations.get(IRSA_ANNOTATION)}

    @staticmethod
    def _job(name: str, account: str, command: Sequence[str], image: str, timeout_s: float) -> dict[str, Any]:
        return {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name, "labels": dict(MANAGED_BY)},
            "spec": {
                "backoffLimit": 0,
                "ttlSecondsAfterFinished": 600,
                "activeDeadlineSeconds": math.ceil(timeout_s),
                "template": {
                    "metadata": {"labels": dict(MANAGED_BY)},
                    "spec": {
                        "restartPolicy": "Never",
                        "serviceAccountName": account,
                        "containers": [{"name": CONTAINER, "image": image, "command": list(command)}],
                    },
                },
            },
        }

    def _wait_pod(self, namespace: str, job: str, deadline: float) -> Any:
        """Poll the Job's pod until it ends (Succeeded/Failed, or a waiting reason that will not clear)."""
        last = ""
        delay = 0.25
        pod: Any = None
        while True:
            pods = self.core.list_namespaced_pod(
                namespace, label_selector=f"job-name={job}", _request_timeout=REQUEST_TIMEOUT_S
            ).items
            pod = pods[0] if pods else pod
            phase = str(pod.status.phase) if pod is not None and pod.status else ""
            if phase in ("Succeeded", "Failed") or _waiting(pod)[0] in FATAL_REASONS or self.clock() >= deadline:
                return pod
            if phase != last:
                self.say(f"pod of Job {job} is {phase or 'not created yet'}")
                last = phase
            self.sleep(min(delay, max(0.0, deadline - self.clock())))
            delay = min(3.0, delay * 1.5)

    def _outcome(self, namespace: str, pod: Any, evidence: dict[str, Any]) -> WorkloadRun:
        if pod is None:
            return WorkloadRun(START_FAILED, reason="the Job created no pod before the deadline", evidence=evidence)
        phase = str(pod.status.phase) if pod.status else ""
        reason, message = _waiting(pod)
        exit_code, term_reason = _terminated(pod)
        evidence |= {
            "pod": pod.metadata.name,
            "pod_phase": phase,
            "waiting_reason": reason,
            "waiting_message": message,
            "exit_code": exit_code,
            "terminated_reason": term_reason,
        }
        if reason in PULL_REASONS:
            evidence["pull_error"] = f"{reason}: {message or ''}".strip()
            return WorkloadRun(PULL_FAILED, reason=evidence["pull_error"], evidence=evidence)
        if reason in FATAL_REASONS:
            return WorkloadRun(START_FAILED, reason=f"{reason}: {message or ''}", evidence=evidence)
        log = self._log(namespace, pod.metadata.name)
        if phase not in ("Succeeded", "Failed"):
            return WorkloadRun(
                TIMED_OUT,
                stdout=log,
                log_tail=tail(log),
                reason=f"the pod was {phase or 'not started'} at the deadline",
                evidence=evidence,
            )
        return WorkloadRun(
            SUCCESS if phase == "Succeeded" else FAILED, stdout=log, log_tail=tail(log), evidence=evidence
        )

    def _log(self, namespace: str, pod: str) -> str:
        from kubernetes.client.exceptions import ApiException

        try:
            return str(
                self.core.read_namespaced_pod_log(
                    pod, namespace, container=CONTAINER, _request_timeout=REQUEST_TIMEOUT_S
                )
            )
        except ApiException as err:
            return f"(no log: {_api_reason(err)})"

    def _delete(self, namespace: str, name: str) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            self.batch.delete_namespaced_job(
                name, namespace, propagation_policy="Background", _request_timeout=REQUEST_TIMEOUT_S
            )
        except ApiException as err:
            if _api_status(err) != 404:
                self.say(f"could not delete Job {namespace}/{name}: {_api_reason(err)} (delete it yourself)")


def _container_state(pod: Any) -> Any:
    statuses = (pod.status.container_statuses if pod is not None and pod.status else None) or []
    status = next((s for s in statuses if s.name == CONTAINER), None)
    return status.state if status is not None else None


def _waiting(pod: Any) -> tuple[str | None, str | None]:
    state = _container_state(pod)
    waiting = state.waiting if state is not None else None
    return (waiting.reason, waiting.message) if waiting is not None else (None, None)


def _terminated(pod: Any) -> tuple[int | None, str | None]:
    state = _container_state(pod)
    done = state.terminated if state is not None else None
    return (done.exit_code, done.reason) if done is not None else (None, None)
