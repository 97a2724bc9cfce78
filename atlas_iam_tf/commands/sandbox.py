"""`atlasiam sandbox ...` and `atlasiam --sandbox ...`: the one seam to the offline sandbox.

The sandbox is another distribution (``atlasiam-sandbox``) and atlasiam never imports it. Both entry
points run its command line in a child process: ``atlasiam sandbox ARGS`` passes ARGS through, and
``--sandbox`` reads ``env --json``, the standard settings (``AWS_ENDPOINT_URL*``,
``MONGODB_ATLAS_BASE_URL``, ``TF_CLI_CONFIG_FILE``, ...) that point this process at it.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from atlas_iam_tf.errors import SandboxError, SandboxMissingError
from atlas_iam_tf.output import Output

SANDBOX_MODULE = "atlasiam_sandbox"


def _command() -> list[str]:
    """The sandbox's command line in this Python (where ``atlasiam[sandbox]`` installs it)."""
    if importlib.util.find_spec(SANDBOX_MODULE) is None:
        raise SandboxMissingError(
            "the sandbox is not installed: pip install 'atlasiam[sandbox]' (from a checkout: pip install ./sandbox)"
        )
    return [sys.executable, "-m", SANDBOX_MODULE]


def run(out: Output, args: Sequence[str]) -> int:
    """``atlasiam sandbox ARGS``: run the sandbox's own command line and pass its stdout and exit code on."""
    argv = [*_command(), *args]
    if out.json_mode and "--json" not in args:
        argv.append("--json")
    proc = subprocess.run(argv, stdout=subprocess.PIPE, text=True, check=False)
    out.raw(proc.stdout)
    return proc.returncode


def environment(root: Path) -> dict[str, str]:
    """The environment of the sandbox for the project in ``root``, started if it is not running."""
    proc = subprocess.run(
        [*_command(), "env", "--json", "--dir", str(root)], capture_output=True, text=True, check=False
    )
    try:
        doc = json.loads(proc.stdout)
    except ValueError:
        doc = {}
    if proc.returncode == 0 and isinstance(doc.get("data"), dict):
        return {str(k): str(v) for k, v in doc["data"].items()}
    error = doc.get("error") or {}
    last_words = proc.stderr.strip().splitlines()[-1:]
    raise SandboxError(
        str(error.get("message") or f"the sandbox did not start (exit {proc.returncode})"),
        hint=error.get("hint") or (last_words[0] if last_words else None),
    )
