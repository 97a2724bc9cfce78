"""How the probe is delivered: its input encoded, and the shell lines AWS-RunShellScript runs.

Everything user-supplied travels base64-encoded (alphabet ``A-Za-z0-9+/=``), so nothing in a URI,
ARN or name can ever be read by the shell. The one other value, ``ATLASIAM_PROBE_T0`` (the wrapper's
start in epoch nanoseconds, so the probe's ``ms`` includes Python's start-up), comes from ``date``.
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources

VENV_PYTHON = "/opt/atlasiam/venv/bin/python3"
T0_ENV = "ATLASIAM_PROBE_T0"  # must match probe.py
_LOADER = 'import base64,sys,zlib;exec(compile(zlib.decompress(base64.b64decode(sys.argv[1])),"atlasiam_probe","exec"))'


@dataclass(frozen=True)
class ProbeInput:
    """What the probe needs to know."""

    uri: str
    expect_arn: str | None = None
    wait_s: float = 0.0
    retry_interval_s: float = 5.0
    connect_timeout_s: float = 10.0


@cache
def probe_source() -> str:
    """The probe script shipped inside the package."""
    return resources.files("atlas_iam_tf.verify").joinpath("probe.py").read_text(encoding="utf-8")


def encode_input(inp: ProbeInput) -> str:
    """The probe's single argument: base64 of the input as JSON."""
    return base64.b64encode(json.dumps(asdict(inp), separators=(",", ":")).encode()).decode("ascii")


@cache
def _encoded_source() -> str:
    return base64.b64encode(zlib.compress(probe_source().encode(), 9)).decode("ascii")


def shell_commands(inp: ProbeInput) -> list[str]:
    """The AWS-RunShellScript lines: note the start time, pick the venv Python if present, run the embedded probe."""
    return [
        # Without %N support (busybox) date prints no plain integer and the probe times itself instead.
        f'export {T0_ENV}="$(date +%s%N 2>/dev/null)"',
        f"PY={VENV_PYTHON}",
        '[ -x "$PY" ] || PY=python3',
        f"\"$PY\" -c '{_LOADER}' {_encoded_source()} {encode_input(inp)}",
    ]


def local_argv(python: str, inp: ProbeInput) -> list[str]:
    """Run the same probe here (``--from-here``)."""
    return [python, "-c", _LOADER, _encoded_source(), encode_input(inp)]
