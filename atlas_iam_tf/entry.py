"""The process entry point (`atlasiam`, `python -m atlas_iam_tf`), and the reading of argv it needs.

Kept free of typer, pydantic and jinja on purpose: for the commands that run Terraform it starts the
embedded engine loading (a second process) *before* the CLI is imported, so loading Terraform
overlaps all of atlasiam's own start-up instead of only part of it.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from atlas_iam_tf.terraform.runner import WarmStart

# Commands that run Terraform: for these the embedded engine starts loading before anything else.
TERRAFORM_COMMANDS = frozenset({"plan", "apply", "destroy"})


def command_of(args: Sequence[str]) -> str | None:
    """The first word that is not a flag (global flags take no value)."""
    return next((a for a in args if not a.startswith("-")), None)


def global_flags(args: Sequence[str]) -> list[str]:
    """The flags before the command: ``atlasiam --sandbox plan`` → ``["--sandbox"]``."""
    command = command_of(args)
    return list(args[: list(args).index(command)] if command else args)


def flag_value(args: Sequence[str], *flags: str) -> str | None:
    """The value of the first of ``flags`` given as ``--flag VALUE`` or ``--flag=VALUE``."""
    for i, arg in enumerate(args):
        for flag in flags:
            if arg == flag and i + 1 < len(args):
                return args[i + 1]
            if arg.startswith(flag + "="):
                return arg.split("=", 1)[1]
    return None


def warm_start_for(args: Sequence[str]) -> AbstractContextManager[WarmStart | None]:
    """A warm embedded-Terraform worker when ``args`` run Terraform, else a context holding None."""
    if command_of(args) not in TERRAFORM_COMMANDS or "--help" in args or "-h" in args:
        return nullcontext(None)
    from atlas_iam_tf.terraform.runner import warm_start

    return warm_start(flag_value(args, "--terraform-bin"))


def main(argv: Sequence[str] | None = None) -> int:
    """Start Terraform loading when it will be needed, then run the CLI."""
    args = list(sys.argv[1:] if argv is None else argv)
    # With --sandbox the CLI first points the environment at the sandbox; the worker must start after.
    early = nullcontext(None) if "--sandbox" in global_flags(args) else warm_start_for(args)
    with early as warm:
        from atlas_iam_tf.cli import main as cli_main

        return cli_main(args, warm=warm)


def entrypoint() -> None:
    """Console-script entry point: one short run of atlasiam in its own process."""
    # What a run allocates is almost all acyclic, freed by reference counting as it goes. The cyclic
    # collector would still walk the large object graphs loaded at start (the AWS SDK's service models,
    # pydantic's schemas), again and again: ~50 ms of CPU per run. Cycles, if any, go with the process.
    gc.disable()
    code = main()
    # And the final collection at exit would walk them once more (50-90 ms after a verify): objects are
    # still freed and atexit handlers still run, only that walk is skipped.
    gc.freeze()
    sys.exit(code)
