"""AWS Lambda in the sandbox: moto stores the functions; this module adds what Lambda checks and runs them.

moto 5.2 keeps functions (CreateFunction, GetFunction, DeleteFunction) but lets any existing role be a function's
execution role, reports every function Active at once, invents a ``VpcId``, and runs Invoke in docker. Patched here
(:func:`patch_moto`, applied with the other moto patches):

- **CreateFunction** refuses, with Lambda's 400 ``InvalidParameterValueException``:
  a role whose trust policy does not let ``lambda.amazonaws.com`` perform ``sts:AssumeRole`` ("The role defined for
  the function cannot be assumed by Lambda."; the trust policy is evaluated by :mod:`trust_policy` with the context
  key Lambda is documented to send, ``aws:SourceAccount`` = the function's account; a condition on any other key,
  ``aws:SourceArn`` included, does not hold: never kinder. "Defining Lambda function permissions with an execution
  role", https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html);
  reserved environment variable names ("Defined runtime environment variables",
  https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html);
  with ``VpcConfig``, a role whose identity policies do not allow the network-interface actions Lambda performs
  with it ("The provided execution role does not have permissions to call CreateNetworkInterface on EC2"; the
  actions of "Required IAM permissions" in https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html,
  all of them granted by the AWS managed policy ``AWSLambdaVPCAccessExecutionRole``, which moto knows), allowed on
  every resource (``"Resource": "*"``): a narrower grant is taken as missing (never kinder); subnets and security
  groups that do not exist (EC2's error wrapped in Lambda's message), or that are not all in one VPC.
- **State**: a new function is ``Pending`` (StateReasonCode ``Creating``) for a moment, longer with a VPC, then
  ``Active``; Invoke meanwhile fails with 409 ``ResourceConflictException`` ("Lambda function states",
  https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html).
- **VpcConfig** in the configuration carries the subnets' real ``VpcId``.
- **Invoke** runs the handler (:mod:`lambda_runtime`) with the execution role's credentials, minted in-process from
  moto STS as Lambda's own AssumeRole (session name = the function name), after checking the trust policy again.
  ``RequestResponse`` answers the handler's result, ``X-Amz-Function-Error: Unhandled`` for an error, and with
  ``LogType=Tail`` the base64 of the log's last 4 KB; ``Event`` runs it in the background (202); ``DryRun`` runs
  nothing (204). A payload that is not JSON is 400 ``InvalidRequestContentException``.
  (API reference: https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html)

The runtime (where packages are unzipped, the STS endpoint and CA bundle functions get) belongs to the running
sandbox: :func:`install` it; without one, Invoke fails with 500 ``ServiceException``.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from typing import Any

from atlasiam_sandbox.aws import trust_policy
from atlasiam_sandbox.aws.lambda_runtime import FunctionSpec, LambdaRuntime

LAMBDA_SERVICE = "lambda.amazonaws.com"
ROLE_REFUSED = "The role defined for the function cannot be assumed by Lambda."
#: "Required IAM permissions" for VPC-connected functions (configuration-vpc.html), in the order checked.
VPC_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)
RESERVED_VARIABLES = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)
#: How long a new function stays Pending (seconds): without and with a VPC (real Lambda: seconds; short here).
PENDING_S = {"plain": 0.2, "vpc": 0.6}
_ROLE_ARN_RE = re.compile(r"^arn:(aws[a-z-]*):iam::([0-9]{12}):role/.+$")

_lock = threading.Lock()
_runtime: list[LambdaRuntime] = []
_active_at: dict[str, float] = {}  # function ARN -> time.monotonic() when it turns Active
_applied = False


def install(runtime: LambdaRuntime) -> None:
    """Make ``runtime`` the one Invoke runs functions with (the latest started sandbox's; moto is process-global)."""
    with _lock:
        _runtime.append(runtime)


def uninstall(runtime: LambdaRuntime) -> None:
    """Forget ``runtime`` and stop it; an earlier sandbox's runtime, if one still runs, takes over again."""
    with _lock:
        if runtime in _runtime:
            _runtime.remove(runtime)
    runtime.stop()


def _errors() -> Any:
    from moto.awslambda.exceptions import LambdaClientError

    class ResourceConflict(LambdaClientError):
        code = 409

    class ServiceError(LambdaClientError):
        code = 500

    return LambdaClientError, ResourceConflict, ServiceError


def _invalid(message: str) -> Exception:
    from moto.awslambda.exceptions import InvalidParameterValueException

    return InvalidParameterValueException(message)


# --- checks (pure over moto's state) ------------------------------------------------------------------------
def lambda_can_assume(role_arn: str, account_id: str) -> bool:
    """Whether the role exists and its trust policy lets Lambda assume it for a function of ``account_id``."""
    from atlasiam_sandbox.aws import moto_patches

    policy = moto_patches.trust_policy_of(role_arn)
    context = {"aws:sourceaccount": account_id}
    caller = trust_policy.service_caller(LAMBDA_SERVICE)
    return policy is not None and trust_policy.allows(policy, caller, "sts:AssumeRole", context)


def _role_policies(role_arn: str) -> list[dict[str, Any]]:
    """The role's identity policies: the default versions of its managed policies, then its inline ones."""
    from moto.iam.models import iam_backends

    match = _ROLE_ARN_RE.fullmatch(role_arn)
    if match is None:
        return []
    role = iam_backends[match[2]][match[1]].get_role_by_arn(role_arn)
    texts = [v.document for p in role.managed_policies.values() for v in p.versions if v.is_default]
    texts += list(role.policies.values())
    docs = []
    for text in texts:
        try:
            doc = json.loads(text) if isinstance(text, str) else text
        except ValueError:
            continue
        if isinstance(doc, dict):
            docs.append(doc)
    return docs


def missing_vpc_action(policies: list[dict[str, Any]]) -> str | None:
    """The first network-interface action the policies do not allow on ``*``, or None."""
    for action in VPC_ACTIONS:
        if not trust_policy.identity_allows(policies, action, "*", {}):
            return action
    return None


def _check_vpc(backend: Any, role_arn: str, vpc_config: dict[str, Any]) -> None:
    from moto.ec2.models import ec2_backends

    subnet_ids = list(vpc_config.get("SubnetIds") or [])
    group_ids = list(vpc_config.get("SecurityGroupIds") or [])
    if not subnet_ids and not group_ids:
        return  # an empty VpcConfig is no VPC
    missing = missing_vpc_action(_role_policies(role_arn))
    if missing is not None:
        raise _invalid(f"The provided execution role does not have permissions to call {missing.split(':')[1]} on EC2")
    ec2 = ec2_backends[backend.account_id][backend.region_name]
    vpcs: set[str] = set()
    for subnet_id in subnet_ids:
        subnet = next((s[subnet_id] for s in ec2.subnets.values() if subnet_id in s), None)
        if subnet is None:
            raise _invalid(
                "Error occurred while DescribeSubnets. EC2 Error Code: InvalidSubnetID.NotFound. "
                f"EC2 Error Message: The subnet ID '{subnet_id}' does not exist"
            )
        vpcs.add(str(subnet.vpc_id))
    for group_id in group_ids:
        group = ec2.get_security_group_from_id(group_id)
        if group is None:
            raise _invalid(
                "Error occurred while DescribeSecurityGroups. EC2 Error Code: InvalidGroup.NotFound. "
                f"EC2 Error Message: The security group '{group_id}' does not exist"
            )
        vpcs.add(str(group.vpc_id))
    if len(vpcs) > 1:
        raise _invalid("Security groups and subnets in VpcConfig must all belong to the same VPC")


def _check_create(backend: Any, spec: dict[str, Any]) -> None:
    role_arn = str(spec.get("Role") or "")
    if _ROLE_ARN_RE.fullmatch(role_arn) is None:
        return  # moto's own check answers Lambda's ValidationException
    variables = (spec.get("Environment") or {}).get("Variables") or {}
    reserved = sorted(set(variables) & RESERVED_VARIABLES)
    if reserved:
        raise _invalid(
            "Lambda was unable to configure your environment variables because the environment variables you have "
            "provided contains reserved keys that are currently not supported for modification. "
            f"Reserved keys used in this request: {','.join(reserved)}"
        )
    if not lambda_can_assume(role_arn, backend.account_id):
        raise _invalid(ROLE_REFUSED)
    if spec.get("VpcConfig"):
        _check_vpc(backend, role_arn, spec["VpcConfig"])


def _in_vpc(fn: Any) -> bool:
    config = getattr(fn, "_vpc_config", None) or {}
    return bool(config.get("SubnetIds"))


def state_of(fn: Any) -> str:
    """``Pending`` until the function's creation has settled, then ``Active``."""
    with _lock:
        active_at = _active_at.get(fn.function_arn, 0.0)
    return "Pending" if time.monotonic() < active_at else "Active"


# --- invoke ----------------------------------------------------------------------------------------------
def _spec(fn: Any) -> FunctionSpec:
    return FunctionSpec(
        name=fn.function_name,
        arn=fn.function_arn,
        handler=str(fn.handler or ""),
        runtime=str(fn.run_time or ""),
        memory_mb=int(fn.memory_size),
        timeout_s=int(fn.timeout),
        code_sha256=str(fn.code_sha_256),
        code=bytes(fn.code_bytes),
        environment=dict(fn.environment_vars or {}),
        region=fn.region,
    )


def invoke(fn: Any, body: Any, headers: Any, response_headers: dict[str, str]) -> bytes:
    """Invoke one function ($LATEST) as the Invoke API does (see the module docstring)."""
    from atlasiam_sandbox.aws.moto_server import MotoView

    client_error, resource_conflict, service_error = _errors()
    state = state_of(fn)
    if state != "Active":
        raise resource_conflict(
            "ResourceConflictException",
            "The operation cannot be performed at this time. "
            f"The function is currently in the following state: {state}",
        )
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    try:
        event = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise client_error("InvalidRequestContentException", f"Could not parse request body into json: {exc}") from None
    invocation_type = str(headers.get("X-Amz-Invocation-Type") or "RequestResponse")
    if invocation_type == "DryRun":
        return b""
    with _lock:
        runtime = _runtime[-1] if _runtime else None
    if runtime is None:
        raise service_error("ServiceException", "The sandbox's Lambda runtime is not running")
    if not lambda_can_assume(fn.role, fn.account_id):
        raise _invalid(ROLE_REFUSED)
    creds = MotoView(fn.account_id, fn.region).mint_role_credentials(fn.role, fn.function_name)
    spec = _spec(fn)
    if invocation_type == "Event":
        threading.Thread(target=runtime.invoke, args=(spec, event, creds), name=f"lambda-{spec.name}").start()
        return b""
    outcome = runtime.invoke(spec, event, creds)
    if outcome.function_error:
        response_headers["x-amz-function-error"] = outcome.function_error
    response_headers["x-amz-log-result"] = base64.b64encode(outcome.log_tail).decode("ascii")
    response_headers["x-amz-executed-version"] = spec.version
    response_headers["x-amzn-RequestId"] = outcome.request_id
    return outcome.payload


# --- moto ------------------------------------------------------------------------------------------------
def patch_moto() -> None:
    """Patch moto's Lambda backend (idempotent; called by ``moto_patches.apply``)."""
    global _applied
    with _lock:
        if _applied:
            return
        _applied = True
    from moto.awslambda.models import LambdaBackend, LambdaFunction

    original_create = LambdaBackend.create_function
    original_delete = LambdaBackend.delete_function
    original_configuration = LambdaFunction.get_configuration

    def create_function(self: Any, spec: dict[str, Any]) -> Any:
        _check_create(self, spec)
        fn = original_create(self, spec)
        with _lock:
            _active_at[fn.function_arn] = time.monotonic() + PENDING_S["vpc" if _in_vpc(fn) else "plain"]
        return fn

    def delete_function(self: Any, function_name: str, qualifier: str | None = None) -> None:
        fn = self.get_function(function_name, None) if qualifier is None else None
        original_delete(self, function_name, qualifier)
        if fn is not None:
            with _lock:
                _active_at.pop(fn.function_arn, None)

    def get_configuration(self: Any, on_create: bool = False) -> dict[str, Any]:
        config: dict[str, Any] = original_configuration(self, on_create)
        if state_of(self) == "Pending" or on_create:
            config |= {
                "State": "Pending",
                "StateReason": "The function is being created.",
                "StateReasonCode": "Creating",
            }
        else:
            config["State"] = "Active"
        vpc = self._vpc_config or {}
        if vpc.get("SubnetIds"):
            config["VpcConfig"] = {
                "SubnetIds": list(vpc.get("SubnetIds") or []),
                "SecurityGroupIds": list(vpc.get("SecurityGroupIds") or []),
                "VpcId": _subnet_vpc(self, vpc["SubnetIds"][0]),
                "Ipv6AllowedForDualStack": False,
            }
        return config

    def backend_invoke(
        self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
    ) -> bytes:
        fn = self.get_function(function_name, qualifier)
        payload = invoke(fn, body, headers, response_headers)
        response_headers["Content-Length"] = str(len(payload))
        return payload

    LambdaBackend.create_function = create_function  # type: ignore[method-assign]
    LambdaBackend.delete_function = delete_function  # type: ignore[method-assign]
    LambdaBackend.invoke = backend_invoke  # type: ignore[method-assign]
    LambdaFunction.get_configuration = get_configuration  # type: ignore[method-assign]


def _subnet_vpc(fn: Any, subnet_id: str) -> str:
    from moto.ec2.models import ec2_backends

    ec2 = ec2_backends[fn.account_id][fn.region]
    subnet = next((s[subnet_id] for s in ec2.subnets.values() if subnet_id in s), None)
    return str(subnet.vpc_id) if subnet is not None else ""
