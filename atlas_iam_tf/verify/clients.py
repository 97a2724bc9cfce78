"""The AWS clients verify uses, made on first use from one botocore session."""

from __future__ import annotations

import gc
from typing import Any


class AwsClients:
    """AWS clients made on first use from one botocore session: most runs need only one client.

    botocore directly, not boto3: importing boto3 and building its Session costs ~0.06 s more
    start-up for nothing we use. Credentials, ``AWS_ENDPOINT_URL*`` and region (``None`` = from
    env/config) resolve in botocore either way, so the clients behave the same.
    """

    def __init__(self, region: str | None) -> None:
        self.region = region
        self._session: Any = None
        self._made: dict[tuple[str, float | None], Any] = {}

    def __call__(self, service: str, *, read_timeout: float | None = None) -> Any:
        """The client for ``service`` (``ssm``, ``ec2``, ``sts``, …), made once.

        ``read_timeout``: for a call that answers only when its work is done (Lambda's Invoke answers when the
        function returns): that long, and one attempt, as a retry would run the work again.
        """
        key = (service, read_timeout)
        if key not in self._made:
            import botocore.session
            from botocore.config import Config

            if self._session is None:
                self._session = botocore.session.get_session()
                # verify reads no timestamp from AWS: leave them as sent. Parsing each one into a timezone-aware
                # datetime is most of the CPU of polling many hosts (as the AWS CLI does for its raw output).
                parsers = self._session.get_component("response_parser_factory")
                parsers.set_parser_defaults(timestamp_parser=str)
            # Bounded: an endpoint that accepts but never answers costs at most ~5 x (5 + 15) s, not minutes more.
            cfg = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=15)
            if read_timeout is not None:
                cfg = Config(
                    retries={"mode": "standard", "max_attempts": 1}, connect_timeout=5, read_timeout=read_timeout
                )
            self._made[key] = self._session.create_client(service, region_name=self.region, config=cfg)
            # The SDK's service models and endpoint rules are loaded now and live until the process ends: move
            # them out of the cyclic collector's way, so its passes while verify polls do not walk them again.
            gc.freeze()
        return self._made[key]


def error_code(err: Exception) -> str:
    """The AWS error code of a botocore ClientError (empty for anything else)."""
    response = getattr(err, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def error_message(err: Exception) -> str:
    """The AWS error message of a botocore ClientError (``str(err)`` for anything else)."""
    response = getattr(err, "response", None) or {}
    return str(response.get("Error", {}).get("Message", "") or err)
