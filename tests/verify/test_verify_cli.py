"""`atlasiam verify` input handling: bad input exits 2 before anything runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from atlas_iam_tf.cli import main

BAD: list[tuple[list[str], str]] = [
    (["--instance-id", "i-0123456789abcdef0"], "--uri is required"),
    (["--tag", "Name", "--uri", "mongodb://h/"], "expected Key=Value"),
    (
        ["--from-here", "--assume-role", "arn:aws:iam::1:role/r", "--session-token", "--uri", "mongodb://h/"],
        "exclude each other",
    ),
    (
        ["--assume-role", "arn:aws:iam::1:role/r", "--uri", "mongodb://h/", "--instance-id", "i-1"],
        "go with --from-here",
    ),
    (["--instance-id", "i-1", "--uri", "mongodb://h/", "--wait", "-1"], "--wait -1.0: expected a number of seconds"),
    (["--instance-id", "i-1", "--uri", "mongodb://h/", "--wait", "nan"], "--wait nan: expected a number of seconds"),
    (["--instance-id", "i-1", "--uri", "mongodb://h/", "--wait", "inf"], "--wait inf: expected a number of seconds"),
    (["--instance-id", "i-1", "--uri", "mongodb://h/", "--wait", "1e9"], "--wait 1000000000.0: expected"),
    (["--from-here", "--uri", "mongodb://h/", "--wait", "1e9"], "--wait 1000000000.0: expected"),
    (["--tag", "A=b", "--uri", "mongodb://h/", "--online-timeout", "nan"], "--online-timeout nan: expected"),
]


@pytest.mark.parametrize(("args", "message"), BAD)
def test_bad_verify_input_exits_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(["verify", "--config", str(tmp_path / "atlasiam.toml"), *args, "--json"])
    out = capsys.readouterr()
    assert code == 2, out
    assert message in json.loads(out.out)["error"]["message"]
    assert out.err == ""


def test_config_mode_before_apply_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str], config_text: str) -> None:
    (tmp_path / "atlasiam.toml").write_text(config_text)
    assert main(["verify", "--config", str(tmp_path / "atlasiam.toml"), "--json"]) == 1
    assert "nothing has been applied" in json.loads(capsys.readouterr().out)["error"]["message"]
