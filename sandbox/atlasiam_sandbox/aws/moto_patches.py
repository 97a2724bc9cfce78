"""Fidelity fixes to moto (STS, IAM, S3 bucket policies) that the sandbox's checks depend on (applied once per process).

- **GetSessionToken** (moto 5.2 returns one fixed example key that identifies as ``user/moto``): real STS
  returns fresh temporary credentials that identify as the calling IAM user, which is exactly what
  ``verify --from-here --session-token`` and Atlas's USER-type users rely on. The patch mints distinct
  credentials per call and answers GetCallerIdentity for them as the caller. Real STS also refuses the
  call when it is signed with temporary credentials: "The credentials that GetSessionToken returns ...
  cannot call any STS API except AssumeRole or GetCallerIdentity", and only an IAM user or the root user
  may call it (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html,
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_request.html#stsapi_comparison).
  It answers 403 ``AccessDenied`` "Cannot call GetSessionToken with session credentials"; so does this patch.
- **AssumeRole** (moto lets anyone assume any role, even one that does not exist): the role's trust policy
  is evaluated for the caller behind the signing key (``trust_policy``), on every call, whether moto's auth
  switch is on or off; a refusal is AWS's 403 ``AccessDenied`` "User: CALLER is not authorized to perform:
  sts:AssumeRole on resource: ROLE", for a role that does not exist too. With the auth switch on, moto's
  own trust check (which crashes on a ``Service`` principal) is replaced by this one; moto still checks
  signatures and the caller's identity-based policies.

- **AssumeRoleWithWebIdentity** (moto hands out credentials for any token): the token, the account's IAM OIDC
  provider and the role's trust policy are checked as STS checks them (``web_identity``), with STS's error codes.

- **EKS**: each cluster gets its own OIDC issuer URL (moto shares one per process) and the sandbox hears of a new
  cluster (its kubeconfig); the Pod Identity association operations are added (``pod_identity``).

- **CreateRole / UpdateAssumeRolePolicy** (moto stores any trust policy): IAM resolves every IAM user and
  role a trust policy names when the policy is saved, and refuses the policy when one does not exist:
  400 ``MalformedPolicyDocument`` 'Invalid principal in policy: "AWS":"ARN"' (the ARN is kept as the
  principal's unique id, so it must name an existing entity;
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html, "IAM role
  principals" / "IAM user principals"). Account forms, ``*`` and role sessions are not resolved.

- **S3 bucket policies** (moto evaluates a bucket policy on object requests without its conditions, so a Deny
  with a condition always applies, and authorizes HeadObject as ``s3:HeadObject``): the sandbox evaluates the
  policy itself (``trust_policy.resource_decision``) with the request's context: the caller behind the signing
  key (``aws:PrincipalArn``, ``aws:PrincipalAccount``), ``aws:SecureTransport`` true (every real client uses
  HTTPS), and ``aws:SourceVpce``/``aws:SourceVpc`` when the request came through an S3 gateway endpoint, which the
  emulated host's network stamps on it (headers :data:`SOURCE_VPCE_HEADER`/:data:`SOURCE_VPC_HEADER`; AWS sets
  these keys only for requests through a VPC endpoint). HeadObject needs ``s3:GetObject``, as on AWS ("To use
  HEAD, you must have the s3:GetObject permission", S3 API reference, HeadObject).

- **CreateVpcEndpoint to an endpoint service** (moto creates an endpoint to any service name): a name of the
  form ``com.amazonaws.vpce.REGION.vpce-svc-…`` (a PrivateLink endpoint service of some account, such as
  Atlas's) must name a service that exists, else EC2's 400 ``InvalidServiceName`` "The Vpc Endpoint Service 'NAME'
  does not exist" (moto's own exception and wording). The services that exist are those the lookups in
  :data:`ENDPOINT_SERVICES` know (the sandbox registers its Atlas emulation's AVAILABLE services).

- **ECS** (moto runs no task; a Fargate task shows STOPPED at once): RegisterTaskDefinition refuses awslogs on
  Fargate without executionRoleArn (:data:`AWSLOGS_NEEDS_EXECUTION_ROLE`); RunTask and StopTask go to the sandbox's
  runner (``ecs_tasks.EcsTasks``, registered in :data:`ECS_RUNNERS` while a cloud runs), which checks the request as
  ECS does and runs the task's container. Two moto crashes on a Fargate task are worked around: task-level memory
  only, and an ENI in a VPC without DNS hostnames.
- **Lambda** (moto lets any existing role be an execution role and runs Invoke in docker): ``lambda_service``.

The caller is the IAM user that owns the access key, the user behind credentials this patch's
GetSessionToken minted, or the role session behind AssumeRole/instance credentials. A key moto does not
know (the sandbox's ``testing`` keys, accepted only while the auth switch is off) is what moto's
GetCallerIdentity calls it, ``arn:aws:sts::ACCOUNT:user/moto``: a caller of the account that no trust
policy names, so only the account forms and ``*`` admit it.
"""

from __future__ import annotations

import json
import re
import secrets
import string
import threading
import uuid
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

from werkzeug.exceptions import HTTPException

from atlasiam_sandbox.aws import trust_policy, web_identity
from atlasiam_sandbox.aws.host_commands import SOURCE_VPC_HEADER, SOURCE_VPCE_HEADER
from atlasiam_sandbox.aws.trust_policy import Caller

_applied = False
_lock = threading.Lock()
# temporary access key id -> the caller's IAM user ARN
SESSION_KEYS: dict[str, str] = {}
# temporary access key id -> (secret, session token, expiration): what a signature check needs (aws/sigv4.py)
SESSION_CREDENTIALS: dict[str, tuple[str, str, Any]] = {}
_ALPHABET = string.ascii_uppercase + string.digits
_ROLE_ARN_RE = re.compile(r"^arn:(aws[a-z-]*):iam::([0-9]{12}):role/.+$")
_ENTITY_ARN_RE = re.compile(r"^arn:(aws[a-z-]*):iam::([0-9]{12}):(role|user)/.+$")
GET_SESSION_TOKEN_REFUSED = "Cannot call GetSessionToken with session credentials"
#: What the emulated network adds to an S3 request that went through a gateway endpoint (see the docstring).
_s3_request = threading.local()
#: Lookups "does this VPC endpoint service exist" (name -> bool); see the module docstring.
ENDPOINT_SERVICES: list[Callable[[str], bool]] = []
_ENDPOINT_SERVICE_RE = re.compile(r"^com\.amazonaws\.vpce\.[a-z0-9-]+\.vpce-svc-[0-9a-f]+$")
_ACCESS_KEY_RE = re.compile(r"Credential=([A-Z0-9]{16,128})/")


class StsError(HTTPException):
    """An STS error, in the query protocol's XML error shape that botocore parses."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        body = (
            '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            f"<Error><Type>Sender</Type><Code>{escape(error_code)}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
        )
        super().__init__(description=body)
        self.code = status
        self.error_code = error_code
        self.message = message

    def get_headers(self, *_args: Any, **_kwargs: Any) -> list[tuple[str, str]]:
        """The headers moto copies into its response."""
        return [("Content-Type", "text/xml"), ("X-Amzn-ErrorType", self.error_code)]


class StsAccessDenied(StsError):
    """STS's 403 AccessDenied."""

    def __init__(self, message: str) -> None:
        super().__init__(403, "AccessDenied", message)


def _new_key_id() -> str:
    return "ASIA" + "".join(secrets.choice(_ALPHABET) for _ in range(16))


def _iam(account: str, partition: str) -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[account][partition]


def _sts(account: str, partition: str) -> Any:
    from moto.sts.models import sts_backends

    return sts_backends[account][partition]


def caller_of(account: str, partition: str, access_key_id: str) -> Caller:
    """The principal behind ``access_key_id``, as a trust policy sees it (see the module docstring)."""
    user_arn = SESSION_KEYS.get(access_key_id)
    if user_arn is None:
        user = _iam(account, partition).get_user_from_access_key_id(access_key_id)
        user_arn = user.arn if user is not None else None
    if user_arn is not None:
        return Caller(user_arn, user_arn.split(":")[4], frozenset({user_arn}), user_arn)
    assumed = _sts(account, partition).get_assumed_role_from_access_key(access_key_id)
    if assumed is not None:
        # A role session is named by the role's ARN or by its own session ARN.
        return Caller(assumed.arn, assumed.account_id, frozenset({assumed.role_arn, assumed.arn}), assumed.role_arn)
    return Caller(f"arn:{partition}:sts::{account}:user/moto", account)


def _is_temporary(response: Any, access_key_id: str) -> bool:
    """Signed with temporary credentials: a session token travels with them, or we minted the key."""
    headers = response.headers
    if headers.get("X-Amz-Security-Token") or headers.get("x-amz-security-token"):
        return True
    if access_key_id in SESSION_KEYS:
        return True
    sts = _sts(response.current_account, response.partition)
    return sts.get_assumed_role_from_access_key(access_key_id) is not None


def trust_policy_of(role_arn: str) -> dict[str, Any] | None:
    """The trust policy of the role ``role_arn`` names, or None when there is no such role."""
    from moto.iam.exceptions import NotFoundException

    match = _ROLE_ARN_RE.fullmatch(role_arn)
    if match is None:
        return None
    try:
        role = _iam(match[2], match[1]).get_role_by_arn(role_arn)
    except NotFoundException:
        return None
    try:
        policy = json.loads(role.assume_role_policy_document)
    except (TypeError, ValueError):
        return None
    return policy if isinstance(policy, dict) else None


role_trust_policy = trust_policy_of


def _entity_exists(arn: str) -> bool:
    """Whether an IAM user or role ARN names one that exists (any other principal form is not resolved)."""
    match = _ENTITY_ARN_RE.fullmatch(arn)
    if match is None:
        return True
    iam = _iam(match[2], match[1])
    entities = iam.get_roles() if match[3] == "role" else iam.users.values()
    return any(entity.arn == arn for entity in entities)


def check_trust_principals(policy_document: str) -> None:
    """Raise IAM's MalformedPolicyDocument when the trust policy names an IAM user or role that does not exist."""
    from moto.iam.exceptions import MalformedPolicyDocument

    try:
        policy = json.loads(policy_document)
    except (TypeError, ValueError):
        return  # moto's own validator reports a document that is not JSON
    if not isinstance(policy, dict):
        return
    for principal in trust_policy.named_aws_principals(policy):
        if not _entity_exists(principal):
            raise MalformedPolicyDocument(f'Invalid principal in policy: "AWS":"{principal}"')


def check_assume_role(response: Any) -> None:
    """Raise AWS's AccessDenied unless the role exists and its trust policy admits the caller."""
    role_arn = str(response._get_param("RoleArn") or "")
    caller = caller_of(response.current_account, response.partition, response.get_access_key())
    context = trust_policy.request_context(
        caller, external_id=response._get_param("ExternalId"), session_name=response._get_param("RoleSessionName")
    )
    policy = trust_policy_of(role_arn)
    if policy is None or not trust_policy.allows(policy, caller, "sts:AssumeRole", context):
        raise StsAccessDenied(
            f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
        )


def _oidc_providers(account: str, partition: str) -> list[web_identity.OidcProvider]:
    providers = list(_iam(account, partition).open_id_providers.values())
    return [web_identity.OidcProvider(p.arn, p.url, tuple(p.client_id_list or ())) for p in providers]


def check_assume_role_with_web_identity(response: Any) -> None:
    """Raise STS's refusal unless the token, the account's OIDC provider and the role's trust policy admit it."""
    role_arn = str(response._get_param("RoleArn") or "")
    match = _ROLE_ARN_RE.fullmatch(role_arn)
    account, partition = (match[2], match[1]) if match else (response.current_account, response.partition)
    refusal = web_identity.check(
        str(response._get_param("WebIdentityToken") or ""),
        trust_policy_of(role_arn),
        _oidc_providers(account, partition),
        response._get_param("RoleSessionName"),
    )
    if refusal is not None:
        raise StsError(refusal.status, refusal.code, refusal.message)


def _get_session_token(self: Any) -> Any:
    """TokenResponse.get_session_token: fresh credentials per call, standing for the calling IAM user."""
    from moto.core.responses import ActionResult

    key_id = self.get_access_key()
    if _is_temporary(self, key_id):
        raise StsAccessDenied(GET_SESSION_TOKEN_REFUSED)
    duration = self._get_int_param("DurationSeconds", 43200)
    token = self.backend.get_session_token(duration=duration)
    caller = _iam(self.current_account, self.partition).get_user_from_access_key_id(key_id)
    new_key_id = _new_key_id()
    secret, session_token = secrets.token_urlsafe(30), secrets.token_urlsafe(120)
    if caller is not None:
        SESSION_KEYS[new_key_id] = caller.arn
    SESSION_CREDENTIALS[new_key_id] = (secret, session_token, token.expiration)
    return ActionResult(
        {
            "Credentials": {
                "AccessKeyId": new_key_id,
                "SecretAccessKey": secret,
                "SessionToken": session_token,
                "Expiration": token.expiration,
            }
        }
    )


def _patch_sts() -> None:
    from moto.iam.access_control import IAMRequestBase
    from moto.sts.models import STSBackend
    from moto.sts.responses import TokenResponse

    original_identity = STSBackend.get_caller_identity
    original_assume_role = TokenResponse.assume_role
    original_web_identity = TokenResponse.assume_role_with_web_identity

    def assume_role(self: Any) -> Any:
        check_assume_role(self)
        return original_assume_role(self)

    def assume_role_with_web_identity(self: Any) -> Any:
        check_assume_role_with_web_identity(self)
        return original_web_identity(self)

    def get_caller_identity(self: Any, access_key_id: str, region: str) -> tuple[str, str, str]:
        arn = SESSION_KEYS.get(access_key_id)
        if arn is not None:
            return access_key_id, arn, arn.split(":")[4]
        result: tuple[str, str, str] = original_identity(self, access_key_id, region)
        return result

    def trust_checked_in_handler(self: Any, role_arn: str) -> bool:  # noqa: ARG001 - moto's signature
        return True  # check_assume_role runs on every AssumeRole, auth switch on or off

    TokenResponse.get_session_token = _get_session_token  # type: ignore[method-assign]
    TokenResponse.assume_role = assume_role  # type: ignore[method-assign]
    TokenResponse.assume_role_with_web_identity = assume_role_with_web_identity  # type: ignore[method-assign]
    STSBackend.get_caller_identity = get_caller_identity  # type: ignore[method-assign]
    IAMRequestBase._check_role_trust_relationship = trust_checked_in_handler  # type: ignore[method-assign]


def _patch_iam() -> None:
    from moto.iam.models import IAMBackend

    original_create_role = IAMBackend.create_role
    original_update_trust = IAMBackend.update_assume_role_policy

    def create_role(self: Any, role_name: str, assume_role_policy_document: str, *args: Any, **kwargs: Any) -> Any:
        check_trust_principals(assume_role_policy_document)
        return original_create_role(self, role_name, assume_role_policy_document, *args, **kwargs)

    def update_assume_role_policy(self: Any, role_name: str, policy_document: str) -> None:
        check_trust_principals(policy_document)
        original_update_trust(self, role_name, policy_document)

    IAMBackend.create_role = create_role  # type: ignore[method-assign]
    IAMBackend.update_assume_role_policy = update_assume_role_policy  # type: ignore[method-assign]


def _s3_context(account: str, partition: str) -> tuple[Caller, dict[str, str]]:
    """The caller and the condition keys of the S3 request this thread is serving."""
    headers = {str(k).lower(): str(v) for k, v in (getattr(_s3_request, "headers", None) or {}).items()}
    found = _ACCESS_KEY_RE.search(headers.get("authorization", ""))
    context = {"aws:securetransport": "true"}
    if found is None:
        caller = Caller("anonymous", "")
    else:
        caller = caller_of(account, partition, found[1])
        context |= {"aws:principalaccount": caller.account}
        if caller.principal_arn:
            context["aws:principalarn"] = caller.principal_arn
    for header, key in ((SOURCE_VPCE_HEADER, "aws:sourcevpce"), (SOURCE_VPC_HEADER, "aws:sourcevpc")):
        if headers.get(header):
            context[key] = headers[header]
    return caller, context


def _patch_s3() -> None:
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket
    from moto.s3.responses import S3Response

    original_setup = S3Response.setup_class

    def setup_class(self: Any, request: Any, *args: Any, **kwargs: Any) -> None:
        original_setup(self, request, *args, **kwargs)
        _s3_request.headers = dict(self.headers or {})

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        try:
            policy = json.loads(self.policy.decode())
        except ValueError:
            return PermissionResult.NEUTRAL
        caller, context = _s3_context(self.account_id, self.partition)
        action = "s3:GetObject" if action == "s3:HeadObject" else action
        decision = trust_policy.resource_decision(policy, caller, action, resource, context)
        return {"Deny": PermissionResult.DENIED, "Allow": PermissionResult.PERMITTED}.get(
            str(decision), PermissionResult.NEUTRAL
        )

    S3Response.setup_class = setup_class  # type: ignore[method-assign]
    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]


def _patch_ec2() -> None:
    from moto.ec2.exceptions import InvalidServiceName
    from moto.ec2.models.vpcs import VPCBackend

    original = VPCBackend.create_vpc_endpoint

    def create_vpc_endpoint(self: Any, vpc_id: str, service_name: str, *args: Any, **kwargs: Any) -> Any:
        if _ENDPOINT_SERVICE_RE.match(service_name) and not any(known(service_name) for known in ENDPOINT_SERVICES):
            raise InvalidServiceName(service_name)
        return original(self, vpc_id, service_name, *args, **kwargs)

    VPCBackend.create_vpc_endpoint = create_vpc_endpoint  # type: ignore[method-assign]


#: The sandbox's ECS task runner (``ecs_tasks.EcsTasks``) while a cloud runs: it starts and stops RunTask's tasks.
ECS_RUNNERS: list[Any] = []
#: RegisterTaskDefinition's refusal of awslogs on Fargate without an execution role (ECS's ClientException, as
#: the service words it; e.g. virtual-kubelet/virtual-kubelet issue #193 quotes it). The execution role is what
#: Fargate's agent uses to create the log stream and put the events.
AWSLOGS_NEEDS_EXECUTION_ROLE = (
    "Fargate requires task definition to have execution role ARN to support log driver awslogs."
)


def check_fargate_awslogs(requires_compatibilities: Any, execution_role_arn: Any, container_definitions: Any) -> None:
    """Raise ECS's ClientException for an awslogs container in a Fargate task definition without executionRoleArn."""
    from moto.ecs.exceptions import EcsClientException

    if "FARGATE" not in (requires_compatibilities or []) or execution_role_arn:
        return
    for definition in container_definitions or []:
        if ((definition or {}).get("logConfiguration") or {}).get("logDriver") == "awslogs":
            raise EcsClientException(AWSLOGS_NEEDS_EXECUTION_ROLE)


def _patch_ecs() -> None:
    """RegisterTaskDefinition's Fargate checks; RunTask/StopTask through the sandbox's runner while one is set."""
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface
    from moto.ecs.models import EC2ContainerServiceBackend

    # moto's Fargate task reads its ENI's private DNS name, which moto sets only in a VPC with DNS hostnames on.
    NetworkInterface.private_dns_name = None  # type: ignore[assignment]
    original_register = EC2ContainerServiceBackend.register_task_definition
    original_run = EC2ContainerServiceBackend.run_task
    original_stop = EC2ContainerServiceBackend.stop_task

    def register_task_definition(self: Any, family: str, container_definitions: Any, *args: Any, **kwargs: Any) -> Any:
        check_fargate_awslogs(
            kwargs.get("requires_compatibilities"), kwargs.get("execution_role_arn"), container_definitions
        )
        return original_register(self, family, container_definitions, *args, **kwargs)

    def run_task(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not ECS_RUNNERS:
            return original_run(self, *args, **kwargs)
        return ECS_RUNNERS[-1].run_task(self, original_run, *args, **kwargs)

    def stop_task(self: Any, cluster_str: str, task_str: str, reason: str) -> Any:
        if ECS_RUNNERS:
            task = ECS_RUNNERS[-1].stop_task(self, cluster_str, task_str, reason)
            if task is not None:
                return task
        return original_stop(self, cluster_str, task_str, reason)

    def resource_requirements(task_definition: Any) -> dict[str, Any]:
        """Task resources: moto adds container-level memory only (None crashes it); Fargate sizes the task."""
        containers = task_definition.container_definitions
        cpu = sum(int(c.get("cpu") or 0) for c in containers) or int(task_definition.cpu or 0)
        memory = sum(int(c.get("memory") or c.get("memoryReservation") or 0) for c in containers)
        ports = [m["hostPort"] for c in containers for m in c.get("portMappings") or [] if "hostPort" in m]
        return {"CPU": cpu, "MEMORY": memory or int(task_definition.memory or 0), "PORTS": ports, "PORTS_UDP": []}

    EC2ContainerServiceBackend._calculate_task_resource_requirements = staticmethod(resource_requirements)  # type: ignore[method-assign]
    EC2ContainerServiceBackend.register_task_definition = register_task_definition  # type: ignore[method-assign]
    EC2ContainerServiceBackend.run_task = run_task  # type: ignore[method-assign]
    EC2ContainerServiceBackend.stop_task = stop_task  # type: ignore[method-assign]


#: Called with (account, region, cluster name) after moto created an EKS cluster (the sandbox's kubeconfig).
EKS_CLUSTER_CREATED: list[Callable[[str, str, str], None]] = []


def _patch_eks() -> None:
    """CreateCluster: a distinct OIDC issuer per cluster, then the listeners.

    moto gives every cluster of a process the same issuer; EKS's is ``https://oidc.eks.REGION.amazonaws.com/id/`` and
    32 hex digits, unique per cluster.
    """
    from moto.eks.models import EKSBackend

    from atlasiam_sandbox.aws import pod_identity

    original = EKSBackend.create_cluster

    def create_cluster(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        cluster = original(self, name, *args, **kwargs)
        region = self.region_name
        cluster.identity = {
            "oidc": {"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{secrets.token_hex(16).upper()}"}
        }
        for listener in EKS_CLUSTER_CREATED:
            listener(self.account_id, region, name)
        return cluster

    EKSBackend.create_cluster = create_cluster  # type: ignore[method-assign]
    pod_identity.patch_moto()


def apply() -> None:
    """Patch moto's STS, IAM, S3, EC2, ECS and Lambda (idempotent)."""
    from atlasiam_sandbox.aws import lambda_service

    global _applied
    with _lock:
        if _applied:
            return
        _patch_sts()
        _patch_iam()
        _patch_s3()
        _patch_ec2()
        _patch_ecs()
        _patch_eks()
        lambda_service.patch_moto()
        _applied = True
