"""Start, stop and inspect the sandbox daemon; hand its environment to commands."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atlasiam_sandbox.daemon import ENDPOINTS_FILE
from atlasiam_sandbox.errors import SandboxError

SANDBOX_DIR = Path(".atlasiam") / "sandbox"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class SandboxInfo:
    """A running sandbox: its pid and the environment clients need."""

    pid: int
    env: dict[str, str]
    state_dir: Path


def state_dir(root: Path) -> Path:
    """Where the sandbox keeps its state for a project rooted at ``root``."""
    return (root / SANDBOX_DIR).resolve()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def status(root: Path) -> SandboxInfo | None:
    """The running sandbox, or None (a stale endpoints file is removed)."""
    path = state_dir(root) / ENDPOINTS_FILE
    try:
        doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    pid = int(doc.get("pid", 0))
    if pid <= 0 or not _alive(pid):
        path.unlink(missing_ok=True)
        return None
    return SandboxInfo(pid=pid, env=dict(doc.get("env", {})), state_dir=state_dir(root))


def require_extra() -> None:
    """The sandbox's own dependencies (moto, grpcio, ...) must be importable: say so instead of a traceback."""
    import importlib.util

    missing = [m for m in ("moto", "grpc", "msgpack", "cryptography") if importlib.util.find_spec(m) is None]
    if missing:
        raise SandboxError(
            f"the sandbox needs packages that are not installed: {', '.join(missing)}",
            hint="reinstall it with its dependencies: pip install 'atlasiam[sandbox]'",
        )


def up(root: Path, *, propagation_s: float = 0.0, timeout: float = START_TIMEOUT_S) -> tuple[SandboxInfo, bool]:
    """Start the sandbox unless it runs; return it and whether this call started it."""
    require_extra()
    running = status(root)
    if running is not None:
        return running, False
    directory = state_dir(root)
    directory.mkdir(parents=True, exist_ok=True)
    log = (directory / "daemon.log").open("ab")
    argv = [
        sys.executable,
        "-m",
        "atlasiam_sandbox.daemon",
        "--state-dir",
        str(directory),
        "--propagation",
        str(propagation_s),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MONGODB_ATLAS_", "TF_"))}
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True)
    log.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = status(root)
        if info is not None and info.pid == proc.pid:
            return info, True
        if proc.poll() is not None:
            raise SandboxError(
                f"the sandbox exited during start-up (code {proc.returncode})", hint=_log_hint(directory)
            )
        time.sleep(0.1)
    _terminate(proc.pid)
    raise SandboxError(f"the sandbox did not start within {timeout:.0f}s", hint=_log_hint(directory))


def down(root: Path) -> bool:
    """Stop the sandbox; True when one was running."""
    info = status(root)
    if info is None:
        return False
    _terminate(info.pid)
    (state_dir(root) / ENDPOINTS_FILE).unlink(missing_ok=True)
    return True


def _terminate(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline and _alive(pid):
        _reap(pid)
        time.sleep(0.05)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        _reap(pid)


def _reap(pid: int) -> None:
    """Collect the exit status when the daemon is our child (else it would linger as a zombie)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _log_hint(directory: Path) -> str:
    try:
        tail = (directory / "daemon.log").read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
    except OSError:
        tail = []
    return "daemon log: " + " | ".join(tail) if tail else f"see {directory / 'daemon.log'}"


def client_env(root: Path, info: SandboxInfo) -> dict[str, str]:
    """Everything a command needs: the daemon's endpoints plus the stand-in provider mirror."""
    from atlasiam_sandbox.mirror import build_mirror

    mirror = build_mirror(state_dir(root) / "mirror")
    return dict(info.env) | {"TF_CLI_CONFIG_FILE": str(mirror.cli_config), "AWS_EC2_METADATA_DISABLED": "true"}
