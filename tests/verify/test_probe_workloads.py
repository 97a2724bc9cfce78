"""The probe where workloads run it: how the credentials arrived, the IMDS hop limit, Lambda's handler, and the
ECS/EKS container command (issue 12)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from atlas_iam_tf.verify import probe
from atlas_iam_tf.verify.command import _LOADER, ProbeInput, _encoded_source, container_command, encode_input
from atlas_iam_tf.verify.result import parse_probe_output
from atlas_iam_tf.verify.workload import DEFAULT_PROBE_IMAGE

PINS = ["pymongo[aws]==4.20.1", "pymongo-auth-aws==1.3.0"]
POD_IDENTITY_URI = "http://169.254.170.23/v1/credentials"


@pytest.mark.parametrize(
    ("method", "env", "delivery"),
    [
        ("env", {"AWS_LAMBDA_FUNCTION_NAME": "atlasiam-verify-api-0a1b2c"}, "lambda-environment"),
        ("env", {}, "environment"),
        ("container-role", {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/x"}, "ecs-container-endpoint"),
        ("container-role", {"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9/v2/x"}, "ecs-container-endpoint"),
        ("container-role", {"AWS_CONTAINER_CREDENTIALS_FULL_URI": POD_IDENTITY_URI}, "eks-pod-identity-agent"),
        (
            "container-role",
            {"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://[fd00:ec2::23]/v1/credentials"},
            "eks-pod-identity-agent",
        ),
        (
            "container-role",
            {
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9/v1/credentials",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/t",
            },
            "eks-pod-identity-agent",
        ),
        ("assume-role-with-web-identity", {"AWS_ROLE_ARN": "arn:aws:iam::1:role/r"}, "web-identity-token-file"),
        ("iam-role", {"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, "imds"),
        ("shared-credentials-file", {}, "shared-credentials-file"),
        ("sso", {}, "other"),
        (None, {}, "other"),
    ],
)
def test_delivery_is_read_from_the_method_and_the_environment(
    method: str | None, env: dict[str, str], delivery: str
) -> None:
    assert probe.delivery_of(method, env) == delivery


@pytest.fixture
def bare_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No AWS_* variables, no credential files: only what a test sets."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "ECS_", "KUBERNETES_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    return monkeypatch


def test_lambdas_environment_keys_are_reported_as_lambda_delivery(bare_env: pytest.MonkeyPatch) -> None:
    bare_env.setenv("AWS_ACCESS_KEY_ID", "testing")
    bare_env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    assert probe.step_credentials({})["delivery"] == "environment"
    bare_env.setenv("AWS_LAMBDA_FUNCTION_NAME", "atlasiam-verify-api-0a1b2c")
    detail = probe.step_credentials({})
    assert (detail["source"], detail["delivery"]) == ("env", "lambda-environment")


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket() as sock:  # bound, never listening: connecting is refused
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_a_refused_container_endpoint_is_named(bare_env: pytest.MonkeyPatch, closed_port: int, tmp_path: Path) -> None:
    uri = f"http://127.0.0.1:{closed_port}/v1/credentials"
    token = tmp_path / "eks-pod-identity-token"
    token.write_text("t")
    bare_env.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri)
    bare_env.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", str(token))
    with pytest.raises(probe.StepFailed) as failed:
        probe.step_credentials({})
    assert failed.value.kind == "credentials_error"
    assert uri in failed.value.message
    detail = failed.value.detail
    assert (detail["container_uri"], detail["container_endpoint"], detail["delivery"]) == (
        uri,
        "refused",
        "eks-pod-identity-agent",
    )


class _SilentImds:
    """An IMDS that never answers the IMDSv2 token PUT (as with a hop limit of 1, seen from a container)."""

    def __init__(self, answer_put: bool) -> None:
        self.answer_put = answer_put
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.stop = threading.Event()
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            request = conn.recv(4096)
            if request.startswith(b"PUT") and not self.answer_put:
                self.held.append(conn)  # never answered
                continue
            conn.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        for conn in self.held:
            conn.close()
        self.sock.close()


@pytest.mark.parametrize("answer_put", [False, True])
def test_a_silent_imds_token_request_in_a_container_is_the_hop_limit(
    bare_env: pytest.MonkeyPatch, answer_put: bool
) -> None:
    imds = _SilentImds(answer_put)
    bare_env.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url)
    bare_env.setenv("KUBERNETES_SERVICE_HOST", "10.100.0.1")
    try:
        with pytest.raises(probe.StepFailed) as failed:
            probe.step_credentials({})
    finally:
        imds.close()
    detail = failed.value.detail
    assert detail["container"] == ["KUBERNETES_SERVICE_HOST"]
    if answer_put:
        assert (failed.value.kind, detail["imds_token"]) == ("no_credentials", "answered")
    else:
        assert (failed.value.kind, detail["imds_token"]) == ("imds_hop_limit", "timeout")
        assert imds.url in failed.value.message


def test_outside_a_container_no_credentials_stays_no_credentials(
    bare_env: pytest.MonkeyPatch, closed_port: int
) -> None:
    bare_env.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", f"http://127.0.0.1:{closed_port}")
    started = time.monotonic()
    with pytest.raises(probe.StepFailed) as failed:
        probe.step_credentials({})
    assert failed.value.kind == "no_credentials"
    assert "imds_token" not in failed.value.detail  # not asked: no container
    assert time.monotonic() - started < 10


def test_lambda_handler_returns_the_result_object(bare_env: pytest.MonkeyPatch) -> None:
    bare_env.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = probe.lambda_handler({"input": encode_input(ProbeInput(uri="mongodb://127.0.0.1:9/"))}, None)
    assert [s["name"] for s in result["steps"]] == ["driver", "credentials"]
    assert result["steps"][-1]["error"]["kind"] == "no_credentials"
    # What Lambda returns as the payload is what the verify side parses.
    assert parse_probe_output(json.dumps(result)).failed is not None
    for event in ({}, {"input": 3}, "x"):
        bad = probe.lambda_handler(event, None)
        assert [s["error"]["kind"] for s in bad["steps"]] == ["bad_input"]


def test_the_default_image_pip_installs_the_pins_first() -> None:
    inp = ProbeInput(uri="mongodb://h/")
    cmd = container_command(inp, PINS, None)
    assert cmd == container_command(inp, PINS, DEFAULT_PROBE_IMAGE)
    assert cmd[:2] == ["/bin/sh", "-c"]
    assert cmd[2] == (
        "python3 -m pip install --quiet --no-cache-dir --disable-pip-version-check --root-user-action=ignore "
        '\'pymongo[aws]==4.20.1\' \'pymongo-auth-aws==1.3.0\' >&2 && exec python3 -c "$1" "$2" "$3"'
    )
    assert cmd[3:] == ["atlasiam-probe", _LOADER, _encoded_source(), encode_input(inp)]
    assert container_command(inp, PINS, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/probe:1")[2] == (
        'exec python3 -c "$1" "$2" "$3"'
    )
    with pytest.raises(ValueError, match="quote"):
        container_command(inp, ["x'; touch y; '"], None)


def test_the_container_command_runs_the_probe(tmp_path: Path) -> None:
    cmd = container_command(ProbeInput(uri="mongodb://127.0.0.1:9/"), PINS, "my-image-with-pymongo")
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, check=False)
    result = parse_probe_output(proc.stdout)
    assert result.failed is not None and result.failed.error_kind == "no_credentials"
