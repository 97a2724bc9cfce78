"""Run Command state and execution: each (command, instance) invocation really runs ``bash -c`` "on the host".

"On the host" means: cwd and HOME are the host's directory under the sandbox state dir, absolute paths under the
host's own trees (``/opt``, ``/var/log``, …) are the host's (:meth:`HostRegistry.map_paths`), and the environment is
built from scratch (never the runner's ``AWS_*``): what SSM Agent gives a script (:meth:`HostExecutor.host_env`)
plus the few settings that stand in for the host's network. Invocations run on a thread pool, so 50 hosts run in
parallel.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from atlasiam_sandbox.aws.hosts import HostRegistry

logger = logging.getLogger(__name__)

STDOUT_CAP = 24_000
STDERR_CAP = 8_000
#: ``ListCommandInvocations(Details=True)`` shows only this much of a plugin's output.
PLUGIN_OUTPUT_CAP = 2_500
TERMINAL = frozenset({"Success", "Failed", "TimedOut", "Cancelled"})

Status = Literal["Pending", "InProgress", "Success", "Failed", "TimedOut", "Cancelled"]


@dataclass(frozen=True)
class SsmTiming:
    """How long the emulated service takes; all observable by a poller.

    Attributes:
        invisible_for: After SendCommand, GetCommandInvocation raises InvocationDoesNotExist this long.
        pending_for: The invocation stays Pending this long before the host starts it.
        min_in_progress: An invocation stays InProgress at least this long, however quick the script.
        delivery_poll: How often a Pending invocation re-checks that its host is Online.
    """

    invisible_for: float = 0.05
    pending_for: float = 0.1
    min_in_progress: float = 0.05
    delivery_poll: float = 0.05


@dataclass
class Invocation:
    """One command on one instance."""

    command_id: str
    instance_id: str
    requested_at: datetime
    visible_after: float  # time.monotonic() value
    status: Status = "Pending"
    status_details: str = "Pending"
    response_code: int = -1
    started_at: datetime | None = None
    ended_at: datetime | None = None
    stdout: str = ""
    stderr: str = ""
    process: subprocess.Popen[bytes] | None = None
    cancel_requested: bool = False

    @property
    def terminal(self) -> bool:
        """True once the invocation can't change any more."""
        return self.status in TERMINAL


@dataclass
class Command:
    """A SendCommand request and its invocations."""

    command_id: str
    document_name: str
    comment: str
    parameters: dict[str, list[str]]
    instance_ids: list[str]
    targets: list[dict[str, object]]
    requested_at: datetime
    timeout_seconds: int
    execution_timeout: int
    max_concurrency: str
    max_errors: str
    invocations: dict[str, Invocation] = field(default_factory=dict)

    @property
    def script(self) -> str:
        """The shell script the host runs: the ``commands`` lines joined by newlines."""
        return "\n".join(self.parameters.get("commands", []))

    @property
    def status(self) -> Status:
        """The command's overall status, summarised from its invocations."""
        statuses = [inv.status for inv in self.invocations.values()]
        if not statuses:
            return "Success"
        if all(s == "Pending" for s in statuses):
            return "Pending"
        if any(s not in TERMINAL for s in statuses):
            return "InProgress"
        worst_first: tuple[Status, ...] = ("Failed", "TimedOut", "Cancelled")
        for worst in worst_first:
            if worst in statuses:
                return worst
        return "Success"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _read_capped(path: Path, cap: int) -> str:
    """The first ``cap`` characters of a UTF-8 output file (bytes beyond 4*cap are never read)."""
    try:
        with path.open("rb") as fh:
            data = fh.read(cap * 4)
    except FileNotFoundError:
        return ""
    return data.decode("utf-8", errors="replace")[:cap]


def default_python_bin() -> Path:
    """The bin dir of the Python running the sandbox (its venv has boto3 and pymongo)."""
    venv_bin = Path(sys.prefix) / "bin"
    return venv_bin if (venv_bin / "python3").exists() else Path(sys.executable).parent


class HostExecutor:
    """Runs invocations as subprocesses in the hosts' directories, with a clean per-host environment."""

    def __init__(
        self,
        hosts: HostRegistry,
        imds_endpoint: Callable[[str], str],
        *,
        moto_url: str,
        region: str,
        ssl_cert_file: Path | None = None,
        python_bin: Path | None = None,
        timing: SsmTiming | None = None,
        max_workers: int = 64,
    ) -> None:
        self.hosts = hosts
        self.imds_endpoint = imds_endpoint
        self.moto_url = moto_url
        self.region = region
        self.ssl_cert_file = ssl_cert_file
        self.python_bin = python_bin or default_python_bin()
        self.timing = timing or SsmTiming()
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="ssm-host")
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._no_route: socket.socket | None = None

    # --- environment --------------------------------------------------------------------------------
    def host_env(self, instance_id: str) -> dict[str, str]:
        """The environment a command sees on this host (built from scratch, never inherited).

        SSM Agent starts a script with its own environment plus ``AWS_SSM_INSTANCE_ID``, ``AWS_SSM_REGION_NAME``,
        ``AWS_SSM_PLATFORM_NAME`` and ``AWS_SSM_PLATFORM_VERSION`` (amazon-ssm-agent
        ``agent/executers/executers.go``, ``prepareEnvironment``). The agent runs as a systemd service whose unit
        sets no environment (``packaging/linux/amazon-ssm-agent.service``), so there is no ``AWS_REGION`` or
        ``AWS_DEFAULT_REGION``, and none is added here. What the emulation adds, because the host's network is not
        real: ``AWS_EC2_METADATA_SERVICE_ENDPOINT`` (its IMDS, at 169.254.169.254 on EC2),
        ``AWS_ENDPOINT_URL_STS`` (its route to STS) and ``SSL_CERT_FILE`` (trust in the emulated Atlas's CA); and
        ``HOME``, the host's directory standing in for ``/root`` (the agent's environment has no ``HOME``; the SDKs
        then find root's home in the password database).
        """
        settings = self.hosts.settings(instance_id)
        home = self.hosts.host_dir(instance_id)
        os_bin = self.hosts.os_bin(instance_id)
        if os_bin.is_dir():  # booted from user data: a fresh AL2023 with systemd's PATH for services
            path = [str(os_bin), "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin"]
        else:  # a host someone prepared: python3 has pymongo
            path = [str(self.python_bin), "/usr/local/bin", "/usr/bin", "/bin"]
        if settings.python:
            path.insert(0, str(self._python_shims(home, settings.python)))
        env = {
            "PATH": os.pathsep.join(path),
            "HOME": str(home),
            "LANG": "C.UTF-8",  # systemd passes /etc/locale.conf's LANG (C.UTF-8 on AL2023) to services
            "AWS_SSM_INSTANCE_ID": instance_id,
            "AWS_SSM_REGION_NAME": self.region,
            "AWS_SSM_PLATFORM_NAME": "Amazon Linux",
            "AWS_SSM_PLATFORM_VERSION": "2023",
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": self.imds_endpoint(instance_id),
            "AWS_ENDPOINT_URL_STS": self._sts_endpoint(settings.sts_reachable),
        }
        if self.ssl_cert_file is not None:
            env["SSL_CERT_FILE"] = str(self.ssl_cert_file)
        env.update(settings.extra_env)
        return env

    def _sts_endpoint(self, reachable: bool) -> str:
        """The host's STS: the sandbox's (signature-checking) STS, or, without a route, an address that refuses."""
        if reachable and self.hosts.sts_endpoint:
            return self.hosts.sts_endpoint
        with self._lock:
            if self._no_route is None:
                # Bound but never listening: connecting gets a reset at once, where a real host without a route
                # to STS would wait for its connect timeout. Kept open so that nobody else takes the port.
                self._no_route = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                self._no_route.bind(("127.0.0.1", 0))
            port = self._no_route.getsockname()[1]
        return f"http://127.0.0.1:{port}"

    @staticmethod
    def _python_shims(home: Path, python: str) -> Path:
        """A bin dir whose python3/python exec the host's interpreter override."""
        shim_dir = home / ".sandbox-bin"
        shim_dir.mkdir(exist_ok=True)
        for name in ("python3", "python"):
            shim = shim_dir / name
            shim.write_text(f'#!/bin/sh\nexec "{python}" "$@"\n', encoding="utf-8")
            shim.chmod(0o755)
        return shim_dir

    # --- lifecycle -----------------------------------------------------------------------------------
    def submit(self, command: Command, invocation: Invocation, lock: threading.Lock) -> None:
        """Start running one invocation in the background."""
        self._pool.submit(self._run_guarded, command, invocation, lock)

    def cancel(self, invocation: Invocation, lock: threading.Lock) -> None:
        """Cancel a pending or running invocation (kills its process group)."""
        with lock:
            if invocation.terminal:
                return
            invocation.cancel_requested = True
            process = invocation.process
        if process is not None:
            _kill_group(process)

    def stop(self, invocations: list[Invocation], lock: threading.Lock) -> None:
        """Kill every running host process and wait for the worker threads to finish."""
        self._stopping.set()
        for invocation in invocations:
            self.cancel(invocation, lock)
        self._pool.shutdown(wait=True, cancel_futures=True)
        # Scripts may leave background children in their process group: those go too.
        for invocation in invocations:
            if invocation.process is not None:
                _kill_group(invocation.process)
        with self._lock:
            if self._no_route is not None:
                self._no_route.close()

    # --- one invocation -------------------------------------------------------------------------------
    def _run_guarded(self, command: Command, invocation: Invocation, lock: threading.Lock) -> None:
        try:
            self._run(command, invocation, lock)
        except Exception as exc:  # a broken emulator must show up as a Failed invocation, not a hang
            logger.exception("invocation %s/%s crashed", command.command_id, invocation.instance_id)
            with lock:
                invocation.status, invocation.status_details = "Failed", "Failed"
                invocation.stderr = f"sandbox error: {exc!r}"[:STDERR_CAP]
                invocation.ended_at = _now()

    def _run(self, command: Command, invocation: Invocation, lock: threading.Lock) -> None:
        if self._stopping.wait(self.timing.pending_for) or not self._await_delivery(command, invocation, lock):
            return
        workdir = self.hosts.host_dir(invocation.instance_id)
        out_dir = workdir / ".ssm" / command.command_id
        out_dir.mkdir(parents=True, exist_ok=True)
        env = self.host_env(invocation.instance_id)
        started = time.monotonic()
        with (out_dir / "stdout").open("wb") as out, (out_dir / "stderr").open("wb") as err, lock:
            if invocation.cancel_requested:
                self._finish(invocation, "Cancelled", "Cancelled", -1)
                return
            invocation.process = subprocess.Popen(
                ["/bin/bash", "-c", self.hosts.map_paths(invocation.instance_id, command.script)],
                cwd=workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
            invocation.status, invocation.status_details = "InProgress", "InProgress"
            invocation.started_at = _now()
        timed_out = self._wait(invocation.process, command.execution_timeout)
        remaining = self.timing.min_in_progress - (time.monotonic() - started)
        if remaining > 0:
            self._stopping.wait(remaining)
        stdout = _read_capped(out_dir / "stdout", STDOUT_CAP)
        stderr = _read_capped(out_dir / "stderr", STDERR_CAP)
        code = invocation.process.returncode
        with lock:
            invocation.stdout = stdout
            if timed_out:
                self._finish(invocation, "TimedOut", "ExecutionTimedOut", -1)
            elif invocation.cancel_requested:
                self._finish(invocation, "Cancelled", "Cancelled", -1)
            elif code == 0:
                self._finish(invocation, "Success", "Success", 0)
            else:
                # The agent appends this line, as real RunShellScript output shows.
                stderr = (stderr + f"failed to run commands: exit status {code}\n")[:STDERR_CAP]
                self._finish(invocation, "Failed", "Failed", code)
            invocation.stderr = stderr

    def _await_delivery(self, command: Command, invocation: Invocation, lock: threading.Lock) -> bool:
        """Wait for the host to be Online (up to TimeoutSeconds); False when the invocation ended instead."""
        deadline = time.monotonic() + command.timeout_seconds
        while True:
            with lock:
                if invocation.cancel_requested:
                    self._finish(invocation, "Cancelled", "Cancelled", -1)
                    return False
            status = self.hosts.status(invocation.instance_id)
            if status is not None and status.online:
                return True
            if time.monotonic() >= deadline or self._stopping.wait(self.timing.delivery_poll):
                with lock:
                    self._finish(invocation, "TimedOut", "DeliveryTimedOut", -1)
                return False

    def _wait(self, process: subprocess.Popen[bytes], timeout: int) -> bool:
        """Wait for the process; kill its group after ``timeout`` s. True when it timed out."""
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            process.wait()
            return True
        return False

    @staticmethod
    def _finish(invocation: Invocation, status: Status, details: str, code: int) -> None:
        invocation.status, invocation.status_details, invocation.response_code = status, details, code
        invocation.ended_at = _now()


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def new_command_id() -> str:
    """A command id shaped like SSM's (a UUID)."""
    return str(uuid.uuid4())
