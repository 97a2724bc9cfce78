"""Rendering and writing the module: what lands on disk, and what is never touched (found by ``make mutation``)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePosixPath

import pytest

from atlas_iam_tf.config import load_config, parse_config
from atlas_iam_tf.config_file import parse_toml_bytes
from atlas_iam_tf.errors import UsageError, WriteError
from atlas_iam_tf.render import (
    MANIFEST,
    TFVARS_FILE,
    export_module,
    render_module,
    render_static,
    render_tree,
    tfvars,
    write_module,
)
from tests.conftest import CONFIGS

EXISTING_VPC_TFVARS = """{
  "region": "eu-west-1",
  "stack": {
    "access_list_cidrs": [],
    "ami_id": null,
    "ami_ssm_parameter": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
    "atlas_cluster_name": "Billing-Prod",
    "atlas_project_id": "fedcba9876543210fedcba98",
    "availability_zones": [],
    "create_host": true,
    "create_network": false,
    "create_vpc_endpoints": true,
    "database_roles": [
      {
        "collection_name": "invoices",
        "database_name": "billing",
        "role_name": "read"
      }
    ],
    "environment": "staging",
    "flow_logs": false,
    "follow_latest_ami": false,
    "iam_user_arns": [],
    "imds_hop_limit": 1,
    "instance_type": "t3.micro",
    "kms_key_arn": null,
    "name": "billing",
    "network_mode": "public",
    "permissions_boundary": null,
    "role_arns": [],
    "root_volume_size": 8,
    "route_table_ids": [],
    "ssm_policy": "managed",
    "sts_endpoint": false,
    "subnet_cidrs": [],
    "subnet_ids": [
      "subnet-0a1b2c3d4e5f60718"
    ],
    "tags": {},
    "verify_principals": [],
    "vpc_cidr": null,
    "vpc_id": "vpc-0a1b2c3d4e5f60718",
    "wheelhouse_dir": null,
    "workloads": {}
  }
}
"""


def test_tfvars_is_written_for_people_to_read_indented_and_sorted() -> None:
    """render --out hands this file to people: two-space indents, keys sorted, a final newline."""
    files = render_module(load_config(CONFIGS / "existing_vpc.toml", environ={}))
    assert files[PurePosixPath(TFVARS_FILE)] == EXISTING_VPC_TFVARS


def test_render_tree_skips_hidden_files_and_caches(tmp_path: Path) -> None:
    (tmp_path / ".swp.tf").write_text("editor swap file\n")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "x.tf").write_text("cache\n")
    (tmp_path / "a.tf").write_text("a\n")
    (tmp_path / "b.tf.jinja").write_text("b\n")
    assert render_tree(tmp_path, {}) == {PurePosixPath("a.tf"): "a\n", PurePosixPath("b.tf"): "b\n"}


def test_write_module_creates_missing_parents_and_returns_what_changed(tmp_path: Path) -> None:
    dest = tmp_path / "deep" / "er"
    files = {PurePosixPath("a.tf"): "a\n", PurePosixPath("sub/dir/b.tf"): "b\n"}
    assert write_module(files, dest) == [dest / "a.tf", dest / "sub" / "dir" / "b.tf"]
    assert (dest / "sub" / "dir" / "b.tf").read_text() == "b\n"
    assert write_module({**files, PurePosixPath("a.tf"): "a2\n"}, dest) == [dest / "a.tf"]


def test_write_module_into_a_file_names_the_place_and_the_reason(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(WriteError) as exc:
        write_module({PurePosixPath("a.tf"): "a\n"}, tmp_path / "afile" / "module")
    assert exc.value.message == f"cannot write the module into {tmp_path / 'afile' / 'module'}: Not a directory"


def test_a_tampered_manifest_never_deletes_outside_the_module(tmp_path: Path) -> None:
    """A manifest naming ../victim or /abs with the right digest: stale-file removal must not follow it."""
    dest = tmp_path / "module"
    write_module({PurePosixPath("a.tf"): "a\n"}, dest)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    digest = hashlib.sha256(b"keep me").hexdigest()
    manifest = json.loads((dest / MANIFEST).read_text())
    manifest |= {"../victim.txt": digest, str(victim): digest, "ok.tf": 7}
    (dest / MANIFEST).write_text(json.dumps(manifest))
    write_module({PurePosixPath("a.tf"): "a\n"}, dest)
    assert victim.read_text() == "keep me"


def test_export_refuses_a_non_empty_dir_by_default(tmp_path: Path) -> None:
    files = {PurePosixPath("a.tf"): "a\n"}
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UsageError) as exc:
        export_module(files, tmp_path)
    assert (exc.value.message, exc.value.hint) == (
        f"--out {tmp_path} is not empty",
        "pass --force to update a module atlasiam wrote there",
    )


def test_export_onto_a_file_says_to_pick_a_directory(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(UsageError) as exc:
        export_module({PurePosixPath("a.tf"): "a\n"}, tmp_path / "afile")
    assert (exc.value.message, exc.value.hint) == (
        f"--out {tmp_path / 'afile'} is not a directory",
        "pick a directory (it is created if missing)",
    )


def test_export_with_force_names_the_users_file_and_writes_nothing(tmp_path: Path) -> None:
    export_module({PurePosixPath("a.tf"): "a\n"}, tmp_path)
    (tmp_path / "b.tf").write_text("the user's\n")
    with pytest.raises(UsageError) as exc:
        export_module({PurePosixPath("a.tf"): "a2\n", PurePosixPath("b.tf"): "b\n"}, tmp_path, force=True)
    assert (exc.value.message, exc.value.hint) == (
        f"--out {tmp_path}: b.tf was not written by atlasiam, or was changed since; nothing was written",
        "move your file away, or pick another --out",
    )
    assert (tmp_path / "a.tf").read_text() == "a\n"


def test_export_with_force_treats_an_unreadable_file_as_the_users(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export_module({PurePosixPath("a.tf"): "a\n"}, tmp_path)

    def unreadable(_self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", unreadable)
    with pytest.raises(UsageError, match="a.tf was not written by atlasiam"):
        export_module({PurePosixPath("a.tf"): "a2\n"}, tmp_path, force=True)


def _config(text: str) -> object:
    return parse_config(parse_toml_bytes(text.encode(), "atlasiam.toml"))


def test_the_wheelhouse_reaches_the_module_in_private_mode_only() -> None:
    """A private host installs from the wheelhouse; a public one from PyPI, so it gets none even when given one."""
    public = (CONFIGS / "new_vpc.toml").read_text()
    private = public.replace("[aws]\n", '[aws]\nnetwork_mode = "private"\n').replace('vpc_cidr = "10.42.0.0/16"\n', "")
    assert tfvars(_config(private), "wheels")["stack"]["wheelhouse_dir"] == "wheels"  # type: ignore[arg-type]
    assert tfvars(_config(public), "wheels")["stack"]["wheelhouse_dir"] is None  # type: ignore[arg-type]


def test_render_static_copies_the_module_without_its_tests_caches_or_hidden_files(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "a.tftest.hcl").write_text("run {}\n")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "x.tf").write_text("cache\n")
    (tmp_path / ".terraform.lock.hcl").write_text("lock\n")
    (tmp_path / "main.tf").write_text("# é\n", encoding="utf-8")
    assert render_static(tmp_path, PurePosixPath("m")) == {PurePosixPath("m/main.tf"): "# é\n"}
