"""`make demo`: the whole job, init → plan → apply → output → destroy, against the offline stand-ins.

Runs the real `atlasiam` CLI (as a user would) on ``examples/atlasiam.toml`` with the embedded
Terraform 1.15.5 and the stand-in providers served from a local filesystem mirror. No cloud
account is touched; the credentials are placeholders the stand-ins accept.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from atlas_iam_tf.sandbox.mirror import build_mirror

EXAMPLE = Path("examples") / "atlasiam.toml"
PLACEHOLDER_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "MONGODB_ATLAS_CLIENT_ID": "sandbox-client",
    "MONGODB_ATLAS_CLIENT_SECRET": "sandbox-secret",
}
STEPS: tuple[tuple[str, ...], ...] = (
    ("plan",),
    ("apply", "--yes"),
    ("output",),
    ("plan", "--detailed-exitcode"),
    ("destroy", "--yes"),
)


def _say(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m" if sys.stdout.isatty() else f"\n== {text}", flush=True)


def run_demo(root: Path) -> int:
    """Run the demo under ``root/.atlasiam/demo``; return the first failing exit code or 0."""
    started = time.monotonic()
    state = root / ".atlasiam"
    project = state / "demo" / "project"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    shutil.copyfile(root / EXAMPLE, project / "atlasiam.toml")
    _say("Publishing the stand-in providers (hashicorp/aws 6.25.0, mongodb/mongodbatlas 2.16.0) in a local mirror")
    mirror = build_mirror(state / "sandbox" / "mirror")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MONGODB_ATLAS_", "TF_"))}
    env |= PLACEHOLDER_CREDENTIALS | {"TF_CLI_CONFIG_FILE": str(mirror.cli_config)}
    for step in STEPS:
        argv = [sys.executable, "-m", "atlas_iam_tf", *step, "--config", str(project / "atlasiam.toml")]
        _say("atlasiam " + " ".join(step))
        code = subprocess.run(argv, env=env, check=False).returncode
        if code != 0:
            print(f"demo: `atlasiam {' '.join(step)}` exited {code}", file=sys.stderr)
            return code
    _say(f"Demo finished in {time.monotonic() - started:.1f}s: planned, applied, re-planned (no changes), destroyed.")
    return 0


def main() -> int:
    """Entry point for ``python -m atlas_iam_tf.sandbox.demo``."""
    return run_demo(Path.cwd())


if __name__ == "__main__":
    raise SystemExit(main())
