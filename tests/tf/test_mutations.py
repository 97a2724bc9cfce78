"""Mutation test: the offline harness (real Terraform + real provider schemas) catches mistakes in the module.

Each case breaks atlasiam's rendered root in one deliberate way, nearly always in the atlas-iam-access module
it carries under modules/; `validate` or `plan` must fail, and the error must be the one that mistake causes.
The same harness plans the longest name and environment the config accepts, in two regions.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from atlas_iam_tf.config import Config, load_config
from atlas_iam_tf.errors import ConfigError, TerraformError
from atlas_iam_tf.render import TFVARS_FILE, render_module, tfvars, write_module
from atlas_iam_tf.terraform.args import build_args
from atlas_iam_tf.terraform.engine import embedded_engine
from atlas_iam_tf.terraform.runner import TerraformRunner, terraform_env
from atlasiam_sandbox.mirror import MirrorInfo
from tests.conftest import CONFIGS
from tests.tf.conftest import FAKE_CREDENTIALS

pytestmark = pytest.mark.terraform

MODULE = "modules/atlas-iam-access"

# (id, file in the rendered root, text to find, replacement, what the error must say). The module's files are
# mutated where the rendered root holds them, under modules/atlas-iam-access/.
MUTATIONS: list[tuple[str, str, str, str, str]] = [
    (
        "typo-attribute",
        f"{MODULE}/network.tf",
        "  cidr_block = local.vpc_cidr",
        "  cidr_blok = local.vpc_cidr",
        'An argument named "cidr_blok" is not expected here',
    ),
    (
        "missing-required-argument",
        f"{MODULE}/iam.tf",
        "  assume_role_policy   = data.aws_iam_policy_document.host_assume[0].json\n",
        "",
        'The argument "assume_role_policy" is required',
    ),
    (
        "wrong-type",
        f"{MODULE}/iam.tf",
        "max_session_duration = 3600",
        'max_session_duration = "an hour"',
        "Incorrect attribute value type",
    ),
    (
        "bad-resource-reference",
        f"{MODULE}/iam.tf",
        "  role       = aws_iam_role.host[0].name",
        "  role       = aws_iam_role.hots[0].name",
        "Reference to undeclared resource",
    ),
    (
        "counted-resource-without-index",
        f"{MODULE}/iam.tf",
        "  role       = aws_iam_role.host[0].name",
        "  role       = aws_iam_role.host.name",
        "Missing resource instance key",
    ),
    (
        "block-written-as-attribute",
        f"{MODULE}/host.tf",
        "  metadata_options {",
        "  metadata_options = {",
        "Unsupported argument",
    ),
    (
        "attribute-written-as-block",
        f"{MODULE}/network.tf",
        "  tags = merge(local.tags, { Name = local.name })\n}\n\n# Take",
        "  tags {\n    Name = local.name\n  }\n}\n\n# Take",
        'Blocks of type "tags" are not expected here',
    ),
    (
        "unknown-resource-type",
        f"{MODULE}/host.tf",
        'resource "aws_instance" "this"',
        'resource "aws_instanse" "this"',
        "Invalid resource type",
    ),
    (
        "unknown-attribute-reference",
        f"{MODULE}/atlas.tf",
        "username = aws_iam_role.host[0].arn",
        "username = aws_iam_role.host[0].arnn",
        "Unsupported attribute",
    ),
    (
        "too-many-blocks",
        f"{MODULE}/host.tf",
        "  root_block_device {",
        '  metadata_options {\n    http_tokens = "required"\n  }\n\n  root_block_device {',
        "Too many metadata_options blocks",
    ),
    (
        "list-index-on-2x-object",
        f"{MODULE}/atlas.tf",
        "data.mongodbatlas_advanced_cluster.this[0].connection_strings : null",
        "data.mongodbatlas_advanced_cluster.this[0].connection_strings[0] : null",
        "An object only supports looking up attributes by name",
    ),
    (
        "undeclared-variable",
        f"{MODULE}/network.tf",
        "coalesce(var.vpc_cidr,",
        "coalesce(var.vpc_cdir,",
        "Reference to undeclared input variable",
    ),
    (
        "unknown-data-attribute",
        f"{MODULE}/network.tf",
        "data.aws_ec2_instance_type_offerings.host[0].locations",
        "data.aws_ec2_instance_type_offerings.host[0].location",
        "Unsupported attribute",
    ),
    (
        "duplicate-resource",
        f"{MODULE}/iam.tf",
        'resource "aws_iam_instance_profile" "host" {',
        'resource "aws_iam_role" "host" {\n  assume_role_policy = "{}"\n}\n\n'
        'resource "aws_iam_instance_profile" "host" {',
        "Duplicate resource",
    ),
    ("unknown-block", f"{MODULE}/atlas.tf", "  scopes {", "  scope {", 'Blocks of type "scope" are not expected here'),
    (
        "variable-validation",
        "terraform.tfvars.json",
        '"name": "analytics"',
        '"name": "Analytics Team"',
        "name must match",
    ),
]


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory, mirror: MirrorInfo) -> tuple[Path, dict[str, str]]:
    """The iam_users variant rendered and `terraform init`-ed once; cases copy it."""
    base = tmp_path_factory.mktemp("mutation-base")
    write_module(render_module(load_config(CONFIGS / "iam_users.toml", environ={})), base)
    env = terraform_env(os.environ, {"TF_CLI_CONFIG_FILE": str(mirror.cli_config), **FAKE_CREDENTIALS})
    TerraformRunner(embedded_engine(), base, env).execute(build_args("init"))
    return base, env


def _first_failure(runner: TerraformRunner) -> str:
    """Run validate, then plan; return the first failure's text ('' when both pass)."""
    result = runner.execute(build_args("validate"), ok_codes=(0, 1))
    doc = json.loads(result.stdout)
    if not doc["valid"]:
        return " ".join(" ".join(f"{d.get('summary')} {d.get('detail', '')}".split()) for d in doc["diagnostics"])
    try:
        runner.execute(build_args("plan", plan_file="p.bin"))
    except TerraformError as err:
        return " ".join(err.stdout.replace("\\n", " ").split()) + " " + err.message
    return ""


def test_unbroken_module_passes(initialised: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    base, env = initialised
    work = tmp_path / "m"
    shutil.copytree(base, work, symlinks=True)
    assert _first_failure(TerraformRunner(embedded_engine(), work, env)) == ""


def test_enough_mutations() -> None:
    assert len(MUTATIONS) >= 10


@pytest.mark.parametrize(("case", "file", "find", "replace", "expect"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_mutation_is_caught(
    initialised: tuple[Path, dict[str, str]],
    tmp_path: Path,
    case: str,
    file: str,
    find: str,
    replace: str,
    expect: str,
) -> None:
    base, env = initialised
    work = tmp_path / "m"
    shutil.copytree(base, work, symlinks=True)
    target = work / file
    text = target.read_text()
    assert text.count(find) >= 1, f"{case}: the template no longer contains {find!r}"
    target.write_text(text.replace(find, replace, 1))
    failure = _first_failure(TerraformRunner(embedded_engine(), work, env))
    assert failure, f"{case}: Terraform accepted the broken module"
    assert expect in failure, failure


def _config_text(name: str, environment: str, region: str) -> str:
    """iam_users.toml (flow logs on, so the longest IAM name, the flow-logs role, is there) with these values."""
    text = (CONFIGS / "iam_users.toml").read_text()
    assert "flow_logs = true" in text
    for key, value in (("name", name), ("environment", environment), ("region", region)):
        text, count = re.subn(rf'^{key} = "[^"]*"$', f'{key} = "{value}"', text, count=1, flags=re.MULTILINE)
        assert count == 1, key
    return text


def _load(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "atlasiam.toml"
    path.write_text(text)
    return load_config(path, environ={})


def _planned_iam_names(base: Path, env: dict[str, str], work: Path, config: Config) -> dict[str, str]:
    """Plan ``config`` in a copy of the initialised root: address -> name of every IAM role and instance profile."""
    shutil.copytree(base, work, symlinks=True)
    (work / TFVARS_FILE).write_text(json.dumps(tfvars(config), indent=2, sort_keys=True) + "\n")
    runner = TerraformRunner(embedded_engine(), work, env)
    runner.execute(build_args("plan", plan_file="p.bin"))  # the stand-ins refuse an IAM name over 64, as AWS does
    plan = json.loads(runner.execute(build_args("show", plan_file="p.bin")).stdout)
    return {
        rc["address"]: rc["change"]["after"]["name"]
        for rc in plan["resource_changes"]
        if rc["type"] in ("aws_iam_role", "aws_iam_instance_profile")
    }


def test_longest_name_and_environment_plan_with_iam_names_within_64_and_distinct_per_region(
    initialised: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    base, env = initialised
    name, environment = "n" * 28, "e" * 32
    # The longest the config accepts: one character more is refused, for each.
    for longer in (
        _config_text(name + "n", environment, "us-west-2"),
        _config_text(name, environment + "e", "us-west-2"),
    ):
        with pytest.raises(ConfigError, match="must match"):
            _load(tmp_path, longer)

    planned = {
        region: _planned_iam_names(
            base, env, tmp_path / region, _load(tmp_path, _config_text(name, environment, region))
        )
        for region in ("us-west-2", "eu-west-1")
    }
    for region, names in planned.items():
        digest = hashlib.sha256(f"{name}/{environment}/{region}".encode()).hexdigest()[:8]
        readable = f"{name}-{environment}"[:44]
        assert names == {
            "module.atlasiam.aws_iam_role.host[0]": f"{readable}-{digest}-host",
            "module.atlasiam.aws_iam_instance_profile.host[0]": f"{readable}-{digest}-host",
            "module.atlasiam.aws_iam_role.flow_logs[0]": f"{readable}-{digest}-flow-logs",
        }
        assert all(len(iam_name) <= 64 for iam_name in names.values()), names
    # IAM is global: the same name and environment in two regions must not collide (EntityAlreadyExists).
    assert not set(planned["us-west-2"].values()) & set(planned["eu-west-1"].values()), planned
