"""Config loading: valid variants load; malformed input exits 2, names the field, writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from atlas_iam_tf.cli import main
from atlas_iam_tf.config import load_config, parse_config
from atlas_iam_tf.config_file import parse_toml_bytes, read_config_bytes
from atlas_iam_tf.errors import ConfigError, ConfigNotFoundError
from tests.conftest import CONFIGS, VARIANTS, write_config

BASE = (CONFIGS / "new_vpc.toml").read_text()


def _sub(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


# (id, config text, the field the error must name)
MALFORMED: list[tuple[str, str, str]] = [
    ("uppercase-name", _sub('name = "orders"', 'name = "Orders"'), "name:"),
    ("name-too-long", _sub('name = "orders"', 'name = "' + "a" * 29 + '"'), "name:"),
    ("name-interpolation", _sub('name = "orders"', 'name = "a${var.x}"'), "name:"),
    ("name-quote", _sub('name = "orders"', 'name = "a\\"b"'), "name:"),
    ("name-newline", _sub('name = "orders"', 'name = "a\\nb"'), "name:"),
    ("name-not-string", _sub('name = "orders"', "name = 42"), "name:"),
    ("bad-region", _sub('region = "us-east-1"', 'region = "mars-east-1"'), "aws.region:"),
    (
        "project-id-23-hex",
        _sub('"0123456789abcdef01234567"', '"0123456789abcdef0123456"'),
        "atlas.project_id:",
    ),
    (
        "project-id-upper",
        _sub('"0123456789abcdef01234567"', '"0123456789ABCDEF01234567"'),
        "atlas.project_id:",
    ),
    ("cidr-host-bits", _sub('"10.42.0.0/16"', '"10.42.0.1/16"'), "aws.vpc_cidr:"),
    ("cidr-prefix-33", _sub('"10.42.0.0/16"', '"10.42.0.0/33"'), "aws.vpc_cidr:"),
    ("cidr-too-large", _sub('"10.42.0.0/16"', '"10.0.0.0/8"'), "aws.vpc_cidr:"),
    (
        "vpc-without-subnet",
        _sub('vpc_cidr = "10.42.0.0/16"', 'vpc_id = "vpc-0123456789abcdef0"'),
        "aws: vpc_id and subnet_id (or subnet_ids) go together: subnet_id is missing",
    ),
    (
        "subnet-without-vpc",
        _sub('vpc_cidr = "10.42.0.0/16"', 'subnet_id = "subnet-01234567"'),
        "aws: vpc_id and subnet_id (or subnet_ids) go together: vpc_id is missing",
    ),
    (
        "malformed-vpc-id",
        _sub('vpc_cidr = "10.42.0.0/16"', 'vpc_id = "vpc-xyz"\nsubnet_id = "subnet-01234567"'),
        "aws.vpc_id:",
    ),
    (
        "subnet-outside-vpc",
        _sub('vpc_cidr = "10.42.0.0/16"', 'vpc_cidr = "10.42.0.0/16"\nsubnet_cidr = "10.9.0.0/24"'),
        "aws: subnet_cidr 10.9.0.0/24 is not inside vpc_cidr 10.42.0.0/16",
    ),
    # Before the first table header, so the key is top-level (appended at the end it would land in the
    # last [[atlas.roles]] table: that is the case after this one).
    ("unknown-top-key", _sub('environment = "dev"', 'environment = "dev"\ncolour = "blue"'), "colour: unknown key"),
    ("unknown-key-in-role", BASE + '\ncolour = "blue"\n', "atlas.roles[0].colour: unknown key"),
    ("unknown-nested-key", _sub('region = "us-east-1"', 'regoin = "us-east-1"'), "aws.regoin: unknown key"),
    (
        "empty-roles",
        BASE.split("[[atlas.roles]]")[0].replace('cluster_name = "Cluster0"', 'cluster_name = "Cluster0"\nroles = []'),
        "atlas.roles:",
    ),
    ("missing-roles", BASE.split("[[atlas.roles]]")[0], "atlas.roles: is required"),
    (
        "duplicate-roles",
        BASE + '\n[[atlas.roles]]\nrole_name = "readWrite"\ndatabase_name = "orders"\n',
        "atlas.roles:",
    ),
    (
        "cluster-interpolation",
        _sub('cluster_name = "Cluster0"', 'cluster_name = "c${file(\\"/etc/passwd\\")}"'),
        "atlas.cluster_name:",
    ),
    ("cluster-jinja", _sub('cluster_name = "Cluster0"', 'cluster_name = "{{ 7*7 }}"'), "atlas.cluster_name:"),
    (
        "database-quote",
        _sub('database_name = "orders"', 'database_name = "or\\"ders"'),
        "atlas.roles[0].database_name:",
    ),
    (
        "database-dollar",
        _sub('database_name = "orders"', 'database_name = "$external"'),
        "atlas.roles[0].database_name:",
    ),
    ("admin-only-role", _sub('role_name = "readWrite"', 'role_name = "readAnyDatabase"'), "atlas.roles[0]:"),
    (
        "role-arn-as-user",
        _sub(
            'cluster_name = "Cluster0"',
            'cluster_name = "Cluster0"\niam_user_arns = ["arn:aws:iam::123456789012:role/x"]',
        ),
        "atlas.iam_user_arns:",
    ),
    (
        "other-partition-arn",
        _sub(
            'cluster_name = "Cluster0"',
            'cluster_name = "Cluster0"\niam_user_arns = ["arn:aws-cn:iam::123456789012:user/x"]',
        ),
        "atlas.iam_user_arns:",
    ),
    (
        "tag-interpolation",
        BASE.replace('environment = "dev"', 'environment = "dev"\ntags = { team = "${x}" }'),
        "tags:",
    ),
    (
        "tag-newline",
        BASE.replace('environment = "dev"', 'environment = "dev"\ntags = { team = "a\\nb" }'),
        "tags:",
    ),
    (
        "instance-type-space",
        _sub('vpc_cidr = "10.42.0.0/16"', 'vpc_cidr = "10.42.0.0/16"\ninstance_type = "t3 micro"'),
        "aws.instance_type:",
    ),
    ("environment-upper", _sub('environment = "dev"', 'environment = "Prod"'), "environment:"),
    (
        "root-volume-small",
        _sub('vpc_cidr = "10.42.0.0/16"', 'vpc_cidr = "10.42.0.0/16"\nroot_volume_size = 4'),
        "aws.root_volume_size:",
    ),
    ("s3-without-bucket", BASE + '\n[backend]\ntype = "s3"\n', "backend:"),
    # A string is not a bool or an int: TOML has both, so quotes are a mistake to report, not to coerce.
    (
        "flow-logs-string",
        _sub('vpc_cidr = "10.42.0.0/16"', 'vpc_cidr = "10.42.0.0/16"\nflow_logs = "yes"'),
        "aws.flow_logs:",
    ),
    ("flow-logs-int", _sub('vpc_cidr = "10.42.0.0/16"', 'vpc_cidr = "10.42.0.0/16"\nflow_logs = 1'), "aws.flow_logs:"),
    (
        "root-volume-string",
        _sub('vpc_cidr = "10.42.0.0/16"', 'vpc_cidr = "10.42.0.0/16"\nroot_volume_size = "16"'),
        "aws.root_volume_size:",
    ),
    (
        "root-volume-float",
        _sub('vpc_cidr = "10.42.0.0/16"', 'vpc_cidr = "10.42.0.0/16"\nroot_volume_size = 16.0'),
        "aws.root_volume_size:",
    ),
    ("cidr-netmask", _sub('"10.42.0.0/16"', '"10.42.0.0/255.255.0.0"'), "aws.vpc_cidr: must use prefix form"),
    ("cidr-no-prefix", _sub('"10.42.0.0/16"', '"10.42.0.0"'), "aws.vpc_cidr:"),
    ("unknown-bracket-key", BASE.replace("[aws]", '"[x" = 1\n\n[aws]'), "'[x': unknown key"),
    ("unknown-nested-bracket-key", _sub('region = "us-east-1"', 'region = "us-east-1"\n"[key]" = 1'), "aws.'[key]':"),
    ("unknown-escape-key", BASE.replace("[aws]", '"\\u001b[31mred" = 1\n\n[aws]'), "'\\x1b[31mred': unknown key"),
    (
        "backend-key-traversal",
        BASE + '\n[backend]\ntype = "s3"\nbucket = "state-bucket"\nkey = "../../x"\n',
        "backend.key:",
    ),
    ("missing-atlas", BASE.split("[atlas]")[0], "atlas: is required"),
    *(
        (
            f"verify-principal-{case}",
            _sub('region = "us-east-1"', f'region = "us-east-1"\nverify_principals = {value}'),
            "aws.verify_principals:",
        )
        for case, value in (
            ("service", '["ec2.amazonaws.com"]'),
            ("root-arn", '["arn:aws:iam::123456789012:root"]'),
            ("wildcard", '["*"]'),
            ("duplicate", '["arn:aws:iam::123456789012:role/ci", "arn:aws:iam::123456789012:role/ci"]'),
            ("eleven", str([f"{i:012d}" for i in range(11)]).replace("'", '"')),
            ("not-a-list", '"arn:aws:iam::123456789012:role/ci"'),
        )
    ),
    ("not-toml", BASE + "\nthis is = = not toml\n", "not valid TOML"),
]


# Each variant file with what tells it apart: its name, whether it creates the network, its IAM users.
VARIANT_FACTS = [
    ("new_vpc", "orders", True, 0),
    ("existing_vpc", "billing", False, 0),
    ("iam_users", "analytics", True, 2),
]


def test_every_variant_is_checked() -> None:
    assert [v[0] for v in VARIANT_FACTS] == list(VARIANTS)


@pytest.mark.parametrize(("variant", "name", "creates_network", "iam_users"), VARIANT_FACTS)
def test_variants_load(variant: str, name: str, creates_network: bool, iam_users: int) -> None:
    config = load_config(CONFIGS / f"{variant}.toml", environ={})
    assert (config.name, config.aws.creates_network, len(config.atlas.iam_user_arns)) == (
        name,
        creates_network,
        iam_users,
    )
    assert config.model_config["frozen"] is True


def test_defaults_and_derived_values() -> None:
    config = load_config(CONFIGS / "new_vpc.toml", environ={})
    assert config.aws.creates_network
    assert config.aws.effective_subnet_cidr == "10.42.0.0/24"
    assert config.aws.instance_type == "t3.micro"
    assert config.backend.type == "local"


def test_env_overrides_file_and_cli_overrides_env() -> None:
    env = {"ATLASIAM_ENVIRONMENT": "staging", "ATLASIAM_AWS_REGION": "eu-west-1"}
    config = load_config(CONFIGS / "new_vpc.toml", environ=env)
    assert (config.environment, config.aws.region) == ("staging", "eu-west-1")
    config = load_config(CONFIGS / "new_vpc.toml", cli_overrides={"environment": "prod"}, environ=env)
    assert (config.environment, config.aws.region) == ("prod", "eu-west-1")


def test_a_flag_not_given_leaves_the_env_override_in_force() -> None:
    # The CLI passes every overridable flag, None when not given: None must not hide the env value.
    env = {"ATLASIAM_ENVIRONMENT": "staging"}
    config = load_config(CONFIGS / "new_vpc.toml", cli_overrides={"environment": None}, environ=env)
    assert config.environment == "staging"


def test_env_override_is_validated_too() -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(CONFIGS / "new_vpc.toml", environ={"ATLASIAM_AWS_REGION": "nowhere"})
    assert exc.value.problems[0].startswith("aws.region:")


def test_missing_file_is_named() -> None:
    with pytest.raises(ConfigNotFoundError, match="no config file"):
        read_config_bytes(Path("/nonexistent/atlasiam.toml"))


def test_several_problems_are_reported_one_per_line() -> None:
    data = {
        "name": "X",
        "aws": {"region": "x"},
        "atlas": {"project_id": "1", "cluster_name": "c", "roles": []},
    }
    with pytest.raises(ConfigError) as exc:
        parse_config(data)
    fields = [p.split(":")[0] for p in exc.value.problems]
    assert fields == ["name", "aws.region", "atlas.project_id", "atlas.roles"]
    assert exc.value.message.count("\n") == 4


def test_quoted_numbers_and_booleans_say_how_to_write_them() -> None:
    data = {
        "name": "orders",
        "aws": {"flow_logs": "yes", "root_volume_size": "16"},
        "atlas": {"project_id": "0" * 24, "cluster_name": "c", "roles": [{"role_name": "read", "database_name": "d"}]},
    }
    with pytest.raises(ConfigError) as exc:
        parse_config(data)
    assert exc.value.problems == [
        "aws.root_volume_size: Input should be a valid integer (got the string '16': write the number without quotes)",
        "aws.flow_logs: Input should be a valid boolean (got the string 'yes': write true or false without quotes)",
    ]


def test_unquoted_numbers_and_booleans_load(tmp_path: Path) -> None:
    text = _sub('vpc_cidr = "10.42.0.0/16"', 'vpc_cidr = "10.42.0.0/16"\nflow_logs = true\nroot_volume_size = 16')
    config = load_config(write_config(tmp_path, text), environ={})
    assert (config.aws.flow_logs, config.aws.root_volume_size) == (True, 16)


@pytest.mark.parametrize(
    ("cidr", "problem"),
    [
        (
            "10.42.0.0/255.255.0.0",
            "must use prefix form like 10.42.0.0/16, not a netmask (got '10.42.0.0/255.255.0.0'); "
            "did you mean 10.42.0.0/16?",
        ),
        (
            "10.42.0.0/255.0.255.0",
            "must use prefix form like 10.42.0.0/16, not a netmask (got '10.42.0.0/255.0.255.0')",
        ),
        ("10.42.0.0", "must be an IPv4 network in CIDR form like 10.42.0.0/16 (got '10.42.0.0')"),
        ("10.42.0.0/016", "must be an IPv4 network in CIDR form like 10.42.0.0/16 (got '10.42.0.0/016')"),
        ("10.42.0.1/16", "'10.42.0.1/16' has host bits set; did you mean 10.42.0.0/16?"),
        ("10.0.0.0/8", "prefix must be between /16 and /28 (got /8)"),
    ],
)
def test_cidr_problems(cidr: str, problem: str) -> None:
    data = {
        "name": "orders",
        "aws": {"vpc_cidr": cidr},
        "atlas": {"project_id": "0" * 24, "cluster_name": "c", "roles": [{"role_name": "read", "database_name": "d"}]},
    }
    with pytest.raises(ConfigError) as exc:
        parse_config(data)
    assert exc.value.problems == [f"aws.vpc_cidr: {problem}"]


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("colour", "colour"),
        ("[x", "'[x'"),
        ("[key]", "'[key]'"),
        ("function-after", "function-after"),
        ("\x1b[31mred", "'\\x1b[31mred'"),
        ("a b", "'a b'"),
        ("k" * 41, "'" + "k" * 40 + "…'"),
    ],
)
def test_unknown_keys_are_named_as_written_or_escaped(key: str, shown: str) -> None:
    data = {
        "name": "orders",
        "aws": {key: 1},
        "atlas": {"project_id": "0" * 24, "cluster_name": "c", "roles": [{"role_name": "read", "database_name": "d"}]},
    }
    with pytest.raises(ConfigError) as exc:
        parse_config(data)
    assert exc.value.problems == [f"aws.{shown}: unknown key"]


def test_a_key_with_terminal_escapes_reaches_the_terminal_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, BASE.replace("[aws]", '"\\u001b]0;pwned\\u0007\\u001b[2J" = 1\n\n[aws]'))
    assert main(["render", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err
    assert "'\\x1b]0;pwned\\x07\\x1b[2J': unknown key" in err


def test_corpus_is_large_enough() -> None:
    assert len(MALFORMED) >= 20
    assert len({case[0] for case in MALFORMED}) == len(MALFORMED)


@pytest.mark.parametrize(("case", "text", "field"), MALFORMED, ids=[c[0] for c in MALFORMED])
@pytest.mark.parametrize("command", ["plan", "render"])
def test_malformed_config_exits_2_names_field_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, text: str, field: str, command: str
) -> None:
    path = write_config(tmp_path, text)
    before = sorted(p.name for p in tmp_path.iterdir())
    code = main([command, "--config", str(path), "--json"])
    captured = capsys.readouterr()
    assert code == 2, (case, captured)
    doc = json.loads(captured.out)
    assert doc["error"]["code"] == "config_invalid"
    head, *problems = doc["error"]["message"].splitlines()
    assert head in (f"{path}:", f"{path} is invalid:")
    # The first problem starts with the field (a substring could match a longer path: roles[0].colour).
    assert problems[0].startswith(f"  {field}"), doc["error"]["message"]
    assert captured.err == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_malformed_config_human_output_names_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, _sub('region = "us-east-1"', 'region = "mars-1"'))
    assert main(["render", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "aws.region: must be an AWS region like us-east-1 (got 'mars-1')" in err
    assert "Traceback" not in err


# (value, the one line the error must be, after the field name)
PRINCIPAL_ERRORS = [
    (
        '["arn:aws:iam::123456789012:group/ci"]',
        "each must be an IAM role or user ARN like arn:aws:iam::123456789012:role/ci, or a 12-digit account id "
        "(got 'arn:aws:iam::123456789012:group/ci')",
    ),
    (
        '["arn:aws:sts::123456789012:assumed-role/ci/run-42"]',
        "'arn:aws:sts::123456789012:assumed-role/ci/run-42' is a role session, not a principal a trust policy can "
        "keep trusting; name its role: arn:aws:iam::123456789012:role/ci",
    ),
    ('["123456789012", "123456789012"]', "duplicate principal 123456789012"),
]


@pytest.mark.parametrize(("value", "problem"), PRINCIPAL_ERRORS)
def test_verify_principals_errors_name_the_field_in_one_line(value: str, problem: str) -> None:
    text = _sub('region = "us-east-1"', f'region = "us-east-1"\nverify_principals = {value}')
    with pytest.raises(ConfigError) as err:
        parse_config(parse_toml_bytes(text.encode(), "atlasiam.toml"))
    assert err.value.problems == [f"aws.verify_principals: {problem}"]


def test_verify_principals_default_to_none_and_keep_their_order() -> None:
    assert load_config(CONFIGS / "new_vpc.toml", environ={}).aws.verify_principals == ()
    listed = ["arn:aws:iam::123456789012:user/ops/alice", "210987654321", "arn:aws:iam::123456789012:role/ci"]
    text = _sub('region = "us-east-1"', f'region = "us-east-1"\nverify_principals = {json.dumps(listed)}')
    assert parse_config(parse_toml_bytes(text.encode(), "atlasiam.toml")).aws.verify_principals == tuple(listed)


def test_the_example_config_trusts_the_demos_operator() -> None:
    from atlasiam_sandbox.demo import EXAMPLE, OPERATOR_ARN

    example = load_config(Path(__file__).resolve().parent.parent / EXAMPLE, environ={})
    assert example.aws.verify_principals == (OPERATOR_ARN,)
