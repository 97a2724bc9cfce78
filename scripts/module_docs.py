"""The Markdown table of a Terraform module's inputs and outputs, read from its HCL with python-hcl2.

Usage::

    python scripts/module_docs.py MODULE_DIR                    # print the table
    python scripts/module_docs.py MODULE_DIR --check README.md  # exit 1 if README.md's table differs
    python scripts/module_docs.py MODULE_DIR --write README.md  # replace README.md's table

The table lives in the Markdown file between ``<!-- BEGIN_MODULE_DOCS -->`` and ``<!-- END_MODULE_DOCS -->``
(the terraform-docs convention of generated text between markers). Every ``variable`` and ``output`` block of
the module's top-level ``*.tf`` files is listed, sorted by name: inputs with their type and default written as
HCL (an input without a default is required), outputs with their description.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2

BEGIN = "<!-- BEGIN_MODULE_DOCS -->"
END = "<!-- END_MODULE_DOCS -->"
FIX_HINT = "run `make docs`"

# python-hcl2 (>= 8) keeps a string literal as written, quotes and escapes included (so "public" is '"public"'),
# and writes any other expression as "${...}". Objects and tuples come back as HCL text too (wrap_*), which is
# what the table shows; heredocs come back as quoted strings with their escapes.
_OPTIONS = hcl2.SerializationOptions(
    with_comments=False,
    explicit_blocks=False,
    preserve_heredocs=False,
    wrap_objects=True,
    wrap_tuples=True,
)
# Only files that declare a variable or an output are parsed: the module's other files do not matter here.
_DECLARES = re.compile(r"^\s*(variable|output)\s", re.MULTILINE)
# Escapes in a quoted HCL string (hashicorp/hcl hclsyntax spec, "Template Literals"): \n \r \t \" \\ \uNNNN
# \UNNNNNNNN, and $${ / %%{ for a literal ${ / %{.
_ESCAPE = re.compile(r'\\(?:[nrt"\\]|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})|\$\$\{|%%\{')
_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


@dataclass(frozen=True)
class Input:
    """One ``variable`` block: its type and default as HCL text; ``default`` is None when it has none."""

    name: str
    type: str
    default: str | None
    description: str

    @property
    def required(self) -> bool:
        """An input without a default must be given (``default = null`` is a default)."""
        return self.default is None


@dataclass(frozen=True)
class Output:
    """One ``output`` block."""

    name: str
    description: str


@dataclass(frozen=True)
class ModuleDocs:
    """What the table shows of a module."""

    inputs: tuple[Input, ...]
    outputs: tuple[Output, ...]


class DocsError(Exception):
    """The module or the Markdown file cannot be documented as asked."""


def decode_string(raw: str, where: str) -> str:
    """The value of a quoted HCL string literal as python-hcl2 keeps it (quotes and escapes as written)."""
    if len(raw) < 2 or not (raw.startswith('"') and raw.endswith('"')) or "${" in raw.replace("$${", ""):
        raise DocsError(f"{where}: not a literal string: {raw}")

    def unescape(match: re.Match[str]) -> str:
        text = match.group(0)
        if text in ("$${", "%%{"):
            return text[1:]
        if text[1] in "uU":
            return chr(int(text[2:], 16))
        return _SIMPLE_ESCAPES[text[1]]

    return _ESCAPE.sub(unescape, raw[1:-1])


def hcl_text(value: Any) -> str:
    """A parsed value written back as HCL: ``"${expr}"`` is ``expr``, a string literal stays quoted."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        if value.startswith("${") and value.endswith("}"):
            return value[2:-1]
        return value
    if isinstance(value, list):
        return "[" + ", ".join(hcl_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key} = {hcl_text(item)}" for key, item in value.items()) + "}"
    raise TypeError(f"unexpected value from python-hcl2: {value!r}")


def _blocks(doc: dict[str, Any], kind: str) -> list[tuple[str, dict[str, Any]]]:
    """``(label, body)`` of every ``kind`` block; python-hcl2 keeps a label's quotes."""
    found: list[tuple[str, dict[str, Any]]] = []
    for block in doc.get(kind, []):
        for label, body in block.items():
            found.append((label.strip('"'), body))
    return found


def _description(body: dict[str, Any], where: str) -> str:
    raw = body.get("description")
    return "" if raw is None else decode_string(str(raw), f"{where}: description").strip()


def parse_module(module_dir: Path) -> ModuleDocs:
    """Read the inputs and outputs of the module in ``module_dir`` (its top-level ``*.tf`` files)."""
    files = sorted(module_dir.glob("*.tf"))
    if not files:
        raise DocsError(f"{module_dir}: no *.tf files")
    inputs: list[Input] = []
    outputs: list[Output] = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        if not _DECLARES.search(text):
            continue
        try:
            doc = hcl2.loads(text, serialization_options=_OPTIONS)
        except Exception as exc:  # python-hcl2 raises lark's errors and its own: all mean "cannot parse"
            raise DocsError(f"{path.name}: cannot parse: {exc}") from exc
        for name, body in _blocks(doc, "variable"):
            where = f"{path.name}: variable {name}"
            inputs.append(
                Input(
                    name=name,
                    type=hcl_text(body["type"]) if "type" in body else "any",
                    default=hcl_text(body["default"]) if "default" in body else None,
                    description=_description(body, where),
                )
            )
        outputs += [
            Output(name, _description(body, f"{path.name}: output {name}")) for name, body in _blocks(doc, "output")
        ]
    return ModuleDocs(
        inputs=tuple(sorted(inputs, key=lambda i: i.name)),
        outputs=tuple(sorted(outputs, key=lambda o: o.name)),
    )


def md_text(text: str) -> str:
    """Text for a Markdown table cell: a ``|`` would end the cell, a line break would end the row."""
    return text.replace("|", "\\|").replace("\r\n", "\n").replace("\n", "<br>")


def md_code(text: str) -> str:
    """HCL for a table cell, as a code span (GFM: a ``|`` must be escaped even inside a code span)."""
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{md_text(text)}{pad}{fence}"


def render_table(docs: ModuleDocs) -> str:
    """The Markdown of the inputs and outputs tables, ending with a newline."""
    lines = ["### Inputs", ""]
    if docs.inputs:
        lines += [
            "| Name | Description | Type | Default | Required |",
            "|------|-------------|------|---------|:--------:|",
        ]
        for item in docs.inputs:
            default = "n/a" if item.default is None else md_code(item.default)
            cells = [md_code(item.name), md_text(item.description), md_code(item.type), default]
            lines.append("| " + " | ".join([*cells, "yes" if item.required else "no"]) + " |")
    else:
        lines.append("No inputs.")
    lines += ["", "### Outputs", ""]
    if docs.outputs:
        lines += ["| Name | Description |", "|------|-------------|"]
        lines += [f"| {md_code(item.name)} | {md_text(item.description)} |" for item in docs.outputs]
    else:
        lines.append("No outputs.")
    return "\n".join(lines) + "\n"


def _marker_span(markdown: str, where: str) -> tuple[int, int]:
    """Where the generated text starts and ends (just after BEGIN's line, at END)."""
    if markdown.count(BEGIN) != 1 or markdown.count(END) != 1:
        raise DocsError(f"{where}: needs exactly one {BEGIN} and one {END}")
    start = markdown.index(BEGIN) + len(BEGIN)
    end = markdown.index(END)
    if end < start:
        raise DocsError(f"{where}: {END} comes before {BEGIN}")
    return start, end


def current_table(markdown: str, where: str = "markdown") -> str:
    """The text between the markers, without the line break after BEGIN."""
    start, end = _marker_span(markdown, where)
    return markdown[start:end].removeprefix("\n")


def replace_table(markdown: str, table: str, where: str = "markdown") -> str:
    """``markdown`` with the text between the markers replaced by ``table``."""
    start, end = _marker_span(markdown, where)
    return markdown[:start] + "\n" + table + markdown[end:]


def main(argv: Sequence[str] | None = None) -> int:
    """Print, check or write the table; 0 ok, 1 the file is out of date, 2 it cannot be done."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module_dir", type=Path)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", type=Path, metavar="MARKDOWN", help="exit 1 if its table is not the generated one")
    mode.add_argument("--write", type=Path, metavar="MARKDOWN", help="replace its table with the generated one")
    args = parser.parse_args(argv)
    try:
        table = render_table(parse_module(args.module_dir))
        if args.check is None and args.write is None:
            sys.stdout.write(table)
            return 0
        target: Path = args.check or args.write
        markdown = target.read_text(encoding="utf-8")
        if args.write is not None:
            updated = replace_table(markdown, table, str(target))
            if updated != markdown:
                target.write_text(updated, encoding="utf-8")
            return 0
        current = current_table(markdown, str(target))
    except (DocsError, OSError) as exc:
        print(f"module_docs: {exc}", file=sys.stderr)
        return 2
    if current == table:
        return 0
    diff = difflib.unified_diff(current.splitlines(), table.splitlines(), "in " + str(target), "generated", lineterm="")
    print("\n".join(diff), file=sys.stderr)
    print(f"{target}: the module inputs/outputs table is out of date: {FIX_HINT}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
