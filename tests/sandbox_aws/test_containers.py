"""The probe image as a local process (``aws/containers.py``): pull, stand-in python3/pip, env, output, stop."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from atlasiam_sandbox.aws import host_commands
from atlasiam_sandbox.aws.containers import (
    PROBE_IMAGE,
    ContainerProcess,
    PullFailed,
    normalized_reference,
    start_container,
)

PINS = "'pymongo[aws]==4.20.1' 'pymongo-auth-aws==1.3.0'"
PIP = f"python3 -m pip install --quiet --no-cache-dir --disable-pip-version-check --root-user-action=ignore {PINS}"


def _online() -> bool:
    return True


def _offline() -> bool:
    return False


def _run(
    tmp_path: Path, script: str, *, online: bool = True, env: dict[str, str] | None = None
) -> tuple[int, list[str]]:
    got: list[str] = []
    container = start_container(
        PROBE_IMAGE,
        ["/bin/sh", "-c", script],
        env or {},
        tmp_path / "c",
        egress=_online if online else _offline,
        on_line=got.append,
    )
    assert isinstance(container, ContainerProcess)
    code = container.wait(timeout=60)
    assert code is not None
    assert got == container.lines
    return code, got


def test_python_has_no_pymongo_until_pip_installs_it(tmp_path: Path) -> None:
    code, lines = _run(
        tmp_path,
        f"python3 -c 'import pymongo' 2>&1 | tail -1; {PIP} && python3 -c 'import pymongo; print(pymongo.version)'",
    )
    assert code == 0
    assert lines == ["ModuleNotFoundError: No module named 'pymongo'", "4.20.1"]


def test_pip_offline_fails_as_pip_does_without_a_network(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A container that pulled its image has egress; the stand-in pip's offline mode is checked on its own."""
    mark = tmp_path / "m"
    code = host_commands.container_pip(mark, False, ["install", "--root-user-action=ignore", "pymongo[aws]==4.20.1"])
    assert code == 1
    assert not mark.exists()
    err = capsys.readouterr().err
    assert "Connection to pypi.org timed out" in err
    assert "ERROR: No matching distribution found for pymongo[aws]==4.20.1" in err


@pytest.mark.parametrize(
    "requirement",
    ["pymongo[aws]", "pymongo[aws]>=4.7", "pymongo[aws]==4.19.0", "requests==2.32.3"],
)
def test_pip_accepts_only_exact_pins_it_can_satisfy(tmp_path: Path, requirement: str) -> None:
    code, lines = _run(
        tmp_path, f"python3 -m pip install --root-user-action=ignore '{requirement}'; python3 -c 'import pymongo'"
    )
    assert code == 1
    assert f"ERROR: No matching distribution found for {requirement}" in lines
    assert lines[-1] == "ModuleNotFoundError: No module named 'pymongo'"


def test_pip_as_root_warns_without_root_user_action(tmp_path: Path) -> None:
    code, lines = _run(tmp_path, f"pip install --quiet {PINS}")
    assert code == 0
    assert lines[0].startswith("WARNING: Running pip as the 'root' user")


def test_environment_is_the_callers_plus_the_images(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNNER_SECRET", "leak")
    code, lines = _run(tmp_path, "env | sort", env={"AWS_REGION": "us-east-1"})
    assert code == 0
    names = {line.split("=", 1)[0] for line in lines}
    assert names == {"AWS_REGION", "HOME", "LANG", "PATH", "PWD"}  # PWD: the shell's own
    assert "LANG=C.UTF-8" in lines


def test_only_the_images_commands_are_on_path(tmp_path: Path) -> None:
    code, lines = _run(tmp_path, "command -v python3; command -v cat; command -v git || echo no-git")
    assert code == 0
    assert lines[0].endswith("/usr/local/bin/python3")
    assert lines[1].endswith("/bin/cat")
    assert lines[2] == "no-git"


def test_lines_interleave_stdout_and_stderr_in_order(tmp_path: Path) -> None:
    code, lines = _run(tmp_path, "echo one; echo two >&2; echo three; exit 3")
    assert code == 3
    assert lines == ["one", "two", "three"]


def test_other_image_fails_to_pull_as_not_found(tmp_path: Path) -> None:
    failed = start_container("python:3.12", ["python3"], {}, tmp_path, egress=_online)
    assert failed == PullFailed(
        message='rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/python:3.12": '
        'failed to resolve reference "docker.io/library/python:3.12": docker.io/library/python:3.12: not found',
        stopped_reason="CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve "
        "ref docker.io/library/python:3.12: docker.io/library/python:3.12: not found",
    )


def test_probe_image_without_egress_fails_to_pull(tmp_path: Path) -> None:
    failed = start_container(PROBE_IMAGE, ["python3"], {}, tmp_path, egress=_offline)
    assert isinstance(failed, PullFailed)
    assert failed.stopped_reason.startswith(
        "CannotPullContainerError: pull image manifest has been retried 5 time(s): "
        f"failed to resolve ref {PROBE_IMAGE}: failed to do request: "
        'Head "https://public.ecr.aws/v2/docker/library/python/manifests/3.12-slim"'
    )
    assert failed.stopped_reason.endswith("i/o timeout")
    assert failed.message.startswith(
        f'rpc error: code = Unknown desc = failed to pull and unpack image "{PROBE_IMAGE}"'
    )


def test_reference_normalization() -> None:
    assert normalized_reference("python") == "docker.io/library/python:latest"
    assert normalized_reference("bitnami/mongo:7") == "docker.io/bitnami/mongo:7"
    assert normalized_reference(PROBE_IMAGE) == PROBE_IMAGE
    assert normalized_reference("localhost:5000/x") == "localhost:5000/x:latest"


def test_missing_executable_exits_127(tmp_path: Path) -> None:
    container = start_container(PROBE_IMAGE, ["nosuch"], {}, tmp_path, egress=_online)
    assert isinstance(container, ContainerProcess)
    assert container.wait(10) == 127
    assert container.lines == ['exec: "nosuch": executable file not found in $PATH']


def test_kill_ends_the_container_with_137(tmp_path: Path) -> None:
    container = start_container(PROBE_IMAGE, ["/bin/sh", "-c", "echo up; sleep 30"], {}, tmp_path, egress=_online)
    assert isinstance(container, ContainerProcess)
    deadline = time.monotonic() + 10
    while not container.lines and time.monotonic() < deadline:
        time.sleep(0.01)
    assert container.wait(0) is None
    container.kill()
    assert container.wait(10) == 137


def test_stop_sends_sigterm_first(tmp_path: Path) -> None:
    script = "trap 'echo term; exit 0' TERM; echo up; while :; do sleep 0.05; done"
    container = start_container(PROBE_IMAGE, ["/bin/sh", "-c", script], {}, tmp_path, egress=_online)
    assert isinstance(container, ContainerProcess)
    deadline = time.monotonic() + 10
    while not container.lines and time.monotonic() < deadline:
        time.sleep(0.01)
    container.stop(grace=5)
    assert container.wait(10) == 0
    assert container.lines == ["up", "term"]
