"""Parsing the probe's output (golden samples recorded from real probe runs in the sandbox)."""

from __future__ import annotations

from pathlib import Path

import pytest

from atlas_iam_tf.verify.result import ADVISORY_STEPS, ProbeOutputError, parse_probe_output

GOLDEN = Path(__file__).parent / "golden"


# sample -> (the gating step's failure kind, or None when it passed; advisory steps that failed)
EXPECTED = {
    "pass.json": (None, []),
    "pass-no-sts.json": (None, ["identity"]),  # no route to STS: evidence lost, the login proven anyway
    "fail-auth.json": ("auth_failed", []),
    "fail-aws-extra.json": ("aws_extra_missing", []),
    "fail-no-credentials.json": ("no_credentials", []),
    "fail-bootstrap.json": ("pymongo_missing", ["bootstrap"]),
}


def test_every_golden_sample_has_an_expectation() -> None:
    assert sorted(p.name for p in GOLDEN.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize(("sample", "failed_kind", "advisory"), [(k, *v) for k, v in EXPECTED.items()])
def test_golden_samples_parse(sample: str, failed_kind: str | None, advisory: list[str]) -> None:
    text = (GOLDEN / sample).read_text()
    result = parse_probe_output("some shell noise\n" + text)
    assert result.ok is (failed_kind is None)
    assert (result.failed.error_kind if result.failed else None) == failed_kind
    assert [s.name for s in result.steps if not s.ok and s.name in ADVISORY_STEPS] == advisory
    if sample.startswith("pass"):
        assert result.db_user is not None and result.db_user.startswith("arn:aws:iam::")
        assert result.identity == (None if "identity" in advisory else result.db_user)


def test_no_result_is_an_error() -> None:
    with pytest.raises(ProbeOutputError, match="printed no result"):
        parse_probe_output("bash: python3: command not found\n")


def test_truncated_output_is_an_error() -> None:
    text = (GOLDEN / "pass.json").read_text()
    with pytest.raises(ProbeOutputError):
        parse_probe_output(text[: len(text) // 2])
