"""Fidelity fixes to moto that the MONGODB-AWS checks depend on (applied once per process).

moto 5.2's GetSessionToken returns one fixed example key that identifies as ``user/moto``. Real STS
returns fresh temporary credentials that identify as the calling IAM user — which is exactly what
``verify --from-here --session-token`` and Atlas's USER-type users rely on. This patch makes moto
mint distinct temporary credentials per call and answer GetCallerIdentity for them as the caller.
"""

from __future__ import annotations

import secrets
import string
import threading
from typing import Any

_applied = False
_lock = threading.Lock()
# temporary access key id -> the caller's IAM user ARN
SESSION_KEYS: dict[str, str] = {}
# temporary access key id -> (secret, session token, expiration): what a signature check needs (aws/sigv4.py)
SESSION_CREDENTIALS: dict[str, tuple[str, str, Any]] = {}
_ALPHABET = string.ascii_uppercase + string.digits


def _new_key_id() -> str:
    return "ASIA" + "".join(secrets.choice(_ALPHABET) for _ in range(16))


def apply() -> None:
    """Patch moto's STS (idempotent)."""
    global _applied
    with _lock:
        if _applied:
            return
        from moto.core.responses import ActionResult
        from moto.iam.models import iam_backends
        from moto.sts.models import STSBackend
        from moto.sts.responses import TokenResponse

        original_identity = STSBackend.get_caller_identity

        def get_session_token(self: Any) -> Any:
            duration = self._get_int_param("DurationSeconds", 43200)
            token = self.backend.get_session_token(duration=duration)
            caller = iam_backends[self.current_account]["aws"].get_user_from_access_key_id(self.get_access_key())
            key_id = _new_key_id()
            secret, session_token = secrets.token_urlsafe(30), secrets.token_urlsafe(120)
            if caller is not None:
                SESSION_KEYS[key_id] = caller.arn
            SESSION_CREDENTIALS[key_id] = (secret, session_token, token.expiration)
            return ActionResult(
                {
                    "Credentials": {
                        "AccessKeyId": key_id,
                        "SecretAccessKey": secret,
                        "SessionToken": session_token,
                        "Expiration": token.expiration,
                    }
                }
            )

        def get_caller_identity(self: Any, access_key_id: str, region: str) -> tuple[str, str, str]:
            arn = SESSION_KEYS.get(access_key_id)
            if arn is not None:
                return access_key_id, arn, arn.split(":")[4]
            result: tuple[str, str, str] = original_identity(self, access_key_id, region)
            return result

        TokenResponse.get_session_token = get_session_token  # type: ignore[method-assign]
        STSBackend.get_caller_identity = get_caller_identity  # type: ignore[method-assign]
        _applied = True
