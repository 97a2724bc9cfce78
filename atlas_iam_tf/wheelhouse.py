"""The probe's wheelhouse for a private-mode host: it has no internet, so no PyPI.

The module uploads every ``*.whl`` of a directory to its bucket, and the host installs from there with
``pip install --no-index``. atlasiam builds that directory with ``pip download`` for the host's platform
(Amazon Linux 2023 on x86_64, CPython 3.11 from dnf): wheels only, from the module's ``requirements.txt``,
the same pins a public-mode host installs. A stamp of those pins keeps a built wheelhouse until they change.
Users who cannot reach PyPI from where they run atlasiam set ``aws.wheelhouse_dir`` to a directory they
filled themselves.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from atlas_iam_tf.errors import WheelhouseError

STAMP = ".atlasiam-requirements.sha256"
# The host's Python: AL2023's python3.11 package, x86_64; manylinux2014 is glibc 2.17, which AL2023 exceeds.
PIP_TARGET = (
    "--only-binary=:all:",
    "--platform",
    "manylinux2014_x86_64",
    "--platform",
    "manylinux_2_28_x86_64",
    "--python-version",
    "3.11",
    "--implementation",
    "cp",
)


def requirements(module: Path) -> list[str]:
    """The probe's pinned requirements (the module's ``requirements.txt``), comments and blanks left out."""
    lines = (line.strip() for line in (module / "requirements.txt").read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def ensure(dest: Path, pins: list[str], progress: Callable[[str], None]) -> bool:
    """Fill ``dest`` with wheels for ``pins`` unless it already holds them; True when it downloaded."""
    digest = hashlib.sha256("\n".join(pins).encode()).hexdigest()
    stamp = dest / STAMP
    if stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == digest:
        return False
    dest.mkdir(parents=True, exist_ok=True)
    progress(f"Downloading the probe's wheels for the private host into {dest} (pip download)")
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--disable-pip-version-check",
        "--dest",
        str(dest),
        *PIP_TARGET,
        *pins,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603 - our own argv
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise WheelhouseError(
            f"cannot build the private host's wheelhouse: pip download failed: {last}",
            hint="set aws.wheelhouse_dir to a directory of the wheels (CPython 3.11, manylinux x86_64)",
        )
    stamp.write_text(digest + "\n", encoding="utf-8")
    return True
