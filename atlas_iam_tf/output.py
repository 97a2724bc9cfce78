"""The only module that prints: one ``Output`` object with a human mode and a JSON mode.

JSON mode: stdout holds exactly one document, ``{"data": ...}`` or ``{"error": {...}}``, and
nothing is written to stderr. Human mode: results on stdout, progress and errors on stderr,
no spinners or colour when the stream is not a terminal.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from atlas_iam_tf.errors import ConfirmationRequiredError

if TYPE_CHECKING:
    from rich.console import Console

    from atlas_iam_tf.terraform.plan import Outputs, PlanSummary
    from atlas_iam_tf.verify.report import VerifyReport

ACTION_STYLE = {"create": "green", "update": "yellow", "replace": "magenta", "delete": "red", "read": "cyan"}


def _printable(text: str) -> str:
    """Drop control characters (a hostile value must not drive the terminal)."""
    return "".join(c for c in text if c == "\t" or c >= " " and c != "\x7f")


# Bidirectional-text controls: invisible, and they reorder what a terminal shows after them.
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def escape_controls(text: str) -> str:
    r"""Show control characters as escapes (``\x1b``), keeping newlines and tabs.

    Error messages name what the user typed (a path, an option); the name must stay visible and must
    not drive the terminal, in either mode (a JSON consumer prints the message too). A lone surrogate (a file
    name's byte that is not UTF-8) is escaped too (``\udcff``): no UTF-8 stream could write it.
    """
    return "".join(
        c.encode("unicode_escape").decode("ascii")
        if c not in "\n\t" and (unicodedata.category(c) in ("Cc", "Cs") or c in _BIDI_CONTROLS)
        else c
        for c in text
    )


def literal(text: str) -> str:
    r"""``text`` (a path, a value) to put in rich markup as it is: ``[/x]`` in a path is not a closing tag.

    A file name's bytes that are not UTF-8 arrive as lone surrogates, which no UTF-8 stream can write: they
    are shown escaped, as ``\udcff``, instead of crashing the print.
    """
    from rich.markup import escape

    return escape(text.encode("utf-8", "backslashreplace").decode("utf-8"))


def _import_rich() -> None:
    import rich.console
    import rich.table  # noqa: F401


class Output:
    """Writes results, progress, tables and errors in the selected mode."""

    def __init__(self, *, json_mode: bool = False, stdout: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self.json_mode = json_mode
        self._stdout = stdout or sys.stdout
        self._stderr = stderr or sys.stderr
        self._out: Console | None = None
        self._err: Console | None = None
        self._preloading = False

    # -- consoles (rich is imported only when something is printed) ---------------------------
    @property
    def out(self) -> Console:
        """The rich console on stdout."""
        if self._out is None:
            from rich.console import Console

            self._out = Console(file=self._stdout, highlight=False, soft_wrap=True)
        return self._out

    @property
    def err(self) -> Console:
        """The rich console on stderr."""
        if self._err is None:
            from rich.console import Console

            self._err = Console(file=self._stderr, highlight=False, soft_wrap=True)
        return self._err

    # -- progress ------------------------------------------------------------------------------
    def progress(self, line: str) -> None:
        """One line of progress (human mode only, on stderr).

        Written without rich: progress is on the hot path while Terraform runs, and rich is then
        still loading in the background (see ``preload``).
        """
        if not self.json_mode:
            self._stderr.write(f"{self._ansi('2', '│')} {_printable(line)}\n")
            self._stderr.flush()
            self.preload()

    def step(self, message: str) -> None:
        """Announce a step of a longer job."""
        if not self.json_mode:
            self._stderr.write(f"{self._ansi('1;36', '▸')} {_printable(message)}\n")
            self._stderr.flush()

    def preload(self) -> None:
        """Import rich in a background thread, so the tables after a long Terraform run print at once.

        Called on the first progress line, i.e. once Terraform runs: earlier, the import would
        compete with the config loading and rendering that Terraform is waiting for.
        """
        if not self.json_mode and not self._preloading:
            self._preloading = True
            threading.Thread(target=_import_rich, daemon=True).start()

    def _ansi(self, code: str, text: str) -> str:
        if os.environ.get("NO_COLOR") or not self._stderr.isatty():
            return text
        return f"\033[{code}m{text}\033[0m"

    # -- results -------------------------------------------------------------------------------
    def result(self, data: Any, text: str | None = None) -> None:
        """The command's result: ``{"data": ...}`` in JSON mode, else ``text`` (rich markup) if given."""
        if self.json_mode:
            self._stdout.write(json.dumps({"data": data}, indent=2, sort_keys=True, default=str) + "\n")
            self._stdout.flush()
        elif text is not None:
            self.out.print(text)

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        """Print one table (human mode)."""
        from rich.table import Table

        table = Table(title=title, title_justify="left", show_lines=False)
        for col in columns:
            table.add_column(col, overflow="fold")  # ARNs and ids are printed whole, never cut
        for row in rows:
            table.add_row(*row)
        self.out.print(table)

    def error(self, code: str, message: str, hint: str | None = None) -> None:
        """Report a failure: the JSON error document, or a red message plus hint on stderr."""
        message = escape_controls(message)
        hint = escape_controls(hint) if hint is not None else None
        if self.json_mode:
            doc = {"error": {"code": code, "message": message, "hint": hint}}
            self._stdout.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
            self._stdout.flush()
            return
        from rich.markup import escape

        self.err.print(f"[bold red]error:[/bold red] {escape(message)}")
        if hint:
            self.err.print(f"[yellow]hint:[/yellow] {escape(hint)}")

    def confirm(self, question: str, *, yes: bool) -> bool:
        """Ask before a destructive step; without a terminal, ``--yes`` is required."""
        if yes:
            return True
        if self.json_mode or not sys.stdin.isatty():
            raise ConfirmationRequiredError(
                "refusing to continue without confirmation (stdin is not a terminal)",
                hint="pass --yes to confirm",
            )
        from rich.prompt import Confirm

        return bool(Confirm.ask(question, console=self.err, default=False))

    def line(self, markup: str) -> None:
        """One line of a human result on stdout (rich markup allowed; nothing in JSON mode)."""
        if not self.json_mode:
            self.out.print(markup)

    def raw(self, text: str) -> None:
        """Text another program produced for our stdout, passed on unchanged (``atlasiam sandbox``)."""
        self._stdout.write(text)
        self._stdout.flush()

    def ask(self, question: str) -> str:
        """Ask for a value on the terminal (callers check that there is one)."""
        from rich.prompt import Prompt

        return str(Prompt.ask(question, console=self.err))

    # -- views of atlasiam's results -----------------------------------------------------------
    def plan_summary(self, summary: PlanSummary, title: str = "Plan") -> None:
        """The plan's changes as a table (address, action) plus a one-line count (human mode)."""
        if self.json_mode:
            return
        rows = [
            (c.address, f"[{ACTION_STYLE.get(c.action, 'white')}]{c.action}[/]")
            for c in summary.changes
            if c.action != "noop"
        ]
        if rows:
            self.table(title, ["address", "action"], rows)
        counts = summary.counts()
        counts.pop("noop", None)
        text = ", ".join(f"{n} to {a}" for a, n in counts.items()) if counts else "no changes"
        self.out.print(f"[bold]{title}:[/bold] {text}")

    def outputs(self, outputs: Outputs) -> None:
        """The stack's outputs as a name/value table, sensitive values masked (human mode)."""
        if not self.json_mode:
            rows = [(name, literal(_cell(value))) for name, value in sorted(outputs.masked().items())]
            self.table("Outputs", ["name", "value"], rows)

    def verify_report(self, report: VerifyReport) -> None:
        """One row per target, then every finding with its fix (human mode)."""
        if self.json_mode:
            return
        from rich.markup import escape

        rows = []
        for host in report.hosts:
            d = host.to_dict()
            verdict = "[green]pass[/green]" if host.ok else "[bold red]FAIL[/bold red]"
            ms = f"{d['probe_ms'] / 1000:.1f}s" if d["probe_ms"] is not None else "-"
            target = f"{d['target']} ({d['kind']})" if d["kind"] else d["target"]
            source = d["credential_source"] or "-"
            rows.append((escape(target), verdict, d["db_user"] or d["identity"] or "-", escape(source), ms))
        self.table("Verify", ["target", "result", "identity Atlas saw", "credentials from", "probe"], rows)
        for host in report.hosts:
            for f in host.findings:
                color = "red" if f.severity == "error" else "yellow"
                self.out.print(f"[{color}]{f.severity}[/] [bold]{f.code}[/bold] ({f.target}): {escape(f.message)}")
                self.out.print(f"  [dim]fix:[/dim] {escape(f.fix)}")
        passed = sum(h.ok for h in report.hosts)
        if report.path_line:
            self.out.print(escape(report.path_line))
        if report.atlas:
            self.out.print(f"[dim]{escape(report.atlas)}[/dim]")
        self.out.print(f"[bold]{passed}/{len(report.hosts)} passed[/bold]")


def plan_data(summary: PlanSummary) -> dict[str, Any]:
    """The JSON form of a plan summary."""
    return {
        "has_changes": summary.has_changes,
        "counts": summary.counts(),
        "changes": [{"address": c.address, "action": c.action} for c in summary.changes if c.action != "noop"],
        "drift": [{"address": c.address, "action": c.action} for c in summary.drift],
    }


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)
