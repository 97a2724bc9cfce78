"""The argv table: every Terraform command atlasiam runs, spelled out."""

from __future__ import annotations

from typing import Any

import pytest

from atlas_iam_tf.terraform.args import build_args

CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("init", {}, ["init", "-input=false", "-no-color"]),
    ("init", {"backend": False}, ["init", "-input=false", "-no-color", "-backend=false"]),
    (
        "init",
        {"backend_config": {"key": "k", "bucket": "b"}},
        ["init", "-input=false", "-no-color", "-backend-config=bucket=b", "-backend-config=key=k"],
    ),
    ("validate", {}, ["validate", "-no-color", "-json"]),
    ("plan", {"plan_file": "p.bin"}, ["plan", "-input=false", "-no-color", "-json", "-out=p.bin"]),
    (
        "plan",
        {"plan_file": "p.bin", "extra": ["-destroy"]},
        ["plan", "-input=false", "-no-color", "-json", "-out=p.bin", "-destroy"],
    ),
    ("show", {"plan_file": "p.bin"}, ["show", "-no-color", "-json", "p.bin"]),
    (
        "apply",
        {"plan_file": "p.bin"},
        ["apply", "-input=false", "-no-color", "-json", "-auto-approve", "p.bin"],
    ),
    ("destroy", {}, ["destroy", "-input=false", "-no-color", "-json", "-auto-approve"]),
    ("output", {}, ["output", "-no-color", "-json"]),
    ("fmt", {"check": True}, ["fmt", "-no-color", "-check", "-diff"]),
]


@pytest.mark.parametrize(("command", "options", "expected"), CASES)
def test_build_args(command: Any, options: dict[str, Any], expected: list[str]) -> None:
    assert build_args(command, **options) == expected


@pytest.mark.parametrize("command", ["init", "plan", "apply", "destroy"])
def test_mutating_commands_never_prompt(command: Any) -> None:
    assert "-input=false" in build_args(command)
