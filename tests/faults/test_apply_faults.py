"""An apply that is interrupted, raced or fails half-way leaves a sound state, says why, and converges."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from atlas_iam_tf.cli import main
from tests.faults.conftest import (
    FaultProxy,
    World,
    json_doc,
    project,
    running_instances,
    start_cli,
    state_resources,
    subprocess_env,
    workdir,
)

pytestmark = pytest.mark.terraform
LOCK_INFO = ".terraform.tfstate.lock.info"
Cli = Callable[..., dict[str, Any]]


@pytest.fixture
def cli(world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run the CLI in-process with ``--json`` against the sandbox; assert the exit code."""
    for key, value in world.env.items():
        monkeypatch.setenv(key, value)

    def run(config: Path, *args: str, expect: int = 0) -> dict[str, Any]:
        capsys.readouterr()
        code = main([*args, "--config", str(config), "--json"])
        out = capsys.readouterr()
        assert out.err == ""
        doc = json_doc(out.out)
        assert code == expect, json.dumps(doc, indent=1)[:4000]
        return doc

    return run


def _converges(cli: Cli, world: World, config: Path, name: str) -> dict[str, Any]:
    """A second apply finishes the job, the next plan is empty, and exactly one host runs."""
    outputs: dict[str, Any] = cli(config, "apply", "--yes")["data"]["outputs"]
    cli(config, "plan", "--detailed-exitcode", expect=0)
    assert running_instances(world, f"{name}-dev") == [outputs["instance_id"]]
    assert not (workdir(config) / LOCK_INFO).exists()
    return outputs


def test_sigint_during_apply_stops_gracefully_and_converges(
    world: World, proxy: FaultProxy, cli: Cli, tmp_path: Path
) -> None:
    config = project(tmp_path, "sigint")
    # Terraform's AWS calls go through the proxy, which holds RunInstances: the apply is surely mid-way.
    held = proxy.hold(b"Action=RunInstances")
    proc = start_cli(subprocess_env(world, AWS_ENDPOINT_URL=proxy.url), config, "apply", "--yes")
    assert proc.stderr is not None
    progress: list[str] = []
    reader = threading.Thread(target=lambda: progress.extend(proc.stderr), daemon=True)  # type: ignore[arg-type]
    reader.start()
    assert held.arrived.wait(120), "".join(progress)
    assert any("aws_instance.this[0]: Creating..." in line for line in progress), "".join(progress)
    proc.send_signal(signal.SIGINT)  # Ctrl-C, while RunInstances is in flight
    # The create in flight completes (soon: the sandbox's provider exits 0.5 s after StopProvider).
    threading.Timer(0.05, held.release.set).start()
    start = time.monotonic()
    proc.wait(timeout=90)
    reader.join(timeout=5)
    text = "".join(progress)
    assert proc.returncode == 130, text
    assert time.monotonic() - start < 30  # stopped by itself, well inside the grace period
    assert "interrupted: terraform apply stopped gracefully" in text
    # The state is valid JSON, holds the host created in flight, and was not finished (stopped early).
    addresses = state_resources(config)
    assert "aws_instance.this" in addresses and "mongodbatlas_project_ip_access_list.host" not in addresses
    assert not (workdir(config) / LOCK_INFO).exists()
    instance_id = _converges(cli, world, config, "sigint")["instance_id"]
    assert running_instances(world, "sigint-dev") == [instance_id]


def test_a_second_apply_at_once_is_refused_by_the_lock(
    world: World, proxy: FaultProxy, cli: Cli, tmp_path: Path
) -> None:
    config = project(tmp_path, "twice")
    held = proxy.hold(b"Action=RunInstances")
    first = start_cli(subprocess_env(world, AWS_ENDPOINT_URL=proxy.url), config, "apply", "--yes", "--json")
    try:
        assert held.arrived.wait(120)  # the first apply holds the state lock now
        second = start_cli(subprocess_env(world), config, "apply", "--yes", "--json")
        out, err = second.communicate(timeout=90)
        assert err == ""
        error = json_doc(out)["error"]
        assert second.returncode == 1, error
        assert error["code"] == "state_locked"
        # atlasiam's own lock on .atlasiam/<env>/ refuses it first, naming the run that holds it
        assert error["message"].startswith(f"atlasiam apply refused: another atlasiam run is using {workdir(config)}")
        assert f"`atlasiam apply`, pid {first.pid}, since " in error["message"]
        assert "nothing was changed" in error["hint"]
        # Terraform's state lock is held by the first run all along (and is what guards shared S3 state)
        lock = json.loads((workdir(config) / LOCK_INFO).read_text())
        assert lock["Operation"] == "OperationTypeApply"
    finally:
        held.release.set()
    out, _ = first.communicate(timeout=120)
    assert first.returncode == 0, out
    first_outputs = json_doc(out)["data"]["outputs"]
    assert "aws_instance.this" in state_resources(config)
    outputs = _converges(cli, world, config, "twice")
    assert outputs["instance_id"] == first_outputs["instance_id"]


def test_provider_error_half_way_keeps_what_was_created(
    world: World, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = project(tmp_path, "halfway")
    monkeypatch.setenv("ATLASIAM_SANDBOX_FAIL_ON", "aws_instance")
    error = cli(config, "apply", "--yes", expect=1)["error"]
    assert error["code"] == "terraform_failed"
    assert error["message"].startswith("terraform apply failed: creating aws_instance: injected failure")
    assert "(module.atlasiam.aws_instance.this[0])" in error["message"]
    created = state_resources(config)
    assert {"aws_vpc.this", "aws_subnet.this", "aws_iam_role.host", "aws_iam_instance_profile.host"} <= set(created)
    assert "aws_instance.this" not in created
    assert running_instances(world, "halfway-dev") == []
    assert not (workdir(config) / LOCK_INFO).exists()
    monkeypatch.delenv("ATLASIAM_SANDBOX_FAIL_ON")
    vpc_id = json.loads((workdir(config) / "terraform.tfstate").read_text())
    outputs = _converges(cli, world, config, "halfway")
    kept = [r for r in vpc_id["resources"] if r["type"] == "aws_vpc" and r["mode"] == "managed"][0]["instances"][0][
        "attributes"
    ]["id"]
    assert outputs["vpc_id"] == kept  # the network made before the failure was kept, not recreated
