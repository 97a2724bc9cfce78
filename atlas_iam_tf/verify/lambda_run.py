"""Run the probe as a short-lived Lambda function with the workload's role: create, wait Active, invoke, delete.

The ``lambda`` client is passed in (tests use botocore's Stubber or the sandbox). The function is the probe's
package (``lambda_package``) with the workload's role and, when the workload has subnets, its VPC config, so the
login goes out the way the workload's own functions go. It is deleted in every case (``finally``).
API: https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html, API_GetFunction.html, API_Invoke.html.
"""

from __future__ import annotations

import base64
import json
import math
import secrets
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from atlas_iam_tf.verify.clients import error_code, error_message
from atlas_iam_tf.verify.command import ProbeInput, encode_input
from atlas_iam_tf.verify.workload import WorkloadTarget
from atlas_iam_tf.verify.workload_run import (
    CREATE_FAILED,
    FAILED,
    START_FAILED,
    SUCCESS,
    TIMED_OUT,
    Say,
    WorkloadRun,
    tail,
)

RUNTIME = "python3.12"
HANDLER = "atlasiam_probe.lambda_handler"
MAX_TIMEOUT_S = 900  # Lambda's longest function timeout
MEMORY_MB = 512
ACTIVE_DEADLINE_S = 300.0  # a function in a VPC may stay Pending while Lambda sets up its network interfaces
# Lambda's answer when it cannot assume the role (trust policy without lambda.amazonaws.com, or a role IAM has
# not yet propagated): InvalidParameterValueException, "The role defined for the function cannot be assumed by
# Lambda." A brand-new role is retried for a few seconds.
_ROLE_REFUSED = "cannot be assumed by lambda"


def function_name(workload: str, suffix: str | None = None) -> str:
    """``atlasiam-verify-<workload>-<6 hex>``, within Lambda's 64 characters."""
    return f"atlasiam-verify-{workload[:41]}-{suffix or secrets.token_hex(3)}"


def _role_refused(err: ClientError) -> bool:
    return error_code(err) == "InvalidParameterValueException" and _ROLE_REFUSED in error_message(err).lower()


class LambdaRunner:
    """One probe run as a Lambda function. Time is injected (``clock``/``sleep``) so tests run at once."""

    def __init__(
        self,
        lam: Any,
        say: Say,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        role_retry_s: float = 10.0,
    ) -> None:
        self.lam = lam
        self.say = say
        self.clock = clock
        self.sleep = sleep
        self.role_retry_s = role_retry_s

    def run(self, target: WorkloadTarget, inp: ProbeInput, package: bytes, timeout_s: float) -> WorkloadRun:
        """Create the function, wait until Active, invoke it once, delete it."""
        name = function_name(target.name)
        evidence: dict[str, Any] = {"function_name": name, "in_vpc": bool(target.subnet_ids)}
        created = False
        try:
            self.say(f"creating Lambda function {name} with role {target.role_arn}")
            try:
                config = self._create(name, target, package, timeout_s)
            except ClientError as err:
                evidence |= {"create_error_code": error_code(err), "create_error": error_message(err)}
                return WorkloadRun(CREATE_FAILED, reason=f"CreateFunction: {error_message(err)}", evidence=evidence)
            created = True
            evidence["vpc_id"] = (config.get("VpcConfig") or {}).get("VpcId") or None
            state, reason = self._wait_active(name)
            if state != "Active":
                evidence |= {"state": state, "state_reason": reason}
                status = TIMED_OUT if state == "Pending" else START_FAILED
                return WorkloadRun(status, reason=f"the function is {state}: {reason}", evidence=evidence)
            self.say(f"invoking {name}")
            return self._invoke(name, inp, evidence)
        except ClientError as err:
            return WorkloadRun(FAILED, reason=f"Lambda: {error_message(err)}", evidence=evidence)
        finally:
            if created:
                self._delete(name)

    def _create(self, name: str, target: WorkloadTarget, package: bytes, timeout_s: float) -> dict[str, Any]:
        params: dict[str, Any] = {
            "FunctionName": name,
            "Runtime": RUNTIME,
            "Handler": HANDLER,
            "Role": target.role_arn,
            "Code": {"ZipFile": package},
            "Timeout": min(MAX_TIMEOUT_S, max(3, math.ceil(timeout_s))),
            "MemorySize": MEMORY_MB,
            "Architectures": ["x86_64"],
            "Description": "atlasiam verify: MONGODB-AWS probe (deleted after one run)",
        }
        if target.subnet_ids:
            params["VpcConfig"] = {
                "SubnetIds": list(target.subnet_ids),
                "SecurityGroupIds": list(target.security_group_ids),
            }
        deadline = self.clock() + self.role_retry_s
        delay = 1.0
        while True:
            try:
                return dict(self.lam.create_function(**params))
            except ClientError as err:  # noqa: PERF203 - retrying is the point
                if not _role_refused(err) or self.clock() + delay > deadline:
                    raise
                self.say("Lambda cannot assume the role yet (a new role takes seconds to propagate): retrying")
                self.sleep(delay)
                delay = min(4.0, delay * 2)

    def _wait_active(self, name: str) -> tuple[str, str]:
        """Poll GetFunction until the function leaves Pending (or the deadline); its state and state reason."""
        deadline = self.clock() + ACTIVE_DEADLINE_S
        delay = 0.2
        said = False
        while True:
            config = self.lam.get_function(FunctionName=name)["Configuration"]
            state = str(config.get("State", "Active"))
            if state != "Pending" or self.clock() >= deadline:
                return state, str(config.get("StateReason", ""))
            if not said:  # once: the wait is one step, not one line per poll
                self.say(f"waiting for {name} to become Active")
                said = True
            self.sleep(min(delay, max(0.0, deadline - self.clock())))
            delay = min(2.0, delay * 2)

    def _invoke(self, name: str, inp: ProbeInput, evidence: dict[str, Any]) -> WorkloadRun:
        resp = self.lam.invoke(
            FunctionName=name,
            InvocationType="RequestResponse",
            LogType="Tail",
            Payload=json.dumps({"input": encode_input(inp)}).encode(),
        )
        payload = resp["Payload"].read().decode("utf-8", "replace")
        log = base64.b64decode(resp.get("LogResult") or "").decode("utf-8", "replace")
        function_error = resp.get("FunctionError")
        if not function_error:
            return WorkloadRun(SUCCESS, stdout=payload, log_tail=tail(log), evidence=evidence)
        try:
            doc = json.loads(payload)
        except ValueError:
            doc = {}
        message = str(doc.get("errorMessage") or payload)[:500] if isinstance(doc, dict) else payload[:500]
        evidence |= {"function_error": function_error, "error_message": message}
        # Lambda's own words when the function runs out of time: "Task timed out after 60.05 seconds".
        status = TIMED_OUT if "timed out" in message.lower() else FAILED
        return WorkloadRun(
            status, log_tail=tail(log), reason=f"the function failed ({function_error}): {message}", evidence=evidence
        )

    def _delete(self, name: str) -> None:
        try:
            self.lam.delete_function(FunctionName=name)
        except ClientError as err:
            if error_code(err) != "ResourceNotFoundException":
                self.say(f"could not delete Lambda function {name}: {error_message(err)} (delete it yourself)")
