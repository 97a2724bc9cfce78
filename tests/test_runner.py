"""The Terraform chokepoint, exercised with a real child process standing in for the binary."""

from __future__ import annotations

import gc
import os
import signal
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path

import pytest

from atlas_iam_tf.errors import CancelledError, TerraformError, TerraformNotFoundError
from atlas_iam_tf.terraform.engine import Engine, resolve_engine
from atlas_iam_tf.terraform.runner import TerraformRunner, terraform_env

FAKE = textwrap.dedent(
    """
    import os, signal, sys, time
    cmd = sys.argv[1]
    if cmd == "env":
        for k in sorted(os.environ):
            if k.startswith(("TF_", "CHECKPOINT")):
                print(f"{k}={os.environ[k]}")
    elif cmd == "fail":
        print('{"@level":"error","@message":"Error: Boom","type":"diagnostic","diagnostic":{"summary":"Boom"}}')
        sys.stderr.write("details on stderr\\n")
        sys.exit(1)
    elif cmd == "slow":
        def stop(signum, frame):
            print("interrupted gracefully", flush=True)
            open(sys.argv[2], "w").write("released")
            sys.exit(1)
        signal.signal(signal.SIGINT, stop)
        print("started", flush=True)
        time.sleep(30)
    else:
        for i in range(3):
            print(f"line {i}", flush=True)
    """
)


@pytest.fixture
def fake_engine(tmp_path: Path) -> Engine:
    script = tmp_path / "fake_terraform.py"
    script.write_text(FAKE)
    return Engine(kind="binary", argv=(sys.executable, str(script)), label="fake terraform")


def test_streams_lines_and_collects_output(fake_engine: Engine, tmp_path: Path) -> None:
    seen: list[str] = []
    result = TerraformRunner(fake_engine, tmp_path, os.environ).execute(["lines"], on_line=seen.append)
    assert seen == ["line 0", "line 1", "line 2"]
    assert result.stdout == "line 0\nline 1\nline 2\n" and result.returncode == 0


def test_environment_is_explicit(fake_engine: Engine, tmp_path: Path) -> None:
    env = terraform_env({"TF_LOG": "TRACE", "TF_CLI_CONFIG_FILE": "/x", "PATH": os.environ["PATH"]})
    out = TerraformRunner(fake_engine, tmp_path, env).execute(["env"]).stdout.splitlines()
    assert "CHECKPOINT_DISABLE=1" in out and "TF_IN_AUTOMATION=1" in out
    assert "TF_CLI_CONFIG_FILE=/x" in out  # a user's CLI config is honoured
    assert not any(line.startswith("TF_LOG=") for line in out)


def test_failure_raises_with_the_diagnostic(fake_engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(TerraformError) as exc:
        TerraformRunner(fake_engine, tmp_path, os.environ).execute(["fail"])
    assert exc.value.message == "terraform fail failed: Boom"
    assert exc.value.returncode == 1 and "details on stderr" in exc.value.stderr


def test_ok_codes(fake_engine: Engine, tmp_path: Path) -> None:
    result = TerraformRunner(fake_engine, tmp_path, os.environ).execute(["fail"], ok_codes=(0, 1))
    assert result.returncode == 1


def test_interrupt_is_forwarded_once_and_waited_for(fake_engine: Engine, tmp_path: Path) -> None:
    marker = tmp_path / "lock"
    seen: list[str] = []

    def on_line(line: str) -> None:
        seen.append(line)
        if line == "started":  # the user presses Ctrl-C now
            threading.Timer(0.1, lambda: os.kill(os.getpid(), signal.SIGINT)).start()

    start = time.monotonic()
    with pytest.raises(CancelledError):
        TerraformRunner(fake_engine, tmp_path, os.environ).execute(["slow", str(marker)], on_line=on_line)
    assert marker.read_text() == "released"  # the child ran its graceful shutdown
    assert time.monotonic() - start < 10


def test_resolve_engine(tmp_path: Path) -> None:
    assert resolve_engine(None).kind == "embedded"
    with pytest.raises(TerraformNotFoundError):
        resolve_engine(str(tmp_path / "missing"))
    with pytest.raises(TerraformNotFoundError):
        resolve_engine("no-such-terraform-binary-here")
    fake = tmp_path / "terraform"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert resolve_engine(str(fake)).argv == (str(fake),)


def test_pipes_are_closed_after_each_run(fake_engine: Engine, tmp_path: Path) -> None:
    """Each run closes its ends of the pipes: none is left for the garbage collector to find (ResourceWarning)."""
    runner = TerraformRunner(fake_engine, tmp_path, os.environ)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        runner.execute(["lines"])
        with pytest.raises(TerraformError):
            runner.execute(["fail"])
        gc.collect()
    assert [str(w.message) for w in seen if issubclass(w.category, ResourceWarning)] == []
