"""The probe's one JSON line, read back field by field, and found among the noise SSM puts around it.

tests/verify/test_result.py parses the golden samples for their verdict; these pin every field a
finding or ``verify --json`` shows, and the noise the parser must step over (found by ``make mutation``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from atlas_iam_tf.verify.result import ProbeOutputError, ProbeResult, StepResult, parse_probe_output

STEP_OK = {"name": "driver", "ok": True, "ms": 12.5, "detail": {"pymongo": "4.20.1"}}
STEP_FAILED = {
    "name": "auth",
    "ok": False,
    "ms": 30.0,
    "detail": {"attempts": 3},
    "error": {"kind": "auth_failed", "message": "Authentication failed.", "code": 18},
}
RESULT = json.dumps({"probe": 1, "ok": False, "host": "ip-10-42-0-7", "ms": 1138.4, "steps": [STEP_OK, STEP_FAILED]})


def test_every_field_of_the_result_is_read() -> None:
    assert parse_probe_output(RESULT) == ProbeResult(
        ok=False,
        host="ip-10-42-0-7",
        ms=1138.4,
        steps=(
            StepResult(name="driver", ok=True, ms=12.5, detail={"pymongo": "4.20.1"}),
            StepResult(
                name="auth",
                ok=False,
                ms=30.0,
                detail={"attempts": 3},
                error_kind="auth_failed",
                error_message="Authentication failed.",
                error_code=18,
            ),
        ),
    )


def test_missing_fields_read_as_unknown_not_as_made_up_values() -> None:
    result = parse_probe_output(json.dumps({"probe": 1, "steps": [{"ok": False}]}))
    assert (result.ok, result.host, result.ms) == (False, "", 0.0)
    assert result.steps == (StepResult(name="?", ok=False, ms=0.0),)


@pytest.mark.parametrize(
    ("noise", "where"),
    [
        ("bash: warning: setlocale: LC_ALL: cannot change locale", "after"),  # not JSON at all
        ("{half a json object}", "after"),  # looks like JSON, is not
        ('{"level": "info", "msg": "agent"}', "after"),  # JSON, but not the probe's
        ('{"steps": [], "ok": true}', "after"),  # has steps, but no probe marker
        ('{"probe": 2, "steps": []}', "after"),  # another contract version
        ('["probe", 1]', "after"),
        ('{"probe": 1, "steps": [], "ok": true} trailing', "after"),
        ("progress 50%", "before"),
    ],
)
def test_the_result_is_found_among_noise(noise: str, where: str) -> None:
    text = f"{noise}\n{RESULT}\n" if where == "before" else f"{RESULT}\n{noise}\n"
    assert parse_probe_output(text) == parse_probe_output(RESULT)


def test_the_last_result_wins() -> None:
    first: dict[str, Any] = json.loads(RESULT) | {"host": "first"}
    second: dict[str, Any] = json.loads(RESULT) | {"host": "second"}
    assert parse_probe_output(f"{json.dumps(first)}\n{json.dumps(second)}\n").host == "second"


def test_no_result_names_what_was_printed_instead() -> None:
    with pytest.raises(ProbeOutputError) as exc:
        parse_probe_output("\n  bash: python3: command not found  \n")
    assert str(exc.value) == "the probe printed no result: bash: python3: command not found"


def test_no_result_keeps_the_last_300_characters() -> None:
    stdout = "a" * 100 + "b" * 300
    with pytest.raises(ProbeOutputError) as exc:
        parse_probe_output(stdout)
    assert str(exc.value) == "the probe printed no result: " + "b" * 300


def test_no_output_at_all_says_only_that() -> None:
    with pytest.raises(ProbeOutputError) as exc:
        parse_probe_output(" \n ")
    assert str(exc.value) == "the probe printed no result"
