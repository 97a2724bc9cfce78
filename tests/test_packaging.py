"""Two distributions from one repository: the product's wheel carries no sandbox, the sandbox builds alone."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ROOT / "atlas_iam_tf"
SANDBOX_ONLY = ("atlasiam_sandbox", "moto", "grpc", "msgpack", "tf", "cryptography")


def _wheel(source: Path, out: Path) -> zipfile.ZipFile:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = out.glob("*.whl")
    return zipfile.ZipFile(wheel)


@pytest.fixture(scope="module")
def product_wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    return _wheel(ROOT, tmp_path_factory.mktemp("product"))


def test_product_wheel_has_what_the_tool_needs(product_wheel: zipfile.ZipFile) -> None:
    names = set(product_wheel.namelist())
    templates = {p.name for p in (ROOT / "templates").iterdir()}
    assert {f"atlas_iam_tf/templates/{t}" for t in templates} <= names
    assert {"atlas_iam_tf/verify/probe.py", "atlas_iam_tf/py.typed"} <= names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "atlasiam = atlas_iam_tf.cli:entrypoint" in product_wheel.read(entry_points).decode()


def test_product_wheel_has_no_sandbox(product_wheel: zipfile.ZipFile) -> None:
    names = product_wheel.namelist()
    assert [n for n in names if "sandbox" in n.split("/")[0] or n.endswith(".json")] == []
    for name in (n for n in names if n.endswith(".py")):
        tree = ast.parse(product_wheel.read(name))
        assert _imports(tree) & set(SANDBOX_ONLY) == set(), name
    metadata = next(n for n in names if n.endswith("METADATA"))
    requires = [line for line in product_wheel.read(metadata).decode().splitlines() if line.startswith("Requires")]
    # the sandbox comes only with the extra, never with a plain install
    sandbox_requires = [r for r in requires if "sandbox" in r]
    assert "Requires-Dist: atlasiam-sandbox==0.1.0; extra == 'sandbox'" in sandbox_requires
    assert all("; extra == " in r for r in sandbox_requires)


def test_sandbox_builds_on_its_own(tmp_path: Path) -> None:
    wheel = _wheel(ROOT / "sandbox", tmp_path)
    names = set(wheel.namelist())
    assert {
        "atlasiam_sandbox/cli.py",
        "atlasiam_sandbox/schemas/aws.json",
        "atlasiam_sandbox/schemas/mongodbatlas.json",
    } <= names
    assert not [n for n in names if n.startswith("atlas_iam_tf/")]


def _imports(tree: ast.AST) -> set[str]:
    """The top-level package of every import in ``tree``, including imports inside functions."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_the_product_never_imports_the_sandbox() -> None:
    """Every module of atlas_iam_tf, every import (also inside functions): none reaches the sandbox."""
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(ast.parse(path.read_text())) & set(SANDBOX_ONLY))
        for path in PRODUCT.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    assert len(offenders) > 30  # the walk really covered the package
