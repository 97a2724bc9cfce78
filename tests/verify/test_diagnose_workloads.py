"""Diagnosis of workloads (issue 12): each kind's classic failure fires on its evidence, and only then."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from atlas_iam_tf.diagnose import _not_lambda, diagnose
from atlas_iam_tf.verify.facts import TargetFacts
from atlas_iam_tf.verify.report import report_for
from atlas_iam_tf.verify.result import ProbeResult, parse_probe_output
from atlas_iam_tf.verify.workload import WorkloadTarget
from atlas_iam_tf.verify.workload_run import CREATE_FAILED, FAILED, PULL_FAILED, SUCCESS, WorkloadRun

ROLE = "arn:aws:iam::123456789012:role/orders-api"
NODE = "arn:aws:iam::123456789012:role/eks-node-group"
STEPS = ["driver", "credentials", "identity", "dns", "reach", "auth", "whoami"]
AGENT = "http://169.254.170.23/v1/credentials"

LAMBDA = WorkloadTarget("api", "lambda", ROLE)
LAMBDA_VPC = WorkloadTarget("api", "lambda", ROLE, subnet_ids=("subnet-0a",), security_group_ids=("sg-0a",))
ECS = WorkloadTarget(
    "worker",
    "ecs",
    ROLE,
    subnet_ids=("subnet-0a",),
    cluster="apps",
    execution_role_arn="arn:aws:iam::123456789012:role/exec",
    log_group="/atlasiam/verify",
)
IRSA = WorkloadTarget("web", "eks", ROLE, cluster="prod", namespace="shop", service_account="web", identity="irsa")
POD_ID = WorkloadTarget(
    "web", "eks", ROLE, cluster="prod", namespace="shop", service_account="web", identity="pod-identity"
)


def probe(
    fail: str | None = None,
    kind: str = "",
    identity: str = ROLE,
    delivery: str = "lambda-environment",
    message: str | None = None,
    **detail: Any,
) -> ProbeResult:
    """A probe result as the probe prints it, failing at step ``fail`` with ``kind`` and ``detail``."""
    steps: list[dict[str, Any]] = []
    for name in STEPS:
        step_detail: dict[str, Any] = {}
        if name == "credentials":
            step_detail = {"source": "x", "delivery": delivery}
        if name == "identity":
            session = identity.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/") + "/s"
            step_detail = {"sts_arn": session, "mapped_arn": identity}
        if name == "whoami":
            step_detail = {"user": identity, "db": "$external"}
        if name == fail:
            said = message or f"{kind} happened"
            error = {"kind": kind, "message": said, "code": 18 if kind == "auth_failed" else None}
            steps.append({"name": name, "ok": False, "ms": 1.0, "detail": detail, "error": error})
            break
        steps.append({"name": name, "ok": True, "ms": 1.0, "detail": step_detail})
    return parse_probe_output(json.dumps({"probe": 1, "ok": fail is None, "host": "h", "steps": steps, "ms": 3.0}))


def facts(target: WorkloadTarget, p: ProbeResult | None, run: WorkloadRun | None = None, **kw: Any) -> TargetFacts:
    base: dict[str, Any] = {
        "target": target.name,
        "expected_user": target.role_arn,
        "db_usernames": (target.role_arn,),
        "region": "eu-west-1",
        "via": target.kind,
        "workload": target.name,
        "kind": target.kind,
        "workload_target": target,
        "run": run or WorkloadRun(SUCCESS),
        "command_status": (run or WorkloadRun(SUCCESS)).status,
        "stderr": (run.log_tail if run else ""),
        "network_mode": "public",
        "probe": p,
        "probe_error": None if p is not None else "no result",
    }
    return TargetFacts(**(base | kw))


def codes(f: TargetFacts) -> list[str]:
    return [x.code for x in diagnose(f)]


NODE_ROLE_PROBE = probe("auth", "auth_failed", identity=NODE, delivery="imds")
PIP_LOG = (
    "WARNING: Retrying (Retry(total=4)) after connection broken by 'ConnectTimeoutError(<HTTPSConnection>, "
    "'Connection to package-index.example timed out. (connect timeout=15)')': /simple/pymongo/\n"
    "ERROR: Could not find a version that satisfies the requirement pymongo[aws]==4.20.1 (from versions: none)\n"
    "ERROR: No matching distribution found for pymongo[aws]==4.20.1"
)

TLS_EOF = "[SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol (_ssl.c:1006)"
TLS_CERT = "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate"


def _irsa_refused(identity_message: str) -> ProbeResult:
    """An IRSA pod whose web identity STS refused: the identity step (advisory) and the login both fail."""
    steps = [
        {"name": "driver", "ok": True, "ms": 1.0, "detail": {}},
        {"name": "credentials", "ok": True, "ms": 1.0, "detail": {"delivery": "web-identity-token-file"}},
        {
            "name": "identity",
            "ok": False,
            "ms": 1.0,
            "detail": {},
            "error": {"kind": "credentials_rejected", "message": identity_message, "code": None},
        },
        {"name": "dns", "ok": True, "ms": 1.0, "detail": {"hosts": ["c:27017"]}},
        {"name": "reach", "ok": True, "ms": 1.0, "detail": {}},
        {
            "name": "auth",
            "ok": False,
            "ms": 1.0,
            "detail": {},
            "error": {"kind": "driver_error", "message": identity_message, "code": None},
        },
    ]
    return parse_probe_output(json.dumps({"probe": 1, "ok": False, "host": "h", "steps": steps, "ms": 3.0}))


def _sts_silent(delivery: str) -> ProbeResult:
    """A pod whose credentials came by ``delivery`` but that STS did not answer; Atlas refused the login."""
    steps = [
        {"name": "driver", "ok": True, "ms": 1.0, "detail": {}},
        {"name": "credentials", "ok": True, "ms": 1.0, "detail": {"delivery": delivery}},
        {
            "name": "identity",
            "ok": False,
            "ms": 1.0,
            "detail": {},
            "error": {"kind": "sts_error", "message": "sts:GetCallerIdentity failed: timed out", "code": None},
        },
        {"name": "dns", "ok": True, "ms": 1.0, "detail": {"hosts": ["c:27017"]}},
        {"name": "reach", "ok": True, "ms": 1.0, "detail": {}},
        {
            "name": "auth",
            "ok": False,
            "ms": 1.0,
            "detail": {},
            "error": {"kind": "auth_failed", "message": "Authentication failed.", "code": 18},
        },
    ]
    return parse_probe_output(json.dumps({"probe": 1, "ok": False, "host": "h", "steps": steps, "ms": 3.0}))


REFUSED = (
    "sts:GetCallerIdentity failed: An error occurred (AccessDenied) when calling the AssumeRoleWithWebIdentity "
    "operation: Not authorized to perform sts:AssumeRoleWithWebIdentity"
)


# (case, facts, codes): fires on its evidence; the near misses beside each show where it stops.
CASES: list[tuple[str, TargetFacts, list[str]]] = [
    ("lambda-passes", facts(LAMBDA, probe()), []),
    ("irsa-node-role", facts(IRSA, NODE_ROLE_PROBE), ["pod_used_node_role"]),
    ("pod-identity-node-role", facts(POD_ID, NODE_ROLE_PROBE), ["pod_used_node_role"]),
    (  # STS did not answer the pod (sts_unreachable says so), but IMDS gave it the node's role all the same
        "irsa-node-role-sts-silent",
        facts(IRSA, _sts_silent("imds")),
        ["pod_used_node_role", "sts_unreachable"],
    ),
    (  # ECS on EC2 falls back to the instance's role the same way: not a pod, so not pod_used_node_role
        "ecs-task-on-the-instance-role",
        facts(ECS, probe("auth", "auth_failed", identity=NODE, delivery="imds")),
        ["identity_mismatch"],
    ),
    ("eks-node-role-is-the-workloads-own", facts(IRSA, probe(identity=ROLE, delivery="imds")), []),
    ("irsa-web-identity", facts(IRSA, probe(delivery="web-identity-token-file")), []),
    ("irsa-role-refused", facts(IRSA, _irsa_refused(REFUSED)), ["irsa_role_refused"]),
    ("ec2-imds-is-normal", facts(WorkloadTarget("h", "ecs", ROLE), probe(delivery="imds")), []),
    (
        "agent-refused",
        facts(POD_ID, probe("credentials", "credentials_error", container_uri=AGENT, container_endpoint="refused")),
        ["pod_identity_agent_down"],
    ),
    (
        "agent-timed-out",
        facts(POD_ID, probe("credentials", "credentials_error", container_uri=AGENT, container_endpoint="timeout")),
        ["pod_identity_agent_down"],
    ),
    (
        "agent-connection-error",
        facts(POD_ID, probe("credentials", "credentials_error", container_uri=AGENT, container_endpoint="error")),
        ["pod_identity_agent_down"],
    ),
    (
        "agent-answers-but-refuses-token",
        facts(POD_ID, probe("credentials", "credentials_error", container_uri=AGENT, container_endpoint="open")),
        ["probe_failed"],
    ),
    (
        "irsa-credentials-error-is-not-the-agent",
        facts(IRSA, probe("credentials", "credentials_error", container_uri=AGENT, container_endpoint="refused")),
        ["probe_failed"],
    ),
    ("hop-limit", facts(IRSA, probe("credentials", "imds_hop_limit", imds_token="timeout")), ["imds_hop_limit"]),
    ("no-credentials-is-not-hop-limit", facts(IRSA, probe("credentials", "no_credentials")), ["no_credentials"]),
    (
        "ecs-execution-role",
        facts(ECS, probe(delivery="ecs-container-endpoint"), WorkloadRun(SUCCESS, evidence={"execution_role": "x"})),
        ["ecs_execution_role"],
    ),
    ("ecs-task-role", facts(ECS, probe(delivery="ecs-container-endpoint")), []),
    (
        "execution-role-evidence-only-for-ecs",
        facts(LAMBDA, probe(), WorkloadRun(SUCCESS, evidence={"execution_role": "x"})),
        [],
    ),
    ("lambda-egress", facts(LAMBDA, probe("reach", "connect_timeout")), ["lambda_egress_not_listed"]),
    (
        "lambda-egress-selection",
        facts(LAMBDA_VPC, probe("auth", "server_selection_timeout")),
        ["lambda_egress_not_listed"],
    ),
    (  # the listener dropped the connection in the TLS handshake: Atlas's access list, as a timeout is
        "lambda-egress-tls-dropped",
        facts(LAMBDA, probe("reach", "tls_failed", message=f"TLS handshake with h:27017 failed: {TLS_EOF}")),
        ["lambda_egress_not_listed"],
    ),
    (
        "lambda-tls-certificate-is-not-egress",
        facts(LAMBDA, probe("reach", "tls_failed", message=f"TLS handshake with h:27017 failed: {TLS_CERT}")),
        ["tls_failed"],
    ),
    (
        "lambda-private-timeout-is-the-endpoint",
        facts(LAMBDA, probe("reach", "connect_timeout"), network_mode="private"),
        ["private_endpoint_unreachable"],
    ),
    ("ecs-timeout-is-the-access-list", facts(ECS, probe("reach", "connect_timeout")), ["host_not_on_access_list"]),
    (
        "lambda-role-not-assumable",
        facts(
            LAMBDA,
            None,
            WorkloadRun(
                CREATE_FAILED,
                reason="CreateFunction: The role defined for the function cannot be assumed by Lambda.",
                evidence={
                    "create_error_code": "InvalidParameterValueException",
                    "create_error": "The role defined for the function cannot be assumed by Lambda.",
                },
            ),
        ),
        ["lambda_role_not_assumable"],
    ),
    (
        "lambda-other-create-error",
        facts(
            LAMBDA,
            None,
            WorkloadRun(
                CREATE_FAILED,
                evidence={"create_error_code": "InvalidParameterValueException", "create_error": "Bad Timeout"},
            ),
        ),
        ["workload_not_run"],
    ),
    (  # RegisterTaskDefinition refusing a role is ECS's word, not Lambda's trust policy
        "ecs-create-error-about-a-role-is-not-lambdas",
        facts(
            ECS,
            None,
            WorkloadRun(
                CREATE_FAILED,
                evidence={
                    "create_error_code": "InvalidParameterValueException",
                    "create_error": "The role defined for the task cannot be assumed.",
                },
            ),
        ),
        ["workload_not_run"],
    ),
    (
        "ecs-pull-failed",
        facts(ECS, None, WorkloadRun(PULL_FAILED, evidence={"pull_error": "CannotPullContainerError: timeout"})),
        ["workload_no_egress"],
    ),
    (
        "eks-pip-failed",
        facts(IRSA, None, WorkloadRun(FAILED, stdout=PIP_LOG, log_tail=PIP_LOG)),
        ["workload_no_egress"],
    ),
    (
        "lambda-pip-text-is-not-egress",
        facts(LAMBDA, None, WorkloadRun(FAILED, log_tail=PIP_LOG)),
        ["workload_not_run"],
    ),
    (
        "eks-pip-retried-then-installed",
        facts(IRSA, probe(delivery="web-identity-token-file"), WorkloadRun(SUCCESS, log_tail=PIP_LOG.splitlines()[0])),
        [],
    ),
    ("eks-crash", facts(IRSA, None, WorkloadRun(FAILED, log_tail="Segmentation fault")), ["workload_not_run"]),
]


@pytest.mark.parametrize(("case", "f", "expected"), CASES, ids=[c[0] for c in CASES])
def test_workload_rules(case: str, f: TargetFacts, expected: list[str]) -> None:
    assert codes(f) == expected, case


def test_the_node_role_finding_names_the_service_account_and_the_fix_by_identity() -> None:
    [irsa] = diagnose(facts(IRSA, NODE_ROLE_PROBE))
    assert "shop/web has no eks.amazonaws.com/role-arn annotation" in irsa.message
    assert f"kubectl annotate serviceaccount -n shop web eks.amazonaws.com/role-arn={ROLE}" in irsa.message
    assert NODE in irsa.message
    [pod] = diagnose(facts(POD_ID, NODE_ROLE_PROBE))
    assert "no EKS Pod Identity association covers shop/web on cluster prod" in pod.message
    assert f"--namespace shop --service-account web --role-arn {ROLE}" in pod.message
    annotated = facts(IRSA, NODE_ROLE_PROBE, WorkloadRun(FAILED, evidence={"irsa_role_annotation": ROLE}))
    [finding] = diagnose(annotated)
    assert f"is annotated with {ROLE}" in finding.message


def test_the_agent_finding_names_its_uri() -> None:
    p = probe("credentials", "credentials_error", container_uri=AGENT, container_endpoint="refused")
    [finding] = diagnose(facts(POD_ID, p))
    assert AGENT in finding.message
    assert "aws eks create-addon" in finding.fix and "eks-pod-identity-agent" in finding.fix


def test_the_hop_limit_fix_names_the_setting() -> None:
    [finding] = diagnose(facts(IRSA, probe("credentials", "imds_hop_limit")))
    assert "HttpPutResponseHopLimit to 2" in finding.fix


def test_the_lambda_egress_finding_says_whether_the_function_was_in_a_vpc() -> None:
    [outside] = diagnose(facts(LAMBDA, probe("reach", "connect_timeout")))
    assert "outside any VPC" in outside.message
    run = WorkloadRun(FAILED, evidence={"vpc_id": "vpc-0abc"})
    [inside] = diagnose(facts(LAMBDA_VPC, probe("reach", "connect_timeout"), run))
    assert "runs in vpc-0abc (subnets subnet-0a)" in inside.message
    assert "NAT" in inside.fix and "access_list_cidrs" in inside.fix


def test_an_execution_role_fails_the_row_even_when_the_login_works() -> None:
    run = WorkloadRun(SUCCESS, evidence={"execution_role": "it has AmazonECSTaskExecutionRolePolicy attached"})
    report = report_for(facts(ECS, probe(delivery="ecs-container-endpoint"), run))
    assert [(f.code, f.severity) for f in report.findings] == [("ecs_execution_role", "error")]
    assert "AmazonECSTaskExecutionRolePolicy" in report.findings[0].message
    assert not report.ok


def test_a_workload_row_carries_its_workload_kind_and_credential_source() -> None:
    row = report_for(facts(IRSA, probe(delivery="web-identity-token-file"))).to_dict()
    assert (row["target"], row["workload"], row["kind"], row["credential_source"]) == (
        "web",
        "web",
        "eks",
        "web-identity-token-file",
    )
    host = report_for(TargetFacts(target="i-0abc", probe=probe(delivery="imds"))).to_dict()
    assert (host["workload"], host["kind"], host["credential_source"]) == (None, "ec2", "imds")


def test_an_irsa_pod_refused_by_sts_is_named_and_not_given_the_hosts_advice() -> None:
    run = WorkloadRun(SUCCESS, evidence={"irsa_role_annotation": NODE})
    codes = [x.code for x in diagnose(facts(IRSA, _irsa_refused(REFUSED), run))]
    assert "irsa_role_refused" in codes and "credentials_rejected" not in codes
    [finding] = [x for x in diagnose(facts(IRSA, _irsa_refused(REFUSED), run)) if x.code == "irsa_role_refused"]
    assert f"service account shop/web for the role its annotation names ({NODE})" in finding.message


def test_irsa_refusal_needs_an_irsa_pod_and_a_web_identity_refusal() -> None:
    other = REFUSED.replace("AssumeRoleWithWebIdentity", "GetCallerIdentity")
    assert "irsa_role_refused" not in [x.code for x in diagnose(facts(IRSA, _irsa_refused(other)))]
    assert "credentials_rejected" in [x.code for x in diagnose(facts(IRSA, _irsa_refused(other)))]
    assert "irsa_role_refused" not in [x.code for x in diagnose(facts(POD_ID, _irsa_refused(REFUSED)))]


@pytest.mark.parametrize(
    ("target", "evidence", "message"),
    [
        (
            ECS,
            {"image": "python:3.12-slim"},
            "the task could not pull the probe's image python:3.12-slim: CannotPullContainerError: timeout",
        ),
        (IRSA, {"image": "python:3.12-slim"}, "the pod could not pull the probe's image python:3.12-slim: "),
        (ECS, {}, "the task could not pull the probe's image: CannotPullContainerError: timeout"),
    ],
    ids=["ecs-task-names-the-image", "eks-pod-names-the-image", "no-image-no-gap"],
)
def test_the_pull_finding_names_task_or_pod_and_the_image(
    target: WorkloadTarget, evidence: dict[str, str], message: str
) -> None:
    run = WorkloadRun(PULL_FAILED, evidence={"pull_error": "CannotPullContainerError: timeout"} | evidence)
    [finding] = diagnose(facts(target, None, run))
    assert (finding.code, finding.severity) == ("workload_no_egress", "error")
    assert finding.message.startswith(message)
    assert finding.message.endswith(": CannotPullContainerError: timeout")


POD_ID_NO_CLUSTER = WorkloadTarget("web", "eks", ROLE, namespace="shop", service_account="web", identity="pod-identity")
LAMBDA_TWO_SUBNETS = WorkloadTarget("api", "lambda", ROLE, subnet_ids=("subnet-0a", "subnet-0b"))
HOP_LIMIT_SAID = "no AWS credentials: inside a container the IMDSv2 token request got no answer"
FELL_BACK = f"the pod fell back to the node's role through IMDS as {NODE}, not {ROLE}"
IN_VPC = "it reaches the internet only through its subnets' NAT gateway, whose public address must be on the list"


def _no_message(step: str, kind: str) -> ProbeResult:
    """A probe that fails at ``step`` with ``kind`` and says nothing more."""
    doc: dict[str, Any] = {"probe": 1, "ok": False, "host": "h", "ms": 3.0}
    doc["steps"] = [
        {"name": "driver", "ok": True, "ms": 1.0, "detail": {}},
        {"name": step, "ok": False, "ms": 1.0, "detail": {}, "error": {"kind": kind}},
    ]
    return parse_probe_output(json.dumps(doc))


# (case, facts, [(code, severity, message)]): every finding of the case, word for word, as the user reads it.
FINDINGS: list[tuple[str, TargetFacts, list[tuple[str, str, str]]]] = [
    (
        "irsa-node-role",
        facts(IRSA, NODE_ROLE_PROBE),
        [
            (
                "pod_used_node_role",
                "error",
                f"{FELL_BACK}: service account shop/web has no eks.amazonaws.com/role-arn annotation; "
                f"fix: kubectl annotate serviceaccount -n shop web eks.amazonaws.com/role-arn={ROLE}",
            )
        ],
    ),
    (
        "irsa-node-role-annotated-too-late",
        facts(IRSA, NODE_ROLE_PROBE, WorkloadRun(FAILED, evidence={"irsa_role_annotation": ROLE})),
        [
            (
                "pod_used_node_role",
                "error",
                f"{FELL_BACK}: service account shop/web is annotated with {ROLE}, yet the pod got no web identity "
                "token (pods started before the annotation keep their environment: restart them); "
                f"fix: kubectl annotate serviceaccount -n shop web eks.amazonaws.com/role-arn={ROLE}",
            )
        ],
    ),
    (
        "pod-identity-node-role",
        facts(POD_ID, NODE_ROLE_PROBE),
        [
            (
                "pod_used_node_role",
                "error",
                f"{FELL_BACK}: no EKS Pod Identity association covers shop/web on cluster prod; "
                "fix: aws eks create-pod-identity-association --cluster-name prod --namespace shop "
                f"--service-account web --role-arn {ROLE}",
            )
        ],
    ),
    (  # the command keeps its place holder where the workload names no cluster
        "pod-identity-node-role-no-cluster",
        facts(POD_ID_NO_CLUSTER, NODE_ROLE_PROBE),
        [
            (
                "pod_used_node_role",
                "error",
                f"{FELL_BACK}: no EKS Pod Identity association covers shop/web on cluster ?; "
                "fix: aws eks create-pod-identity-association --cluster-name CLUSTER --namespace shop "
                f"--service-account web --role-arn {ROLE}",
            )
        ],
    ),
    (
        "node-role-sts-silent",
        facts(IRSA, _sts_silent("imds")),
        [
            (
                "pod_used_node_role",
                "error",
                f"the pod fell back to the node's role through IMDS (STS did not say as whom), not {ROLE}: "
                "service account shop/web has no eks.amazonaws.com/role-arn annotation; "
                f"fix: kubectl annotate serviceaccount -n shop web eks.amazonaws.com/role-arn={ROLE}",
            ),
            (
                "sts_unreachable",
                "warning",
                "the host could not call sts:GetCallerIdentity, so verify cannot show its identity (MONGODB-AWS "
                "itself needs no STS call from the host): sts:GetCallerIdentity failed: timed out",
            ),
        ],
    ),
    (
        "irsa-refused-no-annotation",
        facts(IRSA, _irsa_refused(REFUSED)),
        [
            (
                "irsa_role_refused",
                "error",
                "STS refused the web identity of service account shop/web for the role its annotation names: "
                + REFUSED,
            )
        ],
    ),
    (
        "agent-timed-out",
        facts(POD_ID, probe("credentials", "credentials_error", container_uri=AGENT, container_endpoint="timeout")),
        [
            (
                "pod_identity_agent_down",
                "error",
                f"the EKS Pod Identity agent at {AGENT} did not accept the connection (timeout): "
                "credentials_error happened",
            )
        ],
    ),
    (  # the probe did not say where it looked for the agent
        "agent-refused-no-uri",
        facts(POD_ID, probe("credentials", "credentials_error", container_endpoint="refused")),
        [
            (
                "pod_identity_agent_down",
                "error",
                "the EKS Pod Identity agent at the agent's address did not accept the connection (refused): "
                "credentials_error happened",
            )
        ],
    ),
    (
        "hop-limit-in-the-probes-words",
        facts(IRSA, probe("credentials", "imds_hop_limit", message=HOP_LIMIT_SAID)),
        [("imds_hop_limit", "error", HOP_LIMIT_SAID)],
    ),
    (
        "hop-limit-unsaid",
        facts(IRSA, _no_message("credentials", "imds_hop_limit")),
        [("imds_hop_limit", "error", "the IMDSv2 token request got no answer from inside a container")],
    ),
    (
        "ecs-execution-role",
        facts(ECS, probe(delivery="ecs-container-endpoint"), WorkloadRun(SUCCESS, evidence={"execution_role": "x"})),
        [("ecs_execution_role", "error", f"{ROLE} looks like a task EXECUTION role: x")],
    ),
    (
        "lambda-outside-a-vpc",
        facts(LAMBDA, probe("reach", "connect_timeout")),
        [
            (
                "lambda_egress_not_listed",
                "error",
                "Atlas's public address did not answer the function (the function runs outside any VPC: its egress "
                "address is one of AWS's, never a fixed one to list): connect_timeout happened",
            )
        ],
    ),
    (
        "lambda-in-a-vpc",
        facts(
            LAMBDA_TWO_SUBNETS, probe("reach", "connect_timeout"), WorkloadRun(FAILED, evidence={"vpc_id": "vpc-0a"})
        ),
        [
            (
                "lambda_egress_not_listed",
                "error",
                "Atlas's public address did not answer the function (the function runs in vpc-0a (subnets "
                f"subnet-0a, subnet-0b): {IN_VPC}): connect_timeout happened",
            )
        ],
    ),
    (  # Lambda did not say which VPC
        "lambda-in-an-unnamed-vpc",
        facts(LAMBDA_VPC, probe("reach", "connect_timeout")),
        [
            (
                "lambda_egress_not_listed",
                "error",
                "Atlas's public address did not answer the function (the function runs in its VPC (subnets "
                f"subnet-0a): {IN_VPC}): connect_timeout happened",
            )
        ],
    ),
    (
        "ecs-pip",
        facts(ECS, None, WorkloadRun(FAILED, stdout=PIP_LOG, log_tail=PIP_LOG + "\n\n")),
        [
            (
                "workload_no_egress",
                "error",
                "the task could not pip-install the probe's pinned requirements from PyPI: "
                "ERROR: No matching distribution found for pymongo[aws]==4.20.1",
            )
        ],
    ),
    (
        "eks-pip",
        facts(IRSA, None, WorkloadRun(FAILED, stdout=PIP_LOG, log_tail=PIP_LOG)),
        [
            (
                "workload_no_egress",
                "error",
                "the pod could not pip-install the probe's pinned requirements from PyPI: "
                "ERROR: No matching distribution found for pymongo[aws]==4.20.1",
            )
        ],
    ),
    (
        "not-run-says-why",
        facts(LAMBDA, None, WorkloadRun(FAILED), probe_error="the lambda run ended Failed: Task timed out"),
        [("workload_not_run", "error", "the probe gave no result in api: the lambda run ended Failed: Task timed out")],
    ),
    (
        "not-run-unsaid",
        facts(LAMBDA, None, WorkloadRun(FAILED), probe_error=None),
        [("workload_not_run", "error", "the probe gave no result in api: no output")],
    ),
    (  # the row names the workload, whatever the target's label
        "not-run-names-the-workload",
        replace(facts(LAMBDA, None, WorkloadRun(FAILED)), target="lambda:api"),
        [("workload_not_run", "error", "the probe gave no result in api: no result")],
    ),
]


@pytest.mark.parametrize(("case", "f", "expected"), FINDINGS, ids=[c[0] for c in FINDINGS])
def test_workload_findings_word_for_word(case: str, f: TargetFacts, expected: list[tuple[str, str, str]]) -> None:
    assert [(x.code, x.severity, x.message) for x in diagnose(f)] == expected, case
    assert {x.target for x in diagnose(f)} == {f.target}


@pytest.mark.parametrize(
    ("case", "f", "expected"),
    [
        ("node-role", facts(IRSA, NODE_ROLE_PROBE, workload_target=None), ["identity_mismatch"]),
        ("web-identity-refused", facts(IRSA, _irsa_refused(REFUSED), workload_target=None), ["credentials_rejected"]),
        (
            "agent-refused",
            facts(
                POD_ID,
                probe("credentials", "credentials_error", container_uri=AGENT, container_endpoint="refused"),
                workload_target=None,
            ),
            ["probe_failed"],
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_an_eks_row_without_its_workload_gets_the_general_findings(
    case: str, f: TargetFacts, expected: list[str]
) -> None:
    """The pod rules need the workload (its service account, identity, role); without it they stay quiet."""
    assert codes(f) == expected, case


def test_the_execution_role_finding_without_the_workload_says_the_workloads_role() -> None:
    run = WorkloadRun(SUCCESS, evidence={"execution_role": "x"})
    [finding] = diagnose(facts(ECS, probe(delivery="ecs-container-endpoint"), run, workload_target=None))
    assert finding.message == "the workload's role looks like a task EXECUTION role: x"


def test_the_lambda_guard_quiets_the_hosts_advice_only_when_lambda_egress_names_the_cause() -> None:
    """host_not_on_access_list, tls_failed and server_selection_timeout go through ``_not_lambda``.

    RULES wraps them when the module is imported; wrapping here runs the guard itself (mutation testing sees it).
    """
    guarded = _not_lambda(lambda f: f"the host's advice for {f.target}")
    assert guarded(facts(LAMBDA, probe("reach", "connect_timeout"))) is None
    assert guarded(facts(ECS, probe("reach", "connect_timeout"))) == "the host's advice for worker"
    assert guarded(facts(LAMBDA, probe("reach", "tls_failed", message=TLS_CERT))) == "the host's advice for api"


def test_an_identity_mismatch_names_the_workload_not_a_host() -> None:
    f = facts(ECS, probe("auth", "auth_failed", identity=NODE, delivery="imds"))
    [found] = [x for x in diagnose(f) if x.code == "identity_mismatch"]
    assert found.message == f"the ecs workload worker authenticates as {NODE} but the database user is {ROLE}"


@pytest.mark.parametrize(("kind", "workload"), [(None, None), ("ecs", None), (None, "worker")])
def test_an_identity_mismatch_without_both_kind_and_workload_names_the_host(
    kind: str | None, workload: str | None
) -> None:
    f = facts(ECS, probe("auth", "auth_failed", identity=NODE, delivery="imds"), kind=kind, workload=workload)
    [found] = [x for x in diagnose(f) if x.code == "identity_mismatch"]
    assert found.message == f"the host authenticates as {NODE} but the database user is {ROLE}"
