"""Pure, table-driven Terraform argv building: every command atlasiam runs is spelled here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

Command = Literal["init", "validate", "plan", "show", "apply", "destroy", "output", "fmt", "version"]

PLAN_FILE = "atlasiam.tfplan"

# Flags every invocation of a command gets.
_BASE: Mapping[Command, tuple[str, ...]] = {
    "init": ("-input=false", "-no-color"),
    "validate": ("-no-color", "-json"),
    "plan": ("-input=false", "-no-color", "-json"),
    "show": ("-no-color", "-json"),
    "apply": ("-input=false", "-no-color", "-json", "-auto-approve"),
    "destroy": ("-input=false", "-no-color", "-json", "-auto-approve"),
    "output": ("-no-color", "-json"),
    "fmt": ("-no-color",),
    "version": ("-json",),
}


def build_args(
    command: Command,
    *,
    plan_file: str | None = None,
    backend: bool = True,
    backend_config: Mapping[str, str] | None = None,
    check: bool = False,
    extra: Sequence[str] = (),
) -> list[str]:
    """Return the argv (after the engine) for ``command`` with the given options."""
    args: list[str] = [command, *_BASE[command]]
    if command == "init":
        if not backend:
            args.append("-backend=false")
        for key, value in sorted((backend_config or {}).items()):
            args.append(f"-backend-config={key}={value}")
    if command == "plan" and plan_file:
        args.append(f"-out={plan_file}")
    if command == "fmt" and check:
        args += ["-check", "-diff"]
    args += list(extra)
    if command in ("apply", "show") and plan_file:
        args.append(plan_file)
    return args
