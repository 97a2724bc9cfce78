"""`atlasiam plan`: render, init when needed, save a plan and show what it changes."""

from __future__ import annotations

from pathlib import Path

from atlas_iam_tf.commands.common import load_project, show_summary, summary_data
from atlas_iam_tf.credentials import require_credentials
from atlas_iam_tf.deploy import Deployment
from atlas_iam_tf.errors import ExitCode
from atlas_iam_tf.output import Output
from atlas_iam_tf.project import Project
from atlas_iam_tf.terraform.runner import WarmStart
from atlas_iam_tf.workdir_lock import workdir_lock


def run(
    out: Output, config_path: Path, *, terraform_bin: str | None, warm: WarmStart | None = None, detailed_exitcode: bool
) -> int:
    """Plan and return the exit code (4 with ``--detailed-exitcode`` when there are changes)."""
    project = load_project(config_path, terraform_bin=terraform_bin)
    require_credentials(project.base_env)
    with workdir_lock(project.workdir, "plan"):
        return _locked(out, project, warm, detailed_exitcode=detailed_exitcode)


def _locked(out: Output, project: Project, warm: WarmStart | None, *, detailed_exitcode: bool) -> int:
    out.step(f"Planning {project.name}/{project.environment} with {project.engine.label}")
    outcome = Deployment(project, out.progress, warm).plan()
    data = summary_data(outcome.summary) | {"plan_file": str(outcome.plan_file)}
    out.result(data, lambda _c: show_summary(out, outcome.summary))
    if detailed_exitcode and outcome.summary.has_changes:
        return ExitCode.CHANGES_PENDING
    return ExitCode.OK
