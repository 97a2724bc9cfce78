"""`atlasiam apply`: apply the saved plan if it matches the config, else plan first."""

from __future__ import annotations

from pathlib import Path

from atlas_iam_tf.deploy import Deployment, locked_deployment
from atlas_iam_tf.errors import CancelledError, ExitCode
from atlas_iam_tf.output import Output, plan_data
from atlas_iam_tf.project import load_project


def run(out: Output, config_path: Path, *, terraform_bin: str | None, yes: bool) -> int:
    """Apply (after a confirmation) and show the outputs."""
    project = load_project(config_path, terraform_bin=terraform_bin)
    with locked_deployment(project, "apply", out.progress) as deployment:
        if not _has_plan_to_apply(out, deployment):
            outputs = deployment.outputs()
            out.result({"changed": False, "outputs": outputs.masked()})
            out.outputs(outputs)
            return ExitCode.OK
        if not out.confirm("Apply these changes?", yes=yes):
            raise CancelledError("apply cancelled; nothing was changed", hint="the saved plan is kept for next time")
        out.step("Applying")
        outcome = deployment.apply_saved()
    out.result({"changed": True, "summary": plan_data(outcome.summary), "outputs": outcome.outputs.masked()})
    out.outputs(outcome.outputs)
    return ExitCode.OK


def _has_plan_to_apply(out: Output, deployment: Deployment) -> bool:
    """Reuse the saved plan when it matches the config, else plan now; False when nothing would change."""
    project = deployment.project
    if deployment.saved_plan_matches():
        out.step("Applying the saved plan (it matches the current config)")
        deployment.render()
        return True
    out.step(f"Planning {project.name}/{project.environment} with {project.engine.label}")
    plan = deployment.plan()
    out.plan_summary(plan.summary)
    if not plan.summary.has_changes:
        deployment.discard_plan()
        return False
    return True
