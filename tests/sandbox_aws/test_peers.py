"""Which emulated host a loopback connection comes from: the connecting process's AWS_SSM_INSTANCE_ID."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from atlasiam_sandbox.aws import peers

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")


def _accepted_from(env: dict[str, str]) -> tuple[str | None, subprocess.Popen[bytes]]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        script = f"import socket, time; s = socket.create_connection(('127.0.0.1', {port})); time.sleep(5)"
        child = subprocess.Popen([sys.executable, "-c", script], env=env)
        conn, _ = server.accept()
        with conn:
            return peers.connection_instance(conn), child


def test_a_hosts_process_is_named_by_its_instance_id() -> None:
    instance, child = _accepted_from({**os.environ, "AWS_SSM_INSTANCE_ID": "i-0123456789abcdef0"})
    child.kill()
    child.wait()
    assert instance == "i-0123456789abcdef0"


def test_any_other_process_is_no_host() -> None:
    env = {k: v for k, v in os.environ.items() if k != "AWS_SSM_INSTANCE_ID"}
    instance, child = _accepted_from(env)
    child.kill()
    child.wait()
    assert instance is None


def test_a_lambda_functions_process_is_named_by_its_function_name() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        script = f"import socket, time; s = socket.create_connection(('127.0.0.1', {port})); time.sleep(5)"
        env = {"AWS_LAMBDA_FUNCTION_NAME": "orders-fn", "PATH": "/usr/bin:/bin"}
        child = subprocess.Popen([sys.executable, "-S", "-c", script], env=env)
        conn, _ = server.accept()
        with conn:
            seen = peers.connection_environment(conn)
        child.kill()
        child.wait()
    assert seen == env
