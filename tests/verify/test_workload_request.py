"""verify's workload targets: the config's [[workloads]] joined with the applied stack's outputs, and --workload."""

from __future__ import annotations

from pathlib import Path

import pytest

from atlas_iam_tf.config import Workload, parse_config
from atlas_iam_tf.config_file import parse_toml_bytes
from atlas_iam_tf.errors import UsageError
from atlas_iam_tf.verify.request import VerifyOptions, _selected, check_flags, workload_targets
from atlas_iam_tf.verify.workload import WorkloadTarget
from tests.conftest import CONFIGS

WORKLOADS = """
[[workloads]]
name = "fn"
kind = "lambda"
subnet_ids = ["subnet-01234567"]
security_group_ids = ["sg-01234567"]

[[workloads]]
name = "svc"
kind = "ecs"
cluster = "apps"
subnet_ids = ["subnet-89abcdef"]
assign_public_ip = true
probe_image = "example.org/probe:1"

[[workloads]]
name = "pod"
kind = "eks"
cluster_name = "prod"
namespace = "orders"
service_account = "api"
identity = "pod-identity"
kube_context = "prod-admin"
"""
OUTPUTS = {
    "workloads": {
        "fn": {"kind": "lambda", "role_arn": "arn:aws:iam::123456789012:role/o-fn"},
        "svc": {"kind": "ecs", "role_arn": "arn:aws:iam::123456789012:role/o-svc"},
        "pod": {"kind": "eks", "role_arn": "arn:aws:iam::123456789012:role/o-pod"},
    },
    "ecs_verify": {
        "execution_role_arn": "arn:aws:iam::123456789012:role/o-ecs-exec",
        "log_group": "/atlasiam/o/verify",
    },
}


def _workloads() -> tuple[Workload, ...]:
    text = (CONFIGS / "new_vpc.toml").read_text() + WORKLOADS
    return parse_config(parse_toml_bytes(text.encode(), "atlasiam.toml")).workloads


def test_each_workload_runs_as_its_applied_role_with_its_own_settings() -> None:
    fn, svc, pod = workload_targets(_workloads(), OUTPUTS)
    assert fn == WorkloadTarget(
        name="fn",
        kind="lambda",
        role_arn="arn:aws:iam::123456789012:role/o-fn",
        subnet_ids=("subnet-01234567",),
        security_group_ids=("sg-01234567",),
    )
    assert svc == WorkloadTarget(
        name="svc",
        kind="ecs",
        role_arn="arn:aws:iam::123456789012:role/o-svc",
        subnet_ids=("subnet-89abcdef",),
        cluster="apps",
        assign_public_ip=True,
        execution_role_arn="arn:aws:iam::123456789012:role/o-ecs-exec",
        log_group="/atlasiam/o/verify",
        probe_image="example.org/probe:1",
    )
    assert pod == WorkloadTarget(
        name="pod",
        kind="eks",
        role_arn="arn:aws:iam::123456789012:role/o-pod",
        cluster="prod",
        namespace="orders",
        service_account="api",
        identity="pod-identity",
        kube_context="prod-admin",
    )


def test_a_workload_the_stack_has_not_applied_is_a_usage_error() -> None:
    outputs = {**OUTPUTS, "workloads": {k: v for k, v in OUTPUTS["workloads"].items() if k != "svc"}}
    with pytest.raises(UsageError, match="^workload svc is not in the applied stack$"):
        workload_targets(_workloads(), outputs)


def test_workload_flag_selects_by_name_and_host_is_the_ec2_host() -> None:
    targets = workload_targets(_workloads(), OUTPUTS)
    assert _selected((), ("i-1",), targets) == (("i-1",), targets)
    assert _selected(("svc",), ("i-1",), targets) == ((), (targets[1],))
    assert _selected(("host", "pod"), ("i-1",), targets) == (("i-1",), (targets[2],))


def test_an_unknown_workload_name_is_refused_listing_the_known_ones() -> None:
    targets = workload_targets(_workloads(), OUTPUTS)
    with pytest.raises(UsageError) as err:
        _selected(("api",), ("i-1",), targets)
    assert str(err.value) == "--workload 'api': no such workload (this stack has: host, fn, svc, pod)"
    with pytest.raises(UsageError, match=r"this stack has: fn, svc, pod\)$"):
        _selected(("host",), (), targets)


@pytest.mark.parametrize(
    "flags",
    [{"from_here": True}, {"instance_ids": ("i-0123456789abcdef0",)}, {"tags": ("app=orders",)}],
    ids=["from-here", "instance-id", "tag"],
)
def test_workload_flag_does_not_go_with_host_selection(flags: dict[str, object]) -> None:
    opts = VerifyOptions(config_path=Path("atlasiam.toml"), workloads=("fn",), **flags)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="^--workload selects the config's workloads"):
        check_flags(opts)
