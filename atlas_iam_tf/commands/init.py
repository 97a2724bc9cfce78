"""`atlasiam init`: write a commented starter atlasiam.toml (validated before it is written)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from atlas_iam_tf.config import parse_config
from atlas_iam_tf.config_file import parse_toml_text
from atlas_iam_tf.errors import ExitCode, UsageError, WriteError
from atlas_iam_tf.output import Output, literal
from atlas_iam_tf.starter import starter_text


def run(
    out: Output,
    path: Path,
    *,
    name: str | None,
    project_id: str | None,
    cluster_name: str | None,
    region: str,
    environment: str,
    roles: Sequence[str],
    force: bool,
) -> int:
    """Write the starter file; prompt for missing values on a terminal, else require the flags."""
    _check_target(path, force=force)
    answers = {"name": name, "project_id": project_id, "cluster_name": cluster_name}
    missing = [k for k, v in answers.items() if not v]
    if missing and (out.json_mode or not sys.stdin.isatty()):
        flags = ", ".join("--" + k.replace("_", "-") for k in missing)
        raise UsageError(f"missing {flags} (stdin is not a terminal, so atlasiam cannot ask)")
    for key in missing:
        answers[key] = out.ask(key.replace("_", " "))
    text = starter_text(
        name=answers["name"] or "",
        project_id=answers["project_id"] or "",
        cluster_name=answers["cluster_name"] or "",
        region=region,
        environment=environment,
        roles=roles or ["readWrite@" + (answers["name"] or "app")],
    )
    parse_config(parse_toml_text(text), source="the answers")  # nothing is written unless it validates
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise WriteError(f"--config {path}: cannot write: {exc.strerror or exc}") from None
    out.result({"path": str(path)}, f"Wrote [bold]{literal(str(path))}[/bold]. Next: atlasiam plan")
    return ExitCode.OK


def _check_target(path: Path, *, force: bool) -> None:
    """The file to write: absent, or (with --force) a file to overwrite; never a directory."""
    try:
        exists, is_dir = path.exists(), path.is_dir()
    except OSError as exc:  # a name too long, a parent that is a file, ...
        raise WriteError(f"--config {path}: cannot write: {exc.strerror or exc}") from None
    if is_dir:
        raise UsageError(f"--config {path} is a directory", hint="pass the path of the file to write")
    if exists and not force:
        raise UsageError(f"--config {path} already exists", hint="pass --force to overwrite it")
