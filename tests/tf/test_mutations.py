"""Mutation test: the offline harness (real Terraform + real provider schemas) catches template mistakes.

Each case breaks the rendered module in one deliberate way; `validate` or `plan` must fail, and the
error must be the one that mistake causes.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from atlas_iam_tf.config import load_config
from atlas_iam_tf.errors import TerraformError
from atlas_iam_tf.render import render_module, write_module
from atlas_iam_tf.terraform.args import build_args
from atlas_iam_tf.terraform.engine import embedded_engine
from atlas_iam_tf.terraform.runner import TerraformRunner, terraform_env
from atlasiam_sandbox.mirror import MirrorInfo
from tests.conftest import CONFIGS
from tests.tf.conftest import FAKE_CREDENTIALS

pytestmark = pytest.mark.terraform

# (id, file, text to find, replacement, what the error must say)
MUTATIONS: list[tuple[str, str, str, str, str]] = [
    (
        "typo-attribute",
        "main.tf",
        "  cidr_block           = var.vpc_cidr",
        "  cidr_blok = var.vpc_cidr",
        'An argument named "cidr_blok" is not expected here',
    ),
    (
        "missing-required-argument",
        "iam.tf",
        "  assume_role_policy   = data.aws_iam_policy_document.assume.json\n",
        "",
        'The argument "assume_role_policy" is required',
    ),
    (
        "wrong-type",
        "iam.tf",
        "max_session_duration = 3600",
        'max_session_duration = "an hour"',
        "Incorrect attribute value type",
    ),
    (
        "bad-resource-reference",
        "iam.tf",
        "  role = aws_iam_role.this.name",
        "  role = aws_iam_role.thiss.name",
        "Reference to undeclared resource",
    ),
    (
        "block-written-as-attribute",
        "host.tf",
        "  metadata_options {",
        "  metadata_options = {",
        "Unsupported argument",
    ),
    (
        "attribute-written-as-block",
        "main.tf",
        "  tags = { Name = local.name }\n}\n\n# Take",
        "  tags {\n    Name = local.name\n  }\n}\n\n# Take",
        'Blocks of type "tags" are not expected here',
    ),
    (
        "unknown-resource-type",
        "host.tf",
        'resource "aws_instance" "this"',
        'resource "aws_instanse" "this"',
        "Invalid resource type",
    ),
    (
        "unknown-attribute-reference",
        "outputs.tf",
        "value       = aws_iam_role.this.arn",
        "value       = aws_iam_role.this.arnn",
        "Unsupported attribute",
    ),
    (
        "too-many-blocks",
        "host.tf",
        "  root_block_device {",
        '  metadata_options {\n    http_tokens = "required"\n  }\n\n  root_block_device {',
        "Too many metadata_options blocks",
    ),
    (
        "list-index-on-2x-object",
        "outputs.tf",
        "connection_strings.standard_srv",
        "connection_strings[0].standard_srv",
        "An object only supports looking up attributes by name",
    ),
    (
        "undeclared-variable",
        "main.tf",
        "cidr_block           = var.vpc_cidr",
        "cidr_block           = var.vpc_cdir",
        "Reference to undeclared input variable",
    ),
    (
        "unknown-data-attribute",
        "host.tf",
        "data.aws_ssm_parameter.ami.insecure_value",
        "data.aws_ssm_parameter.ami.image_id",
        "Unsupported attribute",
    ),
    (
        "duplicate-resource",
        "iam.tf",
        'resource "aws_iam_instance_profile" "this" {',
        'resource "aws_iam_role" "this" {\n  assume_role_policy = "{}"\n}\n\n'
        'resource "aws_iam_instance_profile" "this" {',
        "Duplicate resource",
    ),
    ("unknown-block", "atlas.tf", "  scopes {", "  scope {", 'Blocks of type "scope" are not expected here'),
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


def test_a_role_name_over_64_is_stopped_at_plan(initialised: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    """The module's own check, for callers that bypass atlasiam's config: each variable is valid alone."""
    base, env = initialised
    work = tmp_path / "m"
    shutil.copytree(base, work, symlinks=True)
    tfvars = work / "terraform.tfvars.json"
    values = json.loads(tfvars.read_text()) | {"name": "n" * 28, "environment": "e" * 32}  # each at its limit
    tfvars.write_text(json.dumps(values))
    failure = _first_failure(TerraformRunner(embedded_engine(), work, env))
    assert f"IAM role name {'n' * 28}-{'e' * 32}-host longer than IAM's 64 characters" in failure
