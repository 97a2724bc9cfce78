"""The shape the design promises: thin commands, one printer, no import cycle, one path to Terraform."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ROOT / "atlas_iam_tf"
# Separate programs whose stdout is their protocol, not atlasiam's output: the probe (runs on the host and
# prints one JSON line) and the embedded-Terraform worker (passes Terraform's own stdout through).
OWN_PROCESSES = {"verify/probe.py", "terraform/embedded_worker.py"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(tree: ast.Module) -> set[str]:
    """Modules imported when the code runs (function bodies too), leaving out ``if TYPE_CHECKING:`` blocks."""
    skipped = {
        id(n)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for n in ast.walk(block)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PRODUCT.rglob("*.py")}
    return {
        name: {m for m in _runtime_imports(ast.parse(path.read_text())) if m in modules and m != name}
        for name, path in modules.items()
    }


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle in ``graph`` (as a path), or []."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return []


def test_no_import_cycle() -> None:
    graph = _graph()
    assert "atlas_iam_tf.cli" in graph and graph["atlas_iam_tf.project"]  # the walk found the package
    assert _cycle(graph) == []


def test_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []


def test_command_modules_are_thin() -> None:
    sizes = {p.name: len(p.read_text().splitlines()) for p in (PRODUCT / "commands").glob("*.py")}
    assert len(sizes) >= 8
    assert {name: n for name, n in sizes.items() if n >= 80} == {}


def _prints(tree: ast.Module) -> list[str]:
    """Calls that write to the terminal: print(), sys.stdout/stderr writes, and a console's .print()."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        text = ast.unparse(node.func)
        if text == "print" or text.startswith(("sys.stdout", "sys.stderr")) or text.endswith(".print"):
            found.append(f"line {node.lineno}: {text}")
    return found


def test_only_output_prints() -> None:
    offenders = {
        str(p.relative_to(PRODUCT)): _prints(ast.parse(p.read_text()))
        for p in PRODUCT.rglob("*.py")
        if p.name != "output.py" and str(p.relative_to(PRODUCT)) not in OWN_PROCESSES
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    assert _prints(ast.parse("print(1)\nsys.stdout.write('x')\nout.out.print('y')")) == [
        "line 1: print",
        "line 2: sys.stdout.write",
        "line 3: out.out.print",
    ]


def test_the_config_path_visits_each_module_once() -> None:
    """project → config → render → terraform.engine, and none of them climbs back up."""
    graph = _graph()
    path = ["atlas_iam_tf.project", "atlas_iam_tf.config", "atlas_iam_tf.render"]
    for i, module in enumerate(path):
        assert not graph[module] & set(path[:i]), f"{module} imports back up the path"
    assert {"atlas_iam_tf.config", "atlas_iam_tf.render"} <= graph["atlas_iam_tf.project"]
