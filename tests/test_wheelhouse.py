"""The private host's wheelhouse: built once per set of pins, with pip download for the host's platform."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from atlas_iam_tf import wheelhouse
from atlas_iam_tf.errors import WheelhouseError
from atlas_iam_tf.render import module_dir

PINS = ["pymongo[aws]==4.20.1", "pymongo-auth-aws==1.3.0"]


class FakePip:
    """Stands in for `python -m pip download`: records the argv, writes a wheel, or fails like pip."""

    def __init__(self, returncode: int = 0, stderr: str = "") -> None:
        self.calls: list[list[str]] = []
        self.returncode, self.stderr = returncode, stderr

    def __call__(self, cmd: list[str], **_kw: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append(cmd)
        if self.returncode == 0:
            dest = Path(cmd[cmd.index("--dest") + 1])
            (dest / "pymongo-4.20.1-cp311-cp311-manylinux_2_17_x86_64.whl").write_bytes(b"")
        return subprocess.CompletedProcess(cmd, self.returncode, "", self.stderr)


def test_the_pins_are_the_modules_requirements_file() -> None:
    pins = wheelhouse.requirements(module_dir())
    assert pins and all("==" in pin for pin in pins)  # pinned, as the public host installs them
    assert any(pin.startswith("pymongo[aws]==") for pin in pins)


def test_downloads_wheels_for_the_hosts_platform_once_per_set_of_pins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pip = FakePip()
    monkeypatch.setattr(wheelhouse.subprocess, "run", pip)
    lines: list[str] = []
    assert wheelhouse.ensure(tmp_path / "w", PINS, lines.append) is True
    [cmd] = pip.calls
    assert cmd[:4] == [sys.executable, "-m", "pip", "download"]
    assert cmd[-2:] == PINS
    for flag in ("--only-binary=:all:", "manylinux2014_x86_64", "3.11"):
        assert flag in cmd
    assert lines and "pip download" in lines[0]
    assert wheelhouse.ensure(tmp_path / "w", PINS, lines.append) is False  # the stamp matches: nothing to do
    assert len(pip.calls) == 1
    assert wheelhouse.ensure(tmp_path / "w", [*PINS, "dnspython==2.9.2"], lines.append) is True  # new pins
    assert len(pip.calls) == 2


def test_a_failed_download_is_one_error_with_the_way_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        wheelhouse.subprocess, "run", FakePip(1, "noise\nERROR: No matching distribution found for pymongo\n")
    )
    with pytest.raises(WheelhouseError) as caught:
        wheelhouse.ensure(tmp_path / "w", PINS, lambda _line: None)
    assert caught.value.message.endswith("pip download failed: ERROR: No matching distribution found for pymongo")
    assert caught.value.hint is not None and "aws.wheelhouse_dir" in caught.value.hint
    assert not (tmp_path / "w" / wheelhouse.STAMP).exists()  # a failed build is tried again next time


def _private_project(tmp_path: Path, extra: str = "") -> Any:
    from atlas_iam_tf.project import load_project
    from tests.conftest import CONFIGS

    text = (CONFIGS / "new_vpc.toml").read_text().replace("[aws]\n", f'[aws]\nnetwork_mode = "private"\n{extra}')
    (tmp_path / "atlasiam.toml").write_text(text)
    return load_project(tmp_path / "atlasiam.toml", environ={})


def test_a_private_project_builds_its_wheelhouse_beside_the_state(tmp_path: Path) -> None:
    project = _private_project(tmp_path)
    assert project.builds_wheelhouse and project.wheelhouse == tmp_path.resolve() / ".atlasiam" / "wheelhouse"
    stack = json.loads(project.module[PurePosixPath("terraform.tfvars.json")])["stack"]
    assert stack["wheelhouse_dir"] == str(project.wheelhouse)


def test_a_given_wheelhouse_dir_is_relative_to_the_config_and_never_built(tmp_path: Path) -> None:
    project = _private_project(tmp_path, 'wheelhouse_dir = "wheels"\n')
    assert not project.builds_wheelhouse and project.wheelhouse == tmp_path.resolve() / "wheels"


def test_the_wheelhouse_command_fills_out_for_callers_of_the_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from atlas_iam_tf.cli import main

    pip = FakePip()
    monkeypatch.setattr(wheelhouse.subprocess, "run", pip)
    assert main(["wheelhouse", "--out", str(tmp_path / "w"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)["data"]
    assert data["downloaded"] is True and data["wheels"] == ["pymongo-4.20.1-cp311-cp311-manylinux_2_17_x86_64.whl"]
    assert data["requirements"] == wheelhouse.requirements(module_dir())
    assert main(["wheelhouse", "--out", str(tmp_path / "w"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["data"]["downloaded"] is False
    assert len(pip.calls) == 1


def test_the_wheelhouse_command_refuses_a_file_as_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from atlas_iam_tf.cli import main

    monkeypatch.setattr(wheelhouse.subprocess, "run", FakePip())
    (tmp_path / "f").write_text("mine")
    assert main(["wheelhouse", "--out", str(tmp_path / "f"), "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "not_writable"
    assert (tmp_path / "f").read_text() == "mine"
