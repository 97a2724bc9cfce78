"""[[workloads]]: what the config takes, what it refuses (naming the key), and the module input it becomes."""

from __future__ import annotations

import re

import pytest

from atlas_iam_tf import config as cfg
from atlas_iam_tf.config import parse_config
from atlas_iam_tf.config_file import parse_toml_bytes
from atlas_iam_tf.errors import ConfigError
from atlas_iam_tf.render import module_dir, module_inputs
from tests.conftest import CONFIGS

BASE = (CONFIGS / "new_vpc.toml").read_text()
OIDC = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
ECS_RUN = 'cluster = "apps"\nsubnet_ids = ["subnet-01234567"]\n'
EKS = 'kind = "eks"\ncluster_name = "prod"\nnamespace = "orders"\nservice_account = "api"\n'


def _with(*tables: str) -> cfg.Config:
    text = BASE + "".join(f"\n[[workloads]]\n{table}" for table in tables)
    return parse_config(parse_toml_bytes(text.encode(), "atlasiam.toml"))


def _problems(*tables: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        _with(*tables)
    return err.value.problems


def test_each_kind_becomes_the_modules_workloads_map() -> None:
    config = _with(
        'name = "fn"\nkind = "lambda"\n',
        'name = "svc"\nkind = "ecs"\nrole_arn = "arn:aws:iam::123456789012:role/svc"\n' + ECS_RUN,
        'name = "vfn"\nkind = "lambda"\nsubnet_ids = ["subnet-01234567"]\nsecurity_group_ids = ["sg-01234567"]\n'
        'egress_cidrs = ["198.51.100.7/32"]\n',
        f'name = "pod"\n{EKS}identity = "pod-identity"\n',
        f'name = "web"\n{EKS}identity = "irsa"\noidc_provider_arn = "{OIDC}"\n',
    )
    eks = {"cluster_name": "prod", "namespace": "orders", "service_account": "api"}
    plain = {"vpc": False, "egress_cidrs": []}
    assert module_inputs(config)["workloads"] == {
        "fn": {"kind": "lambda", "role_arn": None, "eks": None, **plain},
        "svc": {"kind": "ecs", "role_arn": "arn:aws:iam::123456789012:role/svc", "eks": None, **plain},
        "vfn": {"kind": "lambda", "role_arn": None, "eks": None, "vpc": True, "egress_cidrs": ["198.51.100.7/32"]},
        "pod": {
            "kind": "eks",
            "role_arn": None,
            "eks": {**eks, "identity": "pod-identity", "oidc_provider_arn": None},
            **plain,
        },
        "web": {
            "kind": "eks",
            "role_arn": None,
            "eks": {**eks, "identity": "irsa", "oidc_provider_arn": OIDC},
            **plain,
        },
    }


def test_no_workloads_is_an_empty_map() -> None:
    assert module_inputs(_with())["workloads"] == {}


REFUSED: list[tuple[str, tuple[str, ...], str]] = [
    (
        "eks-key-on-lambda",
        ('name = "fn"\nkind = "lambda"\nnamespace = "orders"\n',),
        "workloads[0]: fn: namespace is for kind = 'eks', not 'lambda'",
    ),
    (
        "irsa-without-oidc",
        (f'name = "web"\n{EKS}identity = "irsa"\n',),
        "workloads[0]: web: identity = 'irsa' needs oidc_provider_arn (the cluster's OIDC provider)",
    ),
    (
        "pod-identity-with-oidc",
        (f'name = "pod"\n{EKS}identity = "pod-identity"\noidc_provider_arn = "{OIDC}"\n',),
        "workloads[0]: pod: oidc_provider_arn is for identity = 'irsa', not 'pod-identity'",
    ),
    (
        "eks-missing-keys",
        ('name = "pod"\nkind = "eks"\ncluster_name = "prod"\n',),
        "workloads[0]: pod: kind = 'eks' needs namespace, service_account, identity",
    ),
    (
        "ecs-without-where",
        ('name = "svc"\nkind = "ecs"\nsubnet_ids = ["subnet-01234567"]\n',),
        "workloads[0]: svc: kind = 'ecs' needs cluster (where verify runs the task)",
    ),
    (
        "subnets-on-eks",
        (f'name = "pod"\n{EKS}identity = "pod-identity"\nsubnet_ids = ["subnet-01234567"]\n',),
        "workloads[0]: pod: subnet_ids is for kind = 'lambda' or 'ecs', not 'eks'",
    ),
    (
        "public-ip-on-lambda",
        ('name = "fn"\nkind = "lambda"\nassign_public_ip = true\n',),
        "workloads[0]: fn: assign_public_ip is for kind = 'ecs', not 'lambda'",
    ),
    (
        "kube-context-on-ecs",
        ('name = "svc"\nkind = "ecs"\nkube_context = "prod"\n' + ECS_RUN,),
        "workloads[0]: svc: kube_context is for kind = 'eks', not 'ecs'",
    ),
    (
        "lambda-subnets-without-groups",
        ('name = "fn"\nkind = "lambda"\nsubnet_ids = ["subnet-01234567"]\n',),
        "workloads[0]: fn: a Lambda function in a VPC needs both subnet_ids and security_group_ids",
    ),
    (
        "lambda-egress-outside-vpc",
        ('name = "fn"\nkind = "lambda"\negress_cidrs = ["198.51.100.7/32"]\n',),
        "workloads[0]: fn: egress_cidrs needs subnet_ids: a function outside a VPC has no fixed address to list "
        "(run it in a VPC behind NAT and list the NAT's address, or use network_mode = 'private')",
    ),
    (
        "bad-security-group",
        ('name = "svc"\nkind = "ecs"\nsecurity_group_ids = ["sg-x"]\n' + ECS_RUN,),
        "workloads[0].security_group_ids[0]: must be a security group id like sg-0123456789abcdef0 (got 'sg-x')",
    ),
    (
        "duplicate-name",
        ('name = "fn"\nkind = "lambda"\n', 'name = "fn"\nkind = "ecs"\n' + ECS_RUN),
        "workloads: duplicate workload name fn",
    ),
    (
        "duplicate-role",
        (
            'name = "a"\nkind = "lambda"\nrole_arn = "arn:aws:iam::123456789012:role/x"\n',
            'name = "b"\nkind = "ecs"\nrole_arn = "arn:aws:iam::123456789012:role/x"\n' + ECS_RUN,
        ),
        "workloads: duplicate workload role_arn arn:aws:iam::123456789012:role/x",
    ),
    (
        "ec2-kind",
        ('name = "h"\nkind = "ec2"\n',),
        "workloads[0].kind: the ec2 workload is the stack's host ([aws]; verify --workload host); for other EC2 "
        "instances add their role to atlas.role_arns and verify them with --instance-id or --tag",
    ),
    ("unknown-kind", ('name = "h"\nkind = "batch"\n',), "workloads[0].kind: Input should be 'lambda', 'ecs' or 'eks'"),
    ("unknown-key", ('name = "fn"\nkind = "lambda"\nmemory = 128\n',), "workloads[0].memory: unknown key"),
    (
        "long-name",
        ('name = "a23456789012345678901"\nkind = "lambda"\n',),
        "workloads[0].name: must match ^[a-z][a-z0-9-]{0,19}$ (lowercase, starts with a letter, max 20) "
        "(got 'a23456789012345678901')",
    ),
    (
        "namespace-upper",
        (f'name = "pod"\n{EKS.replace("orders", "Orders")}identity = "pod-identity"\n',),
        "workloads[0].namespace: must be a Kubernetes namespace (DNS label) (got 'Orders')",
    ),
    (
        "role-with-path",
        ('name = "fn"\nkind = "lambda"\nrole_arn = "arn:aws:iam::123456789012:role/team/fn"\n',),
        "workloads[0].role_arn: must be an IAM role ARN without a path, like arn:aws:iam::123456789012:role/app "
        "(got 'arn:aws:iam::123456789012:role/team/fn')",
    ),
]


@pytest.mark.parametrize(("tables", "problem"), [pytest.param(t, p, id=i) for i, t, p in REFUSED])
def test_bad_workloads_are_refused_naming_the_key(tables: tuple[str, ...], problem: str) -> None:
    assert _problems(*tables) == [problem]


def test_a_workload_role_also_in_role_arns_is_refused() -> None:
    text = BASE.replace(
        'cluster_name = "Cluster0"', 'cluster_name = "Cluster0"\nrole_arns = ["arn:aws:iam::123456789012:role/x"]'
    )
    text += '\n[[workloads]]\nname = "fn"\nkind = "lambda"\nrole_arn = "arn:aws:iam::123456789012:role/x"\n'
    with pytest.raises(ConfigError) as err:
        parse_config(parse_toml_bytes(text.encode(), "atlasiam.toml"))
    assert err.value.problems == [
        "(top level): workloads fn: role_arn arn:aws:iam::123456789012:role/x is also in atlas.role_arns "
        "(Atlas has one user per role: keep it in one place)"
    ]


def test_the_config_and_the_module_check_workloads_with_the_same_regexes() -> None:
    """The module's `workloads` validations use config.py's regexes, character for character."""
    text = (module_dir() / "variables.tf").read_text(encoding="utf-8")
    block = text[text.index('variable "workloads"') :]
    in_tf = {m.replace("\\\\", "\\") for m in re.findall(r'regex\("((?:[^"\\]|\\.)*)"', block)}
    ours = {
        cfg._WORKLOAD_NAME_RE.pattern,
        cfg._ROLE_ARN_RE.pattern,
        cfg._EKS_CLUSTER_RE.pattern,
        cfg._K8S_NAMESPACE_RE.pattern,
        cfg._K8S_SERVICE_ACCOUNT_RE.pattern,
        cfg._OIDC_PROVIDER_ARN_RE.pattern,
        cfg._ACCESS_CIDR_RE.pattern,  # egress_cidrs
    }
    assert in_tf == ours


def test_egress_cidrs_are_refused_in_private_mode() -> None:
    text = BASE.replace("[aws]", '[aws]\nnetwork_mode = "private"')
    text += (
        '\n[[workloads]]\nname = "fn"\nkind = "lambda"\nsubnet_ids = ["subnet-01234567"]\n'
        'security_group_ids = ["sg-01234567"]\negress_cidrs = ["198.51.100.7/32"]\n'
    )
    with pytest.raises(ConfigError) as err:
        parse_config(parse_toml_bytes(text.encode(), "atlasiam.toml"))
    assert err.value.problems == [
        "(top level): workloads fn: egress_cidrs is for public mode; private mode reaches Atlas over PrivateLink, "
        "which ignores the IP access list"
    ]


NO_HOST = BASE.replace('vpc_cidr = "10.42.0.0/16"\n', "create_host = false\n")


def test_without_a_host_the_workloads_log_in_and_no_network_is_made() -> None:
    text = NO_HOST + '\n[[workloads]]\nname = "fn"\nkind = "lambda"\n'
    inputs = module_inputs(parse_config(parse_toml_bytes(text.encode(), "atlasiam.toml")))
    assert (inputs["create_host"], inputs["create_network"], inputs["vpc_cidr"]) == (False, False, None)
    assert list(inputs["workloads"]) == ["fn"]


def test_a_host_config_passes_create_host_and_keeps_its_network() -> None:
    inputs = module_inputs(_with())
    assert (inputs["create_host"], inputs["create_network"], inputs["vpc_cidr"]) == (True, True, "10.42.0.0/16")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            NO_HOST,
            "(top level): aws.create_host = false needs [[workloads]], atlas.role_arns or atlas.iam_user_arns: "
            "otherwise nothing logs in to Atlas",
        ),
        (
            NO_HOST.replace("[aws]\n", '[aws]\ninstance_type = "t3.small"\n')
            + '\n[[workloads]]\nname = "fn"\nkind = "lambda"\n',
            "aws: instance_type is a setting of the host or its network, and create_host = false",
        ),
        (
            NO_HOST.replace("[aws]\n", '[aws]\nnetwork_mode = "private"\n')
            + '\n[[workloads]]\nname = "fn"\nkind = "lambda"\n',
            "aws: create_host = false is for network_mode = 'public': private mode builds the host's private "
            "network (workloads in your VPCs reach Atlas over your own PrivateLink)",
        ),
    ],
    ids=["nobody-logs-in", "host-setting", "private-mode"],
)
def test_without_a_host_dead_settings_are_refused(text: str, problem: str) -> None:
    assert "vpc_cidr" not in text  # the base's own host setting is gone, or it would be what is refused
    with pytest.raises(ConfigError) as err:
        parse_config(parse_toml_bytes(text.encode(), "atlasiam.toml"))
    assert err.value.problems == [problem]


@pytest.mark.parametrize(
    ("keys", "problem"),
    [
        (
            'subnet_ids = ["subnet-01234567", "subnet-01234567"]\nsecurity_group_ids = ["sg-01234567"]\n',
            "workloads[0]: svc: duplicate subnet id subnet-01234567",
        ),
        (
            'subnet_ids = ["subnet-01234567"]\nsecurity_group_ids = ["sg-01234567", "sg-01234567"]\n',
            "workloads[0]: svc: duplicate security group id sg-01234567",
        ),
    ],
    ids=["subnet", "security-group"],
)
def test_a_repeated_subnet_or_security_group_is_named_after_the_workload(keys: str, problem: str) -> None:
    assert _problems(f'name = "svc"\nkind = "ecs"\ncluster = "apps"\n{keys}') == [problem]


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('vpc_cidr = "10.42.0.0/16"', "vpc_cidr"),
        ('subnet_cidr = "10.42.0.0/24"', "subnet_cidr"),
        ('availability_zone = "eu-west-1a"', "availability_zone"),
    ],
)
def test_settings_of_the_new_network_are_refused_with_an_existing_vpc(line: str, key: str) -> None:
    """With vpc_id atlasiam makes no network: these would be ignored, so they are refused (found by mutmut)."""
    text = (CONFIGS / "existing_vpc.toml").read_text().replace("[aws]\n", f"[aws]\n{line}\n")
    with pytest.raises(ConfigError) as err:
        parse_config(parse_toml_bytes(text.encode(), "atlasiam.toml"))
    assert err.value.problems == [f"aws: {key} is for the network atlasiam creates, not with vpc_id"]
