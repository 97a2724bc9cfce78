"""Two config rules that stop an apply AWS would refuse: the aws partition only, IAM role names <= 64."""

from __future__ import annotations

from typing import Any

import pytest

from atlas_iam_tf.config import parse_config
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


def test_the_longest_name_and_environment_are_accepted_with_every_iam_role() -> None:
    """IAM names are the module's to fit (cut and hashed; tests/tf/test_iam_names.py plans them): the config
    no longer refuses a name and environment that the old fixed role names could not hold."""
    name, environment = "n" * 28, "e" * 32
    config = parse_config(_data(name=name, environment=environment, aws={"region": "us-east-1", "flow_logs": True}))
    assert (len(config.name), len(config.environment), config.aws.flow_logs) == (28, 32, True)
