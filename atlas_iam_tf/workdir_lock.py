"""One atlasiam run at a time per environment's working directory.

Terraform locks the *state*; this lock guards what atlasiam does around it in ``.atlasiam/<env>/``
(rendering, ``init``, the saved plan), so a second run on the same machine is refused at once and
by name instead of finding, or replacing, the first run's files half-way.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from atlas_iam_tf.errors import StateLockedError, WriteError

LOCK_FILE = ".atlasiam.lock"


@contextmanager
def workdir_lock(workdir: Path, command: str) -> Iterator[None]:
    """Hold the working directory's lock for ``command``; refuse if another run holds it."""
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        fd = os.open(workdir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise WriteError(f"cannot use {workdir} as the working directory: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _locked(fd, workdir, command) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "command": command, "since": time.time()}).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock, also when this process dies


def _locked(fd: int, workdir: Path, command: str) -> StateLockedError:
    try:
        holder = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        holder = {}
    since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(float(holder.get("since", 0)))) if holder else ""
    who = f"`atlasiam {holder.get('command', '?')}`, pid {holder.get('pid', '?')}, since {since}" if holder else "?"
    return StateLockedError(
        f"atlasiam {command} refused: another atlasiam run is using {workdir} ({who})",
        hint="wait for it to finish, then run the command again; nothing was changed",
    )
