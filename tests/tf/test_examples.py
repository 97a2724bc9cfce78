"""examples/: each a root of its own that calls the module, and each inits, validates and plans against the stand-ins.

Every example is copied with modules/ beside it into a temporary tree (so its `../../modules/atlas-iam-access`
source resolves as in the repository), then planned with the embedded Terraform and the stand-in mirror; the
plan (`terraform show -json`) must hold what the example is there to show. Static checks on the HCL (python-hcl2)
keep the module a reusable child: no provider or backend block, no dead variable, and no example passing an
input the module does not declare.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import hcl2
import pytest

from atlas_iam_tf.terraform.engine import embedded_engine
from atlas_iam_tf.terraform.runner import TerraformRunner, terraform_env
from atlasiam_sandbox.mirror import MirrorInfo
from tests.tf.conftest import FAKE_CREDENTIALS, iam_name

pytestmark = pytest.mark.terraform

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
MODULE = ROOT / "modules" / "atlas-iam-access"
MODULE_SOURCE = "../../modules/atlas-iam-access"
NAMES = ("public", "private", "existing-vpc", "for-each", "existing-roles", "workloads")
WHEEL = "pymongo-4.20.1-py3-none-any.whl"
# What the module tags everything with besides var.tags (main.tf's local.tags).
MODULE_OWN_TAGS = ("atlasiam:name", "atlasiam:environment", "managed-by")
_VAR_REF = re.compile(r"\bvar\.([A-Za-z_][A-Za-z0-9_-]*)")


def _unquote(key: str) -> str:
    """python-hcl2 keeps the quotes of block labels and string values: '"aws"' -> 'aws'."""
    return key[1:-1] if len(key) >= 2 and key[0] == key[-1] == '"' else key


def _hcl(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        doc: dict[str, Any] = hcl2.load(handle)
    return doc


def _blocks(directory: Path, kind: str) -> dict[str, dict[str, Any]]:
    """Label -> body of every top-level `kind` block (provider, module, variable, ...) in a directory's .tf files."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.tf")):
        for block in _hcl(path).get(kind, []):
            for label, body in block.items():
                found[_unquote(label)] = body
    return found


# --- plans --------------------------------------------------------------------------------------------------


class Planned:
    """One example, initialized, validated and planned: its plan as `terraform show -json` prints it."""

    def __init__(self, workdir: Path, plan: dict[str, Any]) -> None:
        self.workdir = workdir
        self.plan = plan

    def changes(self, type_: str | None = None) -> dict[str, dict[str, Any]]:
        """Address -> planned values (`after`) of every managed resource to create, of one type if given."""
        return {
            rc["address"]: rc["change"]["after"]
            for rc in self.plan["resource_changes"]
            if rc["mode"] == "managed"
            and (type_ is None or rc["type"] == type_)
            and rc["change"]["actions"] == ["create"]
        }

    def types(self) -> set[str]:
        return {rc["type"] for rc in self.plan["resource_changes"] if rc["mode"] == "managed"}

    def default_tags(self) -> dict[str, str]:
        """The caller's aws provider default_tags, from the plan's configuration (constant in every example)."""
        aws = self.plan["configuration"]["provider_config"]["aws"]["expressions"]
        tags: dict[str, str] = aws["default_tags"][0]["tags"]["constant_value"]
        return tags


def _plan_example(name: str, base: Path, mirror: MirrorInfo) -> Planned:
    tree = base / name
    shutil.copytree(MODULE, tree / "modules" / MODULE.name, ignore=shutil.ignore_patterns("tests", ".terraform*"))
    workdir = tree / "examples" / name
    shutil.copytree(EXAMPLES / name, workdir, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    args: list[str] = []
    if name == "private":
        # The host has no internet: the module uploads the wheels of this directory (one placeholder suffices).
        wheels = tree / "wheels"
        wheels.mkdir()
        (wheels / WHEEL).write_bytes(b"")
        args = ["-var", f"wheelhouse_dir={wheels}"]
    env = terraform_env(os.environ, {"TF_CLI_CONFIG_FILE": str(mirror.cli_config), **FAKE_CREDENTIALS})
    runner = TerraformRunner(embedded_engine(), workdir, env)
    runner.execute(["init", "-input=false", "-no-color"])
    validated = runner.execute(["validate", "-no-color"], ok_codes=(0, 1))
    assert validated.returncode == 0, f"{name}: terraform validate\n{validated.stdout}\n{validated.stderr}"
    planned = runner.execute(["plan", "-input=false", "-no-color", "-out=plan.bin", *args], ok_codes=(0, 1))
    assert planned.returncode == 0, f"{name}: terraform plan\n{planned.stdout}\n{planned.stderr}"
    shown = runner.execute(["show", "-json", "-no-color", "plan.bin"])
    return Planned(workdir, json.loads(shown.stdout))


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory, mirror: MirrorInfo) -> dict[str, Planned]:
    """Every example planned once (a few seconds each)."""
    base = tmp_path_factory.mktemp("examples")
    return {name: _plan_example(name, base, mirror) for name in NAMES}


def test_the_examples_are_the_documented_ones() -> None:
    assert sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir()) == sorted(NAMES)
    assert (EXAMPLES / "atlasiam.toml").is_file()  # the demo's config stays where `make demo` reads it


@pytest.mark.parametrize("name", NAMES)
def test_example_is_a_root_with_its_own_providers(name: str) -> None:
    example = EXAMPLES / name
    assert (example / "README.md").is_file()
    terraform = [b for path in sorted(example.glob("*.tf")) for b in _hcl(path).get("terraform", [])]
    assert len(terraform) == 1, f"{name}: one terraform block"
    assert _unquote(terraform[0]["required_version"]) == ">= 1.10"
    required = {_unquote(k): v for k, v in terraform[0]["required_providers"][0].items() if k != "__is_block__"}
    assert {k: _unquote(v["source"]) for k, v in required.items()} == {
        "aws": "hashicorp/aws",
        "mongodbatlas": "mongodb/mongodbatlas",
    }
    providers = _blocks(example, "provider")
    assert set(providers) == {"aws", "mongodbatlas"}, f"{name}: its own provider blocks"
    assert providers["aws"]["region"] == "${var.region}"
    assert providers["aws"]["default_tags"], f"{name}: the caller's default_tags"
    modules = _blocks(example, "module")
    assert [_unquote(m["source"]) for m in modules.values()] == [MODULE_SOURCE]


def test_examples_are_fmt_clean() -> None:
    runner = TerraformRunner(embedded_engine(), EXAMPLES, terraform_env(os.environ, {}))
    result = runner.execute(["fmt", "-check", "-diff", "-recursive", "-no-color"], ok_codes=(0, 3))
    assert result.returncode == 0, f"not terraform fmt clean (run terraform fmt -recursive examples):\n{result.stdout}"


@pytest.mark.parametrize("name", NAMES)
def test_example_plans(planned: dict[str, Planned], name: str) -> None:
    example = planned[name]
    assert example.changes(), f"{name}: the plan creates nothing"
    # Everything comes from the one module call: the example itself declares no resource.
    assert all(rc["address"].startswith("module.") for rc in example.plan["resource_changes"])


def test_public_example(planned: dict[str, Planned]) -> None:
    example = planned["public"]
    [instance] = example.changes("aws_instance").values()
    assert instance["associate_public_ip_address"] is True
    assert len(example.changes("aws_internet_gateway")) == 1
    assert len(example.changes("mongodbatlas_project_ip_access_list")) == 1  # the host's IP
    [user] = example.changes("mongodbatlas_database_user").values()
    assert user["aws_iam_type"] == "ROLE" and user["auth_database_name"] == "$external"
    assert not example.types() & {"aws_vpc_endpoint", "mongodbatlas_privatelink_endpoint", "aws_s3_bucket"}


def test_private_example(planned: dict[str, Planned]) -> None:
    example = planned["private"]
    endpoints = example.changes("aws_vpc_endpoint")
    interface = {
        address: values
        for address, values in endpoints.items()
        if values["vpc_endpoint_type"] == "Interface" and values.get("private_dns_enabled") is True
    }
    assert {values["service_name"] for values in interface.values()} == {
        "com.amazonaws.eu-west-1.ssm",
        "com.amazonaws.eu-west-1.ssmmessages",
        "com.amazonaws.eu-west-1.ec2messages",
    }
    [s3] = [v for v in endpoints.values() if v["vpc_endpoint_type"] == "Gateway"]
    assert s3["service_name"] == "com.amazonaws.eu-west-1.s3"
    # Atlas PrivateLink: Atlas's endpoint service, the interface endpoint to it (no private DNS), Atlas accepting it.
    [atlas] = [v for a, v in endpoints.items() if a.startswith("module.atlasiam.aws_vpc_endpoint.atlas")]
    assert atlas["vpc_endpoint_type"] == "Interface" and not atlas.get("private_dns_enabled")
    [privatelink] = example.changes("mongodbatlas_privatelink_endpoint").values()
    assert privatelink["provider_name"] == "AWS" and privatelink["region"] == "eu-west-1"
    assert len(example.changes("mongodbatlas_privatelink_endpoint_service")) == 1
    [instance] = example.changes("aws_instance").values()
    assert instance["associate_public_ip_address"] is False
    # No way out but the endpoints: no internet gateway, no route to one, nothing on the IP access list.
    assert not example.types() & {"aws_internet_gateway", "aws_route", "mongodbatlas_project_ip_access_list"}
    assert len(example.changes("aws_subnet")) == 2
    [wheel] = example.changes("aws_s3_object").values()
    assert wheel["key"] == f"wheels/{WHEEL}"


def test_existing_vpc_example(planned: dict[str, Planned]) -> None:
    example = planned["existing-vpc"]
    assert not example.types() & {"aws_vpc", "aws_subnet", "aws_internet_gateway", "aws_route_table"}
    [instance] = example.changes("aws_instance").values()
    assert instance["subnet_id"] == "subnet-0a1b2c3d4e5f60718"
    assert instance["associate_public_ip_address"] is False  # behind NAT: the access list names the NAT
    [entry] = example.changes("mongodbatlas_project_ip_access_list").values()
    assert entry["cidr_block"] == "203.0.113.7/32"
    [group] = example.changes("aws_security_group").values()
    assert group["vpc_id"] == "vpc-0a1b2c3d4e5f60718"


def test_existing_roles_example(planned: dict[str, Planned]) -> None:
    example = planned["existing-roles"]
    assert {t for t in example.types() if t.startswith("aws_")} == set()  # no host, no network: nothing on AWS
    assert not example.types() & {"mongodbatlas_project_ip_access_list"}
    users = example.changes("mongodbatlas_database_user").values()
    assert sorted((u["username"], u["aws_iam_type"]) for u in users) == [
        ("arn:aws:iam::123456789012:role/orders-api", "ROLE"),
        ("arn:aws:iam::123456789012:role/orders-worker", "ROLE"),
    ]


# What the stand-ins answer for aws_caller_identity and aws_region (the example's default region).
ACCOUNT = "123456789012"
REGION = "us-east-1"
OIDC_ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
OIDC_PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{OIDC_ISSUER}"
WL = "module.atlasiam."
ECS_TRUST = {
    "Effect": "Allow",
    "Action": ["sts:AssumeRole"],
    "Principal": {"Service": ["ecs-tasks.amazonaws.com"]},
    "Condition": {
        "StringEquals": {"aws:SourceAccount": [ACCOUNT]},
        "ArnLike": {"aws:SourceArn": [f"arn:aws:ecs:{REGION}:{ACCOUNT}:*"]},
    },
}
# Each created workload role's trust policy, exactly (values as lists: IAM takes one value or a list alike).
WORKLOAD_TRUST = {
    "api": {
        "Sid": "LambdaAssumeRole",
        "Effect": "Allow",
        "Action": ["sts:AssumeRole"],
        "Principal": {"Service": ["lambda.amazonaws.com"]},
        "Condition": {"StringEquals": {"aws:SourceAccount": [ACCOUNT]}},
    },
    "worker": {"Sid": "EcsTasksAssumeRole", **ECS_TRUST},
    "web": {
        "Sid": "EksPodIdentityAssumeRole",
        "Effect": "Allow",
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Principal": {"Service": ["pods.eks.amazonaws.com"]},
    },
    "search": {
        "Sid": "EksIrsaAssumeRole",
        "Effect": "Allow",
        "Action": ["sts:AssumeRoleWithWebIdentity"],
        "Principal": {"Federated": [OIDC_PROVIDER]},
        "Condition": {
            "StringEquals": {
                f"{OIDC_ISSUER}:sub": ["system:serviceaccount:orders:search"],
                f"{OIDC_ISSUER}:aud": ["sts.amazonaws.com"],
            }
        },
    },
}
BROUGHT_ROLE = f"arn:aws:iam::{ACCOUNT}:role/orders-reports"


def _as_list(value: Any) -> list[Any]:
    """One IAM policy value or a list of them, as a sorted list."""
    return sorted(value) if isinstance(value, list) else [value]


def _statements(policy_json: str) -> list[dict[str, Any]]:
    """A policy document's statements, every value as a sorted list, so that two renderings compare equal."""
    doc = json.loads(policy_json)
    assert doc["Version"] == "2012-10-17", doc
    assert set(doc) == {"Version", "Statement"}, doc
    out = []
    for stmt in doc["Statement"]:
        norm = dict(stmt)
        for key in ("Action", "Resource"):
            if key in norm:
                norm[key] = _as_list(norm[key])
        if "Principal" in norm:
            norm["Principal"] = {kind: _as_list(ids) for kind, ids in norm["Principal"].items()}
        if "Condition" in norm:
            norm["Condition"] = {
                test: {key: _as_list(values) for key, values in keys.items()}
                for test, keys in norm["Condition"].items()
            }
        out.append(norm)
    return out


def _data_sources(example: Planned, type_: str) -> dict[str, dict[str, Any]]:
    """Address -> values of the module's data sources of one type that the plan read (prior_state)."""
    modules = example.plan["prior_state"]["values"]["root_module"].get("child_modules", [])
    return {r["address"]: r["values"] for m in modules for r in m["resources"] if r["type"] == type_}


def _module_resource_config(example: Planned, address: str) -> dict[str, Any]:
    """The module's configuration of one resource or data source (its expressions' references), by address."""
    module = example.plan["configuration"]["root_module"]["module_calls"]["atlasiam"]["module"]
    found: list[dict[str, Any]] = [r for r in module["resources"] if r["address"] == address]
    [config] = found
    return config


def test_workloads_example_trust_policies(planned: dict[str, Planned]) -> None:
    example = planned["workloads"]
    roles = example.changes("aws_iam_role")
    assert sorted(roles) == sorted(
        [f'{WL}aws_iam_role.workload["{key}"]' for key in WORKLOAD_TRUST]
        + [f"{WL}aws_iam_role.ecs_verify_execution[0]"]
    ), "one role per created workload and verify's ECS execution role; none for the brought role"
    documents = _data_sources(example, "aws_iam_policy_document")
    for key, expected in WORKLOAD_TRUST.items():
        role = roles[f'{WL}aws_iam_role.workload["{key}"]']
        assert role["name"] == f"{iam_name('orders', 'prod', REGION)}-{key}"
        assert role["path"] == "/", f"{key}: STS session ARNs drop the path"
        assert role["tags"]["atlasiam:workload"] == key
        policy = role["assume_role_policy"]
        assert _statements(policy) == [expected], f"{key}: trust policy\n{policy}"
        # The role carries the trust policy data source the plan read, as the stand-in rendered it.
        assert documents[f'{WL}data.aws_iam_policy_document.workload_assume["{key}"]']["json"] == policy

    execution = roles[f"{WL}aws_iam_role.ecs_verify_execution[0]"]
    assert execution["name"] == f"{iam_name('orders', 'prod', REGION)}-ecs-exec"
    assert _statements(execution["assume_role_policy"]) == [ECS_TRUST]


def test_workloads_example_what_each_kind_gets(planned: dict[str, Planned]) -> None:
    example = planned["workloads"]
    assert example.types() == {
        "aws_iam_role",
        "aws_iam_role_policy_attachment",
        "aws_eks_pod_identity_association",
        "aws_cloudwatch_log_group",
        "aws_iam_role_policy",
        "mongodbatlas_database_user",
        "mongodbatlas_project_ip_access_list",
    }, "no host and no network: no aws_instance, VPC, subnet or security group"
    roles = example.changes("aws_iam_role")

    # Lambda in a VPC: the managed policy that lets it manage its network interfaces, for the created role only.
    [(address, attachment)] = example.changes("aws_iam_role_policy_attachment").items()
    assert address == f'{WL}aws_iam_role_policy_attachment.workload_lambda["api"]'
    assert attachment == {
        "policy_arn": "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
        "role": roles[f'{WL}aws_iam_role.workload["api"]']["name"],
    }

    # Pod Identity: the association binds the web role to one service account. Its role_arn is the role's ARN,
    # known after apply: the plan shows it unknown, and the configuration takes it from aws_iam_role.workload[key].
    [(address, association)] = example.changes("aws_eks_pod_identity_association").items()
    assert address == f'{WL}aws_eks_pod_identity_association.workload["web"]'
    assert {k: association[k] for k in ("cluster_name", "namespace", "service_account")} == {
        "cluster_name": "prod",
        "namespace": "orders",
        "service_account": "web",
    }
    [change] = [rc for rc in example.plan["resource_changes"] if rc["address"] == address]
    assert change["change"]["after_unknown"]["role_arn"] is True
    config = _module_resource_config(example, "aws_eks_pod_identity_association.workload")
    assert config["expressions"]["role_arn"]["references"] == ["aws_iam_role.workload", "each.key"]

    # ECS: verify's log group, and its execution role's inline policy: logs only, on that log group. The log
    # group's ARN is known after apply, so the plan holds the statement with that one resource unknown and the
    # configuration names where it comes from; the module's HCL adds ":*" (its log streams).
    [group] = example.changes("aws_cloudwatch_log_group").values()
    assert group["name"] == "/atlasiam/orders-prod/verify" and group["retention_in_days"] == 30
    [inline] = example.changes("aws_iam_role_policy").values()
    assert inline["name"] == "atlasiam-verify-logs"
    inline_config = _module_resource_config(example, "aws_iam_role_policy.ecs_verify_execution")["expressions"]
    assert inline_config["role"]["references"][0] == "aws_iam_role.ecs_verify_execution[0].id"
    assert inline_config["policy"]["references"][0] == "data.aws_iam_policy_document.ecs_verify_execution[0].json"
    [read] = [
        rc["change"]
        for rc in example.plan["resource_changes"]
        if rc["address"] == f"{WL}data.aws_iam_policy_document.ecs_verify_execution[0]"
    ]
    [statement] = read["after"]["statement"]
    assert sorted(statement["actions"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statement["effect"] in (None, "Allow") and statement["resources"] == [None]
    assert read["after_unknown"]["statement"][0]["resources"] == [True]
    assert not statement["principals"] and not statement["condition"] and not statement["not_actions"]
    logs_config = _module_resource_config(example, "data.aws_iam_policy_document.ecs_verify_execution")
    [statement_config] = logs_config["expressions"]["statement"]
    assert statement_config["resources"]["references"][0] == "aws_cloudwatch_log_group.ecs_verify[0].arn"
    [logs_hcl] = [
        body
        for block in _hcl(MODULE / "workloads.tf")["data"]
        for label, documents in block.items()
        if _unquote(label) == "aws_iam_policy_document"
        for name, body in documents.items()
        if _unquote(name) == "ecs_verify_execution"
    ]
    resources = [[_unquote(r) for r in s["resources"]] for s in logs_hcl["statement"]]
    assert resources == [["${aws_cloudwatch_log_group.ecs_verify[0].arn}:*"]]

    # The Lambda's egress address on the Atlas access list, once.
    [entry] = example.changes("mongodbatlas_project_ip_access_list").values()
    assert entry["cidr_block"] == "198.51.100.7/32"

    # A ROLE database user per workload, the brought role's included (the others' usernames are their roles'
    # ARNs, known after apply).
    users = example.changes("mongodbatlas_database_user")
    keys = ["api", "reports", "search", "web", "worker"]
    assert sorted(users) == [f'{WL}mongodbatlas_database_user.this["workload:{key}"]' for key in keys]
    for address, user in users.items():
        assert (user["aws_iam_type"], user["auth_database_name"]) == ("ROLE", "$external"), address
    assert users[f'{WL}mongodbatlas_database_user.this["workload:reports"]']["username"] == BROUGHT_ROLE
    workloads = example.plan["output_changes"]["workloads"]
    assert workloads["after"]["reports"] == {"kind": "lambda", "role_arn": BROUGHT_ROLE}
    for key in WORKLOAD_TRUST:
        assert workloads["after_unknown"][key] == {"role_arn": True}, f"{key}: its created role's ARN"


def _tagged_types(example: Planned) -> set[str]:
    """AWS resource types whose schema has `tags_all` (the provider merges default_tags into it)."""
    env = terraform_env(os.environ, {})
    shown = TerraformRunner(embedded_engine(), example.workdir, env).execute(["providers", "schema", "-json"])
    schemas = json.loads(shown.stdout)["provider_schemas"]["registry.terraform.io/hashicorp/aws"]["resource_schemas"]
    return {type_ for type_, schema in schemas.items() if "tags_all" in schema["block"]["attributes"]}


def test_for_each_example_two_apps_each_tagged_by_caller_and_module(planned: dict[str, Planned]) -> None:
    example = planned["for-each"]
    instances = example.changes("aws_instance")
    assert sorted(instances) == [
        'module.app["billing"].aws_instance.this[0]',
        'module.app["orders"].aws_instance.this[0]',
    ]
    roles = example.changes("aws_iam_role")
    assert len({r["name"] for r in roles.values()}) == 2, "each app its own IAM role name"
    assert {r["name"].split("-")[0] for r in roles.values()} == {"orders", "billing"}

    default_tags = example.default_tags()
    assert default_tags == {"team": "platform", "cost-center": "cc-1234"}
    # Every AWS resource type with `tags_all` (the aws provider plans it as default_tags under the resource's
    # tags): it must hold the caller's default_tags, the module's var.tags and its own tags.
    tagged = _tagged_types(example)
    resources = [rc for rc in example.plan["resource_changes"] if rc["mode"] == "managed"]
    checked = 0
    for rc in resources:
        if rc["type"] not in tagged:
            continue
        app = rc["module_address"].split('"')[1]
        tags = rc["change"]["after"].get("tags") or {}
        assert tags.get("app") == app, f"{rc['address']}: the module's var.tags, got {tags}"
        assert all(tags.get(key) for key in MODULE_OWN_TAGS), f"{rc['address']}: the module's own tags, got {tags}"
        assert tags["atlasiam:name"] == app
        # Nothing the module sets overrides the caller's default tags in tags_all.
        assert not set(tags) & set(default_tags), f"{rc['address']}: overrides default_tags"
        tags_all = rc["change"]["after"].get("tags_all")
        assert tags_all == default_tags | tags, f"{rc['address']}: tags_all {tags_all}"
        checked += 1
    assert checked >= 20, f"only {checked} tagged AWS resources in the plan"
    # The aws provider the module's resources use is the caller's: the module has none of its own.
    assert [k for k in example.plan["configuration"]["provider_config"] if k.endswith(":aws")] == []

    # Per app: instance_id and role_arn are known after apply only; the map's shape and the rest show in the plan.
    apps = example.plan["output_changes"]["apps"]
    assert sorted(apps["after"]) == ["billing", "orders"]
    for app in ("orders", "billing"):
        fields = set(apps["after"][app]) | set(apps["after_unknown"].get(app, {}))
        assert fields == {"instance_id", "role_arn", "mongodb_uri", "region"}, fields
        assert apps["after"][app]["region"] == "us-east-1"
        assert apps["after"][app]["mongodb_uri"].startswith("mongodb+srv://")


# --- static checks on the HCL ---------------------------------------------------------------------------------


def test_module_has_no_provider_or_backend_block() -> None:
    files = sorted(MODULE.glob("*.tf"))
    assert len(files) >= 5
    for path in files:
        doc = _hcl(path)
        assert "provider" not in doc, f"{path.name}: a provider block makes the module unusable with for_each"
        for terraform in doc.get("terraform", []):
            assert not set(terraform) & {"backend", "cloud"}, f"{path.name}: a child module's backend is ignored"
            assert {"required_providers", "required_version"} <= set(terraform), f"{path.name}: {sorted(terraform)}"


def test_no_module_variable_is_dead() -> None:
    variables = _blocks(MODULE, "variable")
    assert len(variables) >= 30
    # Only references outside every variable block count: a variable that only another variable's validation
    # reads changes nothing the module creates.
    used: set[str] = set()
    for path in sorted(MODULE.glob("*.tf")):
        for kind, blocks in _hcl(path).items():
            if kind != "variable":
                used |= set(_VAR_REF.findall(json.dumps(blocks)))
    for path in sorted(MODULE.glob("*.tftpl")):
        used |= set(_VAR_REF.findall(path.read_text(encoding="utf-8")))
    dead = sorted(set(variables) - used)
    assert dead == [], f"module variables nothing uses: {dead}"


@pytest.mark.parametrize("name", NAMES)
def test_example_passes_only_declared_inputs(name: str) -> None:
    declared = set(_blocks(MODULE, "variable"))
    required = {k for k, v in _blocks(MODULE, "variable").items() if "default" not in v}
    # python-hcl2's own keys: __comments__ for comments between arguments, __inline_comments__ for those inside an
    # expression (the workloads example's map).
    hcl2_keys = {"__is_block__", "__comments__", "__inline_comments__"}
    meta = {"source", "for_each", "count", "depends_on", "providers", "version", *hcl2_keys}
    for label, call in _blocks(EXAMPLES / name, "module").items():
        inputs = set(call) - meta
        assert inputs <= declared, f"{name}: module {label} passes undeclared {sorted(inputs - declared)}"
        assert required <= inputs, f"{name}: module {label} misses {sorted(required - inputs)}"
