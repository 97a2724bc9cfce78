"""The errors --from-here raises when STS refuses: what they say for each kind of caller (pure)."""

from __future__ import annotations

import pytest

from atlas_iam_tf.verify.service import assume_role_refused

ROLE = "arn:aws:iam::123456789012:role/orders-dev-host"


@pytest.mark.parametrize(
    ("caller", "to_add"),
    [
        ("arn:aws:iam::123456789012:user/ops/alice", "arn:aws:iam::123456789012:user/ops/alice"),
        (
            "arn:aws:sts::123456789012:assumed-role/ci/run-7",
            "arn:aws:iam::123456789012:role/ci (the role's ARN, with its path if it has one)",
        ),
        (
            "arn:aws:sts::123456789012:federated-user/bob",
            "the ARN of an IAM role or user you can run as (arn:aws:sts::123456789012:federated-user/bob is neither)",
        ),
        (None, "the ARN of the IAM role or user you run as"),
    ],
)
def test_assume_role_refused_names_role_caller_and_what_to_trust(caller: str | None, to_add: str) -> None:
    err = assume_role_refused(ROLE, caller)
    assert err.code == "verification_error" and err.exit_code == 1
    assert err.message == (
        f"AWS refused sts:AssumeRole on {ROLE} for {caller or 'the caller'}: the role's trust policy does not admit "
        "this caller (or the role does not exist)"
    )
    assert err.hint is not None
    assert err.hint.startswith(f"add {to_add} to aws.verify_principals in atlasiam.toml and run `atlasiam apply`")
    assert "\n" not in err.message + err.hint
