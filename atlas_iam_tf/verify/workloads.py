"""Verify workloads where they run: the probe as a Lambda function, an ECS task, an EKS Job (issue 12).

For each workload: ask Atlas about its role's database user (as for a host), run the probe in the workload with its
kind's runner, and diagnose what came back. Each row's target is the workload's name and its ``via`` the kind.
The runners are injected (``runners``), so the core is tested without AWS or Kubernetes; :func:`default_runners`
makes the real ones from the AWS clients and the user's kubeconfig.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from functools import cache
from typing import Any

from atlas_iam_tf.verify.answers import ask_before_probing, with_probe
from atlas_iam_tf.verify.atlas import AtlasApi
from atlas_iam_tf.verify.command import ProbeInput, container_command, probe_source
from atlas_iam_tf.verify.report import HostReport, VerifyReport, report_for
from atlas_iam_tf.verify.request import VerifyRequest
from atlas_iam_tf.verify.workload import DEFAULT_PROBE_IMAGE, WorkloadTarget
from atlas_iam_tf.verify.workload_run import NOT_RUN, Say, WorkloadRun

#: A kind's runner: the workload, the probe's input, the probe's time budget -> what the run came to.
Runner = Callable[[WorkloadTarget, ProbeInput, float], WorkloadRun]
#: A client factory: ``clients(service)``; ``read_timeout`` for calls that last as long as the probe (Invoke).
Clients = Callable[..., Any]


def probe_pins() -> list[str]:
    """The probe's pinned requirements: the module's ``requirements.txt``, as the hosts install them."""
    from atlas_iam_tf import wheelhouse
    from atlas_iam_tf.render import module_dir

    return wheelhouse.requirements(module_dir())


def default_runners(
    req: VerifyRequest,
    clients: Clients,
    say: Say,
    *,
    lambda_package: Callable[[Say], bytes] | None = None,
    kube: Callable[[WorkloadTarget, str | None], tuple[Any, Any]] | None = None,
    pins: Callable[[], list[str]] = probe_pins,
) -> dict[str, Runner]:
    """The real runners: Lambda, ECS and EKS over the given AWS clients and the user's kubeconfig.

    ``lambda_package`` builds (or reads from the cache) the Lambda package, once per verify; ``kube`` gives a
    workload's (BatchV1Api, CoreV1Api).
    """

    @cache
    def package() -> bytes:
        if lambda_package is not None:
            return lambda_package(say)
        from atlas_iam_tf.verify.lambda_package import build_package

        return build_package(pins(), probe_source(), say)

    def run_lambda(target: WorkloadTarget, inp: ProbeInput, timeout_s: float) -> WorkloadRun:
        from atlas_iam_tf.verify.lambda_run import LambdaRunner

        code = package()  # built before the function exists: a pip failure leaves nothing to clean up
        lam = clients("lambda", read_timeout=timeout_s + 60)  # Invoke answers when the probe ends
        return LambdaRunner(lam, say).run(target, inp, code, timeout_s)

    def run_ecs(target: WorkloadTarget, inp: ProbeInput, timeout_s: float) -> WorkloadRun:
        from atlas_iam_tf.verify.ecs_run import EcsRunner

        image = target.probe_image or DEFAULT_PROBE_IMAGE
        ecs = clients("ecs")
        region = req.region or str(ecs.meta.region_name)
        runner = EcsRunner(ecs, clients("logs"), clients("iam"), say, region=region)
        return runner.run(target, container_command(inp, pins(), image), image, timeout_s)

    def run_eks(target: WorkloadTarget, inp: ProbeInput, timeout_s: float) -> WorkloadRun:
        from atlas_iam_tf.verify.eks_run import EksRunner

        image = target.probe_image or DEFAULT_PROBE_IMAGE
        try:
            batch, core = (kube or kube_apis)(target, req.region)
        except Exception as exc:  # noqa: BLE001 - kubeconfig problems of every kind: this workload's row says it
            return WorkloadRun(NOT_RUN, reason=f"cannot reach the cluster's Kubernetes API (kubeconfig): {exc}")
        return EksRunner(batch, core, say).run(target, container_command(inp, pins(), image), image, timeout_s)

    return {"lambda": run_lambda, "ecs": run_ecs, "eks": run_eks}


def kube_apis(target: WorkloadTarget, region: str | None) -> tuple[Any, Any]:
    """(BatchV1Api, CoreV1Api) from the user's kubeconfig, in the workload cluster's context."""
    from kubernetes import client as k8s

    from atlas_iam_tf.verify.eks_run import api_client

    api = api_client(target, region)
    return k8s.BatchV1Api(api), k8s.CoreV1Api(api)


def _run_facts(req: VerifyRequest, target: WorkloadTarget, run: WorkloadRun, seen: Mapping[str, Any]) -> HostReport:
    facts = req.facts(target.name, command_status=run.status, stderr=run.log_tail, run=run, **seen)
    facts = with_probe(facts, run.stdout)
    if facts.probe is None and run.reason:
        facts = replace(facts, probe_error=f"the {target.kind} run ended {run.status}: {run.reason}")
    return report_for(facts)


def verify_workload(
    req: VerifyRequest, target: WorkloadTarget, runners: Mapping[str, Runner], say: Say, atlas: AtlasApi | None
) -> tuple[HostReport, str]:
    """One workload's row, and what Atlas said (the report's Atlas line)."""
    sub = replace(req, expect_arn=target.role_arn, wait_bootstrap=False, instance_ids=(), tags=(), workloads=())
    answers, sub = ask_before_probing(sub, atlas, say)
    seen: dict[str, Any] = {"via": target.kind, "workload": target.name, "kind": target.kind}
    seen["workload_target"] = target
    if (unprobed := answers.unprobed(sub, [target.name], **seen)) is not None:
        return unprobed.hosts[0], answers.note
    runner = runners.get(target.kind)
    if runner is None:
        run = WorkloadRun(NOT_RUN, reason=f"verify runs no {target.kind} workload this way (EC2 hosts go over SSM)")
    else:
        say(f"verifying workload {target.name} ({target.kind}) as {target.role_arn}")
        inp = sub.probe_input(target.role_arn, retry_auth=answers.gate.retry_auth)
        run = runner(target, inp, sub.probe_timeout_s)
    return _run_facts(sub, target, run, {**answers.seen, **seen}), answers.note


def verify_workloads(
    req: VerifyRequest,
    targets: Sequence[WorkloadTarget],
    clients: Clients,
    progress: Say | None = None,
    *,
    atlas: AtlasApi | None = None,
    runners: Mapping[str, Runner] | None = None,
) -> VerifyReport:
    """Run the probe in every workload, one after another; one diagnosed row each."""
    say = progress or (lambda _m: None)
    chosen = runners if runners is not None else default_runners(req, clients, say)
    rows: list[HostReport] = []
    notes: list[str] = []
    for target in targets:
        row, note = verify_workload(req, target, chosen, say, atlas)
        rows.append(row)
        notes.append(note)
    return VerifyReport(hosts=tuple(rows), atlas=joined_notes(notes), path=req.path)


def joined_notes(notes: Sequence[str]) -> str:
    """The report's Atlas line from every target's: each distinct note once, in order."""
    return "; ".join(dict.fromkeys(n for n in notes if n))


def merged(first: VerifyReport, second: VerifyReport) -> VerifyReport:
    """Hosts' rows then workloads' rows, in one report."""
    return VerifyReport(
        hosts=first.hosts + second.hosts,
        atlas=joined_notes([first.atlas, second.atlas]),
        path=first.path or second.path,
    )
