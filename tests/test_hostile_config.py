"""Hostile and malformed configs: exit 2, the field named, nothing written or applied, never a traceback."""

from __future__ import annotations

import functools
import json
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas_iam_tf.cli import main
from atlas_iam_tf.config import Config, parse_config
from atlas_iam_tf.errors import ConfigError
from atlas_iam_tf.render import TFVARS_FILE, render_module
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
    # Only the top-level name (database_name = "orders" holds the same text): count=1.
    path.write_text(BASE.replace('name = "orders"', 'name = "or\\u0000ders\\u001b[2J"', 1))
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
    error = json.loads(out.out)["error"]
    assert error["code"] == "config_invalid"
    # One problem: the file on the first line, then the field with the escaped value on the next.
    assert error["message"].splitlines() == [
        f"{path}:",
        "  name: must match ^[a-z][a-z0-9-]{0,27}$ (lowercase, starts with a letter, max 28)"
        " (got 'or\\x00ders\\x1b[2J')",
    ]
    assert out.err == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == before


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


def _parent(field: str) -> str:
    return field.rpartition(".")[0]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(FIELDS), JSONISH)
def test_any_value_in_any_field_is_a_config_or_a_config_error(field: str, value: Any) -> None:
    try:
        config = parse_config(_with(field, value))
    except ConfigError as err:
        assert err.problems
        for problem in err.problems:
            assert problem.isprintable(), problem
            # Only this field changed: every problem names it, or (a rule across fields) the table holding it.
            where, sep, _ = problem.partition(": ")
            assert sep, problem
            assert where.startswith(field) or where == _parent(field), (field, problem)
        return
    assert isinstance(config, Config)
    files = render_module(config)  # a config that validates always renders, to the same files
    assert set(files) == set(BASELINE_FILES)


BASELINE_FILES = render_module(parse_config(VALID))

# Shapes: four features (only s3 is structure, the backend block; the rest are module inputs). Values: fields
# Jinja never reads, each with the shapes of value that validate, and where the value lands in
# terraform.tfvars.json (None: not there).
SHAPE = st.fixed_dictionaries(
    {"existing": st.booleans(), "flow_logs": st.booleans(), "users": st.booleans(), "s3": st.booleans()}
)
VALUE_FIELDS: dict[str, tuple[str, str | None, str | None]] = {
    # field: (valid value regex, only with this switch on, tfvars key)
    "name": (r"[a-z][a-z0-9-]{0,27}", None, "name"),
    "environment": (r"[a-z][a-z0-9-]{0,31}", None, "environment"),
    "atlas.cluster_name": (r"[A-Za-z0-9][A-Za-z0-9-]{0,63}", None, "atlas_cluster_name"),
    "atlas.project_id": (r"[0-9a-f]{24}", None, "atlas_project_id"),
    "aws.region": (r"(us|eu|ap)-(east|west|central)-[1-9]", None, "region"),
    "aws.instance_type": (r"[a-z][a-z0-9-]{0,8}\.[a-z0-9]{1,8}", None, "instance_type"),
    "tags": (r"[A-Za-z0-9 _.:/=+@-]{0,40}", None, "tags"),
    "aws.vpc_id": (r"vpc-([0-9a-f]{8}|[0-9a-f]{17})", "existing", "vpc_id"),
    "aws.subnet_id": (r"subnet-([0-9a-f]{8}|[0-9a-f]{17})", "existing", "subnet_ids"),
    "atlas.iam_user_arns": (
        r"arn:aws:iam::[0-9]{12}:user/([A-Za-z0-9_+=,.@-]{1,8}/)?[A-Za-z0-9_+=,.@-]{1,64}",
        "users",
        "iam_user_arns",
    ),
    "backend.bucket": (r"[a-z0-9][a-z0-9-]{1,20}[a-z0-9]", "s3", None),
    "backend.key": (r"[A-Za-z0-9_-]{1,12}(/[A-Za-z0-9_-]{1,12}){0,3}\.tfstate", "s3", None),
    "backend.region": (r"(us|eu|ap)-(east|west|central)-[1-9]", "s3", None),
}


def _shape_data(shape: dict[str, bool]) -> dict[str, Any]:
    data = json.loads(json.dumps(VALID))
    # Flow logs belong to a VPC atlasiam creates: the config refuses them with an existing one.
    data["aws"] = {"flow_logs": shape["flow_logs"] and not shape["existing"]}
    if shape["existing"]:
        data["aws"] |= {"vpc_id": "vpc-0a1b2c3d4e5f60718", "subnet_id": "subnet-0a1b2c3d4e5f60718"}
    if shape["users"]:
        data["atlas"]["iam_user_arns"] = ["arn:aws:iam::123456789012:user/alice"]
    if shape["s3"]:
        data["backend"] = {"type": "s3", "bucket": "team-state"}
    return data


def _set(data: dict[str, Any], field: str, value: Any) -> dict[str, Any]:
    node = data
    *parents, leaf = field.split(".")
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = value
    return data


def _wrapped(field: str, text: str) -> Any:
    """The config value for ``text`` in ``field``: a list for the ARNs, a table for the tags."""
    return {"atlas.iam_user_arns": [text], "tags": {"team": text}}.get(field, text)


def _hcl_of(config: Config) -> dict[PurePosixPath, str]:
    return {p: t for p, t in render_module(config).items() if p.as_posix() != TFVARS_FILE}


@functools.cache
def _baseline_hcl(existing: bool, flow_logs: bool, users: bool, s3: bool) -> dict[PurePosixPath, str]:
    shape = {"existing": existing, "flow_logs": flow_logs, "users": users, "s3": s3}
    return _hcl_of(parse_config(_shape_data(shape)))


def test_the_baselines_differ_by_structure() -> None:
    """The invariance below means something only if the one structural field (the backend) changes the HCL;
    every other feature is a module input, so it must not."""
    plain = _baseline_hcl(False, False, False, False)
    assert _baseline_hcl(False, False, False, True) != plain
    for flipped in ((True, False, False, False), (False, True, False, False), (False, False, True, False)):
        assert _baseline_hcl(*flipped) == plain, flipped


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_values_never_change_the_hcl(data: st.DataObject) -> None:
    """Whatever a value is, if it validates the HCL is byte-identical to the baseline of the same structure."""
    shape = data.draw(SHAPE, label="shape")
    fields = sorted(f for f, (_, needs, _) in VALUE_FIELDS.items() if needs is None or shape[needs])
    field = data.draw(st.sampled_from(fields), label="field")
    regex, _, tfvars_key = VALUE_FIELDS[field]
    valid = data.draw(st.booleans(), label="valid")
    text = data.draw(st.from_regex(regex, fullmatch=True) if valid else st.text(max_size=60), label="text")
    value = _wrapped(field, text)
    try:
        config = parse_config(_set(_shape_data(shape), field, value))
    except ConfigError as err:
        assert not valid, err.problems  # the valid shapes always validate
        assert err.problems[0].startswith((f"{field}:", f"{field}[0]:", f"{_parent(field)}:")), err.problems
        return
    assert _hcl_of(config) == _baseline_hcl(False, False, False, shape["s3"])
    if tfvars_key is not None:
        tfvars = json.loads(render_module(config)[PurePosixPath(TFVARS_FILE)])
        landed = tfvars["region"] if tfvars_key == "region" else tfvars["stack"][tfvars_key]
        assert landed == ([value] if tfvars_key == "subnet_ids" else value)
