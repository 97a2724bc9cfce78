"""Render the Terraform module: pure ``render_module`` first, disk I/O in ``write_module``.

Jinja decides *structure* only (which blocks exist). Every user value reaches Terraform
through ``terraform.tfvars.json`` written with ``json.dumps``, so no value can change the HCL.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from functools import cache
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # both imported when rendering, not with this module: a cached project needs neither
    from jinja2.sandbox import SandboxedEnvironment

    from atlas_iam_tf.config import Config

TFVARS_FILE = "terraform.tfvars.json"
JINJA_SUFFIX = ".jinja"

RenderedModule = dict[PurePosixPath, str]


def templates_dir() -> Path:
    """Locate the templates: inside the installed wheel, else the source checkout's ``templates/``."""
    packaged = Path(__file__).resolve().parent / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "templates"


@cache
def _environment(template_root: str) -> SandboxedEnvironment:
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(
        loader=FileSystemLoader(template_root),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def structure(config: Config) -> dict[str, Any]:
    """The structural switches the templates see; never a user-provided string."""
    return {
        "create_network": config.aws.creates_network,
        "flow_logs": config.aws.flow_logs and config.aws.creates_network,
        "iam_users": bool(config.atlas.iam_user_arns),
        "backend": config.backend.type,
    }


def tfvars(config: Config) -> dict[str, Any]:
    """Every value Terraform needs, as the JSON object written to ``terraform.tfvars.json``."""
    aws = config.aws
    values: dict[str, Any] = {
        "name": config.name,
        "environment": config.environment,
        "tags": dict(config.tags),
        "region": aws.region,
        "instance_type": aws.instance_type,
        "ami_ssm_parameter": aws.ami_ssm_parameter,
        "root_volume_size": aws.root_volume_size,
        "atlas_project_id": config.atlas.project_id,
        "atlas_cluster_name": config.atlas.cluster_name,
        "database_roles": [r.model_dump() for r in config.atlas.roles],
        "iam_user_arns": list(config.atlas.iam_user_arns),
    }
    if aws.creates_network:
        values |= {"vpc_cidr": aws.vpc_cidr, "subnet_cidr": aws.effective_subnet_cidr}
        if aws.availability_zone:
            values["availability_zone"] = aws.availability_zone
    else:
        values |= {"vpc_id": aws.vpc_id, "subnet_id": aws.subnet_id}
    return values


def render_tree(template_root: Path, context: Mapping[str, Any]) -> RenderedModule:
    """Render ``*.jinja`` files with ``context`` and copy every other file verbatim."""
    env = _environment(str(template_root))
    out: RenderedModule = {}
    for path in sorted(p for p in template_root.rglob("*") if p.is_file()):
        rel = PurePosixPath(path.relative_to(template_root).as_posix())
        if rel.name.startswith(".") or "__pycache__" in rel.parts:
            continue
        if rel.suffix == JINJA_SUFFIX:
            text = env.get_template(rel.as_posix()).render(**context)
            out[rel.with_suffix("")] = text
        else:
            out[rel] = path.read_text(encoding="utf-8")
    return out


def render_module(config: Config, template_root: Path | None = None) -> RenderedModule:
    """Render the whole module for ``config``: HCL files plus ``terraform.tfvars.json``."""
    files = render_tree(template_root or templates_dir(), structure(config))
    files[PurePosixPath(TFVARS_FILE)] = json.dumps(tfvars(config), indent=2, sort_keys=True) + "\n"
    return files


def write_module(files: RenderedModule, dest: Path) -> list[Path]:
    """Write the rendered files into ``dest`` atomically (per file), removing stale rendered files.

    Terraform's own files in ``dest`` (``.terraform/``, state, plans, lock file) are kept.
    Returns the paths whose content changed.
    """
    dest.mkdir(parents=True, exist_ok=True)
    changed: list[Path] = []
    for rel, text in files.items():
        target = dest.joinpath(*rel.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            continue
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        Path(tmp).replace(target)
        changed.append(target)
    _remove_stale(files, dest)
    return changed


def _remove_stale(files: RenderedModule, dest: Path) -> None:
    """Delete ``*.tf`` files a previous render wrote that this render no longer has."""
    wanted = {dest.joinpath(*rel.parts) for rel in files}
    for old in dest.glob("*.tf"):
        if old not in wanted:
            old.unlink()


def export_module(files: RenderedModule, dest: Path, *, force: bool = False) -> list[Path]:
    """Write a clean copy of the module to ``dest`` for people to lift into their own code."""
    if dest.exists() and any(dest.iterdir()) and not force:
        from atlas_iam_tf.errors import UsageError

        raise UsageError(f"{dest} is not empty", hint="pass --force to overwrite, or pick an empty directory")
    if dest.exists() and force:
        for rel in files:
            target = dest.joinpath(*rel.parts)
            if target.is_dir():
                shutil.rmtree(target)
    return write_module(files, dest)
