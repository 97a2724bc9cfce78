"""What one run of the probe in a workload (a Lambda function, an ECS task, an EKS Job) came to.

The runners (``lambda_run``, ``ecs_run``, ``eks_run``) return it; the verify core turns it into ``TargetFacts``.
Pure data, shaped alike for every kind so diagnosis reads one form.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Say = Callable[[str], None]

#: The run ended and the probe's output was read (its exit said pass or fail).
SUCCESS = "Success"
FAILED = "Failed"
#: The run was still going at its deadline; verify stopped it.
TIMED_OUT = "TimedOut"
#: The service refused to create the function / task definition / Job (``reason`` says why).
CREATE_FAILED = "CreateFailed"
#: The service accepted it but could not start it (RunTask failures, a Lambda in state Failed).
START_FAILED = "StartFailed"
#: The image could not be pulled (ECS CannotPullContainerError, Kubernetes ErrImagePull/ImagePullBackOff).
PULL_FAILED = "PullFailed"
#: verify did not try: the workload lacks what the run needs (``reason`` says what).
NOT_RUN = "NotRun"


@dataclass(frozen=True)
class WorkloadRun:
    """One probe run in a workload.

    Attributes:
        status: One of the constants above.
        stdout: Where the probe's JSON line is (Lambda's payload; the task's log; the pod's log).
        log_tail: The run's other output, last lines (Lambda's log tail, pip's stderr lines).
        reason: Why the run did not get to the probe's result, in the service's words.
        evidence: What the runner saw, by name (``function_error``, ``create_error_code``, ``stopped_reason``,
            ``stop_code``, ``exit_code``, ``pod_phase``, ``waiting_reason``, ``in_vpc``, ``execution_role``, …).
    """

    status: str
    stdout: str = ""
    log_tail: str = ""
    reason: str | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)


def tail(text: str, limit: int = 2000) -> str:
    """The last ``limit`` characters of ``text``."""
    return text[-limit:]
