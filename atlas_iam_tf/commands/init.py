"""`atlasiam init`: write a commented starter atlasiam.toml (validated before it is written)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from atlas_iam_tf.config import parse_config
from atlas_iam_tf.config_file import parse_toml_text
from atlas_iam_tf.errors import ExitCode, UsageError
from atlas_iam_tf.output import Output
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
    if path.exists() and not force:
        raise UsageError(f"{path} already exists", hint="pass --force to overwrite it")
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
    path.write_text(text, encoding="utf-8")
    out.result({"path": str(path)}, f"Wrote [bold]{path}[/bold]. Next: atlasiam plan")
    return ExitCode.OK
