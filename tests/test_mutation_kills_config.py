"""The config's messages, word for word, and the edges of its rules (found by ``make mutation``).

Elsewhere the tests check that a bad value is refused with its field named; a user also reads *why*,
and the value they wrote (cut at 40 characters), so those are pinned here.
"""

from __future__ import annotations

from typing import Any

import pytest

from atlas_iam_tf.config import load_config, parse_config
from atlas_iam_tf.errors import ConfigError
from tests.conftest import CONFIGS

ROLE = {"role_name": "read", "database_name": "d"}


def _data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "orders",
        "aws": {},
        "atlas": {"project_id": "0" * 24, "cluster_name": "c", "roles": [ROLE]},
    }
    for dotted, value in changes.items():
        node = data
        *parents, leaf = dotted.split("__")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return data


def _problems(**changes: Any) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_config(_data(**changes))
    return exc.value.problems


ARN = "arn:aws:iam::123456789012:user/alice"

MESSAGES: list[tuple[str, dict[str, Any], str]] = [
    (
        "arn-not-a-user",
        {"atlas__iam_user_arns": ["arn:aws:iam::123456789012:role/x"]},
        "atlas.iam_user_arns: each must be an IAM user ARN like arn:aws:iam::123456789012:user/alice"
        " (got 'arn:aws:iam::123456789012:role/x')",
    ),
    ("arn-twice", {"atlas__iam_user_arns": [ARN, ARN]}, f"atlas.iam_user_arns: duplicate ARN {ARN}"),
    (
        "tag-key",
        {"tags": {"a{": "x"}},
        "tags: tag keys use letters, digits, spaces and _ . : / = + @ - (max 128) (got 'a{')",
    ),
    (
        "tag-value",
        {"tags": {"team": "x{"}},
        "tags: tag 'team' value uses letters, digits, spaces and _ . : / = + @ - (got 'x{')",
    ),
    ("tag-aws-prefix", {"tags": {"AWS:x": "v"}}, "tags: tag key 'AWS:x': the aws: prefix is reserved"),
    (
        "ssm-parameter",
        {"aws__ami_ssm_parameter": "ami-123"},
        "aws.ami_ssm_parameter: must be an SSM parameter path starting with / (got 'ami-123')",
    ),
    (
        "state-key-characters",
        {"backend": {"type": "s3", "bucket": "state-b", "key": "a b"}},
        "backend.key: must be an S3 key of letters, digits and _ . / - (got 'a b')",
    ),
    (
        "state-key-traversal",
        {"backend": {"type": "s3", "bucket": "state-b", "key": "a/../b"}},
        "backend.key: must be a relative key without '..'",
    ),
    ("terraform-bin-blank", {"terraform": {"bin": "  "}}, "terraform.bin: must be a path or command name"),
    ("terraform-bin-newline", {"terraform": {"bin": "tofu\nx"}}, "terraform.bin: must be a path or command name"),
    ("no-roles", {"atlas__roles": []}, "atlas.roles: at least one [[atlas.roles]] entry is required"),
    ("role-twice", {"atlas__roles": [ROLE, ROLE]}, "atlas.roles: duplicate role read on d"),
    (
        "value-of-40-shown-whole",
        {"atlas__cluster_name": "C" * 39 + "_"},
        "atlas.cluster_name: must be a cluster name of letters, digits and - (max 64) (got '" + "C" * 39 + "_')",
    ),
    (
        "value-of-41-cut-at-40",
        {"atlas__cluster_name": "C" * 40 + "_"},
        "atlas.cluster_name: must be a cluster name of letters, digits and - (max 64) (got '" + "C" * 40 + "…')",
    ),
    ("plain-key-of-40-as-written", {"aws__" + "k" * 40: 1}, "aws." + "k" * 40 + ": unknown key"),
    (
        "netmask-with-host-bits-still-gets-a-suggestion",
        {"aws__vpc_cidr": "10.42.0.1/255.255.0.0"},
        "aws.vpc_cidr: must use prefix form like 10.42.0.0/16, not a netmask (got '10.42.0.1/255.255.0.0');"
        " did you mean 10.42.0.0/16?",
    ),
    (
        "netmask-then-another-slash",
        {"aws__vpc_cidr": "10.0.0.0/255.0.0.0/16"},
        "aws.vpc_cidr: must use prefix form like 10.42.0.0/16, not a netmask (got '10.0.0.0/255.0.0.0/16')",
    ),
]


@pytest.mark.parametrize(("case", "changes", "problem"), MESSAGES, ids=[m[0] for m in MESSAGES])
def test_each_problem_says_why_in_words(case: str, changes: dict[str, Any], problem: str) -> None:
    assert _problems(**changes) == [problem], case


@pytest.mark.parametrize("binary", ["tofu", "/opt/X11/bin/tofu", "/usr/local/bin/terraform", "C:/Tools/tofu.exe"])
def test_terraform_bin_takes_any_path_or_command(binary: str) -> None:
    assert parse_config(_data(terraform={"bin": binary})).terraform.bin == binary


def test_the_hint_names_the_file_to_fix() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(_data(name="X"))
    assert exc.value.hint == "fix atlasiam.toml and run again"
    with pytest.raises(ConfigError) as exc:
        parse_config(_data(name="X"), source="team.toml")
    assert exc.value.hint == "fix team.toml and run again"


def test_load_config_reads_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATLASIAM_ENVIRONMENT", "staging")
    assert load_config(CONFIGS / "new_vpc.toml").environment == "staging"


def test_a_subnet_is_checked_against_the_vpc_it_is_in() -> None:
    config = parse_config(_data(aws__vpc_cidr="10.42.0.0/16", aws__subnet_cidr="10.42.255.240/28"))
    assert config.aws.effective_subnet_cidr == "10.42.255.240/28"
    assert _problems(aws__vpc_cidr="10.42.0.0/16", aws__subnet_cidr="10.43.0.0/24") == [
        "aws: subnet_cidr 10.43.0.0/24 is not inside vpc_cidr 10.42.0.0/16"
    ]
    assert parse_config(_data(aws__vpc_cidr="10.42.0.0/26")).aws.effective_subnet_cidr == "10.42.0.0/26"


# An existing VPC, given as AwsConfig takes it: the VPC and its subnets.
VPC = "vpc-0123456789abcdef0"
SUBNETS = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
RTB = ["rtb-0123456789abcdef0"]
PRIVATE = {"network_mode": "private"}
PRIVATE_IN_VPC = PRIVATE | {"vpc_id": VPC, "subnet_ids": SUBNETS, "route_table_ids": RTB}

# A setting that does nothing in the network the config picks is refused, with the reason, each one alone.
MODE_PROBLEMS: list[tuple[str, dict[str, Any], str]] = [
    (
        "flow-logs-in-an-existing-vpc",
        {"flow_logs": True, "vpc_id": VPC, "subnet_id": SUBNETS[0]},
        "aws: flow_logs is for the VPC atlasiam creates, not with vpc_id",
    ),
    (
        "private-subnet-cidr-alone",
        PRIVATE | {"subnet_cidr": "10.42.1.0/24"},
        "aws: private mode makes two subnets in zones that offer instance_type: remove subnet_cidr and "
        "availability_zone",
    ),
    (
        "private-availability-zone-alone",
        PRIVATE | {"availability_zone": "us-east-1a"},
        "aws: private mode makes two subnets in zones that offer instance_type: remove subnet_cidr and "
        "availability_zone",
    ),
    (
        "private-access-list",
        PRIVATE | {"access_list_cidrs": ["203.0.113.7/32"]},
        "aws: private mode reaches Atlas over PrivateLink, which ignores access_list_cidrs",
    ),
    (
        "private-one-subnet",
        PRIVATE_IN_VPC | {"subnet_ids": SUBNETS[:1]},
        "aws: private mode in an existing VPC needs two or more subnet_ids (the VPC endpoints)",
    ),
    (
        "private-subnet-id",
        PRIVATE | {"vpc_id": VPC, "subnet_id": SUBNETS[0], "route_table_ids": RTB},
        "aws: private mode in an existing VPC needs two or more subnet_ids (the VPC endpoints)",
    ),
    (
        "private-no-route-tables",
        PRIVATE | {"vpc_id": VPC, "subnet_ids": SUBNETS},
        "aws: private mode in an existing VPC needs route_table_ids (for the S3 gateway endpoint)",
    ),
    (
        "public-sts-endpoint-alone",
        {"sts_endpoint": True},
        "aws: sts_endpoint and wheelhouse_dir are for network_mode = 'private'",
    ),
    (
        "public-wheelhouse-alone",
        {"wheelhouse_dir": "wheels"},
        "aws: sts_endpoint and wheelhouse_dir are for network_mode = 'private'",
    ),
    (
        "public-access-list-in-a-new-vpc",
        {"access_list_cidrs": ["203.0.113.7/32"]},
        "aws: access_list_cidrs is for existing subnets behind NAT (with vpc_id)",
    ),
    (
        "public-route-tables-in-an-existing-vpc",
        {"vpc_id": VPC, "subnet_id": SUBNETS[0], "route_table_ids": RTB},
        "aws: route_table_ids is for network_mode = 'private' with vpc_id",
    ),
    (
        "public-route-tables-in-a-new-vpc",
        {"route_table_ids": RTB},
        "aws: route_table_ids is for network_mode = 'private' with vpc_id",
    ),
    (
        "private-route-tables-in-a-new-vpc",
        PRIVATE | {"route_table_ids": RTB},
        "aws: route_table_ids is for network_mode = 'private' with vpc_id",
    ),
]


@pytest.mark.parametrize(("case", "aws", "problem"), MODE_PROBLEMS, ids=[m[0] for m in MODE_PROBLEMS])
def test_a_setting_the_network_mode_ignores_is_refused_with_why(case: str, aws: dict[str, Any], problem: str) -> None:
    assert _problems(aws=aws) == [problem], case


# The edges those rules must still let through.
MODE_ACCEPTED: list[tuple[str, dict[str, Any]]] = [
    ("private-in-a-vpc-with-two-subnets", PRIVATE_IN_VPC),
    ("private-in-a-vpc-with-three-subnets", PRIVATE_IN_VPC | {"subnet_ids": [*SUBNETS, "subnet-0123456789abcdef2"]}),
    ("private-new-vpc-with-sts-and-wheelhouse", PRIVATE | {"sts_endpoint": True, "wheelhouse_dir": "wheels"}),
    ("public-new-vpc-with-flow-logs-and-subnet", {"flow_logs": True, "subnet_cidr": "10.42.1.0/24"}),
    ("public-behind-nat", {"vpc_id": VPC, "subnet_id": SUBNETS[0], "access_list_cidrs": ["203.0.113.7/32"]}),
]


@pytest.mark.parametrize(("case", "aws"), MODE_ACCEPTED, ids=[m[0] for m in MODE_ACCEPTED])
def test_the_settings_each_network_mode_uses_are_accepted(case: str, aws: dict[str, Any]) -> None:
    config = parse_config(_data(aws=aws))
    assert config.aws.model_dump(include=set(aws)) == {
        k: tuple(v) if isinstance(v, list) else v for k, v in aws.items()
    }, case


ROLE_ARN = "arn:aws:iam::123456789012:role/app"

MORE_MESSAGES: list[tuple[str, dict[str, Any], str]] = [
    (
        "role-arn-with-a-path",
        {"atlas__role_arns": ["arn:aws:iam::123456789012:role/team/app"]},
        "atlas.role_arns: each must be an IAM role ARN without a path, like arn:aws:iam::123456789012:role/app"
        " (got 'arn:aws:iam::123456789012:role/team/app')",
    ),
    ("role-arn-twice", {"atlas__role_arns": [ROLE_ARN, ROLE_ARN]}, f"atlas.role_arns: duplicate ARN {ROLE_ARN}"),
    (
        "access-cidr-with-host-bits",
        {"aws": {"vpc_id": VPC, "subnet_id": SUBNETS[0], "access_list_cidrs": ["203.0.113.7/24"]}},
        "aws.access_list_cidrs[0]: must be an IPv4 CIDR block without host bits, like 203.0.113.7/32"
        " (got '203.0.113.7/24')",
    ),
    (
        "ecs-workload-without-cluster-or-subnets",
        {"workloads": [{"name": "svc", "kind": "ecs"}]},
        "workloads[0]: svc: kind = 'ecs' needs cluster, subnet_ids (where verify runs the task)",
    ),
]


@pytest.mark.parametrize(("case", "changes", "problem"), MORE_MESSAGES, ids=[m[0] for m in MORE_MESSAGES])
def test_more_problems_say_why_in_words(case: str, changes: dict[str, Any], problem: str) -> None:
    assert _problems(**changes) == [problem], case
