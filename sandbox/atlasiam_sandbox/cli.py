"""`atlasiam-sandbox up|down|status|env`: the offline cloud as a background service.

``atlasiam sandbox ...`` runs this command, and ``atlasiam --sandbox ...`` reads ``env --json``: that
JSON document of environment variables is the whole seam between atlasiam and its sandbox.
With ``--json`` stdout holds exactly one document, ``{"data": ...}`` or ``{"error": {...}}``, as
atlasiam's own commands do.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from atlasiam_sandbox import control
from atlasiam_sandbox.errors import SandboxError

EMULATED = (
    "AWS (moto: EC2, IAM, STS, S3, ...), SSM Run Command (runs the real commands on this machine), "
    "IMDSv2 per host, the Atlas Admin API, and one MongoDB endpoint per cluster with real MONGODB-AWS auth"
)
# A result: the JSON data, the human text, and the exit code.
Result = tuple[Any, str, int]


def _up(args: argparse.Namespace) -> Result:
    info, started = control.up(args.dir, propagation_s=args.propagation)
    data = {"pid": info.pid, "started": started, "state_dir": str(info.state_dir)}
    text = (
        f"Sandbox {'started' if started else 'already running'} (pid {info.pid}), state in {info.state_dir}.\n"
        f"Emulated: {EMULATED}.\nUse it: atlasiam --sandbox plan|apply|verify|destroy, "
        'or eval "$(atlasiam sandbox env)". Stop it: atlasiam sandbox down'
    )
    return data, text, 0


def _down(args: argparse.Namespace) -> Result:
    stopped = control.down(args.dir)
    return {"stopped": stopped}, "Sandbox stopped." if stopped else "No sandbox was running.", 0


def _status(args: argparse.Namespace) -> Result:
    info = control.status(args.dir)
    endpoints = {k: v for k, v in (info.env if info else {}).items() if "URL" in k}
    data = {"running": info is not None, "pid": info.pid if info else None, "endpoints": endpoints}
    where = ", ".join(f"{k}={v}" for k, v in endpoints.items())
    text = f"Sandbox running (pid {info.pid}): {where}" if info else "No sandbox is running (`atlasiam sandbox up`)."
    return data, text, 0 if info else 1


def _env(args: argparse.Namespace) -> Result:
    info, _ = control.up(args.dir)
    env = control.client_env(args.dir, info)
    return env, "\n".join(f"export {k}={shlex.quote(env[k])}" for k in sorted(env)), 0


def parser() -> argparse.ArgumentParser:
    """The command line: one sub-command per action, each with ``--dir`` and ``--json``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dir", type=Path, default=Path(), help="project directory; state in DIR/.atlasiam/sandbox")
    common.add_argument("--json", action="store_true", help="print one JSON document on stdout, nothing else")
    top = argparse.ArgumentParser(prog="atlasiam sandbox", description="The offline sandbox: emulated AWS and Atlas.")
    subs = top.add_subparsers(dest="action", required=True, metavar="{up,down,status,env}")
    up = subs.add_parser("up", parents=[common], help="start the sandbox in the background")
    up.add_argument("--propagation", type=float, default=0.0, help="seconds before new Atlas users can log in")
    subs.add_parser("down", parents=[common], help="stop the sandbox and everything it started")
    subs.add_parser("status", parents=[common], help="is it running, and on which ports")
    subs.add_parser("env", parents=[common], help='the environment for a shell or CI job: eval "$(... env)"')
    return top


ACTIONS: dict[str, Callable[[argparse.Namespace], Result]] = {
    "up": _up,
    "down": _down,
    "status": _status,
    "env": _env,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one action; a SandboxError becomes one line on stderr (or the JSON error document) and exit 1."""
    args = parser().parse_args(argv)
    try:
        data, text, code = ACTIONS[args.action](args)
    except SandboxError as err:
        if args.json:
            print(json.dumps({"error": {"code": "sandbox_error", "message": err.message, "hint": err.hint}}))
        else:
            print(f"error: {err.message}" + (f"\nhint: {err.hint}" if err.hint else ""), file=sys.stderr)
        return 1
    print(json.dumps({"data": data}, indent=2, sort_keys=True) if args.json else text)
    return code
