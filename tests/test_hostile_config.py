"""Hostile and malformed configs: exit 2, the field named, nothing written or applied, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas_iam_tf.cli import main
from atlas_iam_tf.config import Config, parse_config
from atlas_iam_tf.errors import ConfigError
from atlas_iam_tf.render import render_module
from tests.conftest import CONFIGS

BASE = (CONFIGS / "new_vpc.toml").read_text()
VALID: dict[str, Any] = {
    "name": "orders",
    "atlas": {
        "project_id": "0" * 24,
        "cluster_name": "Cluster0",
        "roles": [{"role_name": "readWrite", "database_name": "orders"}],
    },
}


def _with(path: str, value: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(VALID))
    node = data
    *parents, leaf = path.split(".")
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = value
    return data


# (id, raw data, the field the first problem must name)
HOSTILE: list[tuple[str, dict[str, Any], str]] = [
    ("oversized-name", _with("name", "a" * 10_000), "name:"),
    ("oversized-tag", _with("tags", {"team": "x" * 10_000}), "tags:"),
    ("too-many-tags", _with("tags", {f"k{i}": "v" for i in range(41)}), "tags:"),
    (
        "too-many-roles",
        _with("atlas.roles", [{"role_name": "read", "database_name": f"d{i}"} for i in range(101)]),
        "atlas.roles:",
    ),
    ("nul-in-name", _with("name", "ord\x00ers"), "name:"),
    ("ansi-escape-in-name", _with("name", "\x1b[31morders"), "name:"),
    ("tab-in-cluster", _with("atlas.cluster_name", "Clus\tter0"), "atlas.cluster_name:"),
    ("zero-width-in-cluster", _with("atlas.cluster_name", "Cluster\u200b0"), "atlas.cluster_name:"),
    ("cyrillic-lookalike-name", _with("name", "\u043erders"), "name:"),
    ("fullwidth-region", _with("aws.region", "\uff55s-east-1"), "aws.region:"),
    ("cyrillic-project-id", _with("atlas.project_id", "0" * 23 + "\u0430"), "atlas.project_id:"),
    (
        "hcl-interpolation-db",
        _with("atlas.roles", [{"role_name": "read", "database_name": "${var.x}"}]),
        "atlas.roles[0].database_name:",
    ),
    ("hcl-directive-cluster", _with("atlas.cluster_name", "%{ if true }x%{ endif }"), "atlas.cluster_name:"),
    ("jinja-in-environment", _with("environment", "{{ config }}"), "environment:"),
    ("jinja-block-tag", _with("tags", {"team": "{% raw %}"}), "tags:"),
    (
        "heredoc-in-role",
        _with("atlas.roles", [{"role_name": "<<EOF", "database_name": "d"}]),
        "atlas.roles[0].role_name:",
    ),
    ("quote-in-instance-type", _with("aws.instance_type", 't3.micro" } resource "x" "y" {'), "aws.instance_type:"),
    ("aws-cn-partition", _with("atlas.iam_user_arns", ["arn:aws-cn:iam::123456789012:user/a"]), "atlas.iam_user_arns:"),
    (
        "gov-partition",
        _with("atlas.iam_user_arns", ["arn:aws-us-gov:iam::123456789012:user/a"]),
        "atlas.iam_user_arns:",
    ),
    ("role-arn-not-user", _with("atlas.iam_user_arns", ["arn:aws:iam::123456789012:role/a"]), "atlas.iam_user_arns:"),
    ("short-account", _with("atlas.iam_user_arns", ["arn:aws:iam::12345:user/a"]), "atlas.iam_user_arns:"),
    ("traversal-environment", _with("environment", "../../etc"), "environment:"),
    ("traversal-name", _with("name", "a/../b"), "name:"),
    ("absolute-environment", _with("environment", "/tmp/x"), "environment:"),
    (
        "traversal-backend-key",
        {**VALID, "backend": {"type": "s3", "bucket": "state-b", "key": "a/../../b"}},
        "backend.key:",
    ),
    (
        "absolute-backend-key",
        {**VALID, "backend": {"type": "s3", "bucket": "state-b", "key": "/etc/passwd"}},
        "backend.key:",
    ),
    ("ssm-param-injection", _with("aws.ami_ssm_parameter", '/x"; rm -rf /'), "aws.ami_ssm_parameter:"),
    ("terraform-bin-newline", _with("terraform", {"bin": "terraform\nrm -rf /"}), "terraform.bin:"),
    ("aws-tag-prefix", _with("tags", {"aws:cloudformation": "x"}), "tags:"),
    ("list-for-name", _with("name", ["orders"]), "name:"),
    ("nested-table-for-region", _with("aws.region", {"a": {"b": {}}}), "aws.region:"),
    ("bool-for-cluster", _with("atlas.cluster_name", True), "atlas.cluster_name:"),
    ("negative-volume", _with("aws.root_volume_size", -8), "aws.root_volume_size:"),
    ("huge-volume", _with("aws.root_volume_size", 10**12), "aws.root_volume_size:"),
    ("ipv6-vpc", _with("aws.vpc_cidr", "fd00::/48"), "aws.vpc_cidr:"),
    ("netmask-vpc", _with("aws.vpc_cidr", "10.42.0.0/255.255.0.0"), "aws.vpc_cidr:"),
    ("netmask-subnet", _with("aws.subnet_cidr", "10.42.0.0/255.255.255.0"), "aws.subnet_cidr:"),
    ("string-for-bool", _with("aws.flow_logs", "yes"), "aws.flow_logs:"),
    ("string-false-for-bool", _with("aws.flow_logs", "false"), "aws.flow_logs:"),
    ("string-for-int", _with("aws.root_volume_size", "16"), "aws.root_volume_size:"),
    ("bool-for-int", _with("aws.root_volume_size", True), "aws.root_volume_size:"),
    ("float-for-int", _with("aws.root_volume_size", 16.0), "aws.root_volume_size:"),
    ("ansi-unknown-key", {**VALID, "\x1b[31mred": 1}, "'\\x1b[31mred': unknown key"),
    ("bracket-unknown-key", {**VALID, "[x": 1}, "'[x': unknown key"),
    ("bidi-unknown-key", _with("aws.\u202eyek", 1), "aws.'\\u202eyek': unknown key"),
    ("ansi-tag-key-type", _with("tags", {"\x1b[2J": 1}), "tags.'\\x1b[2J':"),
]


def test_corpus_size() -> None:
    assert len(HOSTILE) >= 30


@pytest.mark.parametrize(("case", "data", "field"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_config_is_refused_with_the_field_named(case: str, data: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(data)
    assert exc.value.problems[0].startswith(field), (case, exc.value.problems)
    assert exc.value.exit_code == 2
    assert all(p.isprintable() for p in exc.value.problems)  # no NUL, escape or bidi control reaches a terminal


@pytest.mark.parametrize("command", ["plan", "apply", "render"])
def test_hostile_file_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str) -> None:
    path = tmp_path / "atlasiam.toml"
    path.write_text(BASE.replace('name = "orders"', 'name = "or\\u0000ders\\u001b[2J"'))
    before = sorted(p.name for p in tmp_path.iterdir())
    assert (
        main(
            [command, "--config", str(path), "--yes", "--json"]
            if command == "apply"
            else [command, "--config", str(path), "--json"]
        )
        == 2
    )
    out = capsys.readouterr()
    assert json.loads(out.out)["error"]["message"].startswith("atlasiam.toml:") or "name:" in out.out
    assert out.err == "" and sorted(p.name for p in tmp_path.iterdir()) == before


def test_oversized_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "atlasiam.toml"
    path.write_text(BASE + "\n# " + "x" * 300_000 + "\n")
    assert main(["render", "--config", str(path), "--json"]) == 2
    assert "larger than" in json.loads(capsys.readouterr().out)["error"]["message"]


def test_binary_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "atlasiam.toml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    assert main(["render", "--config", str(path), "--json"]) == 2
    assert "not UTF-8" in json.loads(capsys.readouterr().out)["error"]["message"]


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
FIELDS = [
    "name",
    "environment",
    "tags",
    "aws.region",
    "aws.vpc_cidr",
    "aws.subnet_cidr",
    "aws.vpc_id",
    "aws.instance_type",
    "aws.root_volume_size",
    "aws.flow_logs",
    "aws.availability_zone",
    "aws.ami_ssm_parameter",
    "atlas.project_id",
    "atlas.cluster_name",
    "atlas.roles",
    "atlas.iam_user_arns",
    "backend",
    "terraform.bin",
    "unknown",
]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(FIELDS), JSONISH)
def test_any_value_in_any_field_is_a_config_or_a_config_error(field: str, value: Any) -> None:
    try:
        config = parse_config(_with(field, value))
    except ConfigError as err:
        assert err.problems and all(": " in p and p.isprintable() for p in err.problems)
        return
    assert isinstance(config, Config)
    files = render_module(config)  # a config that validates always renders
    assert files


BASELINE_HCL = {p: t for p, t in render_module(parse_config(VALID)).items() if p.suffix == ".tf"}


VALID_SHAPES = {
    "name": r"[a-z][a-z0-9-]{0,27}",
    "atlas.cluster_name": r"[A-Za-z0-9][A-Za-z0-9-]{0,63}",
    "environment": r"[a-z][a-z0-9-]{0,31}",
    "atlas.project_id": r"[0-9a-f]{24}",
}


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_values_never_change_the_hcl(data: st.DataObject) -> None:
    field = data.draw(st.sampled_from(sorted(VALID_SHAPES)))
    text = data.draw(st.one_of(st.text(max_size=60), st.from_regex(VALID_SHAPES[field], fullmatch=True)))
    """Whatever a value is, if it validates the .tf files are byte-identical to the baseline's."""
    try:
        config = parse_config(_with(field, text))
    except ConfigError:
        return
    assert {p: t for p, t in render_module(config).items() if p.suffix == ".tf"} == BASELINE_HCL
