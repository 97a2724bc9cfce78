"""Render the Terraform root and its module: pure ``render_module`` first, disk I/O in ``write_module``.

The root (``templates/``) is thin: providers, the backend and one call of the static atlas-iam-access
module (``modules/atlas-iam-access``, copied as it is). Jinja decides only the root's structure (the
backend block). Every user value reaches Terraform through ``terraform.tfvars.json`` written with
``json.dumps``, so no value can change the HCL.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from functools import cache
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from atlas_iam_tf.errors import UsageError, WriteError

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

    from atlas_iam_tf.config import Config

TFVARS_FILE = "terraform.tfvars.json"
# The files atlasiam wrote into a directory, with their digests: nothing else there is ever touched.
MANIFEST = ".atlasiam-manifest.json"
JINJA_SUFFIX = ".jinja"
MODULE_NAME = "atlas-iam-access"
# Where the module goes inside a rendered root (main.tf's `source`).
MODULE_DIR = PurePosixPath("modules") / MODULE_NAME

RenderedModule = dict[PurePosixPath, str]


def templates_dir() -> Path:
    """Locate the templates: inside the installed wheel, else the source checkout's ``templates/``."""
    packaged = Path(__file__).resolve().parent / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "templates"


def module_dir() -> Path:
    """Locate the atlas-iam-access module: inside the installed wheel, else the source checkout's ``modules/``."""
    packaged = Path(__file__).resolve().parent / "modules" / MODULE_NAME
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "modules" / MODULE_NAME


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
    """The structural switches the root's templates see; never a user-provided string."""
    return {"backend": config.backend.type}


def module_inputs(config: Config, wheelhouse_dir: str | None = None) -> dict[str, Any]:
    """The atlas-iam-access module's inputs for ``config``: every input, null or empty where unused.

    ``wheelhouse_dir`` is the probe's wheelhouse for a private-mode host (see ``wheelhouse.py``).
    """
    aws = config.aws
    new = aws.creates_network and aws.create_host  # without a host, public mode needs no network
    public_subnet = new and not aws.private
    return {
        "name": config.name,
        "environment": config.environment,
        "tags": dict(config.tags),
        "network_mode": aws.network_mode,
        "create_host": aws.create_host,
        "create_network": new,
        "vpc_cidr": aws.vpc_cidr if new else None,
        "subnet_cidrs": [aws.effective_subnet_cidr] if public_subnet else [],
        "availability_zones": [aws.availability_zone] if public_subnet and aws.availability_zone else [],
        "vpc_id": aws.vpc_id,
        "subnet_ids": list(aws.existing_subnet_ids),
        "route_table_ids": list(aws.route_table_ids),
        "create_vpc_endpoints": True,
        "sts_endpoint": aws.sts_endpoint,
        "access_list_cidrs": list(aws.access_list_cidrs),
        "flow_logs": aws.flow_logs,
        "instance_type": aws.instance_type,
        "ami_ssm_parameter": aws.ami_ssm_parameter,
        "ami_id": aws.ami_id,
        "follow_latest_ami": aws.follow_latest_ami,
        "wheelhouse_dir": wheelhouse_dir if aws.private else None,
        "imds_hop_limit": aws.imds_hop_limit,
        "root_volume_size": aws.root_volume_size,
        "kms_key_arn": aws.kms_key_arn,
        "permissions_boundary": aws.permissions_boundary,
        "ssm_policy": aws.ssm_policy,
        "verify_principals": list(aws.verify_principals),
        "atlas_project_id": config.atlas.project_id,
        "atlas_cluster_name": config.atlas.cluster_name,
        "database_roles": [r.model_dump() for r in config.atlas.roles],
        "role_arns": list(config.atlas.role_arns),
        "iam_user_arns": list(config.atlas.iam_user_arns),
        "workloads": {w.name: w.module_input() for w in config.workloads},
    }


def tfvars(config: Config, wheelhouse_dir: str | None = None) -> dict[str, Any]:
    """Every value Terraform needs, as the JSON object written to ``terraform.tfvars.json``."""
    return {"region": config.aws.region, "stack": module_inputs(config, wheelhouse_dir)}


def render_static(root: Path, under: PurePosixPath) -> RenderedModule:
    """Every file below ``root`` as it is (Terraform's test files and dot files excepted), keyed under ``under``."""
    out: RenderedModule = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = PurePosixPath(path.relative_to(root).as_posix())
        if rel.name.startswith(".") or rel.parts[0] == "tests" or "__pycache__" in rel.parts:
            continue
        out[under / rel] = path.read_text(encoding="utf-8")
    return out


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


def module_files() -> RenderedModule:
    """The atlas-iam-access module alone, its files at the top: ``render --module-only``."""
    return render_static(module_dir(), PurePosixPath())


def render_module(
    config: Config, template_root: Path | None = None, *, wheelhouse_dir: str | None = None
) -> RenderedModule:
    """Render the root for ``config`` with the module under ``modules/``, plus ``terraform.tfvars.json``."""
    files = render_tree(template_root or templates_dir(), structure(config))
    files |= render_static(module_dir(), MODULE_DIR)
    files[PurePosixPath(TFVARS_FILE)] = json.dumps(tfvars(config, wheelhouse_dir), indent=2, sort_keys=True) + "\n"
    return files


def write_module(files: RenderedModule, dest: Path) -> list[Path]:
    """Write the rendered files into ``dest`` atomically (per file); return the paths whose content changed.

    Only files atlasiam wrote are ever touched: the manifest in ``dest`` lists them with their digests,
    and a file a previous render wrote that this one no longer has is removed only if it is still exactly
    what atlasiam wrote. Everything else in ``dest`` (Terraform's own files, the user's) is left alone.
    """
    try:
        return _write(files, dest)
    except OSError as exc:
        raise WriteError(f"cannot write the module into {dest}: {exc.strerror or exc}") from None


def export_module(files: RenderedModule, dest: Path, *, force: bool = False) -> list[Path]:
    """Write a clean copy of the module to ``dest`` for people to lift into their own code.

    ``dest`` must be empty, or with ``force`` hold nothing in the module's way but files atlasiam wrote
    there before, unchanged since: a file of the user's is never overwritten or deleted.
    """
    if dest.exists() and not dest.is_dir():
        raise UsageError(f"--out {dest} is not a directory", hint="pick a directory (it is created if missing)")
    if dest.is_dir() and any(dest.iterdir()):
        if not force:
            raise UsageError(f"--out {dest} is not empty", hint="pass --force to update a module atlasiam wrote there")
        foreign = [rel for rel in files if not _ours(dest, rel, _manifest(dest))]
        if foreign:
            raise UsageError(
                f"--out {dest}: {foreign[0].as_posix()} was not written by atlasiam, or was changed since; "
                "nothing was written",
                hint="move your file away, or pick another --out",
            )
    return write_module(files, dest)


def _write(files: RenderedModule, dest: Path) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    before = _manifest(dest)
    changed: list[Path] = []
    for rel, text in files.items():
        target = dest.joinpath(*rel.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            continue
        _atomic_write(target, text)
        changed.append(target)
    for rel in sorted(set(before) - set(files)):  # stale: ours, and still as we wrote it
        if _ours(dest, rel, before):
            dest.joinpath(*rel.parts).unlink()
    _atomic_write(dest / MANIFEST, json.dumps({rel.as_posix(): _digest(text) for rel, text in files.items()}, indent=1))
    return changed


def _atomic_write(target: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    Path(tmp).replace(target)


def _manifest(dest: Path) -> dict[PurePosixPath, str]:
    """What atlasiam wrote into ``dest`` last time: relative path → SHA-256 (empty if unreadable)."""
    try:
        doc = json.loads((dest / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(doc, dict):
        return {}
    entries = {PurePosixPath(k): v for k, v in doc.items() if isinstance(k, str) and isinstance(v, str)}
    return {rel: d for rel, d in entries.items() if not rel.is_absolute() and ".." not in rel.parts}


def _ours(dest: Path, rel: PurePosixPath, manifest: dict[PurePosixPath, str]) -> bool:
    """True when ``dest/rel`` is absent, or is exactly the file the manifest says atlasiam wrote."""
    target = dest.joinpath(*rel.parts)
    if not target.exists():
        return True
    try:
        return target.is_file() and manifest.get(rel) == hashlib.sha256(target.read_bytes()).hexdigest()
    except OSError:
        return False


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
