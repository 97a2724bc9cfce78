r"""Java regular expressions, as AWS and Atlas publish their constraints, run with Python's ``re``.

botocore's service models and MongoDB's Atlas OpenAPI spec write ``pattern`` constraints in the dialect of
``java.util.regex.Pattern`` (the services that enforce them are Java). Most of them mean the same in Python;
where the dialects differ, :func:`to_python` rewrites the construct to its Java meaning:

- ``\p{L}``, ``\P{C}``, ``\p{IsLu}``, … (Unicode general categories, which ``re`` lacks) become explicit
  code-point ranges from :mod:`unicodedata`; ``\p{Alpha}`` and the other POSIX names are US-ASCII only in Java
  and become those ASCII ranges;
- ``\w``, ``\d``, ``\s`` and ``\b`` are ASCII-only in Java: patterns compile with :data:`re.ASCII`;
- ``.`` does not match Java's line terminators (``\n \r \u0085 \u2028 \u2029``), only ``\n`` in Python;
- a UTF-16 surrogate pair ``\uD800\uDC00`` is one code point (U+10000); ``\x{…}``, ``\z``, ``\Z``, ``\e``,
  ``\h``, ``\v``, ``\Q…\E``, ``(?<name>…)`` and a ``-`` right after ``\w`` in a class (a literal hyphen in
  Java, a bad range in Python) are rewritten;
- nested classes are unions in Java (``[a-z[0-9]]``) and are flattened.

What has no faithful rewrite (class intersections ``&&``, flags in mid-pattern, scripts and blocks such as
``\p{IsLatin}``, ``\R``, ``\G`` …) makes :func:`to_python` return None: callers skip that pattern and count it,
rather than guess. Source for the dialect: the ``java.util.regex.Pattern`` API documentation (Java SE 17),
sections "Character classes", "POSIX character classes (US-ASCII only)" and "Line terminators".
"""

from __future__ import annotations

import re
import threading
import unicodedata
import warnings
from functools import lru_cache

MAX_CODE_POINT = 0x10FFFF
#: Java's line terminators: what ``.`` does not match (without DOTALL).
_DOT = r"[^\n\r\x85\u2028\u2029]"
#: POSIX classes, US-ASCII only in Java unless UNICODE_CHARACTER_CLASS is set (botocore never sets it).
_POSIX = {
    "Lower": "a-z",
    "Upper": "A-Z",
    "ASCII": r"\x00-\x7f",
    "Alpha": "a-zA-Z",
    "Digit": "0-9",
    "Alnum": "a-zA-Z0-9",
    "Punct": r"!-/:-@\[-`{-~",
    "Graph": r"!-~",
    "Print": r" -~",
    "Blank": r" \t",
    "Cntrl": r"\x00-\x1f\x7f",
    "XDigit": "0-9a-fA-F",
    "Space": r" \t\n\x0b\f\r",
    "all": r"\x00-\U0010ffff",
}
#: Java's predefined classes with no ``re`` equivalent.
_SHORTHANDS = {
    "h": r" \t\xa0\u1680\u180e\u2000-\u200a\u202f\u205f\u3000",
    "v": r"\n\x0b\f\r\x85\u2028\u2029",
}
#: Escapes with a one-to-one rewrite (``\\z``/``\\Z`` only outside a class).
_SIMPLE = {"z": r"\Z", "Z": r"(?=\n?\Z)", "e": r"\x1b"}
#: Escapes with none: linebreak, grapheme cluster, end of previous match, named backreferences, named chars.
_NO_REWRITE = "RXGkKN"
_CATEGORY_NAME = re.compile(r"^(?:Is|gc=|general_category=)?([A-Z][a-z]?)$")
_TABLE_LOCK = threading.Lock()
_COMPILE_LOCK = threading.Lock()
_TABLE: dict[str, list[tuple[int, int]]] = {}


class Untranslatable(ValueError):
    """A Java construct with no faithful ``re`` rewrite."""


def _category_table() -> dict[str, list[tuple[int, int]]]:
    """Code-point ranges per two-letter general category, built once (≈0.25 s) on first use."""
    with _TABLE_LOCK:
        if not _TABLE:
            start, previous = 0, unicodedata.category("\0")
            for cp in range(1, MAX_CODE_POINT + 1):
                category = unicodedata.category(chr(cp))
                if category != previous:
                    _TABLE.setdefault(previous, []).append((start, cp - 1))
                    start, previous = cp, category
            _TABLE.setdefault(previous, []).append((start, MAX_CODE_POINT))
    return _TABLE


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def _complement(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out, nxt = [], 0
    for lo, hi in ranges:
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= MAX_CODE_POINT:
        out.append((nxt, MAX_CODE_POINT))
    return out


def _render(ranges: list[tuple[int, int]]) -> str:
    return "".join(f"\\U{lo:08x}" if lo == hi else f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in ranges)


@lru_cache(maxsize=64)
def _property(name: str, negated: bool) -> str:
    r"""The inside of a character class for ``\p{name}`` (``\P{name}`` when negated)."""
    if name in _POSIX:
        if negated:
            raise Untranslatable(f"\\P{{{name}}}")
        return _POSIX[name]
    m = _CATEGORY_NAME.match(name)
    if m is None:
        raise Untranslatable(f"\\p{{{name}}}")
    table, wanted = _category_table(), m.group(1)
    ranges = _merge([r for category, rs in table.items() if category.startswith(wanted) for r in rs])
    if not ranges:
        raise Untranslatable(f"\\p{{{name}}}")
    return _render(_complement(ranges) if negated else ranges)


class _Translator:
    """One left-to-right pass over a Java pattern, tracking whether it is inside a character class."""

    def __init__(self, pattern: str) -> None:
        self.p = pattern
        self.i = 0
        self.out: list[str] = []
        self.depth = 0  # character-class nesting (Java unions nested classes)
        self.class_start = False  # just after '[' or '[^' (a ']' there is literal)
        self.dotall = bool(re.match(r"\(\?[a-zA-Z]*s", pattern))

    def run(self) -> str:
        while self.i < len(self.p):
            c = self.p[self.i]
            if c == "\\":
                self._escape()
            elif self.depth:
                self._in_class(c)
            else:
                self._outside(c)
        if self.depth:
            raise Untranslatable("unclosed character class")
        return "".join(self.out)

    def _outside(self, c: str) -> None:
        if c == "[":
            self._open_class()
            return
        if c == "." and not self.dotall:
            self.out.append(_DOT)
        elif c == "(" and self.p.startswith("(?<", self.i) and self.p[self.i + 3 : self.i + 4] not in ("=", "!"):
            self.out.append("(?P<")
            self.i += 3
            return
        elif c == "(" and (flags := re.match(r"\(\?[a-zA-Z-]+\)", self.p[self.i :])):
            self._flags(flags.group(0))
            return
        else:
            self.out.append(c)
        self.i += 1

    def _flags(self, group: str) -> None:
        """Inline flags: Python takes them only at the start; Java's apply from where they stand."""
        if "".join(self.out) not in ("", "^"):
            raise Untranslatable("inline flags after the start")
        self.out.insert(0, group)
        self.i += len(group)

    def _open_class(self) -> None:
        self.depth, self.class_start = 1, True
        self.out.append("[")
        self.i += 1
        if self.p.startswith("^", self.i):
            self.out.append("^")
            self.i += 1

    def _in_class(self, c: str) -> None:
        first, self.class_start = self.class_start, False
        if c == "]" and not first:
            self.depth -= 1
            if not self.depth:
                self.out.append("]")
        elif c == "[":
            if self.p.startswith("[^", self.i):
                raise Untranslatable("negated nested class")
            self.depth += 1
            self.class_start = True
        elif c == "&" and self.p.startswith("&&", self.i):
            raise Untranslatable("class intersection")
        else:
            self.out.append("\\" + c if c in "[&~|" else c)
        self.i += 1

    def _escape(self) -> None:
        self.class_start = False
        nxt = self.p[self.i + 1 : self.i + 2]
        handler = {"p": self._prop, "P": self._prop, "u": self._unicode, "x": self._hex, "Q": self._quote}.get(nxt)
        if handler is not None:
            handler()
            return
        if not nxt or nxt in _NO_REWRITE or (nxt in "zZ" and self.depth):
            raise Untranslatable(f"\\{nxt}")
        self.i += 2
        if nxt in _SIMPLE:
            self.out.append(_SIMPLE[nxt])
        elif nxt in _SHORTHANDS:
            self._predefined(_SHORTHANDS[nxt])
        elif nxt in "wdsWDS":
            self._predefined("\\" + nxt)
        else:
            self.out.append("\\" + nxt)

    def _predefined(self, body: str) -> None:
        """A predefined class; in a class, Java reads a following '-' as a literal hyphen, not a range."""
        if not self.depth:
            self.out.append(body if body.startswith("\\") else f"[{body}]")
            return
        self.out.append(body)
        if self.p[self.i : self.i + 1] == "-" and self.p[self.i + 1 : self.i + 2] != "]":
            self.out.append("\\-")
            self.i += 1

    def _prop(self) -> None:
        negated = self.p[self.i + 1] == "P"
        if self.p.startswith("{", self.i + 2):
            end = self.p.find("}", self.i + 3)
            if end < 0:
                raise Untranslatable("unclosed \\p{")
            name, self.i = self.p[self.i + 3 : end], end + 1
        else:
            name, self.i = self.p[self.i + 2 : self.i + 3], self.i + 3
        body = _property(name, negated)
        if self.depth:
            self._predefined(body)
        else:
            self.out.append(f"[{body}]")

    def _unicode(self) -> None:
        code = self.p[self.i + 2 : self.i + 6]
        if not re.fullmatch(r"[0-9a-fA-F]{4}", code):
            raise Untranslatable("\\u without four hex digits")
        value, self.i = int(code, 16), self.i + 6
        low = re.match(r"\\u(d[c-f][0-9a-f]{2})", self.p[self.i :], re.IGNORECASE)
        if 0xD800 <= value <= 0xDBFF and low:  # a UTF-16 surrogate pair is one code point in Java
            value = 0x10000 + ((value - 0xD800) << 10) + (int(low.group(1), 16) - 0xDC00)
            self.i += 6
        self.out.append(f"\\U{value:08x}")

    def _hex(self) -> None:
        if self.p.startswith("{", self.i + 2):
            end = self.p.find("}", self.i + 3)
            if end < 0:
                raise Untranslatable("unclosed \\x{")
            value, self.i = int(self.p[self.i + 3 : end], 16), end + 1
            self.out.append(f"\\U{value:08x}")
        else:
            self.out.append(self.p[self.i : self.i + 4])
            self.i += 4

    def _quote(self) -> None:
        end = self.p.find("\\E", self.i + 2)
        stop = len(self.p) if end < 0 else end
        self.out.append(re.escape(self.p[self.i + 2 : stop]))
        self.i = stop if end < 0 else end + 2


def to_python(pattern: str) -> str | None:
    """The ``re`` equivalent of a Java pattern, or None when it has no faithful rewrite."""
    try:
        return _Translator(pattern).run()
    except (Untranslatable, ValueError):
        return None


@lru_cache(maxsize=4096)
def compile_java(pattern: str) -> re.Pattern[str] | None:
    r"""A compiled Java pattern (ASCII ``\w \d \s \b``, as Java's defaults), or None when untranslatable.

    ``re`` warnings about constructs whose meaning may change (``FutureWarning``) count as untranslatable too.
    """
    translated = to_python(pattern)
    if translated is None:
        return None
    # catch_warnings swaps the process-global filter list and puts it back on exit: two threads interleaving it
    # (the sandbox's servers check requests concurrently) could restore each other's temporary filter and leave
    # it in place for good. One compile at a time, and recording rather than raising, so another thread's
    # warning in this window is swallowed, never turned into an exception.
    with _COMPILE_LOCK, warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            compiled = re.compile(translated, re.ASCII)
        except (re.error, ValueError, OverflowError):
            return None
    return None if any(issubclass(w.category, FutureWarning) for w in seen) else compiled
