"""Terraform's "Error acquiring the state lock" becomes one sentence naming the lock, plus what to do."""

from __future__ import annotations

import json

import pytest

from atlas_iam_tf.errors import StateLockedError, TerraformError

LOCK_DETAIL = (
    "Error message: resource temporarily unavailable\nLock Info:\n"
    "  ID:        246c515d-aa94-0fa0-ac0f-637948923395\n  Path:      terraform.tfstate\n"
    "  Operation: OperationTypeApply\n  Who:       alice@build-7\n  Version:   1.15.5\n"
    "  Created:   2026-11-28 10:21:44.103072565 +0000 UTC\n  Info:      \n\n\n"
    "Terraform acquires a state lock to protect the state from being written\nby multiple users at the same time."
)
HUMAN = "\n".join(
    ["╷", "│ Error: Error acquiring the state lock", "│", *(f"│ {line}" for line in LOCK_DETAIL.splitlines()), "╵"]
)
# With -no-color, as atlasiam runs Terraform, the block has no frame.
PLAIN = f"\nError: Error acquiring the state lock\n\n{LOCK_DETAIL}\n"


def _json(detail: str) -> str:
    diag = {"severity": "error", "summary": "Error acquiring the state lock", "detail": detail}
    return json.dumps({"@level": "error", "@message": "Error: Error acquiring the state lock", "diagnostic": diag})


@pytest.mark.parametrize(
    ("stdout", "stderr"),
    [(_json(LOCK_DETAIL), ""), ("", HUMAN), ("", PLAIN)],
    ids=["json", "human", "human-plain"],
)
def test_lock_error_names_the_lock(stdout: str, stderr: str) -> None:
    err = TerraformError.from_process(["plan"], 1, stdout, stderr)
    assert isinstance(err, StateLockedError) and err.code == "state_locked" and err.exit_code == 1
    assert err.message == (
        "terraform plan refused: the state is locked by another Terraform run "
        "(lock ID 246c515d-aa94-0fa0-ac0f-637948923395: apply, by alice@build-7, since 2026-11-28 10:21:44 UTC)"
    )
    assert "terraform force-unlock 246c515d-aa94-0fa0-ac0f-637948923395" in (err.hint or "")


def test_lock_held_without_lock_info() -> None:
    detail = "Error message: resource temporarily unavailable\nopen .terraform.tfstate.lock.info: no such file"
    err = TerraformError.from_process(["apply"], 1, _json(detail), "")
    assert isinstance(err, StateLockedError)
    assert err.message.endswith("the state is locked by another Terraform run (no lock info recorded)")


def test_other_errors_are_unchanged() -> None:
    err = TerraformError.from_process(["apply"], 1, "", "Error: Boom\n")
    assert type(err) is TerraformError and err.message == "terraform apply failed: Boom"
