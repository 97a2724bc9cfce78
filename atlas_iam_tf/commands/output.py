"""`atlasiam output`: the outputs of the applied state."""

from __future__ import annotations

from pathlib import Path

from atlas_iam_tf.deploy import Deployment
from atlas_iam_tf.errors import ExitCode
from atlas_iam_tf.output import Output
from atlas_iam_tf.project import load_project


def run(out: Output, config_path: Path, *, terraform_bin: str | None) -> int:
    """Show the outputs (sensitive values masked)."""
    outputs = Deployment(load_project(config_path, terraform_bin=terraform_bin), out.progress).outputs()
    out.result(outputs.masked())
    out.outputs(outputs)
    return ExitCode.OK
