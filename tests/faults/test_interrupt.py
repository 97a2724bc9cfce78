"""Ctrl-C through the runner: Terraform alone hears it, its last words are read, a hung one is killed."""

from __future__ import annotations

import os
import signal
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from atlas_iam_tf.errors import CancelledError
from atlas_iam_tf.terraform import runner as runner_mod
from atlas_iam_tf.terraform.engine import Engine
from atlas_iam_tf.terraform.runner import TerraformRunner

# A stand-in Terraform with a stand-in provider child in its process group. The provider records any
# SIGINT it gets; Terraform stops the provider over "RPC" (here: SIGTERM) only once its own work is done.
FAKE = textwrap.dedent(
    """
    import os, signal, subprocess, sys, time
    mode, marker = sys.argv[1], sys.argv[2]
    provider = subprocess.Popen([sys.executable, "-c", '''
    import signal, sys, time
    signal.signal(signal.SIGINT, lambda *a: open(sys.argv[1], "a").write("provider got SIGINT\\\\n"))
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    while True:
        time.sleep(0.05)
    ''', marker])
    def stop(signum, frame):
        if mode == "hang":
            return
        print("Interrupt received. Gracefully shutting down...", flush=True)
        time.sleep(0.3)  # the operation in flight completes
        print("aws_instance.this: Creation complete", flush=True)
        provider.terminate()
        provider.wait()
        sys.exit(1)
    signal.signal(signal.SIGINT, stop)
    print(f"provider pid {provider.pid}", flush=True)
    print("aws_instance.this: Creating...", flush=True)
    time.sleep(30)
    """
)


@pytest.fixture
def fake(tmp_path: Path) -> Engine:
    script = tmp_path / "fake_terraform.py"
    script.write_text(FAKE)
    return Engine(kind="binary", argv=(sys.executable, str(script)), label="fake terraform")


def _ctrl_c_on(first_line: str, seen: list[str]) -> Callable[[str], None]:
    def on_line(line: str) -> None:
        seen.append(line)
        if line == first_line:
            threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT)).start()

    return on_line


def test_only_terraform_hears_ctrl_c_and_its_last_lines_are_read(fake: Engine, tmp_path: Path) -> None:
    marker = tmp_path / "provider.log"
    seen: list[str] = []
    with pytest.raises(CancelledError) as exc:
        TerraformRunner(fake, tmp_path, os.environ).execute(
            ["graceful", str(marker)], on_line=_ctrl_c_on("aws_instance.this: Creating...", seen)
        )
    assert exc.value.message == "interrupted: terraform graceful stopped gracefully"
    assert seen[-1] == "aws_instance.this: Creation complete"  # shown while Terraform stopped
    assert not marker.exists()  # the provider was stopped by Terraform, never signalled by us


def test_terraform_that_does_not_stop_is_killed_with_its_group(
    fake: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_mod, "INTERRUPT_GRACE_SECONDS", 1.0)
    seen: list[str] = []
    start = time.monotonic()
    with pytest.raises(CancelledError) as exc:
        TerraformRunner(fake, tmp_path, os.environ).execute(
            ["hang", str(tmp_path / "provider.log")], on_line=_ctrl_c_on("aws_instance.this: Creating...", seen)
        )
    assert exc.value.message == "interrupted: terraform hang was killed"
    assert "force-unlock" in (exc.value.hint or "")
    assert time.monotonic() - start < 10
    provider = int(seen[0].split()[-1])
    deadline = time.monotonic() + 5
    while _alive(provider) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(provider)  # nothing of the group is left behind


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status
