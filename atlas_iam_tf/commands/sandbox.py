"""`atlasiam sandbox up|down|status|env`: the offline cloud as a background service."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from atlas_iam_tf.errors import ExitCode
from atlas_iam_tf.output import Output
from atlas_iam_tf.sandbox import control

EMULATED = (
    "AWS (moto: EC2, IAM, STS, S3, ...), SSM Run Command (runs the real commands on this machine), "
    "IMDSv2 per host, the Atlas Admin API, and one MongoDB endpoint per cluster with real MONGODB-AWS auth"
)


def run_up(out: Output, root: Path, *, propagation_s: float) -> int:
    """Start the sandbox (no-op when it runs) and say how to use it."""
    info, started = control.up(root, propagation_s=propagation_s)
    data = {"pid": info.pid, "started": started, "state_dir": str(info.state_dir)}
    out.result(
        data,
        lambda c: c.print(
            f"Sandbox {'started' if started else 'already running'} (pid {info.pid}), state in {info.state_dir}.\n"
            f"Emulated: {EMULATED}.\nUse it: atlasiam --sandbox plan|apply|verify|destroy, "
            'or eval "$(atlasiam sandbox env)". Stop it: atlasiam sandbox down'
        ),
    )
    return ExitCode.OK


def run_down(out: Output, root: Path) -> int:
    """Stop the sandbox and every process it started."""
    stopped = control.down(root)
    out.result({"stopped": stopped}, lambda c: c.print("Sandbox stopped." if stopped else "No sandbox was running."))
    return ExitCode.OK


def run_status(out: Output, root: Path) -> int:
    """Whether it runs, and where."""
    info = control.status(root)
    endpoints = {k: v for k, v in (info.env if info else {}).items() if "URL" in k}
    data = {"running": info is not None, "pid": info.pid if info else None, "endpoints": endpoints}
    where = ", ".join(f"{k}={v}" for k, v in endpoints.items())
    text = f"Sandbox running (pid {info.pid}): {where}" if info else "No sandbox is running (`atlasiam sandbox up`)."
    out.result(data, lambda c: c.print(text))
    return ExitCode.OK if info else ExitCode.ERROR


def run_env(out: Output, root: Path) -> int:
    """Print `export` lines for a shell or CI job (starting the sandbox if needed)."""
    info, _ = control.up(root)
    env = control.client_env(root, info)
    if out.json_mode:
        out.result(env)
    else:
        for key in sorted(env):
            print(f"export {key}={shlex.quote(env[key])}")
    return ExitCode.OK


def activate(root: Path) -> None:
    """For `atlasiam --sandbox ...`: start the sandbox if needed and point this process at it."""
    info, _ = control.up(root)
    os.environ.update(control.client_env(root, info))
