"""`atlasiam wheelhouse`: the probe's wheels for a private-mode host, for callers of the module.

atlasiam's own plan builds them by itself; a platform team calling the module from its own root passes this
directory as the module's ``wheelhouse_dir``.
"""

from __future__ import annotations

from pathlib import Path

from atlas_iam_tf import wheelhouse
from atlas_iam_tf.errors import ExitCode, WriteError
from atlas_iam_tf.output import Output, literal
from atlas_iam_tf.render import module_dir


def run(out: Output, dest: Path) -> int:
    """Download the wheels of the module's pinned requirements into ``dest`` (once per set of pins)."""
    if dest.exists() and not dest.is_dir():
        raise WriteError(f"--out {dest} is not a directory")
    pins = wheelhouse.requirements(module_dir())
    try:
        downloaded = wheelhouse.ensure(dest, pins, out.progress)
    except OSError as exc:
        raise WriteError(f"--out {dest}: {exc.strerror or exc}") from None
    wheels = sorted(p.name for p in dest.glob("*.whl"))
    state = "downloaded" if downloaded else "already there"
    text = f"{len(wheels)} wheels {state} in [bold]{literal(str(dest))}[/bold] for {literal(', '.join(pins))}"
    out.result({"dir": str(dest), "wheels": wheels, "requirements": pins, "downloaded": downloaded}, text)
    return ExitCode.OK
