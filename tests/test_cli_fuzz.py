"""A fuzz of the whole command line: flags from the real option set, config files from the real schema.

Every example runs ``atlas_iam_tf.cli.main`` in-process, in a fresh directory, with no credentials, so
no command gets as far as Terraform or AWS: ``plan``/``apply``/``destroy`` stop at the credential check,
``output`` and config-mode ``verify`` at the missing state, and a standalone ``verify`` at a stub of
``run_verify`` (the AWS side). What must hold for every input:

- no exception escapes ``main`` and the exit code is one of README's table (0, 1, 2, 3, 4, 130);
- with ``--json``: stdout is exactly one JSON document, ``{"data": ...}`` or ``{"error": {code, message,
  hint}}``, and nothing is written to stderr (nor warned);
- exit 2 (bad input) comes with an error whose message's first line holds no control character, and
  whose message names a flag, a config field (one per line), the file or the missing credential;
- in human mode, no raw control character reaches the terminal.

Not fuzzed: ``sandbox`` and ``--sandbox`` (they start the sandbox, a child process), ``--help`` (it prints
help text, not a document, by request), and the shell-completion options (they edit shell rc files).
NUL never appears in argv: a process cannot receive it there.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import re
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlas_iam_tf import cli
from atlas_iam_tf.cli import main
from atlas_iam_tf.config import Config
from atlas_iam_tf.config_file import parse_toml_text
from atlas_iam_tf.errors import ExitCode
from atlas_iam_tf.output import escape_controls
from atlas_iam_tf.verify.report import VerifyReport
from tests.conftest import write_config

EXAMPLES = int(os.environ.get("ATLASIAM_FUZZ_EXAMPLES", "2000"))
JSON_SHARE = int(os.environ.get("ATLASIAM_FUZZ_JSON_PERCENT", "75"))
DOCUMENTED_EXIT_CODES = {int(c) for c in ExitCode}
FUZZED_COMMANDS = ("init", "render", "plan", "apply", "destroy", "output", "verify")
NOT_FUZZED_OPTIONS = {"--help", "-h"}
# The codes of the errors that mean "bad input" (exit 2); the others are exit 1 or 3.
USAGE_CODES = {
    "usage",
    "config_invalid",
    "config_not_found",
    "credentials_missing",
    "confirmation_required",
    "terraform_not_found",
    "not_writable",
}
_CLICK_TRUE = {"1", "true", "t", "yes", "y", "on"}


# -- the real option set ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Opt:
    """One option of one command, as click sees it."""

    names: tuple[str, ...]
    kind: str  # "flag", "path", "float", "text"


def _kind(param: Any) -> str:
    # By type name: typer vendors its own click, whose classes are private.
    if param.is_flag:
        return "flag"
    return {"TyperPath": "path", "Path": "path", "FloatParamType": "float"}.get(type(param.type).__name__, "text")


def _options() -> dict[str, list[Opt]]:
    """Every option of every fuzzed command, read from the typer app itself."""
    group: Any = typer.main.get_command(cli.app)
    table: dict[str, list[Opt]] = {}
    for name in FUZZED_COMMANDS:
        params = [p for p in group.commands[name].params if p.param_type_name == "option"]
        table[name] = [
            Opt(tuple(n for n in (*p.opts, *p.secondary_opts) if n not in NOT_FUZZED_OPTIONS), _kind(p))
            for p in params
            if not set(p.opts) <= NOT_FUZZED_OPTIONS
        ]
    return table


OPTIONS = _options()
ALL_FLAGS = sorted({n for opts in OPTIONS.values() for o in opts for n in o.names})
# Config fields, as the error lines name them (``aws.region``, ``atlas.roles[0].role_name``).
TOP_KEYS = sorted(Config.model_fields)


def _field_paths() -> set[str]:
    paths: set[str] = set()

    def walk(prefix: str, model: Any) -> None:
        for name, info in model.model_fields.items():
            path = f"{prefix}{name}"
            paths.add(path)
            sub = info.annotation
            if isinstance(sub, type) and hasattr(sub, "model_fields"):
                walk(path + ".", sub)

    walk("", Config)
    return paths


FIELD_PATHS = _field_paths()

# -- config files -------------------------------------------------------------------------------------
CONTROL = st.characters(min_codepoint=0, max_codepoint=0x1F) | st.sampled_from(["\x7f", "\x1b[2J", "\u202e", "\u200b"])
UNICODE = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)
NASTY_TEXT = st.one_of(
    UNICODE,
    st.lists(CONTROL | st.sampled_from(["a", "-", ".", "/", "$", "{", "}", '"', "\\", "%"]), max_size=12).map("".join),
    st.integers(1_000, 20_000).map(lambda n: "x" * n),  # huge
    st.sampled_from(
        ["", " ", "${var.x}", "%{ if true }x%{ endif }", "{{ 7*7 }}", '" } resource "x" "y" {', "../../etc"]
    ),
)


def _word(first: str, rest: str, max_size: int) -> st.SearchStrategy[str]:
    """A string of one character of ``first`` then up to ``max_size`` of ``rest`` (cheaper than from_regex)."""
    return st.builds(str.__add__, st.sampled_from(first), st.text(rest, max_size=max_size))


LOWER = "abcdefghijklmnopqrstuvwxyz"
TAG_CHARS = LOWER + "ABZ019 _.:/=+@-"
VALID_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "name": _word(LOWER, LOWER + "0123456789-", 27),
    "environment": _word(LOWER, LOWER + "0123456789-", 31),
    "tags": st.dictionaries(_word("tT", TAG_CHARS, 12), st.text(TAG_CHARS, max_size=12), max_size=3),
    "aws.region": st.sampled_from(["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1"]),
    "aws.instance_type": st.sampled_from(["t3.micro", "m7g.large", "c6i.xlarge"]),
    "aws.vpc_cidr": st.sampled_from(["10.42.0.0/16", "10.0.0.0/20", "192.168.0.0/24"]),
    "aws.availability_zone": st.sampled_from(["us-east-1a", "eu-west-1c"]),
    "aws.ami_ssm_parameter": st.sampled_from(["/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"]),
    "aws.root_volume_size": st.integers(8, 1024),
    "aws.flow_logs": st.booleans(),
    "atlas.project_id": st.text("0123456789abcdef", min_size=24, max_size=24),
    "atlas.cluster_name": _word("Cc0", "Cluster-0123", 20),
    "atlas.iam_user_arns": st.lists(
        st.builds("arn:aws:iam::123456789012:user/{}".format, _word("ab", "ab_+=,.@-", 10)), max_size=2, unique=True
    ),
}
# An engine that exists (never run: every command stops before Terraform) or one that does not.
TERRAFORM_BIN = st.sampled_from(["true", "/nonexistent/terraform", "tofu-not-installed", "/" + "t" * 300])
ROLE = st.fixed_dictionaries(
    {"role_name": st.sampled_from(["read", "readWrite", "dbAdmin"]), "database_name": _word(LOWER, LOWER + "_0", 10)},
    optional={"collection_name": _word("a_", "ab_.-", 10)},
)
NETWORK = st.sampled_from(
    [
        {},
        {},
        {},
        {},
        {},
        {"vpc_id": "vpc-0a1b2c3d4e5f60718", "subnet_id": "subnet-0a1b2c3d4e5f60718"},
        {"vpc_id": "vpc-01234567"},  # half of the pair
        {"subnet_cidr": "10.42.7.0/24"},
        {"subnet_cidr": "10.9.0.0/24"},  # outside the default VPC
    ]
)
BACKEND = st.sampled_from(
    [
        None,
        None,
        None,
        {"type": "local"},
        {"type": "s3", "bucket": "team-state"},
        {"type": "s3", "bucket": "team-state", "key": "a/b.tfstate", "region": "eu-west-1"},
        {"type": "s3"},
        {"type": "local", "bucket": "x"},
        {"type": "gcs"},
    ]
)
SCALARS = st.one_of(
    st.none(),  # dropped by the writer: TOML has no null
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),
    NASTY_TEXT,
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    st.dates(),
)
ANY_VALUE = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(UNICODE, children, max_size=3),
    max_leaves=8,
)
KNOWN_PATHS = sorted(VALID_VALUES) + ["atlas.roles", "backend", "aws", "atlas", "terraform", "aws.subnet_cidr"]


@st.composite
def config_data(draw: st.DrawFn) -> dict[str, Any]:
    """A config as TOML data: valid values, then a few mutations (wrong type, hostile text, unknown key, ...)."""
    data: dict[str, Any] = {"aws": {}, "atlas": {}, "terraform": {}}
    for path, strategy in VALID_VALUES.items():
        required = path in ("name", "atlas.project_id", "atlas.cluster_name")
        if required or draw(st.booleans()):
            _put(data, path, draw(strategy))
    if draw(st.integers(0, 9)) == 0:
        data["terraform"]["bin"] = draw(TERRAFORM_BIN)
    data["aws"].update(draw(NETWORK))
    data["atlas"]["roles"] = draw(st.lists(ROLE, min_size=1, max_size=3))
    backend = draw(BACKEND)
    if backend is not None:
        data["backend"] = backend
    for _ in range(draw(st.sampled_from([0, 0, 0, 0, 1, 1, 2, 3]))):
        kind = draw(st.sampled_from(["value", "unknown-key", "drop", "deep"]))
        path = draw(st.sampled_from(KNOWN_PATHS + ["atlas.roles.0.role_name", "atlas.roles.0.database_name"]))
        if kind == "value":
            _put(data, path, draw(ANY_VALUE))
        elif kind == "unknown-key":
            _put(data, draw(st.sampled_from(["", "aws.", "atlas.", "backend.", "atlas.roles.0."])) + "x", 1)
            _put(data, draw(st.sampled_from(["aws", "atlas", "tags"])) + "." + draw(UNICODE.filter(bool)), "v")
        elif kind == "drop":
            _drop(data, path)
        else:
            depth = draw(st.integers(2, 60))
            _put(data, path, _nest(depth, draw(st.booleans())))
    return data


def _nest(depth: int, arrays: bool) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value] if arrays else {"k": value}
    return value


def _put(data: dict[str, Any], path: str, value: Any) -> None:
    node: Any = data
    *parents, leaf = path.split(".")
    for p in parents:
        if isinstance(node, list):
            node = node[int(p)] if p.isdigit() and int(p) < len(node) else {}
            continue
        if not isinstance(node.get(p), dict | list):
            node[p] = {}
        node = node[p]
    if isinstance(node, dict):
        node[leaf] = value


def _drop(data: dict[str, Any], path: str) -> None:
    node: Any = data
    *parents, leaf = path.split(".")
    for p in parents:
        node = node.get(p) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(leaf, None)


# A TOML writer (tomllib only reads): standard tables and arrays of tables as a person writes them,
# inline tables and arrays inside values, every string escaped the way TOML 1.0 requires.
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _string(text: str) -> str:
    out = []
    for c in text:
        if c in '"\\':
            out.append("\\" + c)
        elif ord(c) < 0x20 or c == "\x7f":
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _inline(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(repr(value), repr(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value if v is not None) + "]"
    return "{" + ", ".join(f"{_key(k)} = {_inline(v)}" for k, v in value.items() if v is not None) + "}"


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def to_toml(data: dict[str, Any], path: tuple[str, ...] = ()) -> str:
    """``data`` as a TOML document (None values are left out)."""
    lines = []
    for k, v in data.items():
        if v is not None and not isinstance(v, dict) and not _is_table_array(v):
            lines.append(f"{_key(k)} = {_inline(v)}")
    for k, v in data.items():
        here = ".".join(_key(p) for p in (*path, k))
        if isinstance(v, dict):
            lines += ["", f"[{here}]", to_toml(v, (*path, k))]
        elif _is_table_array(v):
            for item in v:
                lines += ["", f"[[{here}]]", to_toml(item, (*path, k))]
    return "\n".join(lines)


@st.composite
def config_file(draw: st.DrawFn) -> bytes | None:
    """The bytes of atlasiam.toml (None: no file): mostly TOML from the schema, sometimes anything."""
    choice = draw(st.sampled_from(["schema"] * 9 + ["none", "bytes", "text", "dotted", "deep-array", "truncated"]))
    if choice == "none":
        return None
    if choice == "bytes":
        return draw(st.binary(max_size=200))
    if choice == "text":
        return draw(st.text(max_size=200)).encode("utf-8", "surrogatepass")
    text = to_toml(draw(config_data()))
    if choice == "dotted":
        text = ".".join(["a"] * draw(st.integers(2, 40))) + " = 1\n" + text
    elif choice == "deep-array":
        depth = draw(st.integers(100, 3000))
        text += "\nx = " + "[" * depth + "]" * depth + "\n"
    elif choice == "truncated":
        text = text[: draw(st.integers(0, len(text)))]
    return text.encode("utf-8")


# -- the command line ----------------------------------------------------------------------------------
# A process receives argv as bytes; Python decodes what is not UTF-8 to lone surrogates (surrogateescape).
ARGV_CHARS = st.characters(codec="utf-8", exclude_categories=["Cs"], exclude_characters="\x00") | st.sampled_from(
    ["\udcff", "\udc80", "\n", "\x1b"]
)
ARGV_TEXT = st.text(ARGV_CHARS, max_size=40)
PATHS = st.one_of(
    st.sampled_from(
        ["atlasiam.toml", "missing.toml", "adir", "afile.txt", ".", "sub/atlasiam.toml", "out", "adir/new"]
        + ["afile.txt/below", "", "-", "a" * 300, "/nonexistent/dir/atlasiam.toml", "out\nx", "\udcff.toml"]
        + ["[/x]", "[red]out", "new[/bold].toml"]
    ),
    ARGV_TEXT,
)
FLOATS = st.one_of(
    st.floats().map(repr),
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(["nan", "inf", "-inf", "1e400", "3600", "3600.1", "0", "-0", "1_0", "0x10", "", " 5 "]),
    ARGV_TEXT,
)
TEXTS = st.one_of(
    ARGV_TEXT,
    st.sampled_from(
        ["orders", "0" * 24, "Cluster0", "us-east-1", "readWrite@orders", "read@", "@db", "i-0123456789abcdef0"]
        + ["team=orders", "=x", "novalue", "mongodb+srv://c.example.net", "arn:aws:iam::123456789012:role/x"]
        + ["/" + "t" * 300, "t" * 300]
    ),
)
VALUES = {"path": PATHS, "float": FLOATS, "text": TEXTS}


# Complete command lines to start from, so that commands also get past their own checks.
TEMPLATES: dict[str, list[list[str]]] = {
    "init": [[], ["--config", "new.toml", "--name", "shop", "--project-id", "0" * 24, "--cluster-name", "Main"]],
    "verify": [
        [],
        ["--instance-id", "i-0123456789abcdef0", "--uri", "mongodb+srv://cluster0.example.net"],
        ["--tag", "team=orders", "--uri", "mongodb://h.example.net/"],
        ["--from-here", "--uri", "mongodb://h.example.net/", "--config", "missing.toml"],
    ],
}


@dataclass
class Invocation:
    """One run: argv, the environment it adds, and whether it asked for JSON."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    json_flag: bool = False

    @property
    def json_mode(self) -> bool:
        value = self.env.get("ATLASIAM_JSON", "").strip().lower()
        return self.json_flag or value in _CLICK_TRUE


def _with_noise(draw: st.DrawFn, command: str, argv: list[str], noise: str) -> list[str]:
    """``argv`` with one kind of mistake: an unknown option, an extra argument, an option missing its value."""
    if noise == "unknown":
        argv.insert(draw(st.integers(1, len(argv))), "--" + draw(_word(LOWER, LOWER + "-", 12)))
    elif noise == "extra":
        argv.append(draw(TEXTS))
    elif noise == "dangling":
        valued = [o for o in OPTIONS[command] if o.kind != "flag"]
        argv.append(draw(st.sampled_from(valued)).names[0])
    elif noise == "other-flag":
        argv.append(draw(st.sampled_from(ALL_FLAGS)))
    return argv


@st.composite
def invocation(draw: st.DrawFn) -> Invocation:
    command = draw(st.sampled_from(FUZZED_COMMANDS))
    argv: list[str] = [command, *draw(st.sampled_from(TEMPLATES.get(command, [[]])))]
    json_flag = draw(st.integers(0, 99)) < JSON_SHARE  # mostly JSON: its contract is the stricter one
    for opt in draw(st.lists(st.sampled_from(OPTIONS[command]), max_size=6)):
        name = draw(st.sampled_from(opt.names))
        if name == "--json":
            continue  # placed below, where it is known to be a flag and not another option's value
        argv.append(name)
        if opt.kind != "flag":
            argv.append(draw(VALUES[opt.kind]))
    noise = draw(st.sampled_from(["none"] * 6 + ["unknown", "extra", "dangling", "other-flag", "dashdash"]))
    argv = _with_noise(draw, command, argv, noise)
    if json_flag:
        argv.insert(1, "--json")  # right after the command: never taken as a value
    if noise == "dashdash":  # after --json: what follows -- is an argument, whatever it looks like
        argv += ["--", draw(TEXTS)]
    env = {}
    if draw(st.integers(0, 3)) == 0:
        env = draw(
            st.dictionaries(
                st.sampled_from(
                    ["ATLASIAM_JSON", "ATLASIAM_CONFIG", "ATLASIAM_ENVIRONMENT", "ATLASIAM_AWS_REGION"]
                    + ["ATLASIAM_TERRAFORM_BIN"]
                ),
                st.one_of(
                    st.sampled_from(["1", "true", "yes", "on", "0", "false", "off", "garbage", "Prod", "eu-west-1"]),
                    st.text(
                        st.characters(codec="utf-8", exclude_categories=["Cs"], exclude_characters="\x00"), max_size=20
                    ),
                ),
                max_size=2,
            )
        )
    return Invocation(argv=argv, env=env, json_flag=json_flag)


# -- running one example ----------------------------------------------------------------------------------
@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    warned: list[str]
    seconds: float


class _StdStream(io.TextIOWrapper):
    """A stream that encodes like a real process's: stdout strict, stderr with backslashreplace."""

    def __init__(self, errors: str) -> None:
        super().__init__(io.BytesIO(), encoding="utf-8", errors=errors, write_through=True)

    def text(self) -> str:
        self.flush()
        buffer = self.buffer
        assert isinstance(buffer, io.BytesIO)
        return buffer.getvalue().decode("utf-8")


@contextlib.contextmanager
def _example_dir(config: bytes | None) -> Iterator[Path]:
    old = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="atlasiam-fuzz-") as tmp:
        root = Path(tmp)
        if config is not None:
            (root / "atlasiam.toml").write_bytes(config)
            (root / "sub").mkdir()
            (root / "sub" / "atlasiam.toml").write_bytes(config)
        (root / "adir").mkdir()
        (root / "afile.txt").write_text("not toml = = =\n")
        os.chdir(root)
        try:
            yield root
        finally:
            os.chdir(old)


@contextlib.contextmanager
def _environ(extra: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_cli(inv: Invocation) -> Run:
    out, err = _StdStream("strict"), _StdStream("backslashreplace")
    start = time.perf_counter()
    with (
        _environ(inv.env),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        try:
            code = main(inv.argv)
        except BaseException as exc:  # noqa: BLE001 - anything escaping main is the failure we look for
            raise AssertionError(f"{type(exc).__name__} escaped main({inv.argv!r}, env={inv.env!r})") from exc
    return Run(code, out.text(), err.text(), [str(w.message) for w in caught], time.perf_counter() - start)


# -- what must hold ---------------------------------------------------------------------------------------
# What must never reach a terminal raw: C0/C1 controls (escape sequences) and bidi overrides.
_TERMINAL_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")  # tab is harmless
# A flag of the real option set named as a whole word ("-c" inside "--cluster-name" does not count).
_FLAG_NAMED = re.compile(
    "|".join(rf"(?<![\w-]){re.escape(f)}(?![\w-])" for f in sorted(ALL_FLAGS, key=len, reverse=True))
)
_ENV_VAR = re.compile(r"\b(MONGODB_ATLAS|AWS)_[A-Z_]+\b")
_FILE_PROBLEMS = ("not valid TOML", "file is not UTF-8", "file is larger than", "is not a regular file", "cannot read")


def _names_a_field_or_flag(error: dict[str, Any], inv: Invocation) -> bool:
    """The error says what was wrong: a flag, a config field (or the file), a credential."""
    message: str = error["message"]
    unknown = re.match(r"No such option: (\S+)", message)  # click names it as typed, escaped; -00 is -0 twice
    if unknown:
        return any(escape_controls(arg).startswith(unknown[1]) for arg in inv.argv)
    if _FLAG_NAMED.search(message) or "No such command" in message or "extra argument" in message:
        return True
    if error["code"] == "config_invalid":
        problems = [line.strip() for line in message.splitlines()[1:]] or [message.partition(": ")[2]]
        return all(_problem_names_field(p) for p in problems)
    if error["code"] == "credentials_missing":
        return bool(_ENV_VAR.search(message))
    if error["code"] == "config_not_found":  # --config, ATLASIAM_CONFIG or the default, named as given
        return message.startswith("no config file at ")
    if error["code"] == "terraform_not_found":  # from --terraform-bin, the env or terraform.bin: named as given
        return re.fullmatch(r"terraform binary not found: .+", message, re.DOTALL) is not None
    # A file it could not use: named as given (the default config file is atlasiam.toml).
    given = [arg for arg in [*inv.argv, *inv.env.values(), "atlasiam.toml"] if arg]
    return any(message.startswith(arg) or (len(arg) > 1 and arg in message) for arg in given)


def _problem_names_field(problem: str) -> bool:
    where = problem.partition(": ")[0]
    root = re.split(r"[.\[]", where, maxsplit=1)[0]
    return (
        where in FIELD_PATHS
        or root in TOP_KEYS
        or problem.endswith(": unknown key")  # named as written, or quoted and escaped
        or where == "(top level)"
        or problem.startswith(_FILE_PROBLEMS)
        or re.match(r"line \d+: ", problem) is not None
    )


def check(inv: Invocation, run: Run) -> None:
    assert run.code in DOCUMENTED_EXIT_CODES, (inv, run)
    assert "Traceback" not in run.stderr + run.stdout, (inv, run)
    if not inv.json_mode:
        # Human mode: what reaches the terminal carries no control character but newline and tab.
        assert not _TERMINAL_CONTROL.search(run.stderr.replace("\n", "")), (inv, run.stderr)
        return
    assert run.stderr == "", (inv, run)
    assert run.warned == [], (inv, run)
    doc = json.loads(run.stdout)  # exactly one document: json.loads refuses trailing data
    assert isinstance(doc, dict) and len(doc) == 1, (inv, doc)
    if "data" in doc:
        assert run.code in (0, 3, 4), (inv, doc)
        return
    error = doc["error"]
    assert set(error) == {"code", "message", "hint"}, (inv, doc)
    first_line = error["message"].splitlines()[0]
    assert first_line.strip() and not _TERMINAL_CONTROL.search(first_line), (inv, error)
    if run.code == 2:
        assert error["code"] in USAGE_CODES, (inv, error)
        assert _names_a_field_or_flag(error, inv), (inv, error)
    else:
        assert error["code"] not in USAGE_CODES, (inv, error)


# -- the fuzz ---------------------------------------------------------------------------------------------
def _no_aws(*_args: Any, **_kwargs: Any) -> VerifyReport:
    """``run_verify`` without AWS: no host answered (exit 3, a report with no rows)."""
    return VerifyReport(hosts=())


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """The two places that would reach AWS: verify's core, and botocore's walk of the credential chain.

    The walk finds nothing here (the environment is clean, instance metadata disabled) but costs ~15 ms
    per run, a third of the budget: its answer for that case is stood in for.
    """
    from atlas_iam_tf import credentials
    from atlas_iam_tf.verify import service

    real = credentials._botocore_problems()
    assert real and "no AWS credentials" in real[0]  # what the stand-in returns is what the walk says
    monkeypatch.setattr(service, "run_verify", _no_aws)
    monkeypatch.setattr(credentials, "_botocore_problems", lambda: list(real))


@pytest.fixture
def built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Build the click command from the typer app once, not on every ``main`` call.

    ``Typer.__call__`` rebuilds it from the function signatures each time (~30 ms, four fifths of a
    run); a process does that once. What ``main`` calls is the very command typer builds.
    """
    command = typer.main.get_command(cli.app)
    monkeypatch.setattr(cli, "app", command)


def test_the_fuzz_uses_the_real_option_set() -> None:
    assert {"--config", "--json", "--terraform-bin", "--yes", "--detailed-exitcode", "--out"} <= set(ALL_FLAGS)
    assert {"--instance-id", "--tag", "--wait", "--online-timeout", "--assume-role", "--session-token"} <= set(
        ALL_FLAGS
    )
    assert {o.kind for o in OPTIONS["verify"]} == {"flag", "path", "float", "text"}
    assert {"name", "aws.vpc_id", "atlas.roles", "backend.bucket"} <= FIELD_PATHS


def test_the_toml_writer_round_trips() -> None:
    data = {
        "name": 'a\x00"b\\\x7f',
        "n": 3,
        "tags": {"a b": "c"},
        "aws": {"x": [1, {"y": True}]},
        "atlas": {"roles": [{"role_name": "r", "sub": {"k": 1.5}}, {"role_name": "s"}]},
    }
    assert parse_toml_text(to_toml(data)) == data


@pytest.mark.usefixtures("no_aws", "built_once")
def test_cli_fuzz(request: pytest.FixtureRequest) -> None:
    stats: dict[str, int] = {"examples": 0, "json": 0, "exit 0": 0, "exit 1": 0, "exit 2": 0, "exit 3": 0}
    start = time.perf_counter()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )
    @given(inv=invocation(), config=config_file())
    def fuzz(inv: Invocation, config: bytes | None) -> None:
        with _example_dir(config):
            run = run_cli(inv)
        check(inv, run)
        stats["examples"] += 1
        stats["json"] += inv.json_mode
        stats[f"exit {run.code}"] = stats.get(f"exit {run.code}", 0) + 1

    fuzz()
    seconds = time.perf_counter() - start
    request.node.user_properties.append(("fuzz", {**stats, "seconds": round(seconds, 1)}))
    print(f"cli fuzz: {stats} in {seconds:.1f}s")
    assert stats["examples"] >= EXAMPLES
    # The fuzz reached every outcome it is meant to: success, each error class, and JSON most of the time.
    assert min(stats["exit 0"], stats["exit 1"], stats["exit 2"], stats["exit 3"]) > 0, stats
    assert stats["json"] > EXAMPLES * (JSON_SHARE - 15) // 100, stats


# -- what the fuzz found, one regression test each --------------------------------------------------------
INIT_FLAGS = ["--name", "shop", "--project-id", "0" * 24, "--cluster-name", "Main"]


def test_init_writes_a_role_beyond_the_basic_plane(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """json.dumps wrote U+10000 as a surrogate-pair escape, which TOML refuses: TOMLDecodeError escaped main."""
    path = tmp_path / "atlasiam.toml"
    assert main(["init", "--json", "--config", str(path), *INIT_FLAGS, "--role", "read@db\U00010000"]) == 0
    capsys.readouterr()
    from atlas_iam_tf.config import load_config

    assert load_config(path, environ={}).atlas.roles[0].database_name == "db\U00010000"


def test_init_refuses_text_that_was_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Bytes that are not UTF-8 reach argv as lone surrogates: no TOML string can hold them."""
    path = tmp_path / "atlasiam.toml"
    assert main(["init", "--json", "--config", str(path), *INIT_FLAGS, "--role", "read@db\udcff"]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert (error["code"], error["message"]) == ("usage", "--role 'db\\udcff': not UTF-8 text")
    assert not path.exists()


@pytest.mark.parametrize("value", ["on", "t", "y", " TRUE "])
def test_json_from_the_environment_is_read_as_click_reads_it(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """ATLASIAM_JSON=on made click run the command in JSON mode, but its errors came out as human text."""
    monkeypatch.setenv("ATLASIAM_JSON", value)
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 2
    out = capsys.readouterr()
    assert out.err == ""
    assert json.loads(out.out)["error"]["message"].startswith("missing --name, --project-id, --cluster-name")


def test_control_characters_in_an_error_are_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A path or an unknown option is repeated in the message: raw, its escape codes drove the terminal."""
    missing = tmp_path / "x\x1b[2J\u202e.toml"
    assert main(["render", "--config", str(missing)]) == 2
    assert capsys.readouterr().err.splitlines()[0] == f"error: no config file at {tmp_path}/x\\x1b[2J\\u202e.toml"
    assert main(["render", "--json", "--config", str(missing)]) == 2
    assert json.loads(capsys.readouterr().out)["error"]["message"].endswith("x\\x1b[2J\\u202e.toml")
    assert main(["plan", "--bo\x1bgus"]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err
    assert "No such option: --bo\\x1bgus" in err


def test_an_out_dir_whose_name_is_too_long_is_a_usage_error(
    tmp_path: Path, config_text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """export_module looked at --out before writing: its OSError (ENAMETOOLONG) escaped main."""
    path = write_config(tmp_path, config_text)
    out = tmp_path / ("a" * 300)
    assert main(["render", "--json", "--config", str(path), "--out", str(out)]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["code"] == "not_writable"
    assert error["message"] == f"--out {out}: File name too long"


@pytest.mark.parametrize(
    ("target", "code", "message"),
    [
        ("adir", "usage", "--config {path} is a directory"),
        ("a" * 300, "not_writable", "--config {path}: cannot write: File name too long"),
        ("afile/below.toml", "not_writable", "--config {path}: cannot write: Not a directory"),
    ],
)
def test_init_with_force_onto_what_is_not_a_file_is_a_usage_error(
    target: str, code: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """init --force wrote into a directory or past a name too long: IsADirectoryError or OSError escaped."""
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x")
    path = tmp_path / target
    assert main(["init", "--json", "--force", "--config", str(path), *INIT_FLAGS]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert (error["code"], error["message"]) == (code, message.format(path=path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "afile"]


@pytest.mark.parametrize("name", ["[/x]", "[red]out"])
def test_paths_are_printed_as_they_are_not_as_markup(
    name: str, tmp_path: Path, config_text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A path holding [/x] was read as a rich closing tag: MarkupError after the files were written."""
    path = write_config(tmp_path, config_text)
    assert main(["render", "--config", str(path), "--out", str(tmp_path / name)]) == 0
    assert f"into {tmp_path / name}: main.tf" in capsys.readouterr().out
    assert main(["init", "--config", str(tmp_path / f"{name}.toml"), *INIT_FLAGS]) == 0
    assert f"Wrote {tmp_path / name}.toml." in capsys.readouterr().out


def test_verify_with_a_config_path_too_long_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """verify --from-here asks whether --config exists: ENAMETOOLONG escaped main."""
    path = tmp_path / ("a" * 300)
    assert main(["verify", "--json", "--from-here", "--uri", "mongodb://h.example.net/", "--config", str(path)]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert (error["code"], error["message"]) == ("usage", f"--config {path}: File name too long")


def test_a_path_with_bytes_that_are_not_utf8_is_printed_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file name holding byte 0xff reaches Python as the lone surrogate \\udcff: printing it crashed (fuzz)."""
    monkeypatch.chdir(tmp_path)
    assert main(["init", "--config", "\udcff.toml", *INIT_FLAGS]) == 0
    assert "Wrote \\udcff.toml." in capsys.readouterr().out
    assert (tmp_path / "\udcff.toml").is_file()


def test_an_error_naming_a_path_with_bytes_that_are_not_utf8_is_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The error line named the path as it was: a strict UTF-8 stream could not write its lone surrogate."""
    monkeypatch.chdir(tmp_path)
    assert main(["plan", "--config", "\udcff-missing.toml"]) == 2
    err = capsys.readouterr().err
    assert "no config file at \\udcff-missing.toml" in err and "\udcff" not in err
