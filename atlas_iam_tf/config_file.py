"""The config path before validation: read the file safely, parse the TOML, lay the overrides over it.

The overrides are dotted paths: CLI flags first, then ``ATLASIAM_*`` variables.

``config.load_config`` runs them in that order and then validates; nothing else reads a config file.
"""

from __future__ import annotations

import os
import stat
import sys
from collections import ChainMap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from atlas_iam_tf.errors import ConfigError, ConfigNotFoundError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

DEFAULT_CONFIG_FILE = "atlasiam.toml"
MAX_CONFIG_BYTES = 256 * 1024

# Environment overrides: variable -> dotted config path. Env beats the file; CLI flags beat env.
ENV_OVERRIDES: Mapping[str, str] = {
    "ATLASIAM_ENVIRONMENT": "environment",
    "ATLASIAM_AWS_REGION": "aws.region",
    "ATLASIAM_TERRAFORM_BIN": "terraform.bin",
}


def read_config_bytes(path: Path) -> bytes:
    """The config file's bytes, mapping every failure to an error naming the file.

    Only a regular file is read, and at most ``MAX_CONFIG_BYTES`` + 1 bytes of it: a FIFO would
    block in ``open()`` and ``/dev/zero`` would never end.
    """
    try:
        _require_regular_file(path, path.stat())
        # O_NONBLOCK: if a FIFO replaces the file after the stat, open() still returns at once.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as fh:
            _require_regular_file(path, os.fstat(fh.fileno()))
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigNotFoundError(
            f"no config file at {path}", hint="create one with `atlasiam init` or pass --config PATH"
        ) from None
    except OSError as exc:
        raise ConfigError([f"cannot read: {exc.strerror or exc}"], source=str(path)) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError([f"file is larger than {MAX_CONFIG_BYTES // 1024} KiB"], source=str(path))
    return raw


_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _require_regular_file(path: Path, st: os.stat_result) -> None:
    if stat.S_ISREG(st.st_mode):
        return
    kind = next((name for test, name in _FILE_KINDS if test(st.st_mode)), "something else")
    raise ConfigError([f"is not a regular file (it is {kind})"], source=str(path))


# tomllib's time and memory grow with the square of the parts of a dotted key: the 128k parts that
# fit in MAX_CONFIG_BYTES would take tens of GB. atlasiam's keys are at most 3 deep, and none of its
# values is a float or spans lines, so a line with this many dots outside strings and comments is
# never part of a valid config.
_MAX_LINE_DOTS = 16


def _unquoted_dots(line: str) -> int:
    """Count the dots in one line of TOML that are outside strings and comments (in linear time)."""
    count, quote, escaped = 0, "", False
    for c in line:
        if escaped:
            escaped = False
        elif quote:
            # Only basic strings ("...") have escapes; literal strings ('...') end at the next quote.
            escaped = c == "\\" and quote == '"'
            quote = "" if c == quote else quote
        elif c in "\"'":
            quote = c
        elif c == "#":
            break
        else:
            count += c == "."
    return count


def _refuse_deep_keys(text: str, source: str) -> None:
    for number, line in enumerate(text.split("\n"), start=1):
        if line.count(".") > _MAX_LINE_DOTS and _unquoted_dots(line) > _MAX_LINE_DOTS:
            raise ConfigError(
                [f"line {number}: more than {_MAX_LINE_DOTS} dots outside strings (a key this deep is refused)"],
                source=source,
            )


def parse_toml_bytes(raw: bytes, source: str) -> dict[str, Any]:
    """Decode and parse TOML, mapping every failure to a ConfigError naming ``source``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(["file is not UTF-8 text"], source=source) from None
    _refuse_deep_keys(text, source)
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"not valid TOML: {exc}"], source=source) from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise ConfigError(["not valid TOML: arrays or tables are nested too deeply"], source=source) from None
    return data


def parse_toml_text(text: str) -> dict[str, Any]:
    """Parse TOML text (for text atlasiam generated itself)."""
    data: dict[str, Any] = tomllib.loads(text)
    return data


def env_overrides(environ: Mapping[str, str]) -> dict[str, str]:
    """Pick the ATLASIAM_* overrides out of an environment."""
    return {path: environ[var] for var, path in ENV_OVERRIDES.items() if environ.get(var)}


def override_layers(cli: Mapping[str, Any], environ: Mapping[str, str]) -> tuple[Mapping[str, Any], ...]:
    """The dotted overrides over the file, highest precedence first: CLI flags, then ATLASIAM_* variables."""
    return (cli, env_overrides(environ))


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = data
    for p in parents:
        child = node.get(p)
        if not isinstance(child, dict):
            child = {}
        node[p] = child = dict(child)
        node = child
    node[leaf] = value


def merge_overrides(data: Mapping[str, Any], *layers: Mapping[str, Any]) -> dict[str, Any]:
    """Overlay dotted-path layers on the file data; earlier layers win, and None means "not set"."""
    combined = ChainMap(*[{k: v for k, v in layer.items() if v is not None} for layer in layers])
    out: dict[str, Any] = dict(data)
    for dotted, value in combined.items():
        _set_dotted(out, dotted, value)
    return out
