"""scripts/module_docs.py: the README's module inputs/outputs table, generated from the module's HCL (python-hcl2)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "tfmodule"
MODULE = ROOT / "modules" / "atlas-iam-access"
README = ROOT / "README.md"


def _load_script() -> ModuleType:
    """Import scripts/module_docs.py (not a package) by path."""
    spec = importlib.util.spec_from_file_location("module_docs", ROOT / "scripts" / "module_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("module_docs", module)
    spec.loader.exec_module(module)
    return module


md = _load_script()

# Written by hand, not generated: what the table of tests/fixtures/tfmodule must be.
FIXTURE_TABLE = (ROOT / "tests" / "fixtures" / "tfmodule.docs.md").read_text(encoding="utf-8")


def test_readme_table_matches_the_module() -> None:
    expected = md.render_table(md.parse_module(MODULE))
    current = md.current_table(README.read_text(encoding="utf-8"), "README.md")
    assert current == expected, "README.md's module inputs/outputs table is out of date: run `make docs`"


def test_readme_table_lists_every_variable_and_output() -> None:
    # Independent of the parser: every `variable "x"` / `output "x"` of the module appears as a row.
    text = "".join(p.read_text(encoding="utf-8") for p in sorted(MODULE.glob("*.tf")))
    table = md.current_table(README.read_text(encoding="utf-8"))
    names = re.findall(r'^(?:variable|output) "([^"]+)"', text, re.MULTILINE)
    assert len(names) > 10
    assert [n for n in names if f"| `{n}` |" not in table] == []


def test_fixture_table() -> None:
    assert md.render_table(md.parse_module(FIXTURE)) == FIXTURE_TABLE


def test_inputs_parsed_with_type_default_and_required() -> None:
    docs = md.parse_module(FIXTURE)
    by_name = {item.name: item for item in docs.inputs}
    assert [item.name for item in docs.inputs] == sorted(by_name)
    assert by_name["name"].required and by_name["name"].default is None
    # `default = null` is a default: the input is optional, and the table says null.
    assert not by_name["settings"].required and by_name["settings"].default == "null"
    assert by_name["settings"].type == "object({port = optional(number, 27017), zones = list(string)})"
    assert by_name["tags"].type == "map(string)" and by_name["tags"].default == "{}"
    assert by_name["mode"].default == '"public"'
    assert by_name["mode"].description == 'Network mode: "public" or "private".'
    assert [item.name for item in docs.outputs] == ["partition", "role_name", "usernames"]


def _row_cells(row: str) -> list[str]:
    """A GFM table row split on its unescaped pipes, as a Markdown renderer splits it."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]]


def test_pipe_in_description_is_escaped() -> None:
    docs = md.ModuleDocs(
        inputs=(md.Input("x", "string", None, "either a | b"),),
        outputs=(md.Output("y", "one | two"),),
    )
    table = md.render_table(docs)
    input_row = next(line for line in table.splitlines() if line.startswith("| `x`"))
    output_row = next(line for line in table.splitlines() if line.startswith("| `y`"))
    assert _row_cells(input_row) == ["`x`", "either a \\| b", "`string`", "n/a", "yes"]
    assert _row_cells(output_row) == ["`y`", "one \\| two"]


def test_pipe_and_backtick_in_code_cells() -> None:
    # A type or default with `|` (a string default) stays one cell; a backtick gets a longer fence.
    assert md.md_code('"a|b"') == '`"a\\|b"`'
    assert md.md_code('"a`b"') == '`` "a`b" ``'


def test_line_breaks_in_description_stay_in_the_row() -> None:
    assert md.md_text("one\ntwo\r\nthree") == "one<br>two<br>three"


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ('"plain"', "plain"),
        ('"quote \\" backslash \\\\ tab\\t"', 'quote " backslash \\ tab\t'),
        ('"line\\nbreak"', "line\nbreak"),
        ('"\\u00e9\\U0001F600"', "\u00e9\U0001f600"),
        ('"literal $${x} and %%{y}"', "literal ${x} and %{y}"),
        ('"\\\\n is not a line break"', "\\n is not a line break"),
    ],
)
def test_decode_string(raw: str, value: str) -> None:
    assert md.decode_string(raw, "here") == value


@pytest.mark.parametrize("raw", ["${var.x}", '"${var.x}"', "plain", '"'])
def test_decode_string_refuses_non_literals(raw: str) -> None:
    with pytest.raises(md.DocsError, match="here: not a literal string"):
        md.decode_string(raw, "here")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (3, "3"),
        (1.5, "1.5"),
        ('"s"', '"s"'),
        ("${[1, 2]}", "[1, 2]"),
        ("${{}}", "{}"),
        (['"a"', 1], '["a", 1]'),
        ({"k": '"v"'}, '{k = "v"}'),
    ],
)
def test_hcl_text(value: object, text: str) -> None:
    assert md.hcl_text(value) == text


def test_untyped_variable_and_heredoc(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('resource "terraform_data" "x" {}\n')
    (tmp_path / "vars.tf").write_text(
        'variable "loose" {\n  description = <<-EOT\n    Two\n      lines | here\n  EOT\n  default = [1, "a"]\n}\n'
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "x.tftest.hcl").write_text("variables {\n  loose = []\n}\n")
    docs = md.parse_module(tmp_path)
    assert docs.inputs == (md.Input("loose", "any", '[1, "a"]', "Two\n  lines | here"),)
    assert docs.outputs == ()
    assert "No outputs." in md.render_table(docs)


def test_no_tf_files(tmp_path: Path) -> None:
    with pytest.raises(md.DocsError, match="no \\*.tf files"):
        md.parse_module(tmp_path)


def test_unparsable_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "variables.tf").write_text('variable "x" {\n  type = \n')
    with pytest.raises(md.DocsError, match="variables.tf: cannot parse"):
        md.parse_module(tmp_path)


DOC = f"# Title\n\nBefore.\n\n{md.BEGIN}\nold table\n{md.END}\n\nAfter.\n"


def test_replace_and_read_between_markers() -> None:
    updated = md.replace_table(DOC, "new table\n")
    assert updated == f"# Title\n\nBefore.\n\n{md.BEGIN}\nnew table\n{md.END}\n\nAfter.\n"
    assert md.current_table(updated) == "new table\n"
    assert md.replace_table(updated, "new table\n") == updated


@pytest.mark.parametrize(
    "text",
    ["no markers", f"{md.BEGIN}\n", f"{md.END}\n{md.BEGIN}\n", f"{md.BEGIN}\n{md.END}\n{md.BEGIN}\n{md.END}\n"],
)
def test_bad_markers(text: str) -> None:
    with pytest.raises(md.DocsError, match="README.md"):
        md.replace_table(text, "t\n", "README.md")


def test_check_and_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(DOC)
    assert md.main([str(FIXTURE), "--check", str(readme)]) == 1
    err = capsys.readouterr().err
    assert "out of date: run `make docs`" in err
    assert "+| `create_role` |" in err  # the diff shows what would change
    assert md.main([str(FIXTURE), "--write", str(readme)]) == 0
    assert md.current_table(readme.read_text()) == FIXTURE_TABLE
    assert readme.read_text().startswith("# Title\n\nBefore.\n\n") and readme.read_text().endswith("\nAfter.\n")
    assert md.main([str(FIXTURE), "--check", str(readme)]) == 0
    assert md.main([str(FIXTURE)]) == 0
    assert capsys.readouterr().out == FIXTURE_TABLE


def test_missing_markers_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    assert md.main([str(FIXTURE), "--check", str(readme)]) == 2
    assert "needs exactly one" in capsys.readouterr().err
    assert readme.read_text() == "# no markers\n"
