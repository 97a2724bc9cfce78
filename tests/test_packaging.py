"""The wheel carries what the installed tool needs: templates, schemas, the probe, py.typed."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contents(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("atlasiam-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = {p.name for p in (ROOT / "templates").iterdir()}
    assert {f"atlas_iam_tf/templates/{t}" for t in templates} <= names
    assert {
        "atlas_iam_tf/verify/probe.py",
        "atlas_iam_tf/sandbox/schemas/aws.json",
        "atlas_iam_tf/sandbox/schemas/mongodbatlas.json",
        "atlas_iam_tf/py.typed",
    } <= names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "atlasiam = atlas_iam_tf.entry:entrypoint" in zipfile.ZipFile(wheel).read(entry_points).decode()
