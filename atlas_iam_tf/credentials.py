"""Name a missing credential before Terraform starts, instead of deep inside a provider error."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from atlas_iam_tf.errors import CredentialsMissingError

ATLAS_PAIRS = (
    ("MONGODB_ATLAS_CLIENT_ID", "MONGODB_ATLAS_CLIENT_SECRET"),
    ("MONGODB_ATLAS_PUBLIC_API_KEY", "MONGODB_ATLAS_PRIVATE_API_KEY"),
)
# Settings that mean the AWS SDK has a credential source other than static keys.
_AWS_SOURCES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


def atlas_credential_problems(env: Mapping[str, str]) -> list[str]:
    """Problems with the Atlas credentials in ``env`` (empty when one full pair is set)."""
    for first, second in ATLAS_PAIRS:
        if env.get(first) and env.get(second):
            return []
    for first, second in ATLAS_PAIRS:
        if bool(env.get(first)) != bool(env.get(second)):
            missing = second if env.get(first) else first
            return [f"{missing} is not set (it goes with {first if missing == second else second})"]
    return [
        "no Atlas credentials: set MONGODB_ATLAS_CLIENT_ID and MONGODB_ATLAS_CLIENT_SECRET "
        "(service account), or MONGODB_ATLAS_PUBLIC_API_KEY and MONGODB_ATLAS_PRIVATE_API_KEY"
    ]


def aws_credential_problems(env: Mapping[str, str], home: Path | None = None) -> list[str]:
    """Problems with the AWS credential chain, checked cheaply before asking botocore."""
    key, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
    if key and secret:
        return []
    if bool(key) != bool(secret):
        return [f"{'AWS_SECRET_ACCESS_KEY' if key else 'AWS_ACCESS_KEY_ID'} is not set (the pair goes together)"]
    if any(env.get(name) for name in _AWS_SOURCES):
        return []
    home = home or Path(env.get("HOME") or Path.home())
    files = [
        Path(env["AWS_SHARED_CREDENTIALS_FILE"])
        if env.get("AWS_SHARED_CREDENTIALS_FILE")
        else home / ".aws/credentials",
        Path(env["AWS_CONFIG_FILE"]) if env.get("AWS_CONFIG_FILE") else home / ".aws/config",
    ]
    if any(f.is_file() for f in files):
        return []
    return _botocore_problems()


def _botocore_problems() -> list[str]:
    """Last resort: let botocore walk the chain (instance metadata, SSO, ...)."""
    import botocore.session

    if botocore.session.get_session().get_credentials() is None:
        return [
            "no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            "or run where an instance/container role is available"
        ]
    return []


def require_credentials(env: Mapping[str, str] | None = None) -> None:
    """Raise ``CredentialsMissingError`` naming every missing credential."""
    env = os.environ if env is None else env
    problems = atlas_credential_problems(env) + aws_credential_problems(env)
    if problems:
        raise CredentialsMissingError(
            "; ".join(problems),
            hint="credentials are read from the environment only, never from atlasiam.toml",
        )
