"""SSM Run Command and instance inventory, laid out the way moto lays out an emulated service.

``models`` holds the state and the rules, ``responses`` the AWS JSON 1.1 wire format, ``server`` the HTTP
routing, the forwarding to moto and the endpoint's lifecycle, and ``faults`` the fault-injection layer that
wraps the dispatch.
"""

from __future__ import annotations

from atlasiam_sandbox.aws.ssm.faults import FaultInjector
from atlasiam_sandbox.aws.ssm.models import SsmError
from atlasiam_sandbox.aws.ssm.server import SsmEndpoint

__all__ = ["FaultInjector", "SsmEndpoint", "SsmError"]
