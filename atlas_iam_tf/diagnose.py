"""Diagnosis: pure rules from what verify saw to findings, each with its evidence and its fix.

The rule table is data: ``RULES`` drives both ``diagnose`` and the README's troubleshooting table
(``python -m atlas_iam_tf.diagnose`` prints it; a test keeps the README in step).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from atlas_iam_tf.verify.atlas import account_of, look_alikes
from atlas_iam_tf.verify.facts import NO_PRIVATE_URI, TargetFacts

Severity = Literal["error", "warning"]
_ROLE_WITH_PATH = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/.+/[^/]+$")
_INSTANCE_PROFILE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:instance-profile/")
_IAM_USER = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:user/")


@dataclass(frozen=True)
class Finding:
    """One diagnosed cause."""

    code: str
    severity: Severity
    message: str
    fix: str
    target: str = ""


@dataclass(frozen=True)
class Rule:
    """A diagnosis rule: when ``check`` returns a message, the finding is raised with ``fix``."""

    code: str
    severity: Severity
    symptom: str
    fix: str
    check: Callable[[TargetFacts], str | None]


def _auth_failed(f: TargetFacts) -> bool:
    return f.failed_kind in ("auth_failed", "unexpected_user")


def _identity_mismatch(f: TargetFacts) -> str | None:
    if _pod_used_node_role(f):
        return None  # that finding names the mismatch and its cause
    identity = f.probe.identity if f.probe else None
    if not (identity and f.expected_user) or identity == f.expected_user:
        return None
    if not (_auth_failed(f) or (f.probe and f.probe.ok is False)):
        return None
    who = f"the {f.kind} workload {f.workload}" if f.kind and f.workload else "the host"
    return f"{who} authenticates as {identity} but the database user is {f.expected_user}"


def _role_path(f: TargetFacts) -> str | None:
    bad = [u for u in (*f.db_usernames, f.expected_user or "") if _ROLE_WITH_PATH.match(u)]
    return f"database user {bad[0]} is a role ARN with a path; STS session ARNs never carry it" if bad else None


def _instance_profile(f: TargetFacts) -> str | None:
    bad = [u for u in (*f.db_usernames, f.expected_user or "") if _INSTANCE_PROFILE.match(u)]
    return (
        f"database user {bad[0]} is an instance-profile ARN; STS reports the role, never the profile" if bad else None
    )


def _scoped_elsewhere(f: TargetFacts) -> str | None:
    if not (_auth_failed(f) and f.user_scopes and f.cluster_name) or f.cluster_name in f.user_scopes:
        return None
    return f"the user is scoped to {', '.join(f.user_scopes)} but the URI targets {f.cluster_name}"


def _not_propagated(f: TargetFacts) -> str | None:
    identity = f.probe.identity if f.probe else None
    if f.failed_kind != "auth_failed" or (f.expected_user and identity and identity != f.expected_user):
        return None
    if f.step_kind("identity") == "credentials_rejected":
        return None  # STS refused the host's keys: Atlas's STS call fails the same way (credentials_rejected)
    if _pod_used_node_role(f):
        return None  # the pod logged in as its node's role, not as a missing user: pod_used_node_role says so
    if f.user_scopes and f.cluster_name and f.cluster_name not in f.user_scopes:
        return None
    step = f.probe.failed if f.probe else None
    tries = step.detail.get("attempts", 1) if step else 1
    return (
        f"Atlas refused {identity or 'the identity'} (code 18, {tries} attempt(s)): the user is missing or not yet live"
    )


def _session_token_user(f: TargetFacts) -> str | None:
    identity = f.probe.identity if f.probe else None
    if f.via != "session-token" or not _auth_failed(f) or not identity or not _IAM_USER.match(identity):
        return None
    if identity in f.db_usernames:
        return None
    return f"GetSessionToken identifies as the IAM user {identity}, which has no USER-type database user"


def _kind(kind: str, text: str) -> Callable[[TargetFacts], str | None]:
    def check(f: TargetFacts) -> str | None:
        if f.failed_kind != kind:
            return None
        step = f.probe.failed if f.probe else None
        return f"{text}: {step.error_message}" if step and step.error_message else text

    return check


def _advisory(name: str, kind: str, text: str) -> Callable[[TargetFacts], str | None]:
    def check(f: TargetFacts) -> str | None:
        step = f.probe.failed_step(name) if f.probe else None
        if step is None or step.error_kind != kind:
            return None
        return f"{text}: {step.error_message}" if step.error_message else text

    return check


def _bootstrap_problem(f: TargetFacts) -> bool:
    return f.step_kind("bootstrap") is not None


def _pymongo_missing(f: TargetFacts) -> str | None:
    # While atlasiam's user data has not installed it (or failed to), that is the cause to name, not pymongo.
    return None if _bootstrap_problem(f) else _kind("pymongo_missing", "pymongo is missing")(f)


def _credentials_rejected(f: TargetFacts) -> str | None:
    if f.logged_in:
        return None  # Atlas's own STS call accepted the same credentials: evidence only (sts_unreachable)
    if _irsa_role_refused(f):
        return None  # a pod's web identity refused: irsa_role_refused says why, the host advice does not fit
    return _advisory("identity", "credentials_rejected", "STS rejected the host's credentials")(f)


def _sts_unreachable(f: TargetFacts) -> str | None:
    step = f.probe.failed_step("identity") if f.probe else None
    if step is None or (step.error_kind == "credentials_rejected" and not f.logged_in):
        return None
    outcome = "the login worked anyway" if f.logged_in else "MONGODB-AWS itself needs no STS call from the host"
    return (
        f"the host could not call sts:GetCallerIdentity, so verify cannot show its identity ({outcome}): "
        f"{step.error_message}"
    )


def _wrong_region(f: TargetFacts) -> str | None:
    return f"instance {f.target} does not exist in region {f.region}" if f.instance_found is False else None


def _never_online(f: TargetFacts) -> str | None:
    if f.via != "ssm" or f.instance_found is False or f.ssm_ping == "Online" or f.command_status is not None:
        return None
    if f.not_probed:
        return None  # verify did not send the probe on purpose, so it never asked SSM
    if f.atlas is not None and f.atlas.missing_for_good:
        return None  # verify did not wait for the host: Atlas had already said the login cannot work
    return f"instance {f.target} never came Online in SSM (last PingStatus: {f.ssm_ping or 'not registered'})"


def _no_python(f: TargetFacts) -> str | None:
    if f.probe is None and ("python3: command not found" in f.stderr or "python3: No such file" in f.stderr):
        return "the host has no python3 to run the probe"
    return None


def _no_result(f: TargetFacts) -> str | None:
    if f.kind is not None:
        return None  # a workload's run: workload_not_run (or its kind's own finding) says what happened
    if f.probe is not None or f.probe_error is None or _no_python(f):
        return None
    return f"the probe printed no result (command status {f.command_status}): {f.probe_error}"


def _shared_file(f: TargetFacts) -> str | None:
    step = f.probe.step("credentials") if f.probe else None
    if step and step.ok and step.detail.get("source") == "shared-credentials-file":
        return "the host takes its AWS identity from a shared credentials file (~/.aws/credentials), not its role"
    return None


def _atlas_user_missing(f: TargetFacts) -> str | None:
    view = f.atlas
    if view is None or not view.missing_for_good:
        return None
    names = [u.username for u in view.same_account]
    listed = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "") if names else "none"
    account = account_of(view.expected) or "?"
    alike = "".join(f"; {line}" for line in look_alikes(view.expected, view.same_account))
    return (
        f"Atlas has no database user {view.expected} in $external, and no change is pending; "
        f"the project's users of account {account}: {listed}{alike}"
    )


def _atlas_unavailable(f: TargetFacts) -> str | None:
    return f"verify could not ask Atlas ({f.atlas_error}); it judged by the login alone" if f.atlas_error else None


# -- private mode (PrivateLink) ----------------------------------------------------------------------------------
# Atlas does not apply the IP access list to connections over a private endpoint, and it gives M0 and Flex clusters
# no private endpoints (https://www.mongodb.com/docs/atlas/security-private-endpoint/). Atlas's own word on the
# endpoint and the cluster (verify/privatelink.py) is the evidence; a login that worked outweighs it.


def _unsupported_tier(f: TargetFacts) -> str | None:
    tier = f.privatelink.tier if f.privatelink else None
    if not (f.private and tier and tier.without_privatelink) or f.logged_in:
        return None
    return (
        f"cluster {f.cluster_name or '?'} is {tier.describe()}: Atlas gives M0 and Flex clusters no private "
        "endpoints, so no private-endpoint connection string leads to it"
    )


def _privatelink_not_available(f: TargetFacts) -> str | None:
    problem = f.privatelink.problem if f.privatelink else None
    if not (f.private and problem) or f.logged_in:
        return None
    return f"Atlas says the private path is not AVAILABLE: {problem}"


def _no_private_uri(f: TargetFacts) -> str | None:
    if f.not_probed != NO_PRIVATE_URI or _unsupported_tier(f) or _privatelink_not_available(f):
        return None  # when Atlas named the cause, that finding says it
    endpoint = f.privatelink_endpoint_id or "the stack's interface endpoint"
    return (
        f"the stack has no private-endpoint connection string (mongodb_uri is null): when Terraform read "
        f"cluster {f.cluster_name or '?'}, Atlas listed none through {endpoint}, so there was nothing to log in with"
    )


def _privatelink_dns_off(f: TargetFacts) -> str | None:
    step = f.probe.failed if f.probe else None
    if not f.private or f.via != "ssm" or step is None or not f.dns_failed:
        return None
    failed = step.error_message or "the private-endpoint host name did not resolve"
    dns = f.vpc_dns
    if dns is not None:
        if not dns.off:
            return None  # both are on: the cause is elsewhere (dns_srv_failed / dns_failed say what failed)
        return (
            f"the host's VPC {dns.vpc_id} has {' and '.join(dns.off)} off, so the private-endpoint host names "
            f"do not resolve there: {failed}"
        )
    unread = f" (its VPC's DNS attributes could not be read: {f.vpc_dns_error})" if f.vpc_dns_error else ""
    return f"the private-endpoint host name does not resolve on the host{unread}: {failed}"


def _private_unreachable(f: TargetFacts) -> str | None:
    if not f.private or _privatelink_not_available(f):
        return None
    return _kind("connect_timeout", "connecting to the private endpoint timed out")(f)


def _public(check: Callable[[TargetFacts], str | None]) -> Callable[[TargetFacts], str | None]:
    """``check`` outside private mode only: its fix is about the public path (the IP access list)."""
    return lambda f: None if f.private else check(f)


def _not_lambda(check: Callable[[TargetFacts], str | None]) -> Callable[[TargetFacts], str | None]:
    """``check`` unless lambda_egress_not_listed names the cause (a function's egress, not a host's)."""
    return lambda f: None if _lambda_egress(f) else check(f)


def _unless_dns_off(check: Callable[[TargetFacts], str | None]) -> Callable[[TargetFacts], str | None]:
    """``check`` unless privatelink_dns_off names the cause of the same failure."""
    return lambda f: None if _privatelink_dns_off(f) else check(f)


# -- workloads (issue 12): the classic failure of each kind, from the probe's credential delivery and the run's
# evidence (verify/workload_run.py). -------------------------------------------------------------------------------
_PIP_UNREACHABLE = (
    "Could not find a version that satisfies",
    "No matching distribution found",
    "Failed to establish a new connection",
    "ConnectTimeoutError",
    "Temporary failure in name resolution",
    "Network is unreachable",
)


def _pod(f: TargetFacts) -> str:
    t = f.workload_target
    return f"{t.namespace}/{t.service_account}" if t else "?"


def _pod_used_node_role(f: TargetFacts) -> str | None:
    t = f.workload_target
    if f.kind != "eks" or t is None or f.credential_source != "imds":
        return None
    identity = f.probe.identity if f.probe else None
    if identity == t.role_arn:
        return None  # the node's role is the workload's own: odd, but the login is as intended
    seen = f"as {identity}" if identity else "(STS did not say as whom)"
    if t.identity == "irsa":
        annotation = f.evidence("irsa_role_annotation")
        why = (
            f"service account {_pod(f)} has no eks.amazonaws.com/role-arn annotation"
            if not annotation
            else f"service account {_pod(f)} is annotated with {annotation}, yet the pod got no web identity token "
            "(pods started before the annotation keep their environment: restart them)"
        )
        how = (
            f"kubectl annotate serviceaccount -n {t.namespace} {t.service_account} "
            f"eks.amazonaws.com/role-arn={t.role_arn}"
        )
    else:
        why = f"no EKS Pod Identity association covers {_pod(f)} on cluster {t.cluster or '?'}"
        how = (
            f"aws eks create-pod-identity-association --cluster-name {t.cluster or 'CLUSTER'} "
            f"--namespace {t.namespace} --service-account {t.service_account} --role-arn {t.role_arn}"
        )
    return f"the pod fell back to the node's role through IMDS {seen}, not {t.role_arn}: {why}; fix: {how}"


def _irsa_role_refused(f: TargetFacts) -> str | None:
    """IRSA: STS refused the pod's web identity for the role it asked for (the annotation's role, or its trust)."""
    t = f.workload_target
    if f.kind != "eks" or t is None or t.identity != "irsa" or f.logged_in or f.probe is None:
        return None
    refused = next(
        (s for s in f.probe.steps if not s.ok and "AssumeRoleWithWebIdentity" in (s.error_message or "")), None
    )
    if refused is None:
        return None
    annotation = f.evidence("irsa_role_annotation")
    asked = f"the role its annotation names ({annotation})" if annotation else "the role its annotation names"
    return f"STS refused the web identity of service account {_pod(f)} for {asked}: {refused.error_message}"


def _pod_identity_agent_down(f: TargetFacts) -> str | None:
    t = f.workload_target
    step = f.probe.failed_step("credentials") if f.probe else None
    if f.kind != "eks" or t is None or t.identity != "pod-identity" or step is None:
        return None
    state = step.detail.get("container_endpoint")
    if step.error_kind != "credentials_error" or state not in ("refused", "timeout", "error"):
        return None
    uri = step.detail.get("container_uri", "the agent's address")
    return f"the EKS Pod Identity agent at {uri} did not accept the connection ({state}): {step.error_message}"


def _imds_hop_limit(f: TargetFacts) -> str | None:
    step = f.probe.failed if f.probe else None
    if step is None or step.error_kind != "imds_hop_limit":
        return None
    return step.error_message or "the IMDSv2 token request got no answer from inside a container"


def _ecs_execution_role(f: TargetFacts) -> str | None:
    why = f.evidence("execution_role")
    if f.kind != "ecs" or not why:
        return None
    role = f.workload_target.role_arn if f.workload_target else "the workload's role"
    return f"{role} looks like a task EXECUTION role: {why}"


# How a TLS handshake reads when the peer dropped the connection without a word (closed, reset, or silent until
# the timeout), as a firewall or Atlas's access list does to an address it does not admit; a certificate problem
# reads otherwise (CERTIFICATE_VERIFY_FAILED, a hostname mismatch).
_TLS_DROPPED = ("EOF occurred", "UNEXPECTED_EOF", "Connection reset", "timed out")


def _connection_dropped(f: TargetFacts) -> bool:
    """The connection to the cluster went unanswered: it timed out, or was dropped during the TLS handshake."""
    if f.failed_kind in ("connect_timeout", "server_selection_timeout"):
        return True
    step = f.probe.failed if f.probe else None
    message = (step.error_message or "") if step else ""
    return f.failed_kind == "tls_failed" and any(marker in message for marker in _TLS_DROPPED)


def _lambda_egress(f: TargetFacts) -> str | None:
    if f.kind != "lambda" or f.private or not _connection_dropped(f):
        return None
    t = f.workload_target
    if t is not None and t.subnet_ids:
        vpc = f.evidence("vpc_id") or "its VPC"
        where = (
            f"the function runs in {vpc} (subnets {', '.join(t.subnet_ids)}): it reaches the internet only "
            "through its subnets' NAT gateway, whose public address must be on the list"
        )
    else:
        where = "the function runs outside any VPC: its egress address is one of AWS's, never a fixed one to list"
    step = f.probe.failed if f.probe else None
    return f"Atlas's public address did not answer the function ({where}): {step.error_message if step else ''}"


def _lambda_role_not_assumable(f: TargetFacts) -> str | None:
    message = str(f.evidence("create_error") or "")
    if f.kind != "lambda" or f.evidence("create_error_code") != "InvalidParameterValueException":
        return None
    return f"Lambda refused the function's role: {message}" if "role" in message.lower() else None


def _pip_unreachable(f: TargetFacts) -> bool:
    return f.probe is None and any(marker in f.stderr for marker in _PIP_UNREACHABLE)


def _workload_no_egress(f: TargetFacts) -> str | None:
    if f.kind not in ("ecs", "eks"):
        return None
    what = "task" if f.kind == "ecs" else "pod"
    pulled = f.evidence("pull_error")
    if pulled:
        image = f.evidence("image")
        return f"the {what} could not pull the probe's image{f' {image}' if image else ''}: {pulled}"
    if _pip_unreachable(f):
        last = next((line for line in reversed(f.stderr.splitlines()) if line.strip()), "")
        return f"the {what} could not pip-install the probe's pinned requirements from PyPI: {last.strip()}"
    return None


def _workload_explained(f: TargetFacts) -> bool:
    return bool(_lambda_role_not_assumable(f) or _workload_no_egress(f))


def _workload_not_run(f: TargetFacts) -> str | None:
    if f.kind is None or f.probe is not None or f.not_probed or _workload_explained(f):
        return None
    return f"the probe gave no result in {f.workload or f.target}: {f.probe_error or 'no output'}"


RULES: tuple[Rule, ...] = (
    Rule(
        "atlas_user_missing",
        "error",
        "Atlas has no database user for the host's role",
        "Create it with exactly the host's role ARN as username, aws_iam_type ROLE, auth database $external "
        "(atlasiam apply does); a role name, an instance-profile ARN or a role ARN with a path never matches "
        "what STS reports.",
        _atlas_user_missing,
    ),
    Rule(
        "atlas_unavailable",
        "warning",
        "verify could not ask the Atlas Admin API",
        "Check MONGODB_ATLAS_CLIENT_ID/_SECRET (or the API key pair), that it has the Project Read Only role, "
        "and that this machine is on the API access list.",
        _atlas_unavailable,
    ),
    Rule(
        "privatelink_unsupported_tier",
        "error",
        "The cluster's tier has no private endpoints (M0, Flex)",
        'Use a dedicated cluster (M10 or larger) for private endpoints, or set network_mode = "public" (the host '
        "then connects over the cluster's public address, admitted by the IP access list) and apply.",
        _unsupported_tier,
    ),
    Rule(
        "privatelink_not_available",
        "error",
        "Atlas has the private endpoint, or its endpoint service, in another state than AVAILABLE",
        "INITIATING, PENDING_ACCEPTANCE or PENDING: Atlas and AWS are still connecting it; wait a few minutes and "
        "verify again. REJECTED or FAILED: check that the interface endpoint is in the endpoint service's region "
        "and connects to its service name, and that its security group admits the host (TCP 1024-65535); then "
        "recreate it (atlasiam apply). In no service: add it with mongodbatlas_privatelink_endpoint_service.",
        _privatelink_not_available,
    ),
    Rule(
        "private_uri_missing",
        "error",
        "The stack has no private-endpoint connection string",
        "Atlas lists one for an interface endpoint only once it is AVAILABLE, and only for a dedicated (M10+) "
        "cluster: run verify with Atlas credentials (MONGODB_ATLAS_*) to learn which is missing, fix it, then "
        "atlasiam apply to read the string.",
        _no_private_uri,
    ),
    Rule(
        "wrong_region",
        "error",
        "The instance is not found",
        "Pass the instance's region with --region (or fix aws.region).",
        _wrong_region,
    ),
    Rule(
        "ssm_not_online",
        "error",
        "The instance never comes Online in SSM",
        "Attach AmazonSSMManagedInstanceCore to the instance role and give the subnet a route to SSM "
        "(internet gateway, NAT, or VPC endpoints for ssm, ssmmessages, ec2messages); the agent needs outbound 443.",
        _never_online,
    ),
    Rule(
        "bootstrap_failed",
        "error",
        "atlasiam's bootstrap (user data) failed on the host",
        "Read /var/log/atlasiam-user-data.log on the host (or the instance's system log): the usual cause is no "
        "route to the Amazon Linux repositories (dnf) or to PyPI (pip). Fix it, then replace the instance: user "
        "data runs only at first boot.",
        _advisory("bootstrap", "bootstrap_failed", "the host's bootstrap failed"),
    ),
    Rule(
        "bootstrap_unfinished",
        "error",
        "The host is still installing Python and pymongo",
        "atlasiam's user data takes a minute or two after launch: rerun verify with a longer --wait (e.g. "
        "--wait 300). If it never finishes, read /var/log/atlasiam-user-data.log on the host.",
        _advisory("bootstrap", "bootstrap_unfinished", "the host's bootstrap has not finished"),
    ),
    Rule(
        "lambda_role_not_assumable",
        "error",
        "Lambda cannot assume the workload's role",
        "The role's trust policy must admit lambda.amazonaws.com with sts:AssumeRole (atlasiam's Lambda roles do); "
        "a role created seconds ago may not have propagated in IAM yet: rerun verify shortly.",
        _lambda_role_not_assumable,
    ),
    Rule(
        "workload_no_egress",
        "error",
        "The ECS task or EKS pod cannot fetch the probe (image pull or pip)",
        "The default probe image comes from ECR Public and pip-installs pymongo[aws] from PyPI: give the "
        "subnets a route to the internet (a NAT gateway; for ECS in a public subnet, assign_public_ip), or set "
        "the workload's probe_image to an image in your own registry that has python3 and pymongo[aws].",
        _workload_no_egress,
    ),
    Rule(
        "workload_not_run",
        "error",
        "The probe gave no result in the workload",
        "Read the reason: it is the service's own answer (Lambda, ECS, Kubernetes). Check the permissions verify "
        "needs there (lambda:CreateFunction/InvokeFunction/DeleteFunction and iam:PassRole; ecs:RunTask, "
        "logs:GetLogEvents; create/delete Jobs, read pods and logs in the namespace) and the workload's settings.",
        _workload_not_run,
    ),
    Rule(
        "pod_used_node_role",
        "error",
        "The pod used the node's role, not the workload's",
        "IRSA: annotate the service account with eks.amazonaws.com/role-arn = the workload's role ARN and restart "
        "the pods; Pod Identity: create the association for the cluster, namespace and service account "
        "(atlasiam apply does for the workloads it manages). The finding names the exact command.",
        _pod_used_node_role,
    ),
    Rule(
        "irsa_role_refused",
        "error",
        "STS refuses an IRSA pod's web identity",
        "Annotate the service account with the workload's role ARN (eks.amazonaws.com/role-arn; see the workloads "
        "output), and make that role trust the cluster's IAM OIDC provider for sub = "
        "system:serviceaccount:NAMESPACE:SERVICE_ACCOUNT and aud = sts.amazonaws.com (the role atlasiam creates "
        "does); the IAM OIDC provider for the cluster's issuer must exist. Restart the pods after changing it.",
        _irsa_role_refused,
    ),
    Rule(
        "pod_identity_agent_down",
        "error",
        "The EKS Pod Identity agent does not answer",
        "Install or restart the agent add-on: aws eks create-addon --cluster-name CLUSTER --addon-name "
        "eks-pod-identity-agent (or check its DaemonSet in kube-system: kubectl -n kube-system get ds "
        "eks-pod-identity-agent).",
        _pod_identity_agent_down,
    ),
    Rule(
        "imds_hop_limit",
        "error",
        "A container gets no IMDSv2 token (hop limit 1)",
        "Set the nodes' HttpPutResponseHopLimit to 2 (launch template metadata_options "
        "http_put_response_hop_limit = 2; aws ec2 modify-instance-metadata-options --http-put-response-hop-limit "
        "2), or better give the pod its own role with IRSA or EKS Pod Identity.",
        _imds_hop_limit,
    ),
    Rule(
        "ecs_execution_role",
        "error",
        "The workload's role is an ECS task execution role",
        "The app's containers get the task role (taskRoleArn), never the execution role (which ECS uses to pull "
        "images and write logs): register the task role's ARN as the Atlas database user, and give the task "
        "definition that taskRoleArn.",
        _ecs_execution_role,
    ),
    Rule(
        "lambda_egress_not_listed",
        "error",
        "The Lambda function's egress address is not on the Atlas access list",
        "A function outside a VPC has no fixed address: put it in a VPC whose subnets route through a NAT gateway "
        "and list the NAT's public address (access_list_cidrs), or use private mode (PrivateLink).",
        _lambda_egress,
    ),
    Rule(
        "no_python",
        "error",
        "The probe cannot start",
        "Install python3 on the host (atlasiam's user data installs "
        "/opt/atlasiam/venv); check /var/log/atlasiam-user-data.log.",
        _no_python,
    ),
    Rule(
        "probe_no_result",
        "error",
        "The probe printed no result",
        "Read the command's stderr; rerun verify. Output over SSM's 24,000-character cap is cut off.",
        _no_result,
    ),
    Rule(
        "pymongo_missing",
        "error",
        "pymongo is not installed",
        "pip install 'pymongo[aws]' in the Python the probe uses (/opt/atlasiam/venv/bin/python3).",
        _pymongo_missing,
    ),
    Rule(
        "aws_extra_missing",
        "error",
        "pymongo lacks MONGODB-AWS support",
        "pip install 'pymongo[aws]' (the aws extra brings pymongo-auth-aws).",
        _kind("aws_extra_missing", "pymongo has no MONGODB-AWS support"),
    ),
    Rule(
        "no_credentials",
        "error",
        "No AWS credentials on the host",
        "Attach an instance profile; require IMDSv2 "
        "with http_put_response_hop_limit = 2 when containers call IMDS; unset stray AWS_* variables.",
        _kind("no_credentials", "no AWS credentials"),
    ),
    Rule(
        "shared_credentials_file",
        "warning",
        "A stray ~/.aws/credentials picks the identity",
        "Remove the shared credentials file (or AWS_PROFILE) so the SDK uses the instance role.",
        _shared_file,
    ),
    Rule(
        "credentials_rejected",
        "error",
        "STS rejects the host's credentials",
        "The keys are unknown, expired or signed wrongly: remove stray AWS_* variables or credential files on the "
        "host and let the SDK use the instance role.",
        _credentials_rejected,
    ),
    Rule(
        "sts_unreachable",
        "warning",
        "STS cannot be called from the host",
        "Nothing for the login: Atlas calls STS, the host does not. To see the host's identity in verify, allow "
        "outbound 443 to STS (or add a VPC endpoint for sts).",
        _sts_unreachable,
    ),
    Rule(
        "identity_mismatch",
        "error",
        "Atlas sees another identity than the database user",
        "Make the database username the ARN the host really has (atlasiam uses the role's ARN), or run on the "
        "host that has that role.",
        _identity_mismatch,
    ),
    Rule(
        "role_arn_has_path",
        "error",
        "The username is a role ARN with a path",
        'Create the role with path = "/" (atlasiam does) and use arn:aws:iam::ACCOUNT:role/NAME as username.',
        _role_path,
    ),
    Rule(
        "instance_profile_arn",
        "error",
        "The username is an instance-profile ARN",
        "Use the role ARN (arn:aws:iam::ACCOUNT:role/NAME) as the database username.",
        _instance_profile,
    ),
    Rule(
        "iam_user_needs_user_type",
        "error",
        "The session-token path has no USER-type user",
        "Add the IAM user's ARN to atlas.iam_user_arns and apply, or use --assume-role.",
        _session_token_user,
    ),
    Rule(
        "user_scoped_to_other_cluster",
        "error",
        "The user is scoped to another cluster",
        "Point the URI at the cluster the user is scoped to, or change atlas.cluster_name and apply.",
        _scoped_elsewhere,
    ),
    Rule(
        "user_not_found_or_not_propagated",
        "error",
        "Atlas refuses the login (code 18)",
        "Check the user exists (atlasiam output, Atlas UI); new users take a minute or two to propagate: "
        "verify --wait 300.",
        _not_propagated,
    ),
    Rule(
        "privatelink_dns_off",
        "error",
        "The private-endpoint host names do not resolve in the host's VPC",
        "Turn on both DNS attributes of the host's VPC, enableDnsSupport and enableDnsHostnames "
        "(aws_vpc: enable_dns_support and enable_dns_hostnames = true; atlasiam's own VPC has them), or forward "
        "the VPC's DNS queries to the Amazon-provided resolver.",
        _privatelink_dns_off,
    ),
    Rule(
        "dns_srv_failed",
        "error",
        "The cluster's SRV record does not resolve",
        "Check the cluster host name and the VPC's DNS settings (enableDnsSupport).",
        _unless_dns_off(_kind("dns_srv_failed", "SRV lookup failed")),
    ),
    Rule(
        "dns_failed",
        "error",
        "The cluster host does not resolve",
        "Check the host name and DNS settings.",
        _unless_dns_off(_kind("dns_failed", "DNS lookup failed")),
    ),
    Rule(
        "host_not_on_access_list",
        "error",
        "Connecting times out",
        "Add the host's public IP to the Atlas project access list (atlasiam does; new entries take a minute), "
        "and allow egress to 27015-27017.",
        _not_lambda(_public(_kind("connect_timeout", "connecting timed out"))),
    ),
    Rule(
        "private_endpoint_unreachable",
        "error",
        "Connecting to the private endpoint times out",
        "The access list plays no part here. Let the host reach the interface endpoint: its security group must "
        "admit the host on TCP 1024-65535 (Atlas gives each node its own port) and the host's egress must allow "
        "the same; with Atlas credentials verify also checks that Atlas has the endpoint AVAILABLE.",
        _private_unreachable,
    ),
    Rule(
        "connect_refused",
        "error",
        "The connection is refused",
        "Check the URI's host and port.",
        _kind("connect_failed", "connecting failed"),
    ),
    Rule(
        "tls_failed",
        "error",
        "The TLS handshake fails",
        "Check the system CA bundle and any TLS-intercepting proxy.",
        _not_lambda(_kind("tls_failed", "TLS failed")),
    ),
    Rule(
        "server_selection_timeout",
        "error",
        "The driver finds no server",
        "Check the access list and the URI (replicaSet, tls); retry with --wait after a fresh apply.",
        _not_lambda(_kind("server_selection_timeout", "no server could be selected")),
    ),
)


def diagnose(facts: TargetFacts) -> list[Finding]:
    """Every finding the rules raise for ``facts`` (in rule order)."""
    out: list[Finding] = []
    for rule in RULES:
        message = rule.check(facts)
        if message:
            out.append(Finding(rule.code, rule.severity, message, rule.fix, facts.target))
    if not out and facts.probe is not None and not facts.probe.ok:
        step = facts.probe.failed
        text = f"{step.name}: {step.error_message}" if step else "the probe failed"
        out.append(Finding("probe_failed", "error", text, "Read the probe's step detail (--json).", facts.target))
    return out


def troubleshooting_markdown() -> str:
    """The README's troubleshooting table, generated from ``RULES``."""
    lines = ["| code | symptom | fix |", "|---|---|---|"]
    lines += [f"| `{r.code}` | {r.symptom} | {r.fix} |" for r in RULES]
    return "\n".join(lines) + "\n"
