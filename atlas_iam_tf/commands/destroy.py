"""`atlasiam destroy`: plan the destruction, confirm, apply it."""

from __future__ import annotations

from pathlib import Path

from atlas_iam_tf.deploy import locked_deployment
from atlas_iam_tf.errors import CancelledError, ExitCode
from atlas_iam_tf.output import Output, plan_data
from atlas_iam_tf.project import load_project


def run(out: Output, config_path: Path, *, terraform_bin: str | None, yes: bool) -> int:
    """Destroy everything this environment created (after a confirmation)."""
    project = load_project(config_path, terraform_bin=terraform_bin)
    with locked_deployment(project, "destroy", out.progress) as deployment:
        out.step(f"Planning the destruction of {project.name}/{project.environment}")
        plan = deployment.plan(destroy=True)
        out.plan_summary(plan.summary, title="Destroy plan")
        if not plan.summary.has_changes:
            deployment.discard_plan()
            out.result({"destroyed": 0}, "Nothing to destroy.")
            return ExitCode.OK
        if not out.confirm("Destroy these resources?", yes=yes):
            deployment.discard_plan()
            raise CancelledError("destroy cancelled; nothing was changed")
        out.step("Destroying")
        outcome = deployment.apply_saved()
    destroyed = sum(1 for c in plan.summary.changes if c.action == "delete")
    out.result(
        {"destroyed": destroyed, "summary": plan_data(outcome.summary)},
        f"[bold]Destroyed[/bold] {destroyed} resources.",
    )
    return ExitCode.OK
