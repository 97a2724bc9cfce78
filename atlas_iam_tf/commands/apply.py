"""`atlasiam apply`: apply the saved plan if it matches the config, else plan first."""

from __future__ import annotations

from pathlib import Path

from atlas_iam_tf.commands.common import load_project, show_outputs, show_summary, summary_data
from atlas_iam_tf.credentials import require_credentials
from atlas_iam_tf.deploy import Deployment
from atlas_iam_tf.errors import CancelledError, ExitCode
from atlas_iam_tf.output import Output
from atlas_iam_tf.project import Project
from atlas_iam_tf.terraform.runner import WarmStart
from atlas_iam_tf.workdir_lock import workdir_lock


def run(out: Output, config_path: Path, *, terraform_bin: str | None, warm: WarmStart | None = None, yes: bool) -> int:
    """Apply and show the outputs."""
    project = load_project(config_path, terraform_bin=terraform_bin)
    require_credentials(project.base_env)
    with workdir_lock(project.workdir, "apply"):
        return _locked(out, project, warm, yes=yes)


def _locked(out: Output, project: Project, warm: WarmStart | None, *, yes: bool) -> int:
    deployment = Deployment(project, out.progress, warm)
    if not _has_plan_to_apply(out, deployment):
        outputs = deployment.outputs()
        out.result({"changed": False, "outputs": outputs.masked()}, lambda _c: show_outputs(out, outputs))
        return ExitCode.OK
    if not out.confirm("Apply these changes?", yes=yes):
        raise CancelledError("apply cancelled; nothing was changed", hint="the saved plan is kept for next time")
    out.step("Applying")
    outcome = deployment.apply_saved()
    data = {"changed": True, "summary": summary_data(outcome.summary), "outputs": outcome.outputs.masked()}
    out.result(data, lambda _c: show_outputs(out, outcome.outputs))
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
    if not out.json_mode:
        show_summary(out, plan.summary)
    if not plan.summary.has_changes:
        deployment.discard_plan()
        return False
    return True
