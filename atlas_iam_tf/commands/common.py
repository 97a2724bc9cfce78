"""Shared steps of the commands: load the project, show a plan summary, show outputs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from atlas_iam_tf.config_file import override_layers, read_config_bytes
from atlas_iam_tf.output import Output
from atlas_iam_tf.project import Project, ProjectValues, project_for
from atlas_iam_tf.project_cache import ProjectCache, cache_key
from atlas_iam_tf.terraform.plan import Outputs, PlanSummary

ACTION_STYLE = {"create": "green", "update": "yellow", "replace": "magenta", "delete": "red", "read": "cyan"}


def load_project(config_path: Path, *, terraform_bin: str | None = None, environment: str | None = None) -> Project:
    """Load and validate the config (CLI values beat env, env beats the file) and open the project.

    A config unchanged since an earlier command is not validated or rendered again (``project_cache``).
    """
    cli: dict[str, Any] = {"terraform.bin": terraform_bin, "environment": environment}
    layers = override_layers(cli, os.environ)
    raw = read_config_bytes(config_path)
    key = cache_key(raw, layers)
    values = ProjectCache(config_path.resolve().parent).get(key)
    if values is not None:
        return project_for(values, config_path)
    from atlas_iam_tf.config import config_from_bytes  # pydantic: only when the config changed

    values = ProjectValues.from_config(config_from_bytes(raw, str(config_path), layers))
    return project_for(values, config_path, cache_key=key)


def summary_data(summary: PlanSummary) -> dict[str, Any]:
    """The JSON form of a plan summary."""
    return {
        "has_changes": summary.has_changes,
        "counts": summary.counts(),
        "changes": [{"address": c.address, "action": c.action} for c in summary.changes if c.action != "noop"],
        "drift": [{"address": c.address, "action": c.action} for c in summary.drift],
    }


def show_summary(out: Output, summary: PlanSummary, title: str = "Plan") -> None:
    """Print the plan's changes as a table (address, action) plus a one-line count."""
    rows = [
        (c.address, f"[{ACTION_STYLE.get(c.action, 'white')}]{c.action}[/]")
        for c in summary.changes
        if c.action != "noop"
    ]
    if rows:
        out.table(title, ["address", "action"], rows)
    counts = summary.counts()
    counts.pop("noop", None)
    text = ", ".join(f"{n} to {a}" for a, n in counts.items()) if counts else "no changes"
    out.out.print(f"[bold]{title}:[/bold] {text}")


def show_outputs(out: Output, outputs: Outputs) -> None:
    """Print the outputs as a name/value table, sensitive values masked."""
    rows = [(name, _fmt(value)) for name, value in sorted(outputs.masked().items())]
    out.table("Outputs", ["name", "value"], rows)


def _fmt(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)
