"""`atlasiam render`: the Terraform module, as files to read or lift into your own code."""

from __future__ import annotations

from pathlib import Path

from atlas_iam_tf.commands.common import load_project
from atlas_iam_tf.errors import ExitCode
from atlas_iam_tf.output import Output
from atlas_iam_tf.render import export_module, write_module


def run(out: Output, config_path: Path, *, dest: Path | None, force: bool) -> int:
    """Render into ``dest`` (must be empty unless ``force``), or into the project's working directory."""
    project = load_project(config_path)
    files = project.module
    target = dest or project.workdir
    if dest is not None:
        export_module(files, dest, force=force)
    else:
        write_module(files, target)
    names = sorted(p.as_posix() for p in files)
    out.result(
        {"dir": str(target), "files": names},
        lambda c: c.print(f"Rendered {len(names)} files into [bold]{target}[/bold]: " + ", ".join(names)),
    )
    return ExitCode.OK
