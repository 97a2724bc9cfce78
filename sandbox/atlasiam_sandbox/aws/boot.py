"""cloud-init for the emulated hosts: an instance's user data runs once, at its first boot, as EC2 runs it.

On Amazon Linux 2023, cloud-init runs a user-data script as root in its last boot stage (``scripts-user``) and logs
its output to ``/var/log/cloud-init-output.log``; the script runs when the instance is launched, not again when it is
stopped and started (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-add-user-data.html).
SSM Agent starts on its own and usually registers before that stage is over, so Run Command can reach a host whose
bootstrap is still installing packages. atlasiam's user data (its module's ``user_data.sh.tftpl``) installs Python 3.11
with dnf and pymongo[aws] with pip, then writes ``/opt/atlasiam/ready`` (or ``/opt/atlasiam/failed``).

The emulated host runs the user data moto holds for the instance, unchanged but for the host-path mapping
(:meth:`HostRegistry.map_paths`), as root's script would run on the host. The network is what it cannot have, so
four commands are stand-ins, each written into the host's own ``bin`` (:meth:`HostRegistry.os_bin`); the three that
would use the network ask it first (:mod:`host_commands`: the subnet's routes, VPC endpoints and policies in moto):

- ``dnf`` takes the host's bootstrap time (counted from launch, as on a real host), then "installs"
  ``python3.11`` if the host reaches the AL2023 repositories (the internet, or an S3 gateway endpoint whose policy
  lets it in); or fails as dnf does (``bootstrap_fails`` forces the failure).
- ``python3.11 -m venv DIR`` makes a venv whose ``python3`` is the sandbox's interpreter.
- that venv's ``python3 -m pip install … pymongo …`` only makes pymongo visible (the sandbox's interpreter has it),
  if pip could get the wheels: from PyPI over the internet, or with ``--no-index --find-links DIR`` from DIR.
- ``aws s3 cp [--recursive] s3://…`` (AL2023 ships the AWS CLI v2) really downloads from moto's S3 with the
  instance role's credentials from the host's IMDS, if the route and the policies let the request through.

Until then the host's ``python3`` is AL2023's system Python: the sandbox's interpreter *without* site-packages, so
``import pymongo`` fails there exactly as on a fresh host (whose python3 is 3.9, without pymongo).
Hosts launched without user data boot nothing: they model hosts someone prepared (python3 with pymongo).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from atlasiam_sandbox.aws.hosts import HostRegistry
from atlasiam_sandbox.aws.moto_server import InstanceFacts

logger = logging.getLogger(__name__)

#: Where cloud-init keeps an instance's user-data script, and where it logs its output.
SCRIPT_PATH = "/var/lib/cloud/instance/scripts/part-001"
OUTPUT_LOG = "/var/log/cloud-init-output.log"
#: What dnf prints when the instance cannot reach the Amazon Linux repositories (e.g. no NAT, no S3 endpoint).
DNF_FAILURE = (
    "Error: Failed to download metadata for repo 'amazonlinux': Cannot download repomd.xml: "
    "Curl error (28): Timeout was reached for https://cdn.amazonlinux.com/al2023/core/mirrors/latest/x86_64/mirror.list"
)
# systemd's PATH for services, which cloud-init's scripts inherit.
_SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)


# The user data's retry pauses (10 s, 20 s, ... between tries) pass this many times faster on an emulated
# host, so a bootstrap that fails for good ends in seconds (README fidelity table). dnf's own duration, the
# host's bootstrap time, is kept to the second.
SLEEP_SPEEDUP = 50
_REAL_SLEEP = shutil.which("sleep") or "/bin/sleep"


def _host_command(python: Path, command: str, region: str, where: str) -> str:
    """A shell line that runs one of :mod:`host_commands` (as a script: it imports nothing of the sandbox)."""
    script = Path(__file__).resolve().with_name("host_commands.py")
    return f'exec {shlex.quote(str(python))} {shlex.quote(str(script))} {command} {shlex.quote(region)} {where} "$@"\n'


def _packages(os_bin: Path, python: Path, region: str) -> None:
    """The stand-ins for what dnf and pip would download; see the module docstring."""
    py, os_q = shlex.quote(str(python)), shlex.quote(str(os_bin))
    packages = os_bin / ".packages"
    packages.mkdir(parents=True, exist_ok=True)
    _write(
        os_bin / "sleep",
        f'#!/bin/sh\nexec {py} -S -c "import sys, time; time.sleep(float(sys.argv[1]) / {SLEEP_SPEEDUP})" "$1"\n',
    )
    # AL2023's system python3: no site-packages, so no pymongo.
    _write(os_bin / "python3", f'#!/bin/sh\nexec {py} -S "$@"\n')
    _write(
        packages / "python3.11",
        "#!/bin/sh\n"
        'if [ "$1" = -m ] && [ "$2" = venv ] && [ -n "$3" ]; then\n'
        f'  mkdir -p "$3/bin" && cp {os_q}/.packages/venv-python3 "$3/bin/python3" && exit 0\n'
        "  exit 1\n"
        "fi\n"
        f'exec {py} -S "$@"\n',
    )
    _write(
        packages / "venv-python3",
        "#!/bin/sh\n"
        'venv="$(cd "$(dirname "$0")/.." && pwd)"\n'
        'if [ "$1" = -m ] && [ "$2" = pip ]; then\n'
        "  shift 2\n  " + _host_command(python, "pip", region, '"$venv"') + "fi\n"
        f'[ -e "$venv/.installed" ] && exec {py} "$@"\n'
        f'exec {py} -S "$@"\n',
    )


def _dnf(os_bin: Path, python: Path, region: str, seconds: float, fails: bool) -> None:
    outcome = (
        f"echo {shlex.quote(DNF_FAILURE)} >&2\nexit 1\n"
        if fails
        else _host_command(python, "dnf", region, shlex.quote(str(os_bin)))
    )
    _write(os_bin / "dnf", f"#!/bin/sh\n{shlex.quote(_REAL_SLEEP)} {seconds:.3f}\n{outcome}")


def _aws_cli(os_bin: Path, python: Path, region: str, moto_url: str) -> None:
    """AL2023 ships the AWS CLI v2 as /usr/bin/aws; the stand-in downloads from moto's S3 (``s3 cp`` only)."""
    _write(os_bin / "aws", "#!/bin/sh\n" + _host_command(python, "aws", region, shlex.quote(moto_url)))


class HostBoot:
    """Boots the emulated hosts that have user data; hook it into ``HostRegistry.on_boot``.

    Args:
        hosts: The registry (settings, directories, path mapping).
        user_data: The instance's user data, or None when it has none (e.g. EC2 DescribeInstanceAttribute).
        python: The sandbox's interpreter, which stands in for every Python the bootstrap installs.
    """

    def __init__(
        self,
        hosts: HostRegistry,
        user_data: Callable[[str], str | None],
        python: Path,
        *,
        imds_endpoint: Callable[[str], str] | None = None,
        moto_url: str = "",
    ) -> None:
        self.hosts = hosts
        self.user_data = user_data
        self.python = python
        self.imds_endpoint = imds_endpoint
        self.moto_url = moto_url
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def on_boot(self, facts: InstanceFacts) -> None:
        """Start the instance's user data (if any) in the background; never raises."""
        try:
            self._boot(facts)
        except Exception:  # a broken emulation must show up as a host that never finishes, not a crashed poll
            logger.exception("booting %s failed", facts.instance_id)

    def _boot(self, facts: InstanceFacts) -> None:
        script = self.user_data(facts.instance_id)
        if not script:
            return
        iid = facts.instance_id
        settings = self.hosts.settings(iid)
        delay = self.hosts.default_bootstrap_delay if settings.bootstrap_delay is None else settings.bootstrap_delay
        remaining = max(0.0, delay - (datetime.now(timezone.utc) - facts.launch_time).total_seconds())
        os_bin = self.hosts.os_bin(iid)
        region = self.hosts.view.region
        _packages(os_bin, self.python, region)
        _dnf(os_bin, self.python, region, remaining, settings.bootstrap_fails)
        _aws_cli(os_bin, self.python, region, self.moto_url)
        root = self.hosts.fs_root(iid)
        path = root / SCRIPT_PATH.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(path, self.hosts.map_paths(iid, script))
        log = root / OUTPUT_LOG.lstrip("/")
        log.parent.mkdir(parents=True, exist_ok=True)
        env = {"PATH": f"{os_bin}:{_SYSTEM_PATH}", "HOME": str(self.hosts.host_dir(iid)), "LANG": "C.UTF-8"}
        if self.imds_endpoint is not None:  # the host's 169.254.169.254, as in what SSM Agent runs
            env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = self.imds_endpoint(iid)
        with self._lock, log.open("ab") as out:
            if self._closed:
                return
            # Executed, not passed to a shell: its #! line decides, as cloud-init does.
            self._processes[iid] = subprocess.Popen(
                [str(path)],
                cwd=self.hosts.host_dir(iid),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        logger.info("%s: user data started (package install takes %.1fs more)", iid, remaining)

    def wait(self, instance_id: str, timeout: float) -> int | None:
        """The exit code of the instance's user data once it has finished, None if it has none or is still running."""
        deadline = time.monotonic() + timeout
        self.hosts.status(instance_id)  # noticing the instance running is what boots it
        while True:
            with self._lock:
                process = self._processes.get(instance_id)
            code = None if process is None else process.poll()
            if code is not None or time.monotonic() >= deadline:
                return code
            time.sleep(0.02)

    def stop(self) -> None:
        """Kill every bootstrap still running (and whatever it started). Idempotent."""
        with self._lock:
            self._closed = True
            processes = list(self._processes.values())
        for process in processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
            process.wait()
