"""The emulated AWS of the offline sandbox: moto, an SSM Run Command endpoint and per-host IMDSv2."""

from __future__ import annotations

from atlas_iam_tf.sandbox.aws.cloud import LaunchedHost, SandboxCloud
from atlas_iam_tf.sandbox.aws.hosts import HostRegistry, HostSettings, HostStatus
from atlas_iam_tf.sandbox.aws.moto_server import MotoServer, MotoView, start_moto
from atlas_iam_tf.sandbox.aws.runcommand import SsmTiming
from atlas_iam_tf.sandbox.aws.ssm import FaultInjector, SsmEndpoint, SsmError

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
