"""One atlasiam run per environment directory: the second is refused at once, by name."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from atlas_iam_tf.errors import StateLockedError
from atlas_iam_tf.workdir_lock import LOCK_FILE, workdir_lock


def test_second_holder_is_refused_naming_the_first(tmp_path: Path) -> None:
    with workdir_lock(tmp_path, "apply"), pytest.raises(StateLockedError) as exc, workdir_lock(tmp_path, "destroy"):
        pass
    assert exc.value.code == "state_locked" and exc.value.exit_code == 1
    assert exc.value.message.startswith(f"atlasiam destroy refused: another atlasiam run is using {tmp_path}")
    assert f"`atlasiam apply`, pid {os.getpid()}, since " in exc.value.message


def test_released_on_exit_and_on_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), workdir_lock(tmp_path, "plan"):
        raise RuntimeError("boom")
    with workdir_lock(tmp_path, "plan"):
        pass
    assert (tmp_path / LOCK_FILE).stat().st_mode & 0o777 == 0o600
