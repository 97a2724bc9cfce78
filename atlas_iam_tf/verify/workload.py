"""What verify needs to know of one workload to run the probe where it runs (issue 12).

Built from the config's ``[[workloads]]`` and the applied stack's ``workloads`` output (the role ARNs), or from
flags. Pure data: the runners (``verify/lambda_run.py``, ``verify/ecs_run.py``, ``verify/eks_run.py``) take it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

WorkloadKind = Literal["ec2", "lambda", "ecs", "eks"]

#: The image ECS tasks and EKS Jobs run the probe in unless the workload names its own (``probe_image``): the
#: official Python image, from ECR Public (pulled without credentials). The probe's dependencies are
#: pip-installed in it from PyPI at start (pinned: the module's requirements.txt), so the task or pod needs
#: egress to PyPI; a ``probe_image`` that already has python3 and pymongo[aws] needs none.
DEFAULT_PROBE_IMAGE = "public.ecr.aws/docker/library/python:3.12-slim"


@dataclass(frozen=True)
class WorkloadTarget:
    """One workload to prove the login for.

    Attributes:
        name: The workload's name (``[[workloads]] name``; ``host`` for the stack's EC2 host).
        kind: ``lambda``, ``ecs``, ``eks`` (``ec2`` hosts go through ``VerifyRequest.instance_ids``).
        role_arn: The workload's IAM role: the Atlas database username it must log in as.
        subnet_ids: lambda (optional: in a VPC) and ecs (required): where the probe runs.
        security_group_ids: lambda and ecs: the probe's security groups.
        cluster: ecs: the ECS cluster name or ARN; eks: the EKS cluster name.
        assign_public_ip: ecs: give the Fargate task a public IP (a public subnet without NAT needs one).
        execution_role_arn: ecs: the task execution role (awslogs, image pull); the stack's, from its outputs.
        log_group: ecs: the CloudWatch Logs group the probe task logs to; the stack's, from its outputs.
        namespace: eks: the pod's namespace.
        service_account: eks: the pod's service account.
        identity: eks: ``pod-identity`` or ``irsa``.
        kube_context: eks: the kubeconfig context to use (default: the current one).
        probe_image: ecs/eks: an image with python3 and pymongo[aws] (default: :data:`DEFAULT_PROBE_IMAGE`,
            where the probe pip-installs its dependencies first).
    """

    name: str
    kind: WorkloadKind
    role_arn: str
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    cluster: str | None = None
    assign_public_ip: bool = False
    execution_role_arn: str | None = None
    log_group: str | None = None
    namespace: str | None = None
    service_account: str | None = None
    identity: str | None = None
    kube_context: str | None = None
    probe_image: str | None = None
