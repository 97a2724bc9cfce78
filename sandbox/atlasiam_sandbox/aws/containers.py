"""One container of the probe image, run as a local process: the part ECS tasks and Kubernetes pods share.

The sandbox has no container runtime, so a "container" is a process group in a fresh directory that stands in for
the image's root file system. Only one image can be "pulled": :data:`PROBE_IMAGE`, the Docker official image
``python:3.12-slim`` as ECR Public mirrors it, and only with internet egress (ECR Public is on the internet). What
the image holds is stood in for like this:

- ``/usr/local/bin/python3`` (and ``python``, ``python3.12``): the sandbox's interpreter *without* site-packages
  (``-S``), so ``import pymongo`` fails, as in the real image, which has no third-party packages;
- ``python3 -m pip install ...`` (and ``pip``/``pip3``): the stand-in pip of ``host_commands.py``
  (``container-pip``): it fails as pip fails without a network when the container has no egress, accepts only
  exact pins of pymongo[aws]'s distributions at the sandbox's own versions, and on success "installs" them: from
  then on the container's ``python3`` sees the sandbox venv's site-packages;
- ``/bin``: the machine's ``/bin/sh`` and a few base tools a Debian slim image has (coreutils, grep, sed, ...),
  linked in; nothing else of the machine is on ``PATH``.

The process environment is exactly what the caller passes plus the image's own ``PATH``, ``HOME`` and ``LANG``
(``ENV LANG C.UTF-8`` and ``ENV PATH /usr/local/bin:$PATH`` in docker-library/python's Dockerfile; the runtime sets
``HOME=/root`` for the root user), never the runner's. stdout and stderr share one pipe and are read line by line,
in the order the process writes them (a log driver reads the two streams as they come, too).

Fidelity differences (for the README table): the interpreter is the sandbox's (3.11), not 3.12; the pull fails at
once where a runtime retries for a while; the container's egress is decided when it starts (a route changed while it
runs is not seen); a command's absolute paths are the machine's, except those the stand-in root file system holds
(``/usr/local/bin/...``, ``/bin/...``), since there is no chroot; no cgroup limits (cpu/memory).
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from atlasiam_sandbox.aws.runcommand import default_python_bin

logger = logging.getLogger(__name__)

#: The one image the sandbox can run (the product's ``DEFAULT_PROBE_IMAGE``).
PROBE_IMAGE = "public.ecr.aws/docker/library/python:3.12-slim"
#: The python image's PATH (debian's default PATH with /usr/local/bin put first by docker-library/python's Dockerfile).
IMAGE_PATH = "/usr/local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#: Where pip installs in the image; the stand-in marks it installed with :data:`SITE_MARK`.
SITE_PACKAGES = "usr/local/lib/python3.12/site-packages"
SITE_MARK = ".sandbox-installed"
#: Base tools of a Debian slim image (coreutils, dash, bash, grep, sed, findutils, tar, gzip...) linked into ``/bin``.
BASE_TOOLS = (
    "sh",
    "bash",
    "dash",
    "basename",
    "cat",
    "chmod",
    "cp",
    "cut",
    "date",
    "dirname",
    "echo",
    "env",
    "expr",
    "false",
    "find",
    "grep",
    "gzip",
    "head",
    "hostname",
    "id",
    "kill",
    "ln",
    "ls",
    "mkdir",
    "mktemp",
    "mv",
    "printf",
    "pwd",
    "readlink",
    "rm",
    "rmdir",
    "sed",
    "sleep",
    "sort",
    "tail",
    "tar",
    "tee",
    "test",
    "touch",
    "tr",
    "true",
    "uname",
    "wc",
    "xargs",
)
# An address from TEST-NET-3 (RFC 5737) stands in for the registry's, which the message would show.
_REGISTRY_ADDRESS = "203.0.113.10:443"


@dataclass(frozen=True)
class PullFailed:
    """The image could not be pulled; the container never started.

    Attributes:
        message: What Kubernetes shows as the container's ``ErrImagePull`` waiting message: the CRI runtime's error
            text (kubelet ``pkg/kubelet/images/image_manager.go``, ``evalCRIPullErr`` returns ``err.Error()`` for
            an error that is neither RegistryUnavailable nor SignatureValidationFailed), as containerd words it:
            ``rpc error: code = NotFound desc = failed to pull and unpack image "REF": failed to resolve reference
            "REF": REF: not found``.
        stopped_reason: What ECS puts in the task's ``stoppedReason`` (stopCode ``TaskFailedToStart``):
            ``CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref REF:
            ...`` ("CannotPullContainer task errors in Amazon ECS",
            https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_cannot_pull_image.html).
    """

    message: str
    stopped_reason: str = ""


def normalized_reference(image: str) -> str:
    """The image reference as containerd resolves it: ``python`` -> ``docker.io/library/python:latest``."""
    name, _, digest = image.partition("@")
    first, _, rest = name.partition("/")
    if not rest or ("." not in first and ":" not in first and first != "localhost"):
        name = f"docker.io/{name}" if rest else f"docker.io/library/{name}"
    if not digest and ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    return f"{name}@{digest}" if digest else name


def pull_failure(image: str, online: bool) -> PullFailed | None:
    """Why pulling ``image`` fails (None: it is the probe image and the registry is reachable)."""
    ref = normalized_reference(image)
    if online and ref == PROBE_IMAGE:
        return None
    if online:
        cause = f"{ref}: not found"
        code = "NotFound"
    else:
        registry, _, path = ref.partition("/")
        repo, _, tag = path.rpartition(":")
        host = "registry-1.docker.io" if registry == "docker.io" else registry
        url = f"https://{host}/v2/{repo}/manifests/{tag}"
        cause = f'failed to do request: Head "{url}": dial tcp {_REGISTRY_ADDRESS}: i/o timeout'
        code = "Unknown"
    return PullFailed(
        message=f'rpc error: code = {code} desc = failed to pull and unpack image "{ref}": '
        f'failed to resolve reference "{ref}": {cause}',
        stopped_reason=f"CannotPullContainerError: pull image manifest has been retried 5 time(s): "
        f"failed to resolve ref {ref}: {cause}",
    )


class ContainerProcess:
    """A running container: its main process (PID 1 of the container) and the lines it has written."""

    def __init__(self, popen: subprocess.Popen[bytes], on_line: Callable[[str], None] | None) -> None:
        self._popen = popen
        self._on_line = on_line
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, name=f"container-{popen.pid}", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        """The main process's id (its process group is the container)."""
        return self._popen.pid

    @property
    def lines(self) -> list[str]:
        """The stdout and stderr lines so far, in order, without their line ends."""
        with self._lock:
            return list(self._lines)

    def _read(self) -> None:
        stream = self._popen.stdout
        if stream is None:  # pragma: no cover - always piped
            return
        for raw in stream:
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            with self._lock:
                self._lines.append(line)
            if self._on_line is not None:
                try:
                    self._on_line(line)
                except Exception:  # a broken consumer must not lose the container's later lines
                    logger.exception("on_line failed")
        stream.close()

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit code once the container has stopped (None while it runs).

        A process ended by a signal exits 128+N, as container runtimes report it (137 after SIGKILL). When the main
        process ends, the container ends: whatever it left running is killed, and every line is read before this
        returns.
        """
        try:
            code = self._popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        self._kill_group()
        self._reader.join()
        return 128 - code if code < 0 else code

    def stop(self, grace: float) -> None:
        """``docker stop``: SIGTERM to the main process, SIGKILL to the container after ``grace`` seconds."""
        with contextlib.suppress(ProcessLookupError):
            self._popen.send_signal(signal.SIGTERM)
        try:
            self._popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL every process of the container."""
        self._kill_group()

    def _kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._popen.pid, signal.SIGKILL)


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)


def _image_root(root: Path, online: bool) -> tuple[Path, Path]:
    """Lay out the image's stand-in file system under ``root``; (its ``/usr/local/bin``, its ``/bin``)."""
    python = default_python_bin() / "python3"
    helper = Path(__file__).resolve().with_name("host_commands.py")
    local_bin, base_bin = root / "usr/local/bin", root / "bin"
    local_bin.mkdir(parents=True, exist_ok=True)
    base_bin.mkdir(parents=True, exist_ok=True)
    (root / "root").mkdir(exist_ok=True)
    (root / "tmp").mkdir(exist_ok=True)
    mark = root / SITE_PACKAGES / SITE_MARK
    py, mark_q = shlex.quote(str(python)), shlex.quote(str(mark))
    pip_line = f'exec {py} {shlex.quote(str(helper))} container-pip {"online" if online else "offline"} {mark_q} "$@"\n'
    interpreter = (
        "#!/bin/sh\n"
        'if [ "$1" = -m ] && [ "$2" = pip ]; then\n'
        f"  shift 2\n  {pip_line}"
        "fi\n"
        f'[ -e {mark_q} ] && exec {py} "$@"\n'
        f'exec {py} -S "$@"\n'
    )
    for name in ("python3", "python", "python3.12"):
        _write(local_bin / name, interpreter)
    for name in ("pip", "pip3", "pip3.12"):
        _write(local_bin / name, f"#!/bin/sh\n{pip_line}")
    for tool in BASE_TOOLS:
        found = shutil.which(tool, path="/usr/bin:/bin")
        if found and not (base_bin / tool).exists():
            (base_bin / tool).symlink_to(found)
    return local_bin, base_bin


def _executable(argv0: str, root: Path, search: Sequence[Path]) -> str | None:
    """The file the container runs for ``argv0``: in the stand-in root, or on its PATH; None: not found."""
    if argv0.startswith("/"):
        inside = root / argv0.lstrip("/")
        return str(inside) if inside.exists() else None
    if "/" in argv0:
        return str(root / argv0) if (root / argv0).exists() else None
    for directory in search:
        if (directory / argv0).exists():
            return str(directory / argv0)
    return None


def start_container(
    image: str,
    command: Sequence[str],
    env: Mapping[str, str],
    workdir: Path,
    *,
    egress: Callable[[], bool],
    on_line: Callable[[str], None] | None = None,
) -> ContainerProcess | PullFailed:
    """Pull ``image`` (only :data:`PROBE_IMAGE`, only with egress) and run ``command`` in it, cwd ``workdir``.

    Args:
        image: The image reference of the task definition / pod spec.
        command: The container's command (the image has no entrypoint: ``python3`` is its ``CMD``).
        env: The container's environment; the image's PATH/HOME/LANG are added where it does not set them.
        workdir: A fresh directory: the container's root file system (and ``/``, the image's working dir).
        egress: Whether the container's network reaches the internet (ECR Public, PyPI).
        on_line: Called with each line the container writes (stdout and stderr), from a reader thread.
    """
    online = egress()
    failed = pull_failure(image, online)
    if failed is not None:
        return failed
    workdir.mkdir(parents=True, exist_ok=True)
    local_bin, base_bin = _image_root(workdir, online)
    image_env = {
        # The image's PATH, its directories the stand-in root holds (the rest, /usr/bin and the like, are empty).
        "PATH": f"{local_bin}:{base_bin}",
        "HOME": str(workdir / "root"),
        "LANG": "C.UTF-8",
    }
    argv = list(command) or ["python3"]
    found = _executable(argv[0], workdir, (local_bin, base_bin))
    if found is None:
        # runc: 'exec: "X": executable file not found in $PATH' (the container exits 127 at once).
        message = f'exec: "{argv[0]}": executable file not found in $PATH'
        argv = [str(base_bin / "sh"), "-c", f"echo {shlex.quote(message)} >&2; exit 127"]
    else:
        argv[0] = found
    popen = subprocess.Popen(
        argv,
        cwd=workdir,
        env={**image_env, **env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return ContainerProcess(popen, on_line)
