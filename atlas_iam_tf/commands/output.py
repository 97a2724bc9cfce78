"""`atlasiam output`: the outputs of the applied state."""

from __future__ import annotations

from pathlib import Path

from atlas_iam_tf.commands.common import load_project, show_outputs
from atlas_iam_tf.deploy import Deployment
from atlas_iam_tf.errors import ExitCode
from atlas_iam_tf.output import Output


def run(out: Output, config_path: Path, *, terraform_bin: str | None) -> int:
    """Print the outputs (sensitive values masked)."""
    project = load_project(config_path, terraform_bin=terraform_bin)
    outputs = Deployment(project, out.progress).outputs()
    out.result(outputs.masked(), lambda _c: show_outputs(out, outputs))
    return ExitCode.OK
