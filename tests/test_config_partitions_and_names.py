"""Two config rules that stop an apply AWS would refuse: the aws partition only, IAM role names <= 64."""

from __future__ import annotations

from typing import Any

import pytest

from atlas_iam_tf.config import Config, parse_config
from atlas_iam_tf.errors import ConfigError


def _data(**top: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "orders",
        "aws": {"region": "us-east-1"},
        "atlas": {
            "project_id": "0" * 24,
            "cluster_name": "Cluster0",
            "roles": [{"role_name": "readWrite", "database_name": "orders"}],
        },
    }
    return data | top


def _problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_config(data)
    return exc.value.problems


@pytest.mark.parametrize(
    ("region", "partition"),
    [
        ("us-gov-west-1", "AWS GovCloud (US) partition (aws-us-gov)"),
        ("cn-northwest-1", "AWS China partition (aws-cn)"),
        ("us-isob-east-1", "AWS ISO partitions (aws-iso, aws-iso-b)"),
    ],
)
def test_regions_of_other_partitions_are_refused_with_the_reason(region: str, partition: str) -> None:
    assert _problems(_data(aws={"region": region})) == [
        f"aws.region: is in the {partition}; atlasiam supports the standard aws partition only (got {region!r})"
    ]


def test_iam_user_arns_of_other_partitions_are_refused() -> None:
    atlas = _data()["atlas"] | {"iam_user_arns": ["arn:aws-us-gov:iam::123456789012:user/alice"]}
    [problem] = _problems(_data(atlas=atlas))
    assert problem.startswith("atlas.iam_user_arns: each must be an IAM user ARN like arn:aws:iam::")


def _longest(total: int) -> tuple[str, str]:
    """A name and an environment whose ``name-environment`` is ``total`` characters long."""
    name = "n" * 28
    return name, "e" * (total - len(name) - 1)


def test_the_longest_host_role_name_that_fits_is_accepted() -> None:
    name, environment = _longest(64 - len("-host"))
    config = parse_config(_data(name=name, environment=environment))
    assert len(f"{config.name}-{config.environment}-host") == 64


def test_a_host_role_name_over_64_is_refused_naming_the_fields() -> None:
    name, environment = _longest(65 - len("-host"))
    role = f"{name}-{environment}-host"
    assert _problems(_data(name=name, environment=environment)) == [
        f"environment: name and environment make the host's IAM role name {role!r} 65 characters long; "
        "IAM allows 64: shorten name or environment"
    ]


def test_the_environment_override_is_checked_too() -> None:
    name, environment = _longest(65 - len("-host"))
    with pytest.raises(ConfigError, match="65 characters long"):
        parse_config(_data(name=name), {"environment": environment})


def test_the_flow_logs_role_counts_only_when_flow_logs_are_on() -> None:
    name, environment = _longest(65 - len("-flow-logs"))
    quiet: Config = parse_config(_data(name=name, environment=environment))  # no flow-logs role: fits
    assert quiet.aws.flow_logs is False
    [problem] = _problems(_data(name=name, environment=environment, aws={"region": "us-east-1", "flow_logs": True}))
    assert problem.startswith("aws: name and environment make the flow-logs IAM role (flow_logs = true) name ")
    assert problem.endswith("65 characters long; IAM allows 64: shorten name or environment")
    existing = {"region": "us-east-1", "flow_logs": True, "vpc_id": "vpc-0a1b2c3d", "subnet_id": "subnet-0a1b2c3d"}
    assert parse_config(_data(name=name, environment=environment, aws=existing)).aws.flow_logs  # no new VPC: no role
