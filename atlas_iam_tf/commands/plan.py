"""`atlasiam plan`: render, init when needed, save a plan and show what it changes."""

from __future__ import annotations

from pathlib import Path

from atlas_iam_tf.deploy import locked_deployment
from atlas_iam_tf.errors import ExitCode
from atlas_iam_tf.output import Output, plan_data
from atlas_iam_tf.project import load_project


def run(out: Output, config_path: Path, *, terraform_bin: str | None, detailed_exitcode: bool) -> int:
    """Plan and return the exit code (4 with ``--detailed-exitcode`` when there are changes)."""
    project = load_project(config_path, terraform_bin=terraform_bin)
    with locked_deployment(project, "plan", out.progress) as deployment:
        out.step(f"Planning {project.name}/{project.environment} with {project.engine.label}")
        outcome = deployment.plan()
    out.result(plan_data(outcome.summary) | {"plan_file": str(outcome.plan_file)})
    out.plan_summary(outcome.summary)
    if detailed_exitcode and outcome.summary.has_changes:
        return ExitCode.CHANGES_PENDING
    return ExitCode.OK
