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
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from atlas_iam_tf.errors import ConfirmationRequiredError

if TYPE_CHECKING:
    from rich.console import Console


def _printable(text: str) -> str:
    """Drop control characters (a hostile value must not drive the terminal)."""
    return "".join(c for c in text if c == "\t" or c >= " " and c != "\x7f")


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
    def result(self, data: Any, render: Callable[[Console], None] | None = None) -> None:
        """The command's result: ``{"data": ...}`` in JSON mode, ``render(console)`` otherwise."""
        if self.json_mode:
            self._stdout.write(json.dumps({"data": data}, indent=2, sort_keys=True, default=str) + "\n")
            self._stdout.flush()
        elif render is not None:
            render(self.out)

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
