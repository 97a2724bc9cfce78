"""Rendering: structure from Jinja, values only in terraform.tfvars.json."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import pytest

from atlas_iam_tf.config import Config, load_config
from atlas_iam_tf.render import TFVARS_FILE, render_module, render_tree, write_module
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


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_values_cannot_change_hcl_structure(hostile: str) -> None:
    """Even values that bypass validation (model_construct) land only in JSON, escaped."""
    base = _load("iam_users")
    atlas = base.atlas.model_copy(update={"cluster_name": hostile, "project_id": hostile})
    aws = base.aws.model_copy(update={"instance_type": hostile, "ami_ssm_parameter": hostile})
    evil = base.model_copy(
        update={
            "name": hostile,
            "environment": hostile,
            "tags": {hostile: hostile},
            "atlas": atlas,
            "aws": aws,
        }
    )
    good_files, evil_files = render_module(base), render_module(evil)
    assert _hcl(evil_files) == _hcl(good_files)
    tfvars = json.loads(evil_files[PurePosixPath(TFVARS_FILE)])
    assert tfvars["name"] == hostile and tfvars["atlas_cluster_name"] == hostile
    assert tfvars["tags"] == {hostile: hostile}


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
