"""The SSM endpoint: Run Command and the instance inventory (AWS JSON 1.1), the rest forwarded to moto."""

from __future__ import annotations

from atlasiam_sandbox.aws.ssm.server import FaultInjector, SsmEndpoint, SsmError

__all__ = ["FaultInjector", "SsmEndpoint", "SsmError"]
