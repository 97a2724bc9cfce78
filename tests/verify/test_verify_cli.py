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
    # --region: the config's region rule, checked before anything runs (it reaches endpoint URLs).
    (["--from-here", "--region", "us-east-1; echo"], "--region 'us-east-1; echo': must be an AWS region"),
    (["--instance-id", "i-1", "--uri", "mongodb://h/", "--region", "us-eest-1"], "--region 'us-eest-1'"),
    (["--region", "us-east-1\n"], "--region 'us-east-1\\n': must be an AWS region like us-east-1"),
    (["--region", ""], "--region '': must be"),
    # --uri: a MongoDB connection string and nothing else; only its scheme is echoed.
    (
        ["--from-here", "--uri", "javascript:alert(document.cookie)"],
        "--uri must be a mongodb:// or mongodb+srv:// connection string (its scheme is 'javascript:')",
    ),
    (["--instance-id", "i-1", "--uri", "MONGODB://h/"], "(its scheme is 'MONGODB:')"),
    (["--instance-id", "i-1", "--uri", "mongodb:/h"], "(its scheme is 'mongodb:')"),
    (["--instance-id", "i-1", "--uri", "cluster0.example.net"], "connection string (it has no scheme)"),
    (["--instance-id", "i-1", "--uri", "https://user:s3cret@h/"], "(its scheme is 'https:')"),
    # --privatelink-endpoint-id: an AWS interface endpoint id (the Admin API's endpointId pattern)
    (
        ["--instance-id", "i-1", "--uri", "mongodb://h/", "--privatelink-endpoint-id", "vpce-0123"],
        "--privatelink-endpoint-id 'vpce-0123': expected vpce- and 17 hex characters",
    ),
    (
        ["--instance-id", "i-1", "--uri", "mongodb://h/", "--privatelink-endpoint-id", "vpce-0123456789ABCDEF0"],
        "--privatelink-endpoint-id 'vpce-0123456789ABCDEF0'",
    ),
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


def test_bad_region_and_uri_exit_2_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing is read or called: no config file is needed and no AWS client is made."""
    import atlas_iam_tf.verify.service as service

    def no_aws(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("verify reached AWS")

    monkeypatch.setattr(service, "run_verify", no_aws)
    for args in (["--region", "us-east-1; echo"], ["--uri", "javascript:x", "--region", "us-east-1"]):
        code = main(["verify", "--config", str(tmp_path / "missing.toml"), "--from-here", *args, "--json"])
        out = capsys.readouterr()
        assert (code, json.loads(out.out)["error"]["code"]) == (2, "usage"), out


def test_a_uri_error_never_echoes_more_than_the_scheme(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify", "--from-here", "--uri", "https://alice:hunter2@db.example.net/", "--json"])
    out = capsys.readouterr().out
    assert code == 2 and "hunter2" not in out and "alice" not in out and "db.example.net" not in out


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-3", "ap-southeast-7"])
def test_good_regions_and_uris_pass_the_flag_checks(region: str) -> None:
    from atlas_iam_tf.verify.request import VerifyOptions, check_flags

    for uri in ("mongodb://h:27017/", "mongodb+srv://cluster0.example.net/?authSource=%24external", None):
        check_flags(VerifyOptions(config_path=Path("atlasiam.toml"), uri=uri, region=region, from_here=True))


@pytest.mark.parametrize(
    ("region", "partition"),
    [("us-gov-west-1", "aws-us-gov"), ("cn-north-1", "aws-cn"), ("us-iso-east-1", "aws-iso")],
)
def test_regions_of_other_partitions_are_refused_with_their_reason(
    region: str, partition: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    args = ["verify", "--config", str(tmp_path / "atlasiam.toml"), "--instance-id", "i-1", "--uri", "mongodb://h/"]
    assert main([*args, "--region", region, "--json"]) == 2
    message = json.loads(capsys.readouterr().out)["error"]["message"]
    assert message.startswith(f"--region {region!r}: is in the ")
    assert f"({partition}" in message and message.endswith("atlasiam supports the standard aws partition only")
