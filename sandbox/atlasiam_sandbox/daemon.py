"""The sandbox as a background process: ``python -m atlasiam_sandbox.daemon --state-dir DIR``.

Starts the whole offline cloud (``Sandbox``), writes ``endpoints.json`` (its pid and the environment
clients need) once everything listens, and serves until SIGTERM/SIGINT, then stops every service
(host processes included) and removes ``endpoints.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

ENDPOINTS_FILE = "endpoints.json"


def serve(state_dir: Path, *, propagation_s: float = 0.0, registration_delay: float = 0.0) -> int:
    """Run the sandbox until asked to stop."""
    from atlasiam_sandbox.world import Sandbox

    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:  # noqa: ARG001 - signal API
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    endpoints = state_dir / ENDPOINTS_FILE
    sandbox = Sandbox(state_dir, propagation_s=propagation_s, registration_delay=registration_delay).start()
    try:
        doc = {"pid": os.getpid(), "started": time.time(), "env": sandbox.env()}
        tmp = endpoints.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=1), encoding="utf-8")
        tmp.replace(endpoints)
        print(f"sandbox ready (pid {os.getpid()})", flush=True)
        while not stop.wait(1.0):
            pass
    finally:
        endpoints.unlink(missing_ok=True)
        sandbox.stop()
        print("sandbox stopped", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="atlasiam_sandbox.daemon")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--propagation", type=float, default=0.0, help="seconds before new Atlas users can log in")
    parser.add_argument("--registration-delay", type=float, default=0.0, help="seconds before hosts are Online")
    args = parser.parse_args(argv)
    return serve(args.state_dir, propagation_s=args.propagation, registration_delay=args.registration_delay)


if __name__ == "__main__":
    sys.exit(main())
