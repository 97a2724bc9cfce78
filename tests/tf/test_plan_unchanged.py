"""A single-host config (no ``[[workloads]]``) plans exactly as it did before the workloads feature.

Each config in tests/configs without ``[[workloads]]`` is planned with the current code against the stand-in
providers, and the snapshot scripts/plan_snapshot.py makes of the plan (every resource change's address, actions
and planned ``after`` values, unknowns marked) must equal ``tests/tf/golden/plan_<config>.json`` byte for byte.

The golden files were made with the code of the commit before the workloads feature (the parent of e037c8c,
"module: workloads ..."), from a worktree of that commit::

    git worktree add --detach <old> e037c8c^
    PYTHONPATH=<old>:<old>/sandbox .venv/bin/python scripts/plan_snapshot.py --twice --write tests/tf/golden

(the script comes from this checkout, the code that plans from ``PYTHONPATH``). Regenerate them, from the
current code, only when a change to what single-host configs plan is intended, and say so in the commit: a
failure here otherwise means a change meant for workloads reached configs that have none.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import CONFIGS

pytestmark = [pytest.mark.terraform, pytest.mark.usefixtures("standin_env")]

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"


def _load_script() -> ModuleType:
    """Import scripts/plan_snapshot.py (not a package) by path."""
    spec = importlib.util.spec_from_file_location("plan_snapshot", ROOT / "scripts" / "plan_snapshot.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("plan_snapshot", module)
    spec.loader.exec_module(module)
    return module


ps = _load_script()
SINGLE_HOST: list[Path] = ps.single_host_configs(CONFIGS)


def _differences(golden: Any, actual: Any, path: str = "") -> list[str]:
    """One line per path where ``actual`` differs from ``golden`` (``+`` only in actual, ``-`` only in golden)."""
    if isinstance(golden, dict) and isinstance(actual, dict):
        out: list[str] = []
        for key in sorted({*golden, *actual}):
            where = f"{path}.{key}" if path else key
            if key not in actual:
                out.append(f"- {where}")
            elif key not in golden:
                out.append(f"+ {where} = {json.dumps(actual[key])[:200]}")
            else:
                out += _differences(golden[key], actual[key], where)
        return out
    if isinstance(golden, list) and isinstance(actual, list) and len(golden) == len(actual):
        pairs = enumerate(zip(golden, actual, strict=True))
        return [line for i, (g, a) in pairs for line in _differences(g, a, f"{path}[{i}]")]
    if golden == actual:
        return []
    return [f"~ {path}: {json.dumps(golden)[:200]} -> {json.dumps(actual)[:200]}"]


def test_every_golden_file_has_its_config() -> None:
    """A golden file whose config is gone (or gained workloads) is stale, not silently unchecked."""
    assert SINGLE_HOST, "no single-host configs in tests/configs"
    assert sorted(p.name for p in GOLDEN.glob("*.json")) == sorted(ps.golden_name(c) for c in SINGLE_HOST)


@pytest.mark.parametrize("config", SINGLE_HOST, ids=[c.stem for c in SINGLE_HOST])
def test_single_host_plan_is_unchanged(config: Path, tmp_path: Path) -> None:
    golden_file = GOLDEN / ps.golden_name(config)
    assert golden_file.is_file(), f"no golden plan for {config.name}: see this module's docstring"
    expected = golden_file.read_text(encoding="utf-8")

    actual = ps.snapshot_text(config, tmp_path / "project", os.environ)

    if actual != expected:
        changes = _differences(json.loads(expected), json.loads(actual))
        diff = difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            fromfile=f"tests/tf/golden/{golden_file.name} (before workloads)",
            tofile=f"plan of {config.name} (current code)",
        )
        pytest.fail(
            f"the plan of {config.name} (no workloads) differs from before the workloads feature "
            f"in {len(changes)} place(s):\n" + "\n".join(changes) + "\n\n" + "".join(diff),
            pytrace=False,
        )
