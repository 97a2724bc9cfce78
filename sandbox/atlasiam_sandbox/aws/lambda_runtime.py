"""Lambda's Python execution environment, one local process per invocation.

What a handler sees, as in Lambda's Python runtime (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html,
https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html):

- its deployment package unzipped as the task root (``LAMBDA_TASK_ROOT``), which is the working directory and the
  first entry of ``sys.path``; the interpreter runs with ``-S``, so nothing but the package and the standard library
  can be imported (the real runtime also ships boto3/botocore: the sandbox's does not, so a function must bundle
  what it imports; stricter, never kinder);
- an environment built from scratch: the runtime's defined variables (``_HANDLER``, ``AWS_REGION``,
  ``AWS_EXECUTION_ENV``, ``AWS_LAMBDA_FUNCTION_*``, ``AWS_LAMBDA_LOG_*``, ``LAMBDA_TASK_ROOT``, ``LAMBDA_RUNTIME_DIR``,
  ``TZ``, ``LANG``, ``PATH``), the function's own ``Environment.Variables``, and the execution role's session
  credentials (``AWS_ACCESS_KEY_ID``, ``AWS_ACCESS_KEY``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``; session
  name = the function name). Sandbox-only, because its network is not real: ``AWS_ENDPOINT_URL_STS`` (the
  signature-checking STS), ``SSL_CERT_FILE`` (trust in the emulated Atlas's CA) and ``HOME`` (an empty directory,
  so that the SDKs never read the operator's ``~/.aws``);
- the event as its first argument, a context object as its second (:mod:`lambda_bootstrap`);
- its stdout and stderr as the function's log, framed by the ``START``/``END``/``REPORT`` lines Lambda writes
  ("Using CloudWatch Logs with Lambda", https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html);
- the function's timeout: the process is killed when it runs out, and the invocation fails with
  ``Sandbox.Timedout`` "Task timed out after N.NN seconds".

Not modelled: warm starts (every invocation is a cold start in a fresh process), the memory limit, a read-only task
root, ``AWS_LAMBDA_RUNTIME_API`` (there is no Runtime API server), X-Ray variables, the runtime's logging format.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from atlasiam_sandbox.aws.moto_server import RoleCredentials

#: ``LogType=Tail`` returns the last 4 KB of the invocation's log (Invoke API reference, ``LogResult``).
LOG_TAIL_BYTES = 4096
#: ``PATH`` in Lambda's environment (configuration-envvars.html, "Defined runtime environment variables").
LAMBDA_PATH = "/usr/local/bin:/usr/bin/:/bin:/opt/bin"
_POLL_S = 0.005
_BOOTSTRAP = Path(__file__).with_name("lambda_bootstrap.py")


@dataclass(frozen=True)
class FunctionSpec:
    """What one invocation needs to know about the function ($LATEST)."""

    name: str
    arn: str
    handler: str
    runtime: str
    memory_mb: int
    timeout_s: int
    code_sha256: str
    code: bytes
    environment: Mapping[str, str]
    region: str
    version: str = "$LATEST"


@dataclass(frozen=True)
class InvokeOutcome:
    """What Invoke answers: the payload, ``X-Amz-Function-Error`` (None or ``Unhandled``) and the whole log."""

    payload: bytes
    function_error: str | None
    log: str
    request_id: str

    @property
    def log_tail(self) -> bytes:
        """The last 4 KB of the log (``LogType=Tail``)."""
        return self.log.encode("utf-8")[-LOG_TAIL_BYTES:]


def _error(request_id: str, error_type: str, message: str) -> bytes:
    return json.dumps({"errorMessage": f"RequestId: {request_id} Error: {message}", "errorType": error_type}).encode()


class LambdaRuntime:
    """Runs invocations of Python functions as local processes under ``state_dir``.

    Args:
        state_dir: Where unzipped packages, the runtime directory and per-invocation files live.
        python: The interpreter (run with ``-S``).
        sts_endpoint: The functions' ``AWS_ENDPOINT_URL_STS``.
        ssl_cert_file: The CA bundle functions trust (``SSL_CERT_FILE``), or None.
    """

    def __init__(self, state_dir: Path, python: Path, *, sts_endpoint: str, ssl_cert_file: Path | None) -> None:
        self.state_dir = state_dir
        self.python = python
        self.sts_endpoint = sts_endpoint
        self.ssl_cert_file = ssl_cert_file
        self._running: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()
        self._stopped = False
        self.runtime_dir = state_dir / "runtime"
        self.runtime_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_BOOTSTRAP, self.runtime_dir / "bootstrap.py")

    # --- the package -----------------------------------------------------------------------------------
    def task_root(self, spec: FunctionSpec) -> Path:
        """The package unzipped (once per code version)."""
        root = self.state_dir / "functions" / f"{spec.name}-{spec.code_sha256[:16]}" / "task"
        if not root.is_dir():
            staging = root.with_name(f".task-{uuid.uuid4().hex}")
            staging.mkdir(parents=True)
            with zipfile.ZipFile(io.BytesIO(spec.code)) as archive:
                archive.extractall(staging)  # zipfile drops absolute paths and ".." members
            try:
                staging.rename(root)
            except OSError:  # another invocation unzipped it first
                shutil.rmtree(staging, ignore_errors=True)
        return root

    def environment(
        self, spec: FunctionSpec, creds: RoleCredentials, task: Path, home: Path, stream: str
    ) -> dict[str, str]:
        """The handler process's whole environment (see the module docstring)."""
        env = dict(spec.environment)
        env |= {
            "PATH": LAMBDA_PATH,
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "PYTHONPATH": str(task),
            "LAMBDA_TASK_ROOT": str(task),
            "LAMBDA_RUNTIME_DIR": str(self.runtime_dir),
            "_HANDLER": spec.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": stream,
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
            "AWS_ACCESS_KEY_ID": creds.access_key_id,
            "AWS_ACCESS_KEY": creds.access_key_id,
            "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
            "AWS_SESSION_TOKEN": creds.session_token,
            "AWS_ENDPOINT_URL_STS": self.sts_endpoint,
            "HOME": str(home),
        }
        if self.ssl_cert_file is not None:
            env["SSL_CERT_FILE"] = str(self.ssl_cert_file)
        return env

    # --- one invocation ----------------------------------------------------------------------------------
    def invoke(self, spec: FunctionSpec, event: object, creds: RoleCredentials) -> InvokeOutcome:
        """Run the handler once with ``event`` (already parsed JSON); blocks until it ends or times out."""
        request_id = str(uuid.uuid4())
        if not spec.runtime.startswith("python3"):
            # Sandbox limit: only Python functions run here.
            payload = _error(request_id, "Runtime.Unsupported", f"the sandbox runs no {spec.runtime} functions")
            return InvokeOutcome(payload, "Unhandled", "", request_id)
        task = self.task_root(spec)
        work = self.state_dir / "invocations" / request_id
        home = work / "home"
        home.mkdir(parents=True)
        (work / "event.json").write_text(json.dumps(event), encoding="utf-8")
        now = datetime.now(timezone.utc)
        stream = f"{now:%Y/%m/%d}/[{spec.version}]{uuid.uuid4().hex}"
        env = self.environment(spec, creds, task, home, stream)
        deadline_ms = int(time.time() * 1000) + spec.timeout_s * 1000
        result_file = work / "result.json"
        # -u: the runtime interface client writes the handler's output unbuffered (awslambdaric/bootstrap.py,
        # ``Unbuffered``), so what a handler printed before it timed out is in the log.
        argv = [str(self.python), "-S", "-u", str(self.runtime_dir / "bootstrap.py"), spec.handler]
        argv += [str(work / "event.json"), str(result_file), str(deadline_ms), request_id, spec.arn]
        started = time.monotonic()
        with (work / "log").open("wb") as log, self._lock:
            if self._stopped:
                raise RuntimeError("the Lambda runtime is stopped")
            process = subprocess.Popen(
                argv,
                cwd=task,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self._running[request_id] = process
        try:
            code, max_rss_kb = _wait(process, spec.timeout_s)
        finally:
            _kill_group(process)  # children it left behind go with it, as the execution environment is frozen
            with self._lock:
                self._running.pop(request_id, None)
        elapsed_ms = (time.monotonic() - started) * 1000
        output = (work / "log").read_bytes().decode("utf-8", "replace")
        outcome = _read_result(result_file)
        if code is None:
            message = f"Task timed out after {spec.timeout_s:.2f} seconds"
            payload, error = _error(request_id, "Sandbox.Timedout", message), "Unhandled"
            output += f"{_iso(datetime.now(timezone.utc))} {request_id} {message}\n"
            status = "\tStatus: timeout"
        elif outcome is None:
            cause = f"exit status {code}" if code >= 0 else f"signal: {signal.Signals(-code).name.lower()[3:]}"
            payload = _error(request_id, "Runtime.ExitError", f"Runtime exited with error: {cause}")
            error, status = "Unhandled", "\tStatus: error\tError Type: Runtime.ExitError"
        elif "error" in outcome:
            payload, error, status = json.dumps(outcome["error"]).encode(), "Unhandled", ""
        else:
            payload, error, status = str(outcome.get("payload", "null")).encode(), None, ""
        duration = elapsed_ms if outcome is None else float(outcome.get("duration_ms", elapsed_ms))
        init = max(elapsed_ms - duration, 0.0) if outcome is not None else 0.0
        log_text = (
            f"START RequestId: {request_id} Version: {spec.version}\n{output}"
            + ("" if not output or output.endswith("\n") else "\n")
            + f"END RequestId: {request_id}\n"
            + f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\t"
            + f"Billed Duration: {math.ceil(duration + init)} ms\tMemory Size: {spec.memory_mb} MB\t"
            + f"Max Memory Used: {max(max_rss_kb // 1024, 1)} MB\tInit Duration: {init:.2f} ms{status}\t\n"
        )
        shutil.rmtree(work, ignore_errors=True)
        return InvokeOutcome(payload, error, log_text, request_id)

    def stop(self) -> None:
        """Kill every running invocation. Idempotent."""
        with self._lock:
            self._stopped = True
            running = list(self._running.values())
        for process in running:
            _kill_group(process)


def _read_result(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _peak_kb(pid: int, seen: int) -> int:
    """The process's peak resident memory so far (``VmHWM``, KiB), or ``seen`` when ``/proc`` does not say."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return max(seen, int(line.split()[1]))
    except (OSError, ValueError, IndexError):
        pass
    return seen


def _wait(process: subprocess.Popen[bytes], timeout: float) -> tuple[int | None, int]:
    """(exit code, or None when it ran out of time; its peak resident memory in KiB, as last sampled)."""
    deadline = time.monotonic() + timeout
    peak = 0
    while True:
        peak = _peak_kb(process.pid, peak)
        pid, status = os.waitpid(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return process.returncode, peak
        if time.monotonic() >= deadline:
            _kill_group(process)
            _, status = os.waitpid(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
            return None, peak
        time.sleep(_POLL_S)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
