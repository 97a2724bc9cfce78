"""The probe's pure parts and its input encoding, including hostile inputs."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas_iam_tf.verify import command, probe
from atlas_iam_tf.verify.command import ProbeInput, bootstrap_lines, encode_input, local_argv, shell_commands
from atlas_iam_tf.verify.result import parse_probe_output

HOSTILE = [
    "mongodb://h/?x=$(touch {marker})",
    "mongodb://h/`touch {marker}`",
    "mongodb://h/'; touch {marker}; echo '",
    'mongodb://h/"; touch {marker}; echo "',
    "mongodb://h/\ntouch {marker}\n",
    "mongodb://h/$((1+1)) && touch {marker}",
    "mongodb://h/|touch {marker}",
]


@pytest.mark.parametrize(
    ("sts_arn", "mapped"),
    [
        (
            "arn:aws:sts::123456789012:assumed-role/orders-dev-host/i-0abc",
            "arn:aws:iam::123456789012:role/orders-dev-host",
        ),
        ("arn:aws-us-gov:sts::123456789012:assumed-role/r/s", "arn:aws-us-gov:iam::123456789012:role/r"),
        ("arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:user/alice"),
    ],
)
def test_role_arn_mapping(sts_arn: str, mapped: str) -> None:
    assert probe.role_arn_of(sts_arn) == mapped


def test_input_round_trip() -> None:
    inp = ProbeInput(uri="mongodb://h/?tls=true", expect_arn="arn:aws:iam::1:role/r", wait_s=3)
    assert probe.decode_input(encode_input(inp))["expect_arn"] == "arn:aws:iam::1:role/r"


@pytest.mark.parametrize(
    "arg", ["", "not base64!", base64.b64encode(b"[1,2]").decode(), base64.b64encode(b"{}").decode()]
)
def test_bad_input_is_one_failed_step(arg: str) -> None:
    result = probe.run(arg)
    assert result["ok"] is False
    assert [s["error"]["kind"] for s in result["steps"]] == ["bad_input"]


LOADED_NS = 1_000 * 10**9  # the probe's first line, in epoch ns; 100.0 on the perf_counter scale


@pytest.mark.parametrize(
    ("t0", "start"),
    [
        ("999000000000", 99.0),  # the wrapper started 1 s before the probe's first line
        ("940000000000", 40.0),  # a minute before: still plausible
        ("1000000000000", 100.0),
        (None, 100.0),  # --from-here, or no wrapper: from the first line
        ("", 100.0),
        ("999000000000N", 100.0),  # date without %N support
        ("-999000000000", 100.0),
        ("999_000_000_000", 100.0),
        ("1000000000001", 100.0),  # in the future
        ("939999999999", 100.0),  # over a minute old
        ("9" * 40, 100.0),
    ],
)
def test_probe_start_takes_the_wrapper_t0_only_when_plausible(t0: str | None, start: float) -> None:
    assert probe.started_at(t0, LOADED_NS, 100.0) == pytest.approx(start)


def test_wrapper_t0_comes_from_date_not_from_input() -> None:
    for wait in (False, True):
        lines = shell_commands(ProbeInput(uri="mongodb://h/", wait_bootstrap=wait))
        t0 = lines.index('export ATLASIAM_PROBE_T0="$(date +%s%N 2>/dev/null)"')
        # After any wait for the bootstrap: the probe's time is its own run, Python's start-up included.
        assert t0 == lines.index('export ATLASIAM_BOOTSTRAP="$B"') + 2
    assert probe.T0_ENV == "ATLASIAM_PROBE_T0"
    assert (probe.BOOTSTRAP_ENV, probe.BOOTSTRAP_WAITED_ENV, probe.BOOTSTRAP_ERROR_ENV, probe.BOOTSTRAP_LOG) == (
        command.BOOTSTRAP_ENV,
        command.BOOTSTRAP_WAITED_ENV,
        command.BOOTSTRAP_ERROR_ENV,
        command.BOOTSTRAP_LOG,
    )


def test_only_atlasiams_hosts_are_waited_for_and_only_within_wait() -> None:
    waiting = "\n".join(shell_commands(ProbeInput(uri="mongodb://h/", wait_s=29.5, wait_bootstrap=True)))
    assert "until [ -e /opt/atlasiam/ready ] || [ -e /opt/atlasiam/failed ] || [ $(( $(date +%s) - W0 )) -ge 30 ]" in (
        waiting
    )
    looking = "\n".join(shell_commands(ProbeInput(uri="mongodb://h/", wait_s=29.5)))
    assert "until" not in looking and "sleep" not in looking
    assert "B=ready" in looking  # a host that has the markers still reports them


def test_the_login_retries_only_for_what_the_bootstrap_wait_left(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as closed:  # bound, never listening: every attempt fails fast
        closed.bind(("127.0.0.1", 0))
        inp = {"uri": f"mongodb://127.0.0.1:{closed.getsockname()[1]}/", "wait_s": 2.5, "connect_timeout_s": 0.2}
        attempts = []
        for waited in ("0", "2"):
            monkeypatch.setenv("ATLASIAM_BOOTSTRAP_WAITED_S", waited)
            with pytest.raises(probe.StepFailed) as failed:
                probe.step_auth(inp)
            attempts.append(failed.value.detail["attempts"])
    assert attempts == [2, 1]  # 2.5 s allow a retry 1 s after the first; after the wrapper used 2 s, none


def test_user_data_writes_the_markers_the_wrapper_waits_for() -> None:
    from tests.user_data import USER_DATA as user_data

    assert f"touch {command.READY_MARKER}\n" in user_data
    assert f"| tee {command.FAILED_MARKER}' ERR" in user_data
    assert f"tee -a {command.BOOTSTRAP_LOG})" in user_data
    assert f"-m venv {command.VENV_PYTHON.removesuffix('/bin/python3')}\n" in user_data
    assert f'VENV_PYTHON="{command.VENV_PYTHON}"' in user_data


def _wrapper(tmp_path: Path, lines: list[str], before: str = "") -> tuple[str, float]:
    """Run bootstrap wrapper lines with the markers under ``tmp_path``; print what the probe would see."""
    script = "\n".join(
        [
            before,
            *lines,
            'echo "B=$ATLASIAM_BOOTSTRAP W=${ATLASIAM_BOOTSTRAP_WAITED_S-} E=${ATLASIAM_BOOTSTRAP_ERROR-}"',
        ]
    )
    script = script.replace("/opt/atlasiam/", f"{tmp_path}/")
    started = time.monotonic()
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30, check=True).stdout
    return out.strip(), time.monotonic() - started


def test_wrapper_waits_for_the_ready_marker(tmp_path: Path) -> None:
    out, took = _wrapper(tmp_path, bootstrap_lines(10), before=f"(sleep 1; touch {tmp_path}/ready) &")
    assert out in ("B=ready W=1 E=", "B=ready W=2 E=")  # whole seconds, by date +%s
    assert 0.9 < took < 3


def test_wrapper_gives_up_at_the_wait(tmp_path: Path) -> None:
    out, took = _wrapper(tmp_path, bootstrap_lines(1))
    assert out in ("B=pending W=1 E=", "B=pending W=2 E=")
    assert took < 3


def test_wrapper_reports_a_failed_bootstrap_at_once(tmp_path: Path) -> None:
    (tmp_path / "failed").write_text("atlasiam bootstrap failed: exit 1 at line 11: dnf install -y python3.11\n")
    out, took = _wrapper(tmp_path, bootstrap_lines(60))
    assert out == "B=failed W=0 E=atlasiam bootstrap failed: exit 1 at line 11: dnf install -y python3.11"
    assert took < 1


def test_wrapper_without_waiting_only_looks(tmp_path: Path) -> None:
    out, took = _wrapper(tmp_path, bootstrap_lines(None))
    assert out == "B= W= E="
    assert took < 1
    (tmp_path / "ready").touch()
    assert _wrapper(tmp_path, bootstrap_lines(None))[0] == "B=ready W= E="


def test_identity_uses_the_region_ssm_agent_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    """SSM Agent exports AWS_SSM_REGION_NAME and no AWS_REGION; an overridden STS endpoint needs a region to sign."""

    def region_seen() -> tuple[str | None, str]:
        with pytest.raises(probe.StepFailed) as failed:
            probe.step_identity({})
        return failed.value.detail["region"], failed.value.message

    with socket.socket() as closed:  # bound, never listening: connecting is refused
        closed.bind(("127.0.0.1", 0))
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"http://127.0.0.1:{closed.getsockname()[1]}")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        region, message = region_seen()
        assert region is None
        assert "You must specify a region" in message  # what a probe without the fallback hits on a host
        monkeypatch.setenv("AWS_SSM_REGION_NAME", "eu-west-1")
        region, message = region_seen()
        assert region == "eu-west-1"
        assert "Could not connect to the endpoint URL" in message
        monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")  # the SDK's own region comes first
        assert region_seen()[0] == "ap-south-1"


class _Imds(BaseHTTPRequestHandler):
    """An IMDSv2 that knows one thing: the instance's availability zone (botocore reads the region from it)."""

    def do_PUT(self) -> None:
        self._send(b"token" if self.path == "/latest/api/token" else b"")

    def do_GET(self) -> None:
        zone = self.path.rstrip("/") == "/latest/meta-data/placement/availability-zone"
        found = zone and self.headers.get("X-aws-ec2-metadata-token")
        self._send(b"sa-east-1a" if found else b"", 200 if found else 404)

    def _send(self, body: bytes, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


def test_identity_with_imds_credentials_uses_the_instances_region(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pod on its node's role (IMDS) has no AWS_REGION: STS is called in the instance's region, from IMDS."""
    server = HTTPServer(("127.0.0.1", 0), _Imds)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"http://127.0.0.1:{closed.getsockname()[1]}")
            monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}/")
            monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
            monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
            for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_SSM_REGION_NAME", "AWS_EC2_METADATA_DISABLED"):
                monkeypatch.delenv(name, raising=False)
            with pytest.raises(probe.StepFailed) as failed:
                probe.step_identity({}, "iam-role")
            assert failed.value.detail["region"] == "sa-east-1"
            assert "Could not connect to the endpoint URL" in failed.value.message
            with pytest.raises(probe.StepFailed) as failed:  # other credentials: IMDS is not asked
                probe.step_identity({}, "env")
            assert failed.value.detail["region"] is None
    finally:
        server.shutdown()
        server.server_close()


def test_the_wrappers_bootstrap_wait_is_read_strictly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATLASIAM_BOOTSTRAP_WAITED_S", "7")
    assert probe.bootstrap_waited_s() == 7
    for junk in ("", "-3", "x", "9" * 20):
        monkeypatch.setenv("ATLASIAM_BOOTSTRAP_WAITED_S", junk)
        assert probe.bootstrap_waited_s() == 0


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200), st.one_of(st.none(), st.text(max_size=80)), st.floats(0, 1e6))
def test_any_input_encodes_to_shell_safe_base64(uri: str, arn: str | None, wait: float) -> None:
    encoded = encode_input(ProbeInput(uri=uri, expect_arn=arn, wait_s=wait))
    assert set(encoded) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
    assert probe.decode_input(encoded)["uri"] == uri


@pytest.mark.parametrize("template", HOSTILE)
def test_hostile_uri_runs_nothing_extra(tmp_path: Path, template: str) -> None:
    marker = tmp_path / "pwned"
    uri = template.format(marker=marker)
    script = "\n".join(shell_commands(ProbeInput(uri=uri, expect_arn=f"x$(touch {marker})", connect_timeout_s=1)))
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    proc = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60, check=False)
    result = parse_probe_output(proc.stdout)
    assert not marker.exists()
    assert result.ok is False  # it ran, and failed on its own terms (no credentials here)
    assert result.failed is not None and result.failed.error_kind == "no_credentials"


def test_probe_prints_exactly_one_json_line(tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path), "AWS_EC2_METADATA_DISABLED": "true"}
    env = {k: v for k, v in env.items() if not k.startswith("AWS_") or k == "AWS_EC2_METADATA_DISABLED"}
    proc = subprocess.run(
        local_argv(sys.executable, ProbeInput(uri="mongodb://127.0.0.1:9/")),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    lines = proc.stdout.splitlines()
    assert len(lines) == 1 and proc.returncode == 1
    doc = json.loads(lines[0])
    assert [s["name"] for s in doc["steps"]] == ["driver", "credentials"]
    assert len(lines[0]) < 24_000
