"""Reading atlasiam.toml and its overrides, before any validation (no pydantic here).

Kept apart from ``config`` so a command whose config has not changed can recognise it (see
``project_cache``) without importing the validation machinery at all.
"""

from __future__ import annotations

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
    """The config file's bytes, mapping every failure to an error naming the file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigNotFoundError(
            f"no config file at {path}", hint="create one with `atlasiam init` or pass --config PATH"
        ) from None
    except OSError as exc:
        raise ConfigError([f"cannot read: {exc.strerror}"], source=str(path)) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError([f"file is larger than {MAX_CONFIG_BYTES // 1024} KiB"], source=str(path))
    return raw


def parse_toml_bytes(raw: bytes, source: str) -> dict[str, Any]:
    """Decode and parse TOML, mapping every failure to a ConfigError naming ``source``."""
    try:
        data: dict[str, Any] = tomllib.loads(raw.decode("utf-8"))
        return data
    except UnicodeDecodeError:
        raise ConfigError(["file is not UTF-8 text"], source=source) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"not valid TOML: {exc}"], source=source) from None


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
