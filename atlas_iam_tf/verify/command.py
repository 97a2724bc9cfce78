"""How the probe is delivered: its input encoded, and the shell lines AWS-RunShellScript runs.

Everything user-supplied travels base64-encoded (alphabet ``A-Za-z0-9+/=``), so nothing in a URI,
ARN or name can ever be read by the shell. The other values come from the host: ``ATLASIAM_PROBE_T0``
(the start of the Python run in epoch nanoseconds, so the probe's ``ms`` includes Python's start-up) from
``date``, and the bootstrap's state from atlasiam's markers.

atlasiam's hosts are not ready when SSM first sees them: the agent registers while the user data
(the module's ``user_data.sh.tftpl``) is still installing Python 3.11 and pymongo, and a probe sent then would run on
the system python3 (3.9, no pymongo). The user data ends by writing :data:`READY_MARKER`, or
:data:`FAILED_MARKER` when a step failed; for the hosts atlasiam created, the wrapper waits for one of them,
within ``--wait``. Other hosts never write them, so it only looks there, and never waits.
"""

from __future__ import annotations

import base64
import json
import math
import zlib
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources

from atlas_iam_tf.verify.workload import DEFAULT_PROBE_IMAGE

VENV_PYTHON = "/opt/atlasiam/venv/bin/python3"
READY_MARKER = "/opt/atlasiam/ready"  # written last by the module's user_data.sh.tftpl
FAILED_MARKER = "/opt/atlasiam/failed"  # written by its error trap: exit code, line and command
BOOTSTRAP_LOG = "/var/log/atlasiam-user-data.log"  # its whole output; must match probe.py
T0_ENV = "ATLASIAM_PROBE_T0"  # these must match probe.py
BOOTSTRAP_ENV = "ATLASIAM_BOOTSTRAP"
BOOTSTRAP_WAITED_ENV = "ATLASIAM_BOOTSTRAP_WAITED_S"
BOOTSTRAP_ERROR_ENV = "ATLASIAM_BOOTSTRAP_ERROR"
BOOTSTRAP_POLL_S = 0.25
_LOADER = 'import base64,sys,zlib;exec(compile(zlib.decompress(base64.b64decode(sys.argv[1])),"atlasiam_probe","exec"))'


@dataclass(frozen=True)
class ProbeInput:
    """What the probe needs to know.

    Attributes:
        uri: The cluster's connection string.
        expect_arn: The database user the host should authenticate as.
        wait_s: The whole time the probe may wait: for the bootstrap, then for the user to propagate.
        retry_interval_s: The longest pause between login attempts.
        connect_timeout_s: The timeout of each connection attempt.
        wait_bootstrap: The host is atlasiam's: wait for its user data to finish before probing.
        retry_auth: Retry Atlas's code 18 until the wait runs out (a new user may still be propagating);
            False once Atlas said the user exists and no change is pending.
    """

    uri: str
    expect_arn: str | None = None
    wait_s: float = 0.0
    retry_interval_s: float = 5.0
    connect_timeout_s: float = 10.0
    wait_bootstrap: bool = False
    retry_auth: bool = True


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


def bootstrap_lines(wait_s: float | None) -> list[str]:
    """POSIX sh that exports the bootstrap's state, after waiting up to ``wait_s`` seconds (None: never waits).

    Waiting, the state is ``ready``, ``failed`` or ``pending``; not waiting, ``ready``, ``failed`` or empty (a
    host that is not atlasiam's, or not yet started on its user data: the probe then reports no bootstrap).
    """
    done = f"[ -e {READY_MARKER} ] || [ -e {FAILED_MARKER} ]"
    lines = []
    if wait_s is not None:
        lines += [
            "W0=$(date +%s)",
            f"until {done} || [ $(( $(date +%s) - W0 )) -ge {math.ceil(wait_s)} ]; do sleep {BOOTSTRAP_POLL_S}; done",
            f'export {BOOTSTRAP_WAITED_ENV}="$(( $(date +%s) - W0 ))"',
        ]
    lines += [
        f"if [ -e {READY_MARKER} ]; then B=ready; elif [ -e {FAILED_MARKER} ]; then B=failed; "
        f"else B={'pending' if wait_s is not None else ''}; fi",
        f'export {BOOTSTRAP_ENV}="$B"',
        f'if [ "$B" = failed ]; then export {BOOTSTRAP_ERROR_ENV}="$(head -c 400 {FAILED_MARKER})"; fi',
    ]
    return lines


def shell_commands(inp: ProbeInput) -> list[str]:
    """The AWS-RunShellScript lines.

    Wait for atlasiam's bootstrap (its hosts only), note the start time, pick the venv Python if present, run
    the embedded probe.
    """
    return [
        *bootstrap_lines(inp.wait_s if inp.wait_bootstrap else None),
        # Without %N support (busybox) date prints no plain integer and the probe times itself instead.
        f'export {T0_ENV}="$(date +%s%N 2>/dev/null)"',
        f"PY={VENV_PYTHON}",
        '[ -x "$PY" ] || PY=python3',
        f"\"$PY\" -c '{_LOADER}' {_encoded_source()} {encode_input(inp)}",
    ]


def local_argv(python: str, inp: ProbeInput) -> list[str]:
    """Run the same probe here (``--from-here``)."""
    return [python, "-c", _LOADER, _encoded_source(), encode_input(inp)]


# The ECS task's / EKS pod's command (issue 12): ``sh -c SCRIPT NAME LOADER SOURCE INPUT``, so the probe's source
# and input reach python3 as arguments, never as shell text. In the default image the pinned requirements are
# pip-installed first (onto stderr: stdout keeps the probe's one JSON line last).
_PIP_INSTALL = "python3 -m pip install --quiet --no-cache-dir --disable-pip-version-check --root-user-action=ignore"
_EXEC_PROBE = 'exec python3 -c "$1" "$2" "$3"'


def container_command(inp: ProbeInput, requirements: list[str], image: str | None) -> list[str]:
    """The container command for ECS/EKS: the probe, after pip-installing ``requirements`` in the default image.

    ``requirements`` are the module's pins (``wheelhouse.requirements``); an ``image`` other than the default is
    expected to bring python3 and pymongo[aws] itself.
    """
    if image in (None, DEFAULT_PROBE_IMAGE):
        if any("'" in pin for pin in requirements):
            raise ValueError(f"a requirement holds a quote: {requirements!r}")
        pins = " ".join(f"'{pin}'" for pin in requirements)
        script = f"{_PIP_INSTALL} {pins} >&2 && {_EXEC_PROBE}"
    else:
        script = _EXEC_PROBE
    return ["/bin/sh", "-c", script, "atlasiam-probe", _LOADER, _encoded_source(), encode_input(inp)]
