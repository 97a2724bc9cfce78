"""The sandbox's EKS data plane: Kubernetes API, Job controller, kubelet, node, Pod Identity agent, kubeconfig.

One of each per moto EKS cluster (the agent and the API listener are shared, clusters told apart by path).

- **Kubeconfig**: one context per cluster, named by the cluster ARN (``aws eks update-kubeconfig`` names clusters,
  users and contexts so, https://docs.aws.amazon.com/cli/latest/reference/eks/update-kubeconfig.html), rewritten when
  moto creates a cluster (``moto_patches.EKS_CLUSTER_CREATED``).
- **Jobs** (https://kubernetes.io/docs/concepts/workloads/controllers/job/): a Job gets one Pod at a time, up to
  ``backoffLimit`` retries; the pod is scheduled on the cluster's node (none: it stays Pending, ``Unschedulable``), its
  container runs through :func:`containers.start_container` (phases Pending → Running → Succeeded/Failed; a pull
  failure leaves it Pending with ``ErrImagePull``, then ``ImagePullBackOff``). ``activeDeadlineSeconds`` fails the
  Job (``DeadlineExceeded``) and ends its pods. Deleting a Job with Background/Foreground propagation deletes its
  pods (SIGTERM, then SIGKILL after the grace period); with none or Orphan (the API's default for Jobs) they stay.
- **Identity** (the EKS mutating webhooks, at pod creation):
  IRSA ("IAM roles for service accounts", https://docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts.html;
  env as in https://docs.aws.amazon.com/eks/latest/userguide/pod-configuration.html): a service account annotated
  ``eks.amazonaws.com/role-arn`` gives the pod ``AWS_ROLE_ARN``, ``AWS_WEB_IDENTITY_TOKEN_FILE`` (a token of the
  cluster's OIDC issuer, audience ``sts.amazonaws.com``), ``AWS_STS_REGIONAL_ENDPOINTS=regional``, ``AWS_REGION``,
  ``AWS_DEFAULT_REGION``. EKS Pod Identity ("Understand how EKS Pod Identity works",
  https://docs.aws.amazon.com/eks/latest/userguide/pod-id-how-it-works.html): a service account with an association
  gives ``AWS_CONTAINER_CREDENTIALS_FULL_URI`` and ``AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`` (audience
  ``pods.eks.amazonaws.com``); the agent checks the token and the role's trust (:mod:`pod_identity`). Neither: the
  SDK falls back to the node's instance role through IMDS, which answers a pod's IMDSv2 token request only when the
  node's hop limit is at least 2 ("Restrict access to the instance profile assigned to the worker node",
  https://docs.aws.amazon.com/eks/latest/best-practices/identity-and-access-management.html; a container is one hop
  more, https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html).

Sandbox differences (README fidelity table): the Pod Identity agent listens on ``127.0.0.1:PORT`` (real:
``169.254.170.23:80``), and pods reach STS, IMDS and the agent through sandbox-only variables
(``AWS_ENDPOINT_URL_STS``, ``AWS_EC2_METADATA_SERVICE_ENDPOINT``, ``SSL_CERT_FILE``); the node is one EC2 instance per
cluster (from its first managed node group); pods always have internet egress (the nodes are assumed to reach the
internet, for the image pull and pip); ``ttlSecondsAfterFinished`` is not acted on; no events.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import logging
import os
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from atlasiam_sandbox.aws import containers, moto_patches, oidc, pod_identity
from atlasiam_sandbox.aws._http import LocalServer, QuietHandler
from atlasiam_sandbox.aws.hosts import HostRegistry
from atlasiam_sandbox.aws.imds import ImdsManager
from atlasiam_sandbox.aws.kube_api import KubeApiServer, KubeHooks
from atlasiam_sandbox.aws.kube_store import JOBS, PODS, SERVICE_ACCOUNTS, ApiError, ClusterStore, Obj, now_iso
from atlasiam_sandbox.aws.moto_server import EksClusterFacts, MotoView
from atlasiam_sandbox.mongo.tls import TlsFiles

logger = logging.getLogger(__name__)

KUBECONFIG_FILE = "kubeconfig"
ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
IRSA_TOKEN_PATH = "var/run/secrets/eks.amazonaws.com/serviceaccount/token"
POD_IDENTITY_TOKEN_PATH = "var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"
#: Seconds from ErrImagePull to ImagePullBackOff (kubelet's image pull back-off starts at 10 s; short here).
PULL_BACKOFF_S = 1.0
_SESSION_SAFE = re.compile(r"[^\w+=,.@-]")


@dataclass
class NodeSettings:
    """Knobs of a cluster's node: its IMDS hop limit (pods need >= 2)."""

    hop_limit: int = 2


@dataclass
class _Node:
    instance_id: str
    imds: str


@dataclass
class _PodRun:
    cluster: str
    namespace: str
    name: str
    container: containers.ContainerProcess | None = None
    waiting: tuple[str, str] | None = None  # (reason, message) while the container cannot start
    deleting: bool = False
    done: threading.Event = field(default_factory=threading.Event)


class EksEmulation:
    """The Kubernetes side of every moto EKS cluster (see the module docstring).

    Args:
        view: moto's state (clusters, roles) and the in-process credential minter.
        state_dir: Where the kubeconfig and the pods' root file systems go.
        tls: The server certificate of the API server (its CA goes into the kubeconfig).
        hosts: The emulated hosts (a node is one); ``imds`` their IMDS servers.
        client: A boto3 client factory (EC2/IAM calls that launch a node).
        sts_endpoint: The STS gate (pods' ``AWS_ENDPOINT_URL_STS``); ``ssl_cert_file`` the CA bundle pods trust.
    """

    def __init__(
        self,
        view: MotoView,
        state_dir: Path,
        tls: TlsFiles,
        hosts: HostRegistry,
        imds: ImdsManager,
        client: Callable[[str], Any],
        sts_endpoint: str,
        ssl_cert_file: Path | None = None,
    ) -> None:
        self.view = view
        self.state_dir = state_dir
        self.tls = tls
        self.hosts = hosts
        self.imds = imds
        self.client = client
        self.sts_endpoint = sts_endpoint
        self.ssl_cert_file = ssl_cert_file
        self.token = secrets.token_urlsafe(32)
        self.node_settings: dict[str, NodeSettings] = {}
        self._stores: dict[str, ClusterStore] = {}
        self._nodes: dict[str, _Node] = {}
        self._runs: dict[tuple[str, str, str], _PodRun] = {}
        self._lock = threading.RLock()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self.api = KubeApiServer(tls, self.token, self.store, KubeHooks(self._log, self._delete_job, self._delete_pod))
        self.agent = PodIdentityAgent(self)
        self.kubeconfig = state_dir / KUBECONFIG_FILE

    # --- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> EksEmulation:
        """Serve the API and the agent; write the kubeconfig; follow new clusters."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.api.start()
        self.agent.start()
        moto_patches.EKS_CLUSTER_CREATED.append(self._cluster_created)
        self.write_kubeconfig()
        return self

    def stop(self) -> None:
        """Kill every pod's container, stop the servers. Idempotent."""
        self._stopping.set()
        if self._cluster_created in moto_patches.EKS_CLUSTER_CREATED:
            moto_patches.EKS_CLUSTER_CREATED.remove(self._cluster_created)
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            if run.container is not None:
                run.container.kill()
        for thread in list(self._threads):
            thread.join(timeout=10)
        self.agent.stop()
        self.api.stop()

    def _cluster_created(self, account: str, region: str, _name: str) -> None:
        if (account, region) == (self.view.account_id, self.view.region):
            self.write_kubeconfig()

    # --- kubeconfig -----------------------------------------------------------------------------------
    def write_kubeconfig(self) -> Path:
        """One cluster/user/context per EKS cluster, named by its ARN; current context: the newest cluster."""
        clusters = self.view.eks_clusters()
        ca = base64.b64encode(self.tls.ca_file.read_bytes()).decode()
        config: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Config",
            "preferences": {},
            "clusters": [
                {"name": c.arn, "cluster": {"server": self.api.cluster_url(c.name), "certificate-authority-data": ca}}
                for c in clusters
            ],
            "users": [{"name": c.arn, "user": {"token": self.token}} for c in clusters],
            "contexts": [{"name": c.arn, "context": {"cluster": c.arn, "user": c.arn}} for c in clusters],
            "current-context": clusters[-1].arn if clusters else "",
        }
        tmp = self.kubeconfig.with_name(f".{self.kubeconfig.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(config, fh, indent=2)  # JSON is YAML; kubeconfig loaders read it
        tmp.replace(self.kubeconfig)
        return self.kubeconfig

    # --- clusters ---------------------------------------------------------------------------------------
    def store(self, name: str) -> ClusterStore | None:
        """The cluster's objects, or None when moto has no such cluster."""
        with self._lock:
            found = self._stores.get(name)
            if found is not None:
                return found
        if self.view.eks_cluster(name) is None:
            return None
        with self._lock:
            found = self._stores.get(name)
            if found is None:
                found = self._stores[name] = ClusterStore(name)
                found.on_job_created = lambda ns, job, cluster=name: self._spawn(
                    job, lambda: self._run_job(cluster, ns, job)
                )
            return found

    def set_hop_limit(self, cluster: str, hop_limit: int) -> None:
        """The node's IMDS hop limit (EC2 ModifyInstanceMetadataOptions on the node, if it is up)."""
        with self._lock:
            self.node_settings.setdefault(cluster, NodeSettings()).hop_limit = hop_limit
            node = self._nodes.get(cluster)
        if node is not None:
            self.client("ec2").modify_instance_metadata_options(
                InstanceId=node.instance_id, HttpPutResponseHopLimit=hop_limit
            )
            self.hosts.configure(node.instance_id, imds_hop_limit_ok=hop_limit >= 2)

    def _node(self, facts: EksClusterFacts) -> _Node | None:
        """The cluster's node: an EC2 instance of its first node group with the node role's instance profile."""
        with self._lock:
            found = self._nodes.get(facts.name)
            if found is not None or not facts.nodegroups:
                return found
            group = facts.nodegroups[0]
            hop_limit = self.node_settings.setdefault(facts.name, NodeSettings()).hop_limit
            iam, ec2 = self.client("iam"), self.client("ec2")
            role_name = group.node_role.rsplit("/", 1)[-1]
            profile = f"eks-{facts.name}-{group.name}"[:128]
            iam.create_instance_profile(InstanceProfileName=profile)
            iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role_name)
            run: dict[str, Any] = {
                "ImageId": "ami-12c6146b",
                "InstanceType": "t3.medium",
                "MinCount": 1,
                "MaxCount": 1,
                "IamInstanceProfile": {"Name": profile},
                "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": hop_limit},
                "TagSpecifications": [
                    {
                        "ResourceType": "instance",
                        "Tags": [
                            {"Key": "eks:cluster-name", "Value": facts.name},
                            {"Key": "eks:nodegroup-name", "Value": group.name},
                        ],
                    }
                ],
            }
            if group.subnets:
                run["SubnetId"] = group.subnets[0]
            instance_id = ec2.run_instances(**run)["Instances"][0]["InstanceId"]
            self.hosts.configure(instance_id, imds_hop_limit_ok=hop_limit >= 2)
            node = self._nodes[facts.name] = _Node(instance_id, self.imds.endpoint(instance_id))
            return node

    # --- the Job controller -----------------------------------------------------------------------------
    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=self._guarded, args=(target,), name=f"eks-{name}", daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    @staticmethod
    def _guarded(target: Callable[[], None]) -> None:
        try:
            target()
        except Exception:
            logger.exception("EKS controller failed")

    def _job(self, cluster: str, namespace: str, name: str, uid: str) -> Obj | None:
        store = self._stores[cluster]
        job = store.find(JOBS, namespace, name)
        return job if job is not None and job["metadata"]["uid"] == uid else None

    def _set_job_status(self, cluster: str, namespace: str, name: str, uid: str, change: Mapping[str, Any]) -> None:
        store = self._stores[cluster]
        if self._job(cluster, namespace, name, uid) is None:
            return

        def apply(job: Obj) -> Obj:
            job["status"] = {k: v for k, v in {**job.get("status", {}), **change}.items() if v is not None}
            return job

        with contextlib.suppress(ApiError):  # deleted meanwhile
            store.update(JOBS, namespace, name, apply)

    def _run_job(self, cluster: str, namespace: str, name: str) -> None:
        store = self._stores[cluster]
        job = store.get(JOBS, namespace, name)
        uid, spec = job["metadata"]["uid"], job["spec"]
        started = time.monotonic()
        deadline = spec.get("activeDeadlineSeconds")
        self._set_job_status(cluster, namespace, name, uid, {"startTime": now_iso(), "active": 0})
        sa = spec["template"]["spec"]["serviceAccountName"]
        if store.find(SERVICE_ACCOUNTS, namespace, sa) is None:
            # The ServiceAccount admission plugin refuses the pod: the Job controller only records an event
            # ('pods "JOB-" is forbidden: error looking up service account NS/SA: serviceaccount "SA" not found').
            return
        failed = 0
        while not self._stopping.is_set():
            if self._job(cluster, namespace, name, uid) is None:
                return
            pod = store.new_pod(namespace, job)
            run = _PodRun(cluster, namespace, pod["metadata"]["name"])
            with self._lock:
                self._runs[(cluster, namespace, run.name)] = run
            self._set_job_status(cluster, namespace, name, uid, {"active": 1, "ready": 0})
            remaining = None if deadline is None else float(deadline) - (time.monotonic() - started)
            outcome = self._run_pod(run, remaining)
            if outcome == "deadline":
                self._delete_pod(cluster, namespace, run.name)
                self._finish_job(
                    cluster,
                    namespace,
                    name,
                    uid,
                    False,
                    failed + 1,
                    "DeadlineExceeded",
                    "Job was active longer than specified deadline",
                )
                return
            if outcome in ("gone", "stopped"):
                return
            if outcome == "Succeeded":
                self._finish_job(
                    cluster,
                    namespace,
                    name,
                    uid,
                    True,
                    failed,
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                )
                return
            failed += 1
            if failed > int(spec.get("backoffLimit", 6)):
                self._finish_job(
                    cluster,
                    namespace,
                    name,
                    uid,
                    False,
                    failed,
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                )
                return
            self._set_job_status(cluster, namespace, name, uid, {"failed": failed, "active": 0})

    def _finish_job(
        self, cluster: str, namespace: str, name: str, uid: str, ok: bool, failed: int, reason: str, message: str
    ) -> None:
        """Job status after the last pod: SuccessCriteriaMet+Complete, or FailureTarget+Failed (batch/v1, 1.31+)."""
        stamp = now_iso()

        def condition(kind: str) -> Obj:
            return {
                "type": kind,
                "status": "True",
                "reason": reason,
                "message": message,
                "lastProbeTime": stamp,
                "lastTransitionTime": stamp,
            }

        change: dict[str, Any] = {"active": None, "ready": 0, "terminating": 0, "uncountedTerminatedPods": {}}
        if ok:
            change |= {"succeeded": 1, "completionTime": stamp}
            change["conditions"] = [condition("SuccessCriteriaMet"), condition("Complete")]
            if failed:
                change["failed"] = failed
        else:
            change |= {"failed": failed, "conditions": [condition("FailureTarget"), condition("Failed")]}
        self._set_job_status(cluster, namespace, name, uid, change)

    # --- the kubelet ------------------------------------------------------------------------------------
    def _update_pod(self, run: _PodRun, change: Callable[[Obj], None]) -> bool:
        def apply(pod: Obj) -> Obj:
            change(pod)
            return pod

        try:
            self._stores[run.cluster].update(PODS, run.namespace, run.name, apply)
        except ApiError:
            return False
        return True

    def _run_pod(self, run: _PodRun, deadline_s: float | None) -> str:
        """Schedule, admit, start and watch one pod; its end: Succeeded, Failed, deadline, gone or stopped."""
        facts = self.view.eks_cluster(run.cluster)
        node = self._node(facts) if facts is not None else None
        if facts is None or node is None:
            self._update_pod(run, _unschedulable)
            return self._wait(run, None, deadline_s)
        pod = self._stores[run.cluster].get(PODS, run.namespace, run.name)
        spec = pod["spec"]
        container = spec["containers"][0]
        root = self.state_dir / "pods" / run.cluster / run.namespace / run.name
        root.mkdir(parents=True, exist_ok=True)
        env = {str(e["name"]): str(e.get("value", "")) for e in container.get("env") or [] if "name" in e}
        env |= self._pod_env(facts, node, pod, root)
        self._update_pod(run, lambda p: _scheduled(p, node.instance_id))
        command = [*(container.get("command") or []), *(container.get("args") or [])]
        started = containers.start_container(
            str(container["image"]), command, env, root, egress=lambda: True, on_line=None
        )
        if isinstance(started, containers.PullFailed):
            run.waiting = ("ErrImagePull", started.message)
            self._update_pod(run, lambda p: _waiting(p, "ErrImagePull", started.message))
            return self._wait(run, None, deadline_s, backoff=started.message)
        run.container = started
        if run.deleting:
            started.kill()
        self._update_pod(run, _running)
        return self._wait(run, started, deadline_s)

    def _wait(
        self,
        run: _PodRun,
        process: containers.ContainerProcess | None,
        deadline_s: float | None,
        backoff: str | None = None,
    ) -> str:
        begun = time.monotonic()
        while not self._stopping.is_set():
            if deadline_s is not None and time.monotonic() - begun >= deadline_s:
                return "deadline"
            if backoff is not None and time.monotonic() - begun >= PULL_BACKOFF_S:
                message = f'Back-off pulling image "{self._image(run)}"'
                self._update_pod(run, functools.partial(_waiting, reason="ImagePullBackOff", message=message))
                backoff = None
            code = process.wait(timeout=0.1) if process is not None else None
            if process is None:
                if run.done.wait(0.1):
                    return "gone"
                continue
            if code is not None:
                phase = "Succeeded" if code == 0 else "Failed"
                alive = self._update_pod(run, functools.partial(_terminated, code=code, phase=phase))
                run.done.set()
                if run.deleting:
                    self._forget_pod(run)
                return phase if alive else "gone"
        return "stopped"

    def _image(self, run: _PodRun) -> str:
        pod = self._stores[run.cluster].find(PODS, run.namespace, run.name)
        return str(pod["spec"]["containers"][0]["image"]) if pod else ""

    def _pod_env(self, facts: EksClusterFacts, node: _Node, pod: Obj, root: Path) -> dict[str, str]:
        """KUBERNETES_SERVICE_*, HOSTNAME, and the identity the webhooks inject (module docstring)."""
        meta, namespace = pod["metadata"], pod["metadata"]["namespace"]
        sa_name = pod["spec"]["serviceAccountName"]
        host, _, port = self.api.url.removeprefix("https://").partition(":")
        env = {"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port, "HOSTNAME": meta["name"]}
        env |= {"AWS_EC2_METADATA_SERVICE_ENDPOINT": node.imds, "AWS_ENDPOINT_URL_STS": self.sts_endpoint}
        if self.ssl_cert_file is not None:
            env["SSL_CERT_FILE"] = str(self.ssl_cert_file)
        issuer = oidc.issuer_for(facts.issuer)
        sa = self._stores[facts.name].get(SERVICE_ACCOUNTS, namespace, sa_name)
        role_arn = (sa["metadata"].get("annotations") or {}).get(ROLE_ARN_ANNOTATION)
        region = {"AWS_REGION": self.view.region, "AWS_DEFAULT_REGION": self.view.region}
        if role_arn:
            token_file = root / IRSA_TOKEN_PATH
            token_file.parent.mkdir(parents=True, exist_ok=True)
            token_file.write_text(
                issuer.service_account_token(
                    namespace, sa_name, [oidc.STS_AUDIENCE], oidc.IRSA_TOKEN_SECONDS, pod=meta["name"], uid=meta["uid"]
                )
            )
            env |= region | {
                "AWS_ROLE_ARN": role_arn,
                "AWS_WEB_IDENTITY_TOKEN_FILE": str(token_file),
                "AWS_STS_REGIONAL_ENDPOINTS": "regional",
            }
        if pod_identity.find(self.view.account_id, self.view.region, facts.name, namespace, sa_name) is not None:
            token_file = root / POD_IDENTITY_TOKEN_PATH
            token_file.parent.mkdir(parents=True, exist_ok=True)
            token_file.write_text(
                issuer.service_account_token(
                    namespace, sa_name, [oidc.POD_IDENTITY_AUDIENCE], 86400, pod=meta["name"], uid=meta["uid"]
                )
            )
            env |= region | {
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"{self.agent.url}/v1/credentials",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(token_file),
            }
        return env

    # --- API hooks ----------------------------------------------------------------------------------------
    def _log(self, cluster: str, namespace: str, name: str) -> str:
        with self._lock:
            run = self._runs.get((cluster, namespace, name))
        container = self._stores[cluster].get(PODS, namespace, name)["spec"]["containers"][0]["name"]
        if run is None or run.container is None:
            why = "trying and failing to pull image" if run is not None and run.waiting else "ContainerCreating"
            raise ApiError(400, "BadRequest", f'container "{container}" in pod "{name}" is waiting to start: {why}')
        lines = run.container.lines
        return "".join(f"{line}\n" for line in lines)

    def _delete_job(self, cluster: str, namespace: str, name: str, propagation: str) -> Obj:
        store = self._stores[cluster]
        job = store.get(JOBS, namespace, name)
        uid = job["metadata"]["uid"]
        pods = [
            p["metadata"]["name"]
            for p in store.list(PODS, namespace)["items"]
            if any(o.get("uid") == uid for o in p["metadata"].get("ownerReferences") or [])
        ]
        store.remove(JOBS, namespace, name)
        if propagation == "Orphan":
            for pod in pods:
                self._update_pod_meta(store, namespace, pod)
        else:
            for pod in pods:
                self._delete_pod(cluster, namespace, pod)
        if propagation == "Foreground":
            # The object is returned with its deletion timestamp and the foregroundDeletion finalizer.
            job["metadata"] |= {"deletionTimestamp": now_iso(), "finalizers": ["foregroundDeletion"]}
            return job
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {"name": name, "group": "batch", "kind": "jobs", "uid": uid},
        }

    @staticmethod
    def _update_pod_meta(store: ClusterStore, namespace: str, pod: str) -> None:
        def orphan(obj: Obj) -> Obj:
            obj["metadata"].pop("ownerReferences", None)
            return obj

        with contextlib.suppress(ApiError):
            store.update(PODS, namespace, pod, orphan)

    def _delete_pod(self, cluster: str, namespace: str, name: str) -> Obj:
        """Graceful deletion: SIGTERM, SIGKILL after terminationGracePeriodSeconds; gone when the container is."""
        store = self._stores[cluster]
        pod = store.get(PODS, namespace, name)
        with self._lock:
            run = self._runs.get((cluster, namespace, name))
        process = run.container if run is not None else None
        if run is None or process is None or run.done.is_set():
            if run is not None:
                run.done.set()
            self._forget_pod(run or _PodRun(cluster, namespace, name))
            return pod
        run.deleting = True
        grace = int(pod["spec"].get("terminationGracePeriodSeconds", 30))
        self._update_pod(
            run, lambda p: p["metadata"].update(deletionTimestamp=now_iso(), deletionGracePeriodSeconds=grace)
        )
        self._spawn(name, lambda: process.stop(grace))
        return store.get(PODS, namespace, name)

    def _forget_pod(self, run: _PodRun) -> None:
        with self._lock:
            self._runs.pop((run.cluster, run.namespace, run.name), None)
        with contextlib.suppress(ApiError):
            self._stores[run.cluster].remove(PODS, run.namespace, run.name)


# --- pod status transitions (pure) ---------------------------------------------------------------------------------
def _container_status(pod: Obj, state: Obj, ready: bool = False, started: bool = False) -> Obj:
    container = pod["spec"]["containers"][0]
    return {
        "name": container["name"],
        "image": container["image"],
        "imageID": "" if "waiting" in state else f"{container['image']}@sha256:{'0' * 64}",
        "containerID": "" if "waiting" in state else f"containerd://{pod['metadata']['uid'].replace('-', '')}",
        "ready": ready,
        "started": started,
        "restartCount": 0,
        "state": state,
    }


def _unschedulable(pod: Obj) -> None:
    pod["status"]["conditions"] = [
        {
            "type": "PodScheduled",
            "status": "False",
            "reason": "Unschedulable",
            "message": "0/0 nodes are available: no nodes available to schedule pods.",
            "lastTransitionTime": now_iso(),
        }
    ]


def _scheduled(pod: Obj, node: str) -> None:
    pod["spec"]["nodeName"] = node
    pod["status"] |= {"hostIP": "10.0.1.10", "podIP": "10.0.1.20", "startTime": now_iso()}
    pod["status"]["conditions"] = [{"type": "PodScheduled", "status": "True", "lastTransitionTime": now_iso()}]
    pod["status"]["containerStatuses"] = [_container_status(pod, {"waiting": {"reason": "ContainerCreating"}})]


def _waiting(pod: Obj, reason: str, message: str) -> None:
    pod["status"]["containerStatuses"] = [_container_status(pod, {"waiting": {"reason": reason, "message": message}})]


def _running(pod: Obj) -> None:
    pod["status"]["phase"] = "Running"
    state = {"running": {"startedAt": now_iso()}}
    pod["status"]["containerStatuses"] = [_container_status(pod, state, ready=True, started=True)]


def _terminated(pod: Obj, code: int, phase: str) -> None:
    statuses = pod["status"].get("containerStatuses") or [{}]
    started_at = ((statuses[0].get("state") or {}).get("running") or {}).get("startedAt", now_iso())
    pod["status"]["phase"] = phase
    state = {
        "terminated": {
            "exitCode": code,
            "reason": "Completed" if code == 0 else "Error",
            "startedAt": started_at,
            "finishedAt": now_iso(),
            "containerID": f"containerd://{pod['metadata']['uid'].replace('-', '')}",
        }
    }
    pod["status"]["containerStatuses"] = [_container_status(pod, state)]


# --- the EKS Pod Identity agent -----------------------------------------------------------------------------------
class PodIdentityAgent:
    """The node's EKS Pod Identity agent: ``GET /v1/credentials`` with the pod's token in ``Authorization``.

    It does what the agent and EKS Auth's AssumeRoleForPodIdentity do together (``pod_identity``): verify the token
    (issuer of a known cluster, audience ``pods.eks.amazonaws.com``), find the association for its namespace and
    service account, check the role's trust policy, and answer container-credentials JSON (``AccessKeyId``,
    ``SecretAccessKey``, ``Token``, ``AccountId``, ``Expiration``), which botocore's container provider reads.
    :meth:`stop` (or ``running = False``) makes it refuse connections, as when the agent's DaemonSet is not running.
    """

    def __init__(self, eks: EksEmulation) -> None:
        self.eks = eks
        self._server: _AgentServer | None = None
        self._port = 0

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (the same port across restarts)."""
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> None:
        """Listen (on the previous port when restarting)."""
        if self._server is None:
            self._server = _AgentServer(self, self._port)
            self._port = int(self._server.server_address[1])
            self._server.start()

    def stop(self) -> None:
        """Stop listening: connections are refused."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def credentials(self, token: str) -> tuple[int, Obj]:
        """The answer for one request (status, JSON body)."""
        try:
            claims = oidc.verify(token)
        except oidc.TokenRejected as err:
            return 400, {"code": "InvalidTokenException", "message": err.message}
        if oidc.POD_IDENTITY_AUDIENCE not in oidc.audiences(claims):
            return 400, {"code": "InvalidTokenException", "message": "Token audience is invalid"}
        facts = next((c for c in self.eks.view.eks_clusters() if c.issuer == claims.get("iss")), None)
        kube = claims.get("kubernetes.io") or {}
        parts = str(claims.get("sub", "")).split(":")
        if facts is None or len(parts) != 4:
            return 400, {"code": "InvalidTokenException", "message": "Token is not issued by a known cluster"}
        namespace, sa = parts[2], parts[3]
        view = self.eks.view
        association = pod_identity.find(view.account_id, view.region, facts.name, namespace, sa)
        if association is None:
            return 400, {
                "code": "ResourceNotFoundException",
                "message": f"No Pod Identity Association found for service account {namespace}/{sa}",
            }
        pod_name = str((kube.get("pod") or {}).get("name", ""))
        tags = pod_identity.session_tags(
            facts.arn, namespace, sa, pod_name, str((kube.get("pod") or {}).get("uid", ""))
        )
        refusal = pod_identity.decide(view.role_trust_policy(association.role_arn), view.account_id, facts.arn, tags)
        if refusal is not None:
            return 403, {"code": "AccessDeniedException", "message": f"Failed to assume role: {refusal}"}
        session = _SESSION_SAFE.sub("-", f"eks-{facts.name}-{pod_name}-{uuid.uuid4()}")[:64]
        creds = view.mint_role_credentials(association.role_arn, session)
        return 200, {
            "AccessKeyId": creds.access_key_id,
            "SecretAccessKey": creds.secret_access_key,
            "Token": creds.session_token,
            "AccountId": view.account_id,
            "Expiration": creds.expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


class _AgentServer(LocalServer):
    allow_reuse_address = True  # a restarted agent takes its old port back (the pods' variable names it)

    def __init__(self, agent: PodIdentityAgent, port: int) -> None:
        self.agent = agent
        super().__init__(_AgentHandler, name="eks-pod-identity-agent", port=port)


class _AgentHandler(QuietHandler):
    server_version = "eks-pod-identity-agent"

    def do_GET(self) -> None:
        """``/v1/credentials``; 401 without a token."""
        agent = cast(_AgentServer, self.server).agent
        if self.path.split("?", 1)[0] != "/v1/credentials":
            self.send_body(404, b"Not Found", "text/plain")
            return
        token = self.headers.get("Authorization") or ""
        if not token:
            self.send_body(401, b'{"message":"Service account token cannot be empty"}', "application/json")
            return
        status, body = agent.credentials(token)
        self.send_body(status, json.dumps(body).encode(), "application/json")
