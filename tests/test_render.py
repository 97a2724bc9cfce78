"""Rendering: structure from Jinja, values only in terraform.tfvars.json."""

from __future__ import annotations

import itertools
import json
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from atlas_iam_tf.config import Config, load_config, parse_config
from atlas_iam_tf.render import TFVARS_FILE, render_module, render_tree, structure, write_module
from tests.conftest import CONFIGS, VARIANTS

HOSTILE = [
    '"} resource "aws_iam_user" "pwn" { name = "x',
    '${file("/etc/passwd")}',
    "%{ for x in [1] }${x}%{ endfor }",
    "{{ 7 * 7 }}{% raw %}",
    "line1\nline2\r\n\t\x00",
    "<<EOF\nheredoc\nEOF",
    '\\" # // /* */',
]


def _load(variant: str) -> Config:
    return load_config(CONFIGS / f"{variant}.toml", environ={})


def _hcl(files: dict[PurePosixPath, str]) -> dict[PurePosixPath, str]:
    return {p: t for p, t in files.items() if p.suffix in (".tf", ".sh")}


@pytest.mark.parametrize("variant", VARIANTS)
def test_render_is_pure_and_deterministic(variant: str) -> None:
    config = _load(variant)
    assert render_module(config) == render_module(config)


def test_structure_follows_config() -> None:
    new = render_module(_load("new_vpc"))
    existing = render_module(_load("existing_vpc"))
    users = render_module(_load("iam_users"))
    main_new, main_existing = new[PurePosixPath("main.tf")], existing[PurePosixPath("main.tf")]
    assert 'resource "aws_vpc" "this"' in main_new and 'data "aws_vpc" "this"' not in main_new
    assert 'data "aws_vpc" "this"' in main_existing and 'resource "aws_vpc"' not in main_existing
    assert 'resource "aws_flow_log"' not in main_new and 'resource "aws_flow_log"' in users[PurePosixPath("main.tf")]
    assert '"iam_user"' not in new[PurePosixPath("atlas.tf")]
    assert 'resource "mongodbatlas_database_user" "iam_user"' in users[PurePosixPath("atlas.tf")]
    assert not any(p.suffix == ".jinja" for p in new)


def test_values_reach_terraform_only_through_tfvars() -> None:
    config = _load("existing_vpc")
    files = render_module(config)
    tfvars = json.loads(files[PurePosixPath(TFVARS_FILE)])
    assert tfvars["vpc_id"] == "vpc-0a1b2c3d4e5f60718"
    assert tfvars["database_roles"] == [
        {"role_name": "read", "database_name": "billing", "collection_name": "invoices"}
    ]
    hcl = "".join(_hcl(files).values())
    for value in (
        "billing",
        "vpc-0a1b2c3d4e5f60718",
        "fedcba9876543210fedcba98",
        "Billing-Prod",
        "eu-west-1",
    ):
        assert value not in hcl


# The four structural choices ``render.structure()`` makes, each as the config fields that switch it on.
EXISTING_NETWORK: dict[str, Any] = {"vpc_id": "vpc-0a1b2c3d4e5f60718", "subnet_id": "subnet-0a1b2c3d4e5f60718"}
IAM_USERS = ["arn:aws:iam::123456789012:user/alice"]
S3_BACKEND: dict[str, Any] = {"type": "s3", "bucket": "team-state", "key": "a/b.tfstate", "region": "eu-west-1"}
# The files each switch must change, relative to the plain new-VPC config.
SWITCHES: dict[str, frozenset[str]] = {
    "existing-network": frozenset({"main.tf"}),
    "flow-logs": frozenset({"main.tf"}),
    "iam-users": frozenset({"atlas.tf", "outputs.tf"}),
    "s3-backend": frozenset({"versions.tf"}),
}


def _shaped(*, existing: bool = False, flow_logs: bool = False, users: bool = False, s3: bool = False) -> Config:
    """A valid config with the given structure (and the same values otherwise)."""
    aws: dict[str, Any] = {"region": "us-east-1", "flow_logs": flow_logs, **(EXISTING_NETWORK if existing else {})}
    atlas: dict[str, Any] = {
        "project_id": "0" * 24,
        "cluster_name": "Cluster0",
        "roles": [{"role_name": "readWrite", "database_name": "orders"}],
        "iam_user_arns": IAM_USERS if users else [],
    }
    data: dict[str, Any] = {"name": "orders", "aws": aws, "atlas": atlas}
    if s3:
        data["backend"] = S3_BACKEND
    return parse_config(data)


def _module_hcl(files: dict[PurePosixPath, str]) -> dict[PurePosixPath, str]:
    """Every rendered file except the values file: what Jinja produced or copied."""
    return {p: t for p, t in files.items() if p.as_posix() != TFVARS_FILE}


SWITCH_NAMES = ("existing", "flow_logs", "users", "s3")
SHAPE_FLAGS = [dict(zip(SWITCH_NAMES, bits, strict=True)) for bits in itertools.product((False, True), repeat=4)]


def _expected_structure(flags: dict[str, bool]) -> tuple[bool, bool, bool, bool]:
    # Flow logs belong to a VPC atlasiam creates: with an existing network the flag changes nothing.
    return (flags["existing"], flags["flow_logs"] and not flags["existing"], flags["users"], flags["s3"])


@pytest.mark.parametrize("switch", sorted(SWITCHES))
def test_each_structural_field_changes_exactly_its_files(switch: str) -> None:
    """If structure() stopped reading a field, flipping that field would change no file: this would fail."""
    base = _module_hcl(render_module(_shaped()))
    flipped = _module_hcl(
        render_module(
            _shaped(
                existing=switch == "existing-network",
                flow_logs=switch == "flow-logs",
                users=switch == "iam-users",
                s3=switch == "s3-backend",
            )
        )
    )
    assert set(flipped) == set(base)
    changed = {p.as_posix() for p in base if flipped[p] != base[p]}
    assert changed == SWITCHES[switch]


def test_every_structure_renders_its_own_hcl_and_nothing_else_matters() -> None:
    """All 16 combinations of the four switches: equal HCL exactly when the expected structure is equal."""
    by_structure: dict[tuple[bool, bool, bool, bool], dict[PurePosixPath, str]] = {}
    for flags in SHAPE_FLAGS:
        hcl = _module_hcl(render_module(_shaped(**flags)))
        key = _expected_structure(flags)
        if key in by_structure:  # existing network with and without flow_logs
            assert hcl == by_structure[key], flags
        else:
            assert hcl not in by_structure.values(), flags
            by_structure[key] = hcl
    assert len(by_structure) == 12  # 16 combinations, flow_logs x existing network collapsing 4 into 2


def test_structure_switches_are_booleans_and_a_backend_type() -> None:
    assert structure(_shaped()) == {"create_network": True, "flow_logs": False, "iam_users": False, "backend": "local"}
    assert structure(_shaped(existing=True, flow_logs=True, users=True, s3=True)) == {
        "create_network": False,
        "flow_logs": False,
        "iam_users": True,
        "backend": "s3",
    }
    assert structure(_shaped(flow_logs=True))["flow_logs"] is True


def _hostile_copy(config: Config, hostile: str) -> Config:
    """``config`` with ``hostile`` in every string value, structure kept (model_copy skips validation)."""
    aws_values: dict[str, Any] = {
        "region": hostile,
        "instance_type": hostile,
        "ami_ssm_parameter": hostile,
        "vpc_cidr": hostile,
        "subnet_cidr": hostile,
        "availability_zone": hostile,
    }
    if not config.aws.creates_network:
        aws_values |= {"vpc_id": hostile, "subnet_id": hostile}
    roles = tuple(
        r.model_copy(update={"database_name": hostile, "collection_name": hostile}) for r in config.atlas.roles
    )
    atlas_values: dict[str, Any] = {"cluster_name": hostile, "project_id": hostile, "roles": roles}
    if config.atlas.iam_user_arns:
        atlas_values["iam_user_arns"] = (hostile,)
    backend = config.backend
    if backend.type == "s3":
        backend = backend.model_copy(update={"bucket": hostile, "key": hostile, "region": hostile})
    return config.model_copy(
        update={
            "name": hostile,
            "environment": hostile,
            "tags": {hostile: hostile},
            "aws": config.aws.model_copy(update=aws_values),
            "atlas": config.atlas.model_copy(update=atlas_values),
            "backend": backend,
        }
    )


@pytest.mark.parametrize(
    "flags",
    [
        {"existing": False, "flow_logs": True, "users": True, "s3": True},
        {"existing": True, "flow_logs": False, "users": True, "s3": True},
        {"existing": False, "flow_logs": False, "users": False, "s3": False},
    ],
    ids=["new-vpc-flow-logs-users-s3", "existing-vpc-users-s3", "plain"],
)
@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_values_cannot_change_hcl_structure(hostile: str, flags: dict[str, bool]) -> None:
    """Even values that bypass validation (model_copy) land only in JSON: same structure, same HCL to the byte."""
    base = _shaped(**flags)
    evil = _hostile_copy(base, hostile)
    assert structure(evil) == structure(base)
    good_files, evil_files = render_module(base), render_module(evil)
    assert _module_hcl(evil_files) == _module_hcl(good_files)
    assert evil_files[PurePosixPath(TFVARS_FILE)] != good_files[PurePosixPath(TFVARS_FILE)]
    tfvars = json.loads(evil_files[PurePosixPath(TFVARS_FILE)])
    assert tfvars["name"] == hostile
    assert tfvars["atlas_cluster_name"] == hostile
    assert tfvars["tags"] == {hostile: hostile}
    assert tfvars["database_roles"][0]["database_name"] == hostile
    assert tfvars["iam_user_arns"] == ([hostile] if flags["users"] else [])
    if flags["existing"]:
        assert (tfvars["vpc_id"], tfvars["subnet_id"]) == (hostile, hostile)
    else:
        assert (tfvars["vpc_cidr"], tfvars["subnet_cidr"], tfvars["availability_zone"]) == (hostile,) * 3


def test_render_tree_renders_jinja_and_copies_the_rest(tmp_path: Path) -> None:
    (tmp_path / "a.tf.jinja").write_text("{% if flag %}\nyes\n{% endif %}\n")
    (tmp_path / "b.sh").write_text("{{ not rendered }}\n")
    files = render_tree(tmp_path, {"flag": True})
    assert files == {PurePosixPath("a.tf"): "yes\n", PurePosixPath("b.sh"): "{{ not rendered }}\n"}


def test_render_tree_is_strict_about_undefined(tmp_path: Path) -> None:
    from jinja2 import UndefinedError

    (tmp_path / "a.tf.jinja").write_text("{{ missing }}\n")
    with pytest.raises(UndefinedError):
        render_tree(tmp_path, {})


def test_write_module_rewrites_only_changes_and_drops_only_its_own_stale_files(tmp_path: Path) -> None:
    files = render_module(_load("new_vpc"))
    assert len(write_module(files, tmp_path)) == len(files)
    assert write_module(files, tmp_path) == []
    extra = {**files, PurePosixPath("old.tf"): "# from an earlier render\n", PurePosixPath("edited.tf"): "# ours\n"}
    write_module(extra, tmp_path)
    (tmp_path / "edited.tf").write_text("# edited by the user since\n")
    (tmp_path / "mine.tf").write_text("# the user's own\n")
    (tmp_path / "terraform.tfstate").write_text("{}")
    write_module(files, tmp_path)
    assert not (tmp_path / "old.tf").exists()  # atlasiam wrote it, unchanged: stale, removed
    assert (tmp_path / "edited.tf").read_text() == "# edited by the user since\n"
    assert (tmp_path / "mine.tf").read_text() == "# the user's own\n"
    assert (tmp_path / "terraform.tfstate").read_text() == "{}"


def test_verify_principals_reach_terraform_only_through_tfvars(tmp_path: Path) -> None:
    listed = ["arn:aws:iam::123456789012:role/ci", "210987654321"]
    line = f"verify_principals = {json.dumps(listed)}\n"
    text = (CONFIGS / "new_vpc.toml").read_text().replace("[aws]\n", "[aws]\n" + line)
    (tmp_path / "atlasiam.toml").write_text(text)
    files = render_module(load_config(tmp_path / "atlasiam.toml", environ={}))
    baseline = render_module(_load("new_vpc"))
    assert json.loads(files[PurePosixPath(TFVARS_FILE)])["verify_principals"] == listed
    assert json.loads(baseline[PurePosixPath(TFVARS_FILE)])["verify_principals"] == []
    assert _hcl(files) == _hcl(baseline)  # the trust statement is a dynamic block: values never change the HCL
