from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from tf.gen import grpc_controller_pb2, grpc_controller_pb2_grpc, tfplugin_pb2, tfplugin_pb2_grpc

from atlasiam_sandbox.mirror import MirrorInfo
from atlasiam_sandbox.provider.__main__ import MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE
from atlasiam_sandbox.provider.codec import UNKNOWN, decode_msgpack, encode_msgpack
from atlasiam_sandbox.provider.fill import empty_blocks
from atlasiam_sandbox.provider.schema import ProviderSchema

AWS_FIXTURE = Path(__file__).resolve().parent / "fixtures" / "aws.json"
PLUGIN = [sys.executable, "-m", "atlasiam_sandbox.provider", "--schema", str(AWS_FIXTURE)]


def plugin_env() -> dict[str, str]:
    env = dict(os.environ)
    env[MAGIC_COOKIE_KEY] = MAGIC_COOKIE_VALUE
    env["PLUGIN_CLIENT_CERT"] = "unused"
    env.pop("ATLASIAM_PROVIDER_LOG", None)
    return env


def wait_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_without_cookie_exits_1_with_message() -> None:
    env = {k: v for k, v in os.environ.items() if k != MAGIC_COOKIE_KEY}
    proc = subprocess.run(PLUGIN, env=env, capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 1
    assert "This binary is a plugin" in proc.stderr
    assert proc.stdout == ""


@pytest.fixture
def plugin(fixture_mirror: MirrorInfo) -> Iterator[tuple[subprocess.Popen[str], list[str], float]]:
    start = time.perf_counter()
    proc = subprocess.Popen(
        [*PLUGIN, "--tls-dir", str(fixture_mirror.tls_dir)],
        env=plugin_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    elapsed = time.perf_counter() - start
    yield proc, line.split("|"), elapsed
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def test_handshake_tls_rpcs_and_shutdown(
    plugin: tuple[subprocess.Popen[str], list[str], float],
    fixture_mirror: MirrorInfo,
    aws_schema: ProviderSchema,
) -> None:
    proc, parts, elapsed = plugin
    assert parts[:3] == ["1", "6", "unix"] and parts[4] == "grpc"
    assert "=" not in parts[5]
    print(f"plugin start -> handshake: {elapsed:.3f}s")
    creds = grpc.ssl_channel_credentials(root_certificates=(fixture_mirror.tls_dir / "plugin-cert.pem").read_bytes())
    with grpc.secure_channel(f"unix:{parts[3]}", creds, options=[("grpc.ssl_target_name_override", "localhost")]) as ch:
        provider = tfplugin_pb2_grpc.ProviderStub(ch)
        schema = provider.GetProviderSchema(tfplugin_pb2.GetProviderSchema.Request(), timeout=10)
        assert schema.server_capabilities.get_provider_schema_optional
        assert "aws_vpc" in schema.resource_schemas
        blob = schema.resource_schemas["aws_sandbox_blob"]
        nesting = {b.type_name: b.nesting for b in blob.block.block_types}
        assert nesting == {
            "rule": tfplugin_pb2.Schema.NestedBlock.MAP,
            "options": tfplugin_pb2.Schema.NestedBlock.GROUP,
            "step": tfplugin_pb2.Schema.NestedBlock.LIST,
        }
        attrs = {a.name: a for a in blob.block.attributes}
        assert json.loads(attrs["pair"].type) == ["tuple", ["string", "number"]]

        block = aws_schema.resource("aws_vpc").block
        config = empty_blocks(block, {"cidr_block": "10.0.0.0/16"})
        dv = tfplugin_pb2.DynamicValue(msgpack=encode_msgpack(config, block.type))
        null = tfplugin_pb2.DynamicValue(msgpack=encode_msgpack(None, block.type))
        planned = provider.PlanResourceChange(
            tfplugin_pb2.PlanResourceChange.Request(
                type_name="aws_vpc", prior_state=null, proposed_new_state=dv, config=dv
            ),
            timeout=10,
        )
        assert not planned.diagnostics
        assert decode_msgpack(planned.planned_state.msgpack, block.type)["id"] is UNKNOWN

        bad = provider.PlanResourceChange(tfplugin_pb2.PlanResourceChange.Request(type_name="aws_nope"), timeout=10)
        assert bad.diagnostics[0].severity == tfplugin_pb2.Diagnostic.ERROR

        grpc_controller_pb2_grpc.GRPCControllerStub(ch).Shutdown(grpc_controller_pb2.Empty(), timeout=10)
    assert proc.wait(timeout=5) == 0


def test_exits_when_parent_dies(fixture_mirror: MirrorInfo) -> None:
    argv = [*PLUGIN, "--tls-dir", str(fixture_mirror.tls_dir)]
    parent_code = (
        "import subprocess, sys, time\n"
        f"p = subprocess.Popen({argv!r}, stdout=subprocess.PIPE)\n"
        "p.stdout.readline()\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code], env=plugin_env(), stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())
    os.kill(child_pid, 0)  # alive
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    assert wait_gone(child_pid), "plugin outlived its parent"


def test_debug_mode_prints_reattach_config() -> None:
    env = {k: v for k, v in os.environ.items() if k != MAGIC_COOKIE_KEY}
    proc = subprocess.Popen([*PLUGIN, "--debug"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("TF_REATTACH_PROVIDERS=")
        config = json.loads(line.split("=", 1)[1].strip("'"))
        entry = config["hashicorp/aws"]
        assert entry["Pid"] == proc.pid and entry["ProtocolVersion"] == 6
        with grpc.insecure_channel(f"unix:{entry['Addr']['String']}") as ch:
            meta = tfplugin_pb2_grpc.ProviderStub(ch).GetMetadata(tfplugin_pb2.GetMetadata.Request(), timeout=10)
            assert "aws_vpc" in {r.type_name for r in meta.resources}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
