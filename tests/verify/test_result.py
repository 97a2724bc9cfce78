"""Parsing the probe's output (golden samples recorded from real probe runs in the sandbox)."""

from __future__ import annotations

from pathlib import Path

import pytest

from atlas_iam_tf.verify.result import ProbeOutputError, parse_probe_output

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("sample", sorted(p.name for p in GOLDEN.glob("*.json")))
def test_golden_samples_parse(sample: str) -> None:
    text = (GOLDEN / sample).read_text()
    result = parse_probe_output("some shell noise\n" + text)
    expected_ok = sample.startswith("pass")
    assert result.ok is expected_ok
    if expected_ok:
        assert result.db_user == result.identity and result.db_user.startswith("arn:aws:iam::")
    else:
        assert result.failed is not None and result.failed.error_kind


def test_no_result_is_an_error() -> None:
    with pytest.raises(ProbeOutputError, match="printed no result"):
        parse_probe_output("bash: python3: command not found\n")


def test_truncated_output_is_an_error() -> None:
    text = (GOLDEN / "pass.json").read_text()
    with pytest.raises(ProbeOutputError):
        parse_probe_output(text[: len(text) // 2])
