"""`atlasiam render`: the Terraform module, as files to read or lift into your own code."""

from __future__ import annotations

from pathlib import Path

from atlas_iam_tf.errors import ExitCode, UsageError, WriteError
from atlas_iam_tf.output import Output, literal
from atlas_iam_tf.project import load_project
from atlas_iam_tf.render import RenderedModule, export_module, module_files, write_module


def run(out: Output, config_path: Path, *, dest: Path | None, force: bool, module_only: bool = False) -> int:
    """Render into ``dest`` (must be empty unless ``force``), or into the project's working directory.

    ``module_only`` writes the atlas-iam-access module alone, for callers with their own root: no config needed.
    """
    if module_only:
        if dest is None:
            raise UsageError("--module-only needs --out", hint="name the directory to write the module into")
        files: RenderedModule = module_files()
        target = dest
    else:
        project = load_project(config_path)
        files, target = project.module, dest or project.workdir
    if dest is not None:
        try:
            export_module(files, dest, force=force)
        except WriteError:
            raise
        except OSError as exc:  # looking at --out failed: a name too long, a parent that is not a directory
            raise WriteError(f"--out {dest}: {exc.strerror or exc}") from None
    else:
        write_module(files, target)
    names = sorted(p.as_posix() for p in files)
    text = f"Rendered {len(names)} files into [bold]{literal(str(target))}[/bold]: " + ", ".join(names)
    out.result({"dir": str(target), "files": names}, text)
    return ExitCode.OK
