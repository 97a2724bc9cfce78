"""The one chokepoint through which every Terraform command runs."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from atlas_iam_tf.errors import CancelledError, TerraformError, TerraformNotFoundError
from atlas_iam_tf.terraform.embedded_worker import WAIT_FLAG
from atlas_iam_tf.terraform.engine import Engine, embedded_engine, resolve_engine

log = logging.getLogger(__name__)

# Removed from the environment Terraform sees: debug logging would flood our stream and can leak secrets.
_STRIPPED_ENV = ("TF_LOG", "TF_LOG_PATH", "TF_LOG_CORE", "TF_LOG_PROVIDER", "TF_INPUT")
# Time Terraform gets to stop gracefully after an interrupt before it is killed.
INTERRUPT_GRACE_SECONDS = 60.0

LineCallback = Callable[[str], None]


@dataclass(frozen=True)
class TfResult:
    """What a finished Terraform command left behind."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def terraform_env(base: Mapping[str, str], extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The explicit environment for Terraform: automation mode, no checkpoint calls, no debug logs."""
    env = {k: v for k, v in base.items() if k not in _STRIPPED_ENV}
    env |= {"TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    env |= dict(extra or {})
    return env


class WarmStart:
    """An embedded-engine worker started ahead of time, so loading Terraform overlaps our own start-up.

    It serves the first command of a runner with the same environment; unused, it exits as soon as
    its stdin closes (at the latest when this process ends), so it can never be left behind.
    """

    def __init__(self, engine: Engine, env: Mapping[str, str]) -> None:
        self.env = dict(env)
        self.engine = engine
        self._proc: subprocess.Popen[str] | None = None
        if engine.kind == "embedded":  # a binary starts fast enough on its own
            with contextlib.suppress(OSError):
                self._proc = _popen([*engine.argv, WAIT_FLAG], env=self.env, stdin=True)

    def __enter__(self) -> WarmStart:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def take(
        self, engine: Engine, env: Mapping[str, str], args: Sequence[str], cwd: Path
    ) -> subprocess.Popen[str] | None:
        """Hand the worker ``args`` if it matches this engine and environment; else None."""
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        if engine != self.engine or dict(env) != self.env or proc.poll() is not None or proc.stdin is None:
            _discard(proc)
            return None
        try:
            proc.stdin.write(json.dumps({"args": list(args), "cwd": str(cwd)}) + "\n")
            proc.stdin.close()
        except OSError:
            _discard(proc)
            return None
        return proc

    def close(self) -> None:
        """Let an unused worker go."""
        proc, self._proc = self._proc, None
        if proc is not None:
            _discard(proc)


def warm_start(terraform_bin: str | None) -> WarmStart:
    """Start loading the embedded Terraform now, while atlasiam imports, reads the config and renders.

    The engine is guessed from the flag/env; if the config picks another one, the worker goes unused.
    """
    try:
        engine = resolve_engine(terraform_bin or os.environ.get("ATLASIAM_TERRAFORM_BIN"))
    except TerraformNotFoundError:
        engine = embedded_engine()
    return WarmStart(engine, terraform_env(os.environ))


def _popen(
    argv: Sequence[str], *, env: Mapping[str, str], stdin: bool = False, cwd: Path | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        argv,
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        start_new_session=True,  # our Ctrl-C handling decides when Terraform hears about it
        umask=0o077,  # state, plans and lock files are written 0600: they can hold secrets
    )


def _discard(proc: subprocess.Popen[str]) -> None:
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class TerraformRunner:
    """Runs Terraform commands in one working directory with one environment."""

    def __init__(self, engine: Engine, workdir: Path, env: Mapping[str, str], warm: WarmStart | None = None) -> None:
        self.engine = engine
        self.workdir = workdir
        self.env = dict(env)
        self._warm = warm

    def execute(
        self,
        args: Sequence[str],
        *,
        on_line: LineCallback | None = None,
        ok_codes: tuple[int, ...] = (0,),
    ) -> TfResult:
        """Run ``terraform ARGS``; stream stdout lines to ``on_line``; raise on an unexpected exit code.

        Ctrl-C is passed on to Terraform once, so it can stop gracefully and release its lock;
        then ``CancelledError`` is raised.
        """
        argv = [*self.engine.argv, *args]
        log.debug("running %s in %s", " ".join(args), self.workdir)
        warm, self._warm = self._warm, None
        proc = warm.take(self.engine, self.env, args, self.workdir) if warm is not None else None
        try:
            if proc is None:
                proc = _popen(argv, env=self.env, cwd=self.workdir)
        except FileNotFoundError as exc:
            raise TerraformNotFoundError(f"cannot start {self.engine.label}: {exc.strerror}") from None
        stderr_chunks: list[str] = []
        assert proc.stderr is not None and proc.stdout is not None
        err_reader = threading.Thread(target=lambda: stderr_chunks.append(proc.stderr.read()), daemon=True)  # type: ignore[union-attr]
        err_reader.start()
        out_lines: list[str] = []
        try:
            _read_lines(proc, out_lines, on_line)
            proc.wait()
        except KeyboardInterrupt:
            stopped = _interrupt(proc, out_lines, on_line)
            raise CancelledError(
                f"interrupted: terraform {args[0]} {'stopped gracefully' if stopped else 'was killed'}",
                hint=(
                    "state and locks were left as Terraform saved them; run the command again to converge"
                    if stopped
                    else "Terraform did not stop in time: check the state, remove a stale lock with "
                    "`terraform force-unlock`, then run the command again"
                ),
            ) from None
        finally:
            err_reader.join(timeout=5)
        result = TfResult(tuple(args), proc.returncode, "".join(out_lines), "".join(stderr_chunks))
        if result.returncode not in ok_codes:
            raise TerraformError.from_process(args, result.returncode, result.stdout, result.stderr)
        return result


def _read_lines(proc: subprocess.Popen[str], out_lines: list[str], on_line: LineCallback | None) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        out_lines.append(line)
        if on_line is not None:
            on_line(line.rstrip("\n"))


def _kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def _interrupt(proc: subprocess.Popen[str], out_lines: list[str], on_line: LineCallback | None) -> bool:
    """Pass one Ctrl-C on to Terraform and wait, bounded, while it stops; True if it stopped by itself.

    Only the Terraform process is signalled, not its process group: Terraform stops its providers
    over RPC and lets operations in flight finish, so what they created reaches the state. A provider
    that heard the signal itself could exit mid-create (go-plugin providers ignore SIGINT, others
    need not), and the object would exist without being in the state: the next apply duplicates it.
    Its output is still read (and shown) meanwhile, so a full pipe cannot stall the shutdown. After
    ``INTERRUPT_GRACE_SECONDS``, or at a second Ctrl-C, the whole group is killed.
    """
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGINT)
    deadline = threading.Timer(INTERRUPT_GRACE_SECONDS, _kill_group, (proc,))
    deadline.daemon = True
    deadline.start()
    try:
        _read_lines(proc, out_lines, on_line)
        proc.wait()
    except KeyboardInterrupt:  # a second Ctrl-C: the user will not wait
        _kill_group(proc)
        proc.wait()
    finally:
        deadline.cancel()
    return proc.returncode != -signal.SIGKILL
