"""`make demo`: the whole job against the offline sandbox, as a user would type it.

sandbox up → plan → apply → verify (on the host, over the emulated SSM) → verify --from-here
--assume-role → destroy → sandbox down. Real Terraform 1.15.5, real boto3, real pymongo doing
MONGODB-AWS; emulated AWS (moto + SSM + IMDS) and Atlas (Admin API + MongoDB endpoint). No account.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

EXAMPLE = Path("examples") / "atlasiam.toml"


def _say(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m" if sys.stdout.isatty() else f"\n== {text}", flush=True)


def _atlasiam(project: Path, *args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "atlas_iam_tf", *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MONGODB_ATLAS_", "TF_", "ATLASIAM_"))}
    return subprocess.run(
        argv, cwd=project, env=env, text=True, check=False, stdout=subprocess.PIPE if capture else None
    )


def run_demo(root: Path) -> int:
    """Run the demo in ``root/.atlasiam/demo/project``; return 0 or the first failing exit code."""
    started = time.monotonic()
    project = root / ".atlasiam" / "demo" / "project"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    shutil.copyfile(root / EXAMPLE, project / "atlasiam.toml")
    _say("atlasiam sandbox up   (emulated AWS + Atlas on 127.0.0.1)")
    if (code := _atlasiam(project, "sandbox", "up").returncode) != 0:
        return code
    try:
        steps: list[tuple[str, ...]] = [("plan",), ("apply", "--yes"), ("verify", "--wait", "60")]
        for step in steps:
            _say("atlasiam --sandbox " + " ".join(step))
            if (code := _atlasiam(project, "--sandbox", *step).returncode) != 0:
                return code
        outputs = json.loads(_atlasiam(project, "--sandbox", "output", "--json", capture=True).stdout)["data"]
        role = outputs["role_arn"]
        _say(f"atlasiam --sandbox verify --from-here --assume-role {role}")
        print("   (the sandbox's STS does not enforce trust policies; on AWS the role must trust you)")
        if (code := _atlasiam(project, "--sandbox", "verify", "--from-here", "--assume-role", role).returncode) != 0:
            return code
        _say("atlasiam --sandbox destroy --yes")
        if (code := _atlasiam(project, "--sandbox", "destroy", "--yes").returncode) != 0:
            return code
    finally:
        _say("atlasiam sandbox down")
        _atlasiam(project, "sandbox", "down")
    _say(
        f"Demo done in {time.monotonic() - started:.1f}s: the host's IAM role {role} logged in to the "
        "emulated Atlas cluster with MONGODB-AWS, from the host over SSM and from here via STS."
    )
    return 0


def main() -> int:
    """Entry point for ``python -m atlasiam_sandbox.demo``."""
    return run_demo(Path.cwd())


if __name__ == "__main__":
    raise SystemExit(main())
