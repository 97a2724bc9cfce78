"""The one chokepoint through which every Terraform command runs."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from atlas_iam_tf.errors import CancelledError, TerraformError, TerraformNotFoundError
from atlas_iam_tf.terraform.engine import Engine

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


def _popen(argv: Sequence[str], *, env: Mapping[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        argv,
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        start_new_session=True,  # our Ctrl-C handling decides when Terraform hears about it
        umask=0o077,  # state, plans and lock files are written 0600: they can hold secrets
    )


class TerraformRunner:
    """Runs Terraform commands in one working directory with one environment."""

    def __init__(self, engine: Engine, workdir: Path, env: Mapping[str, str]) -> None:
        self.engine = engine
        self.workdir = workdir
        self.env = dict(env)

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
        try:
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
            _close_pipes(proc, stderr_done=not err_reader.is_alive())
        result = TfResult(tuple(args), proc.returncode, "".join(out_lines), "".join(stderr_chunks))
        if result.returncode not in ok_codes:
            raise TerraformError.from_process(args, result.returncode, result.stdout, result.stderr)
        return result


def _close_pipes(proc: subprocess.Popen[str], *, stderr_done: bool) -> None:
    """Close our ends of Terraform's pipes once it is done.

    Left to the garbage collector, each run would hold two descriptors until then and warn (ResourceWarning) when
    they go. A stderr still being read (a provider outliving Terraform keeps it open) is left to its reader thread.
    """
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    if stderr_done:
        proc.stderr.close()


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
