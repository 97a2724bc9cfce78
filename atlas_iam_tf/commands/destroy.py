"""`atlasiam destroy`: plan the destruction, confirm, apply it."""

from __future__ import annotations

from pathlib import Path

from atlas_iam_tf.commands.common import load_project, show_summary, summary_data
from atlas_iam_tf.credentials import require_credentials
from atlas_iam_tf.deploy import Deployment
from atlas_iam_tf.errors import CancelledError, ExitCode
from atlas_iam_tf.output import Output
from atlas_iam_tf.project import Project
from atlas_iam_tf.terraform.runner import WarmStart
from atlas_iam_tf.workdir_lock import workdir_lock


def run(out: Output, config_path: Path, *, terraform_bin: str | None, warm: WarmStart | None = None, yes: bool) -> int:
    """Destroy everything this environment created."""
    project = load_project(config_path, terraform_bin=terraform_bin)
    require_credentials(project.base_env)
    with workdir_lock(project.workdir, "destroy"):
        return _locked(out, project, warm, yes=yes)


def _locked(out: Output, project: Project, warm: WarmStart | None, *, yes: bool) -> int:
    deployment = Deployment(project, out.progress, warm)
    out.step(f"Planning the destruction of {project.name}/{project.environment}")
    plan = deployment.plan(destroy=True)
    if not out.json_mode:
        show_summary(out, plan.summary, title="Destroy plan")
    if not plan.summary.has_changes:
        deployment.discard_plan()
        out.result({"destroyed": 0}, lambda c: c.print("Nothing to destroy."))
        return ExitCode.OK
    if not out.confirm("Destroy these resources?", yes=yes):
        deployment.discard_plan()
        raise CancelledError("destroy cancelled; nothing was changed")
    out.step("Destroying")
    outcome = deployment.apply_saved()
    destroyed = sum(1 for c in plan.summary.changes if c.action == "delete")
    out.result(
        {"destroyed": destroyed, "summary": summary_data(outcome.summary)},
        lambda c: c.print(f"[bold]Destroyed[/bold] {destroyed} resources."),
    )
    return ExitCode.OK
