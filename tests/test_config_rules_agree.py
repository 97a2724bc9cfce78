"""config.py and the Terraform variables hold the same rules: they accept exactly the same values.

The variables are the atlas-iam-access module's (``modules/atlas-iam-access/variables.tf``) and the
root's ``region`` (``templates/variables.tf``). Every single-variable validation guards a value atlasiam
computes from a config field (``render.tfvars``). For each such variable a corpus of good and bad values
goes through the config's type and through the variable's conditions, and the verdicts must be equal.
Conditions that relate two variables (``var.vpc_id`` with ``var.create_network``) are the module's
mode rules: the module's ``terraform test`` files and ``tests/test_config.py`` check those.

Terraform's side is evaluated two ways:

* In Python (always): the ``regex("...")`` literals are taken from variables.tf and run with ``re``
  (they stay in the subset RE2 and ``re`` agree on; ``test_terraform_regexes_are_portable`` checks
  that), and the rest of each condition is modelled by ``CONDITION_MODELS``, keyed by the
  condition's text: a condition nobody modelled fails the test instead of slipping by.
* By the embedded Terraform itself (``@pytest.mark.terraform``, one ``terraform console`` call),
  which shows the Python model is faithful.
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import re
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_type_hints

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from atlas_iam_tf import config as cfg
from atlas_iam_tf.config import (
    AccessCidr,
    AmiId,
    AtlasConfig,
    AvailabilityZone,
    AwsConfig,
    Cidr,
    ClusterName,
    Config,
    Environment,
    HopLimit,
    IamUserArns,
    InstanceType,
    KmsKeyArn,
    Name,
    PolicyArn,
    ProjectId,
    Region,
    RoleArns,
    Roles,
    RouteTableId,
    SsmParameter,
    SubnetId,
    Tags,
    VerifyPrincipals,
    VolumeSize,
    VpcId,
    load_config,
)
from atlas_iam_tf.render import module_dir, module_inputs, templates_dir
from atlas_iam_tf.terraform.engine import embedded_engine
from atlas_iam_tf.terraform.runner import terraform_env
from tests.conftest import CONFIGS, VARIANTS

VARIABLES_TF = (module_dir() / "variables.tf", templates_dir() / "variables.tf")
# Module inputs atlasiam's root does not pass (their defaults hold): no config field to agree with.
MODULE_ONLY = frozenset({"flow_log_retention_days", "mongodb_uri"})
# Inputs the root passes whose rules this corpus cannot carry, with the reason and where they are checked.
CHECKED_APART: dict[str, str] = {
    "workloads": (
        "a map keyed by workload name, built from a list of [[workloads]] tables with their eks keys flat, so the "
        "config's value and Terraform's differ in shape; tests/test_config.py checks the config's rules and "
        "modules/atlas-iam-access/tests/validation.tftest.hcl the module's, on the same bad combinations"
    ),
}
# Inputs the root passes whose only checks are their type or rules relating them to other inputs.
UNVALIDATED = frozenset(
    {
        "create_host",
        "create_network",
        "create_vpc_endpoints",
        "sts_endpoint",
        "flow_logs",
        "follow_latest_ami",
        "wheelhouse_dir",
    }
)

# ---------------------------------------------------------------------------------------------
# Reading variables.tf
# ---------------------------------------------------------------------------------------------

_VARIABLE_RE = re.compile(r'^variable "(?P<name>\w+)" \{\n(?P<body>.*?)^\}', re.MULTILINE | re.DOTALL)
_CONDITION_RE = re.compile(r"^ *condition *= *(?P<expr>.+)$", re.MULTILINE)
_REGEX_CALL_RE = re.compile(r'regex\("(?P<literal>(?:[^"\\]|\\.)*)",')
_HCL_ESCAPE_RE = re.compile(r'\\(["\\ntr]|u[0-9A-Fa-f]{4})')
_HCL_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}


@dataclass(frozen=True)
class Condition:
    """One validation condition: as written, with regexes and the variable abstracted, and its regexes."""

    variable: str
    expr: str
    shape: str
    regexes: tuple[str, ...]


def _hcl_unescape(literal: str) -> str:
    assert "${" not in literal.replace("$${", "") and "%{" not in literal.replace("%%{", ""), literal
    rest = _HCL_ESCAPE_RE.sub("", literal)
    assert "\\" not in rest, f"an HCL escape this test does not know: {literal}"
    return _HCL_ESCAPE_RE.sub(lambda m: _HCL_ESCAPES.get(m[1]) or chr(int(m[1][1:], 16)), literal)


def _condition(variable: str, expr: str) -> Condition:
    assert expr.count("(") == expr.count(")"), f"{variable}: a condition spread over lines: {expr}"
    regexes = tuple(_hcl_unescape(m["literal"]) for m in _REGEX_CALL_RE.finditer(expr))
    shape = _REGEX_CALL_RE.sub("regex(RE,", expr)
    shape = re.sub(rf"\bvar\.{variable}\b", "VAR", shape)
    return Condition(variable, expr, shape, regexes)


def _relates_variables(variable: str, expr: str) -> bool:
    return any(name != variable for name in re.findall(r"\bvar\.(\w+)", expr))


@cache
def terraform_conditions() -> dict[str, tuple[Condition, ...]]:
    """Each validated variable and its single-variable conditions, in file order (module-only inputs left out)."""
    out: dict[str, tuple[Condition, ...]] = {}
    for path in VARIABLES_TF:
        for var in _VARIABLE_RE.finditer(path.read_text(encoding="utf-8")):
            exprs = [m["expr"].strip() for m in _CONDITION_RE.finditer(var["body"])]
            assert var["body"].count("validation {") == len(exprs), var["name"]
            own = [e for e in exprs if not _relates_variables(var["name"], e)]
            if own and var["name"] not in MODULE_ONLY and var["name"] not in CHECKED_APART:
                out[var["name"]] = tuple(_condition(var["name"], e) for e in own)
    return out


# ---------------------------------------------------------------------------------------------
# What the conditions mean, in Python
# ---------------------------------------------------------------------------------------------

Rx = Sequence[Callable[[str], bool]]


def _cidrsubnet_is_itself(value: str) -> bool:
    """``try(cidrsubnet(v, 0, 0) == v, false)``: v parses as a CIDR and is already its network address."""
    try:
        return str(ipaddress.ip_network(value, strict=False)) == value
    except ValueError:
        return False


_ADMIN_ONLY_IN_TF = frozenset(
    {"atlasAdmin", "backup", "clusterMonitor", "dbAdminAnyDatabase", "readAnyDatabase", "readWriteAnyDatabase"}
)


def _roles_match(rx: Rx, roles: list[dict[str, Any]]) -> bool:
    return all(
        rx[0](r["role_name"])
        and rx[1](r["database_name"])
        and (r["collection_name"] is None or rx[2](r["collection_name"]))
        for r in roles
    )


def _distinct(items: list[Any]) -> bool:
    return len({json.dumps(i, sort_keys=True) for i in items}) == len(items)


# Condition text (regex literals -> RE, the variable -> VAR) -> its meaning. Edit a condition in
# variables.tf and this test fails until its meaning is written down here.
CONDITION_MODELS: dict[str, Callable[[Rx, Any], bool]] = {
    "can(regex(RE, VAR))": lambda rx, v: rx[0](v),
    "VAR == null || can(regex(RE, VAR))": lambda rx, v: v is None or rx[0](v),
    "can(regex(RE, VAR)) && try(cidrsubnet(VAR, 0, 0) == VAR, false)": lambda rx, v: (
        rx[0](v) and _cidrsubnet_is_itself(v)
    ),
    "length(VAR) <= 1011 && can(regex(RE, VAR))": lambda rx, v: len(v) <= 1011 and rx[0](v),
    "VAR >= 8 && VAR <= 1024 && floor(VAR) == VAR": lambda _, v: 8 <= v <= 1024 and math.floor(v) == v,
    "length(VAR) <= 40": lambda _, v: len(v) <= 40,
    (
        'alltrue([for k, v in VAR : can(regex(RE, k)) && can(regex(RE, v)) && !startswith(lower(k), "aws:")])'
    ): lambda rx, v: all(rx[0](k) and rx[1](x) and not k.lower().startswith("aws:") for k, x in v.items()),
    "length(VAR) >= 1 && length(VAR) <= 100": lambda _, v: 1 <= len(v) <= 100,
    (
        "alltrue([for r in VAR : can(regex(RE, r.role_name)) && can(regex(RE, r.database_name)) && "
        "(r.collection_name == null || can(regex(RE, r.collection_name)))])"
    ): _roles_match,
    (
        'alltrue([for r in VAR : r.database_name == "admin" || !contains(["atlasAdmin", "backup", '
        '"clusterMonitor", "dbAdminAnyDatabase", "readAnyDatabase", "readWriteAnyDatabase"], r.role_name)])'
    ): lambda _, v: all(r["database_name"] == "admin" or r["role_name"] not in _ADMIN_ONLY_IN_TF for r in v),
    "length(distinct(VAR)) == length(VAR)": lambda _, v: _distinct(v),
    "alltrue([for arn in VAR : can(regex(RE, arn))])": lambda rx, v: all(rx[0](a) for a in v),
    "length(VAR) <= 100 && length(distinct(VAR)) == length(VAR)": lambda _, v: len(v) <= 100 and _distinct(v),
    "alltrue([for principal in VAR : can(regex(RE, principal))])": lambda rx, v: all(rx[0](p) for p in v),
    "length(VAR) <= 10 && length(distinct(VAR)) == length(VAR)": lambda _, v: len(v) <= 10 and _distinct(v),
    'contains(["public", "private"], VAR)': lambda _, v: v in ("public", "private"),
    'contains(["managed", "scoped"], VAR)': lambda _, v: v in ("managed", "scoped"),
    "VAR == null || (can(regex(RE, VAR)) && try(cidrsubnet(VAR, 0, 0) == VAR, false))": lambda rx, v: (
        v is None or (rx[0](v) and _cidrsubnet_is_itself(v))
    ),
    "alltrue([for cidr in VAR : can(regex(RE, cidr)) && try(cidrsubnet(cidr, 0, 0) == cidr, false)])": lambda rx, v: (
        all(rx[0](c) and _cidrsubnet_is_itself(c) for c in v)
    ),
    "alltrue([for az in VAR : can(regex(RE, az))])": lambda rx, v: all(rx[0](z) for z in v),
    "alltrue([for id in VAR : can(regex(RE, id))])": lambda rx, v: all(rx[0](i) for i in v),
    "VAR >= 1 && VAR <= 64 && floor(VAR) == VAR": lambda _, v: 1 <= v <= 64 and math.floor(v) == v,
}


def _re2_in_python(regex: str) -> Callable[[str], bool]:
    """RE2's ``$`` (no multi-line flag) is the end of the text; Python's also matches before a final newline."""
    assert regex.startswith("^") and regex.endswith("$") and not regex.endswith("\\$"), regex
    compiled = re.compile(regex[:-1] + r"\Z")
    return lambda value: compiled.search(value) is not None


def terraform_model_accepts(variable: str, value: Any) -> bool:
    """Whether variables.tf accepts ``value`` for ``variable``, by the Python model of its conditions."""
    verdicts = []
    for cond in terraform_conditions()[variable]:
        model = CONDITION_MODELS.get(cond.shape)
        assert model is not None, f"variable {variable!r}: no model for condition {cond.shape!r}"
        verdicts.append(model([_re2_in_python(r) for r in cond.regexes], value))
    return all(verdicts)


# ---------------------------------------------------------------------------------------------
# The config side and the corpus
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A Terraform variable, the config field its value comes from, and values to try."""

    model: type[BaseModel]
    field_name: str
    hint: Any  # the field's annotation
    corpus: Sequence[Any]
    checked_as: Any = None  # what the value reaching Terraform is validated as, when not the hint
    adapter: TypeAdapter[Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "adapter", TypeAdapter(self.hint if self.checked_as is None else self.checked_as))

    def config_accepts(self, value: Any) -> bool:
        try:
            self.adapter.validate_python(value)
        except ValidationError:
            return False
        return True


def _strings(good: Sequence[str], bad: Sequence[str]) -> list[str]:
    """Good and bad values, plus the usual near misses of each good one."""
    near = [f(g) for g in good for f in (str.upper, lambda s: s + "\n", lambda s: " " + s, lambda s: s + "\x00")]
    return [*good, *bad, *near, "", " ", "\n"]


_REGIONS = ["us-east-1", "eu-west-3", "ap-southeast-7", "mx-central-1", "il-central-1", "ca-west-1", "af-south-1"]
_GOV_REGIONS = ["us-gov-west-1", "us-gov-east-1", "us-iso-east-1", "us-isob-east-1"]
_HEX17 = "0123456789abcdef0"


def _role(role: str, db: str, coll: str | None = None) -> dict[str, Any]:
    return {"role_name": role, "database_name": db, "collection_name": coll}


_ROLE_CORPUS: list[list[dict[str, Any]]] = [
    [],
    [_role("readWrite", "orders")],
    [_role("read", "billing", "invoices")],
    [_role("readWrite", "orders"), _role("readWrite", "orders")],
    [_role("readWrite", "orders"), _role("readWrite", "orders", "x")],
    [_role("read", f"d{i}") for i in range(100)],
    [_role("read", f"d{i}") for i in range(101)],
    *([_role(r, "orders")] for r in sorted(cfg._ADMIN_ONLY_ROLES | _ADMIN_ONLY_IN_TF)),
    *([_role(r, "admin")] for r in sorted(cfg._ADMIN_ONLY_ROLES | _ADMIN_ONLY_IN_TF)),
    *(
        [_role(name, "orders")]
        for name in ("a" * 64, "a" * 65, "read_write-2", "2read", "_read", "read.x", "read write", "<<EOF", "")
    ),
    *(
        [_role("read", db)]
        for db in ("x" * 63, "x" * 64, "$external", "a.b", "a b", "a/b", "a\\b", 'a"b', "a*b", "a|b", "a?b")
    ),
    *([_role("read", db)] for db in ("a\x1fb", "a\x00b", "a\x7fb", "é", "数据", "${var.x}", "%{ if }", "")),
    *(
        [_role("read", "orders", coll)]
        for coll in ("invoices", "_x", "a.b-c_d", "x" * 120, "x" * 121, "1abc", ".a", "a b", "a$b", "")
    ),
]

_ARN = "arn:aws:iam::123456789012:user/"
_ARN_CORPUS: list[list[str]] = [
    [],
    [_ARN + "alice"],
    [_ARN + "ci/bob"],
    [_ARN + "a/b/c/d.e+f=g,h@i_j-k"],
    [_ARN + "a" * 64],
    [_ARN + "a" * 65],
    [_ARN + "alice", _ARN + "alice"],
    [_ARN + f"u{i}" for i in range(100)],
    [_ARN + f"u{i}" for i in range(101)],
    *(
        [arn]
        for arn in (
            "arn:aws:iam::123456789012:role/alice",
            "arn:aws-us-gov:iam::123456789012:user/alice",
            "arn:aws-cn:iam::123456789012:user/alice",
            "arn:aws:iam::12345678901:user/alice",
            "arn:aws:iam::1234567890123:user/alice",
            _ARN,
            _ARN + "/alice",
            _ARN + "ci//alice",
            _ARN + "alice/",
            _ARN + "al ice",
            _ARN + "alïce",
            _ARN + "alice\n",
            "ARN:AWS:IAM::123456789012:USER/ALICE",
        )
    ),
]

_ROLE_ARN = "arn:aws:iam::123456789012:role/"
_PRINCIPAL_CORPUS: list[list[str]] = [
    [],
    [_ROLE_ARN + "ci"],
    [_ARN + "alice"],
    ["123456789012"],
    [_ROLE_ARN + "ci", _ARN + "alice", "210987654321"],
    [_ROLE_ARN + "team/ci-runner.x+y=z,w@v_u-t"],
    [_ROLE_ARN + "a" * 64],
    [_ROLE_ARN + "a" * 65],
    [_ROLE_ARN + "ci", _ROLE_ARN + "ci"],
    ["123456789012", "123456789012"],
    [f"{i:012d}" for i in range(10)],
    [f"{i:012d}" for i in range(11)],
    *(
        [p]
        for p in (
            "arn:aws:iam::123456789012:root",
            "arn:aws:sts::123456789012:assumed-role/ci/session",
            "arn:aws:iam::123456789012:instance-profile/ci",
            "arn:aws:iam::123456789012:group/ci",
            "arn:aws-cn:iam::123456789012:role/ci",
            "arn:aws:iam::12345678901:role/ci",
            "12345678901",
            "1234567890123",
            "*",
            "ec2.amazonaws.com",
            _ROLE_ARN,
            _ROLE_ARN + "/ci",
            _ROLE_ARN + "ci/",
            _ROLE_ARN + "c i",
            _ROLE_ARN + "ci\n",
            _ROLE_ARN + "*",
            "123456789012\n",
            "ARN:AWS:IAM::123456789012:ROLE/CI",
        )
    ),
]

_ROLE_ARN_CORPUS: list[list[str]] = [
    [],
    [_ROLE_ARN + "app"],
    [_ROLE_ARN + "a" * 64],
    [_ROLE_ARN + "a" * 65],
    [_ROLE_ARN + "team/app"],
    [_ROLE_ARN + "app", _ROLE_ARN + "app"],
    [_ROLE_ARN + f"r{i}" for i in range(100)],
    [_ROLE_ARN + f"r{i}" for i in range(101)],
    [_ARN + "alice"],
    ["arn:aws:sts::123456789012:assumed-role/app/s"],
    ["arn:aws-cn:iam::123456789012:role/app"],
    [_ROLE_ARN + "app\n"],
]

_TAG_CORPUS: list[dict[str, str]] = [
    {},
    {"team": "orders"},
    {"cost-center": "1234", "Name With Spaces": "a.b:c/d=e+f@g-h_i"},
    {f"k{i}": "v" for i in range(40)},
    {f"k{i}": "v" for i in range(41)},
    {"k" * 128: "v"},
    {"k" * 129: "v"},
    {"team": "v" * 256},
    {"team": "v" * 257},
    {"team": ""},
    {"": "v"},
    {"aws:cloudformation": "x"},
    {"AWS:x": "x"},
    {"aws-x": "x"},
    {"awsx:": "x"},
    {"team": "${x}"},
    {"team": "a\nb"},
    {"té": "x"},
    {"team": "é"},
    {"a,b": "x"},
]

_CIDR_CORPUS = _strings(
    ["10.42.0.0/16", "10.42.0.0/28", "192.168.1.0/24", "172.16.0.16/28", "0.0.0.0/16", "10.42.128.0/17"],
    [
        "10.42.0.0/15",
        "10.42.0.0/29",
        "10.0.0.0/8",
        "10.42.0.1/16",
        "10.42.0.8/24",
        "10.42.0.0/255.255.0.0",
        "10.42.0.0/255.255.255.0",
        "10.42.0.0",
        "010.42.0.0/16",
        "10.042.0.0/16",
        "10.42.0.0/016",
        "10.42.0.0/ 16",
        "256.0.0.0/16",
        "10.42/16",
        "10.42.0.0.0/16",
        "1.2.3.4/32",
        "fd00::/48",
        "::ffff:10.42.0.0/112",
        "10.42.0.0/16/16",
        "１0.42.0.0/16",
    ],
)

RULES: dict[str, Rule] = {
    "name": Rule(
        Config,
        "name",
        Name,
        _strings(["a", "orders", "a" + "b" * 27, "a-1-"], ["a" * 29, "1abc", "-abc", "a_b", "Abc", "aé", "a.b"]),
    ),
    "environment": Rule(
        Config,
        "environment",
        Environment,
        _strings(["dev", "prod-eu-2", "a" * 32], ["a" * 33, "Prod", "2dev", "dev_1", "../x", "{{ x }}"]),
    ),
    "tags": Rule(Config, "tags", Tags, _TAG_CORPUS),
    "region": Rule(
        AwsConfig,
        "region",
        Region,
        _strings(
            [*_REGIONS, *_GOV_REGIONS],
            [
                "cn-north-1",
                "eu-isoe-west-1",
                "us-isof-south-1",
                "us-east-0",
                "us-east-10",
                "us-eest-1",
                "xx-east-1",
                "us-east-1a",
                "us-gov-1",
                "useast-1",
                "us_east_1",
                "us-east",
                "uѕ-east-1",
                "mars-east-1",
            ],
        ),
    ),
    "instance_type": Rule(
        AwsConfig,
        "instance_type",
        InstanceType,
        _strings(
            ["t3.micro", "m7i-flex.large", "u-6tb1.56xlarge", "mac2-m2pro.metal"],
            ["t3", "t3..micro", "t3.micro.x", "3t.micro", "t3.", ".micro", "t3 micro", "t3.Micro", 't3.micro" }'],
        ),
    ),
    # vpc_cidr is null when the config names an existing VPC.
    "vpc_cidr": Rule(AwsConfig, "vpc_cidr", Cidr, [None, *_CIDR_CORPUS], checked_as=Cidr | None),
    "availability_zones": Rule(
        AwsConfig,
        "availability_zone",
        AvailabilityZone | None,
        # The root passes [availability_zone], or [] to let the module pick zones that offer the instance type.
        [
            [],
            *(
                [z]
                for z in _strings(
                    ["us-east-1a", "eu-central-2c", "ap-southeast-7z"],
                    ["us-east-1", "us-east-1ab", "us-east-1-", "us-west-2-lax-1a", "use1-az1", "xx-east-1a"],
                )
            ),
            ["us-east-1a", "us-east-1b"],
            ["us-east-1a", "us-east-1"],
        ],
        checked_as=tuple[AvailabilityZone, ...],
    ),
    "vpc_id": Rule(
        AwsConfig,
        "vpc_id",
        VpcId | None,
        [
            None,
            *_strings(
                ["vpc-01234567", "vpc-" + _HEX17],
                [
                    "vpc-0123456",
                    "vpc-012345678",
                    "vpc-0123456789abcdef",
                    "vpc-" + _HEX17 + "1",
                    "vpc-xyz",
                    "subnet-01234567",
                ],
            ),
        ],
    ),
    "subnet_ids": Rule(
        AwsConfig,
        "subnet_ids",
        tuple[SubnetId, ...],
        [
            [],
            *(
                [i]
                for i in _strings(
                    ["subnet-01234567", "subnet-" + _HEX17],
                    ["subnet-0123456", "subnet-012345678", "subnet-" + _HEX17 + "1", "vpc-01234567", "subnet-0123456g"],
                )
            ),
            ["subnet-01234567", "subnet-" + _HEX17],
            ["subnet-01234567", "subnet-0123456"],
        ],
    ),
    "route_table_ids": Rule(
        AwsConfig,
        "route_table_ids",
        tuple[RouteTableId, ...],
        [
            [],
            *([i] for i in _strings(["rtb-01234567", "rtb-" + _HEX17], ["rtb-0123456", "rtb-xyz", "subnet-01234567"])),
            ["rtb-01234567", "rtb-" + _HEX17],
        ],
    ),
    "access_list_cidrs": Rule(
        AwsConfig,
        "access_list_cidrs",
        tuple[AccessCidr, ...],
        [
            [],
            *(
                [c]
                for c in _strings(
                    ["203.0.113.7/32", "0.0.0.0/0", "10.0.0.0/8", "198.51.100.0/24"],
                    ["203.0.113.7", "203.0.113.7/33", "203.0.113.7/24", "10.0.0.0/255.0.0.0", "fd00::/8", "1.2.3/32"],
                )
            ),
            ["203.0.113.7/32", "198.51.100.0/24"],
        ],
    ),
    "network_mode": Rule(
        AwsConfig, "network_mode", Literal["public", "private"], _strings(["public", "private"], ["Public", "nat", "x"])
    ),
    "ssm_policy": Rule(
        AwsConfig, "ssm_policy", Literal["managed", "scoped"], _strings(["managed", "scoped"], ["Managed", "none", "x"])
    ),
    "ami_id": Rule(
        AwsConfig,
        "ami_id",
        AmiId | None,
        [
            None,
            *_strings(
                ["ami-01234567", "ami-" + _HEX17], ["ami-0123456", "ami-xyz", "ami-" + _HEX17 + "0", "vpc-01234567"]
            ),
        ],
    ),
    "imds_hop_limit": Rule(AwsConfig, "imds_hop_limit", HopLimit, [1, 2, 64, 0, 65, -1, 1.5, 10**9]),
    "kms_key_arn": Rule(
        AwsConfig,
        "kms_key_arn",
        KmsKeyArn | None,
        [
            None,
            *_strings(
                ["arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"],
                [
                    "arn:aws:kms:us-east-1:123456789012:alias/x",
                    "arn:aws:kms:us-east-1:12345678901:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                    "1234abcd-12ab-34cd-56ef-1234567890ab",
                    "arn:aws:kms:us-east-1:123456789012:key/1234",
                ],
            ),
        ],
    ),
    "permissions_boundary": Rule(
        AwsConfig,
        "permissions_boundary",
        PolicyArn | None,
        [
            None,
            *_strings(
                ["arn:aws:iam::123456789012:policy/boundary", "arn:aws:iam::aws:policy/ReadOnlyAccess"],
                [
                    "arn:aws:iam::123456789012:role/boundary",
                    "arn:aws:iam::123456789012:policy/",
                    "boundary",
                    "arn:aws:iam::123456789012:policy/" + "b" * 129,
                ],
            ),
        ],
    ),
    "ami_ssm_parameter": Rule(
        AwsConfig,
        "ami_ssm_parameter",
        SsmParameter,
        _strings(
            [cfg.AL2023_AMI_PARAMETER, "/a", "/a/b.c_d-e", "/" + "a" * 1010],
            ["/", "a/b", "/a b", "/" + "a" * 1011, '/x"; rm -rf /', "/a:b", "/é", "//"],
        ),
    ),
    "root_volume_size": Rule(
        AwsConfig,
        "root_volume_size",
        VolumeSize,
        # Terraform numbers do not tell 16 from 16.0 (the config refuses floats, but tfvars only carries ints).
        [8, 9, 16, 1024, 7, 1025, 0, -8, 10**12, 8.5, 1023.9, 7.99],
    ),
    "atlas_project_id": Rule(
        AtlasConfig,
        "project_id",
        ProjectId,
        _strings(
            ["0123456789abcdef01234567", "0" * 24], ["0" * 23, "0" * 25, "g" * 24, "0123456789abcdef0123456\u0430"]
        ),
    ),
    "atlas_cluster_name": Rule(
        AtlasConfig,
        "cluster_name",
        ClusterName,
        _strings(
            ["Cluster0", "a", "0", "Billing-Prod", "a" * 64, "a-"],
            ["a" * 65, "-a", "a_b", "a b", "a.b", "Clus\tter0", "{{ 7*7 }}", "Cluster\u200b0"],
        ),
    ),
    "database_roles": Rule(AtlasConfig, "roles", Roles, _ROLE_CORPUS),
    "iam_user_arns": Rule(AtlasConfig, "iam_user_arns", IamUserArns, _ARN_CORPUS),
    "role_arns": Rule(AtlasConfig, "role_arns", RoleArns, _ROLE_ARN_CORPUS),
    "verify_principals": Rule(AwsConfig, "verify_principals", VerifyPrincipals, _PRINCIPAL_CORPUS),
    # subnet_cidrs receives [aws.effective_subnet_cidr] (the configured subnet_cidr or a /24 of vpc_cidr) or [].
    "subnet_cidrs": Rule(
        AwsConfig,
        "subnet_cidr",
        Cidr | None,
        [[], *([c] for c in _CIDR_CORPUS), ["10.42.0.0/24", "10.42.1.0/24"], ["10.42.0.0/24", "10.42.1.1/24"]],
        checked_as=tuple[Cidr, ...],
    ),
}


def _cases() -> list[Any]:
    return [
        pytest.param(name, value, id=f"{name}-{i}")
        for name, rule in RULES.items()
        for i, value in enumerate(rule.corpus)
    ]


# ---------------------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------------------


def test_every_validated_variable_has_a_rule_and_every_rule_a_validation() -> None:
    validated, covered = set(terraform_conditions()), set(RULES)
    assert validated - covered == set(), "variables.tf validates these, but this test has no Rule for them"
    assert covered - validated == set(), "the config has rules for these, but variables.tf does not check them"


def test_every_value_atlasiam_passes_to_terraform_is_covered() -> None:
    configs = [load_config(CONFIGS / f"{v}.toml", environ={}) for v in VARIANTS]
    passed = {"region"} | {key for config in configs for key in module_inputs(config)}
    assert passed - UNVALIDATED - set(CHECKED_APART) == set(RULES)
    assert passed >= UNVALIDATED


@pytest.mark.parametrize("variable", sorted(RULES))
def test_rules_name_the_config_field_the_value_comes_from(variable: str) -> None:
    rule = RULES[variable]
    assert get_type_hints(rule.model, include_extras=True)[rule.field_name] == rule.hint


@pytest.mark.parametrize("variable", sorted(RULES))
def test_corpus_has_good_and_bad_values(variable: str) -> None:
    verdicts = [RULES[variable].config_accepts(v) for v in RULES[variable].corpus]
    assert verdicts.count(True) >= 2 and verdicts.count(False) >= 4, verdicts


def test_every_condition_has_a_model() -> None:
    unmodelled = [c for conds in terraform_conditions().values() for c in conds if c.shape not in CONDITION_MODELS]
    assert unmodelled == []


def test_terraform_regexes_are_the_configs_regexes() -> None:
    """One source of truth: each regex of a validated input is, character for character, one of config.py's."""
    config_regexes = {v.pattern for v in vars(cfg).values() if isinstance(v, re.Pattern)}
    in_tf = {r for conds in terraform_conditions().values() for c in conds for r in c.regexes}
    assert in_tf - config_regexes == set()


_NOT_RE2 = re.compile(r"\\[dDwWsSbBAzZ1-9pP]|\(\?")


def test_terraform_regexes_are_portable() -> None:
    """In the subset of RE2 (Terraform) and Python re that means the same: no \\d, \\w, look-arounds, ..."""
    for conds in terraform_conditions().values():
        for regex in (r for c in conds for r in c.regexes):
            assert not _NOT_RE2.search(regex), regex
            assert all(int(n) <= 1000 for n in re.findall(r"\{(?:\d+,)?(\d+)\}", regex)), f"RE2 max repeat: {regex}"
            _re2_in_python(regex)  # anchored at both ends, and compiles


@pytest.mark.parametrize(("variable", "value"), _cases())
def test_config_and_variables_tf_agree(variable: str, value: Any) -> None:
    config = RULES[variable].config_accepts(value)
    assert terraform_model_accepts(variable, value) == config, f"config {'accepts' if config else 'refuses'} it"


# ---------------------------------------------------------------------------------------------
# The same corpus through the real (embedded) Terraform
# ---------------------------------------------------------------------------------------------


def _hcl_verdicts(conditions: Mapping[str, tuple[Condition, ...]]) -> str:
    """A root module whose local.verdicts has Terraform's verdict on every corpus value."""
    lines = []
    for variable in RULES:
        conds = conditions.get(variable, ())  # none: Terraform takes any value of the type
        # A validation that fails with an error rejects the value just as a false one does.
        checks = ", ".join(f"try({_with_case_value(c)}, false)" for c in conds)
        lines.append(f'    {variable} = [for case_value in local.cases["{variable}"] : alltrue([{checks}])]')
    body = "\n".join(lines)
    return f'locals {{\n  cases = jsondecode(file("${{path.module}}/cases.json"))\n  verdicts = {{\n{body}\n  }}\n}}\n'


def _with_case_value(cond: Condition) -> str:
    return re.sub(rf"\bvar\.{cond.variable}\b", "case_value", cond.expr)


@pytest.mark.terraform
def test_terraform_itself_agrees(tmp_path: Path) -> None:
    (tmp_path / "cases.json").write_text(json.dumps({name: list(rule.corpus) for name, rule in RULES.items()}))
    (tmp_path / "main.tf").write_text(_hcl_verdicts(terraform_conditions()))
    proc = subprocess.run(
        [*embedded_engine().argv, "console"],
        input="jsonencode(local.verdicts)\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=terraform_env(os.environ),
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    verdicts = json.loads(json.loads(proc.stdout.strip()))
    mismatches = [
        (name, value, verdict)
        for name, rule in RULES.items()
        for value, verdict in zip(rule.corpus, verdicts[name], strict=True)
        if verdict != rule.config_accepts(value)
    ]
    assert mismatches == [], "(variable, value, Terraform's verdict) where the config says the opposite"
