"""Rendering: a thin root (Jinja decides its backend), the static module copied, values only in tfvars."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from atlas_iam_tf.config import Config, load_config, parse_config
from atlas_iam_tf.render import MODULE_DIR, TFVARS_FILE, module_dir, render_module, render_tree, structure, write_module
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
    return {p: t for p, t in files.items() if p.suffix in (".tf", ".sh", ".tftpl")}


@pytest.mark.parametrize("variant", VARIANTS)
def test_render_is_pure_and_deterministic(variant: str) -> None:
    config = _load(variant)
    assert render_module(config) == render_module(config)


def test_the_module_is_copied_as_it_is_beside_a_thin_root() -> None:
    files = render_module(_load("new_vpc"))
    module = module_dir()
    copied = {p.relative_to(MODULE_DIR) for p in files if p.is_relative_to(MODULE_DIR)}
    expected = {
        PurePosixPath(f.relative_to(module).as_posix())
        for f in module.rglob("*")
        if f.is_file() and "tests" not in f.relative_to(module).parts
    }
    assert copied == expected and {"main.tf", "variables.tf", "user_data.sh.tftpl"} <= {p.name for p in copied}
    for rel in copied:
        assert files[MODULE_DIR / rel] == (module / rel).read_text(), rel
    root = {p.as_posix() for p in files if not p.is_relative_to(MODULE_DIR)}
    assert root == {"main.tf", "outputs.tf", "providers.tf", "variables.tf", "versions.tf", TFVARS_FILE}
    assert 'source = "./modules/atlas-iam-access"' in files[PurePosixPath("main.tf")]
    assert not any(p.suffix == ".jinja" for p in files)


def test_values_reach_terraform_only_through_tfvars() -> None:
    config = _load("existing_vpc")
    files = render_module(config)
    tfvars = json.loads(files[PurePosixPath(TFVARS_FILE)])
    assert tfvars["region"] == "eu-west-1"
    assert tfvars["stack"]["vpc_id"] == "vpc-0a1b2c3d4e5f60718"
    assert tfvars["stack"]["subnet_ids"] == ["subnet-0a1b2c3d4e5f60718"]
    assert tfvars["stack"]["database_roles"] == [
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


EXISTING_NETWORK: dict[str, Any] = {"vpc_id": "vpc-0a1b2c3d4e5f60718", "subnet_id": "subnet-0a1b2c3d4e5f60718"}
IAM_USERS = ["arn:aws:iam::123456789012:user/alice"]
S3_BACKEND: dict[str, Any] = {"type": "s3", "bucket": "team-state", "key": "a/b.tfstate", "region": "eu-west-1"}


def _shaped(
    *, existing: bool = False, flow_logs: bool = False, users: bool = False, s3: bool = False, private: bool = False
) -> Config:
    """A valid config with the given features (and the same values otherwise)."""
    aws: dict[str, Any] = {"region": "us-east-1", "flow_logs": flow_logs, **(EXISTING_NETWORK if existing else {})}
    if private:
        aws |= {"network_mode": "private", "wheelhouse_dir": "wheels"}
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


FEATURES = [
    {"existing": False, "flow_logs": False, "users": False, "private": False},
    {"existing": True, "flow_logs": False, "users": True, "private": False},
    {"existing": False, "flow_logs": True, "users": False, "private": False},
    {"existing": False, "flow_logs": False, "users": True, "private": True},
]


@pytest.mark.parametrize("features", FEATURES, ids=["plain", "existing-users", "flow-logs", "private"])
def test_features_are_module_inputs_and_never_change_the_hcl(features: dict[str, bool]) -> None:
    """Jinja decides only the backend: every feature is a module input, so the HCL stays byte for byte."""
    plain = _module_hcl(render_module(_shaped()))
    assert _module_hcl(render_module(_shaped(**features))) == plain
    inputs = json.loads(render_module(_shaped(**features))[PurePosixPath(TFVARS_FILE)])["stack"]
    assert inputs["create_network"] is not features["existing"]
    assert inputs["flow_logs"] is features["flow_logs"]
    assert inputs["network_mode"] == ("private" if features["private"] else "public")
    assert inputs["iam_user_arns"] == (IAM_USERS if features["users"] else [])


def test_the_s3_backend_changes_exactly_versions_tf() -> None:
    base, s3 = _module_hcl(render_module(_shaped())), _module_hcl(render_module(_shaped(s3=True)))
    assert {p.as_posix() for p in base if s3[p] != base[p]} == {"versions.tf"}
    assert 'backend "s3"' in s3[PurePosixPath("versions.tf")] and "backend" not in base[PurePosixPath("versions.tf")]


def test_structure_is_the_backend_type_only() -> None:
    assert structure(_shaped()) == {"backend": "local"}
    assert structure(_shaped(existing=True, users=True, s3=True)) == {"backend": "s3"}


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
        aws_values = {k: v for k, v in aws_values.items() if k not in ("subnet_cidr", "availability_zone")}
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
    stack = tfvars["stack"]
    assert tfvars["region"] == hostile
    assert stack["name"] == hostile
    assert stack["atlas_cluster_name"] == hostile
    assert stack["tags"] == {hostile: hostile}
    assert stack["database_roles"][0]["database_name"] == hostile
    assert stack["iam_user_arns"] == ([hostile] if flags["users"] else [])
    if flags["existing"]:
        assert (stack["vpc_id"], stack["subnet_ids"]) == (hostile, [hostile])
    else:
        assert (stack["vpc_cidr"], stack["subnet_cidrs"], stack["availability_zones"]) == (
            hostile,
            [hostile],
            [hostile],
        )


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
    assert json.loads(files[PurePosixPath(TFVARS_FILE)])["stack"]["verify_principals"] == listed
    assert json.loads(baseline[PurePosixPath(TFVARS_FILE)])["stack"]["verify_principals"] == []
    assert _hcl(files) == _hcl(baseline)  # the trust statement is a dynamic block: values never change the HCL


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_root_passes_every_module_input_it_renders(variant: str) -> None:
    """A key in the tfvars' ``stack`` that main.tf never reads is silently dropped (``stack`` is ``any``)."""
    files = render_module(_load(variant))
    stack = json.loads(files[PurePosixPath(TFVARS_FILE)])["stack"]
    main = files[PurePosixPath("main.tf")]
    assert [key for key in stack if f"= var.stack.{key}\n" not in main] == []
