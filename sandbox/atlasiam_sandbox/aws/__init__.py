"""The emulated AWS of the offline sandbox: moto, an SSM Run Command endpoint and per-host IMDSv2."""

from __future__ import annotations

from atlasiam_sandbox.aws.cloud import LaunchedHost, SandboxCloud
from atlasiam_sandbox.aws.hosts import HostRegistry, HostSettings, HostStatus
from atlasiam_sandbox.aws.moto_server import MotoServer, MotoView, start_moto
from atlasiam_sandbox.aws.runcommand import SsmTiming
from atlasiam_sandbox.aws.ssm import FaultInjector, SsmEndpoint, SsmError

__all__ = [
    "FaultInjector",
    "HostRegistry",
    "HostSettings",
    "HostStatus",
    "LaunchedHost",
    "MotoServer",
    "MotoView",
    "SandboxCloud",
    "SsmEndpoint",
    "SsmError",
    "SsmTiming",
    "start_moto",
]
