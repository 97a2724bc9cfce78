"""Reading the config file: anything but a small regular file of sane TOML is a ConfigError naming it.

Each case goes through the CLI too, to show it exits 2 with one message and no traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from atlas_iam_tf.cli import main
from atlas_iam_tf.config import load_config
from atlas_iam_tf.config_file import MAX_CONFIG_BYTES, read_config_bytes
from atlas_iam_tf.errors import ConfigError
from tests.conftest import CONFIGS, write_config

BASE = (CONFIGS / "new_vpc.toml").read_text()


def _cli_error(path: Path | str, capsys: pytest.CaptureFixture[str]) -> str:
    """Run `atlasiam render --json` on ``path``: it must exit 2 with a config error; return the message."""
    capsys.readouterr()
    assert main(["render", "--config", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.err == ""
    error = json.loads(captured.out)["error"]
    assert error["code"] == "config_invalid"
    message: str = error["message"]
    return message


@pytest.mark.timeout(2, method="signal")  # a regression blocks in open() for ever: fail, don't hang
def test_a_fifo_is_refused_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "atlasiam.toml"
    os.mkfifo(fifo)
    start = time.monotonic()
    with pytest.raises(ConfigError) as exc:
        load_config(fifo, environ={})
    assert time.monotonic() - start < 1
    assert exc.value.problems == ["is not a regular file (it is a FIFO)"]
    assert str(fifo) in exc.value.message
    assert _cli_error(fifo, capsys) == f"{fifo}:\n  is not a regular file (it is a FIFO)"


@pytest.mark.timeout(2, method="signal")
def test_a_fifo_swapped_in_after_the_check_does_not_block_either(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stat says "regular file", then a FIFO is opened: O_NONBLOCK and the fstat after open still hold."""
    fifo, regular = tmp_path / "atlasiam.toml", write_config(tmp_path / "other", BASE)
    os.mkfifo(fifo)
    real_stat = Path.stat

    def stale_stat(self: Path, **kwargs: bool) -> os.stat_result:
        return real_stat(regular if self == fifo else self, **kwargs)

    monkeypatch.setattr(Path, "stat", stale_stat)
    with pytest.raises(ConfigError) as exc:
        read_config_bytes(fifo)
    assert exc.value.problems == ["is not a regular file (it is a FIFO)"]


@pytest.mark.parametrize(
    ("path", "kind"), [("/dev/zero", "a character device"), ("/dev/null", "a character device"), (".", "a directory")]
)
def test_other_non_regular_files_are_refused(
    path: str, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as exc:
        read_config_bytes(Path(path))
    assert exc.value.problems == [f"is not a regular file (it is {kind})"]
    assert _cli_error(path, capsys).startswith(f"{path}:")


def test_a_regular_file_through_a_symlink_is_read(tmp_path: Path) -> None:
    target = write_config(tmp_path / "real", BASE)
    link = tmp_path / "atlasiam.toml"
    link.symlink_to(target)
    assert load_config(link, environ={}).name == "orders"


def test_a_file_far_larger_than_the_cap_is_not_read_whole(tmp_path: Path) -> None:
    """A 4 GiB (sparse) file, read under a 1 GiB address-space limit: only the first cap+1 bytes may be read."""
    huge = tmp_path / "atlasiam.toml"
    with huge.open("wb") as fh:
        fh.truncate(4 << 30)
    child = textwrap.dedent(
        f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        from pathlib import Path
        from atlas_iam_tf.config_file import read_config_bytes
        from atlas_iam_tf.errors import ConfigError
        try:
            read_config_bytes(Path({str(huge)!r}))
        except ConfigError as exc:
            print(exc.problems[0])
        """
    )
    proc = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == f"file is larger than {MAX_CONFIG_BYTES // 1024} KiB"


def test_a_file_of_exactly_the_cap_is_read(tmp_path: Path) -> None:
    path = write_config(tmp_path, BASE)
    with path.open("a") as fh:
        fh.write("#" * (MAX_CONFIG_BYTES - path.stat().st_size))
    assert path.stat().st_size == MAX_CONFIG_BYTES
    assert load_config(path, environ={}).name == "orders"
    with path.open("a") as fh:
        fh.write("#")
    with pytest.raises(ConfigError, match="larger than"):
        load_config(path, environ={})


NESTED = [
    ("arrays", BASE + "\na = " + "[" * 100_000 + "\n", "not valid TOML: arrays or tables are nested too deeply"),
    (
        "inline-tables",
        BASE + "\na = " + "{ b = " * 40_000 + "\n",
        "not valid TOML: arrays or tables are nested too deeply",
    ),
    # A dotted key costs tomllib time and memory in the square of its parts: 100k parts would take ~40 GB.
    ("dotted-key", BASE + "\n" + ".".join(["a"] * 100_000) + " = 1\n", "line 16: more than 16 dots outside strings"),
    ("dotted-table", BASE + "\n[" + ".".join(["a"] * 100_000) + "]\n", "line 16: more than 16 dots outside strings"),
    ("quoted-parts", BASE + "\n" + ".".join(['"a"'] * 60_000) + " = 1\n", "line 16: more than 16 dots outside strings"),
]


@pytest.mark.timeout(20)
@pytest.mark.parametrize(("case", "text", "problem"), NESTED, ids=[n[0] for n in NESTED])
def test_deeply_nested_toml_is_a_config_error(
    case: str, text: str, problem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_config(path, environ={})
    assert exc.value.problems[0].startswith(problem), (case, exc.value.problems)
    assert _cli_error(path, capsys).startswith(f"{path}:\n  {problem}")


@pytest.mark.parametrize(
    "line",
    [
        # Dots in strings, comments and floats are not key parts: none of these is refused for depth.
        'tags = { note = "' + "a." * 40 + '" }',
        "# " + "see.a." * 40,
        "tags.'" + "a." * 40 + '\' = "x"',
        'tags."' + '\\"a.' * 40 + '" = "x"',
    ],
)
def test_dots_that_are_not_key_parts_are_not_counted(line: str) -> None:
    from atlas_iam_tf.config_file import parse_toml_bytes

    data = parse_toml_bytes((BASE + "\n" + line + "\n").encode(), "atlasiam.toml")
    assert data["name"] == "orders"


def test_a_key_of_seventeen_parts_is_parsed_and_one_of_eighteen_refused() -> None:
    from atlas_iam_tf.config_file import parse_toml_bytes

    node = parse_toml_bytes((".".join("abcdefghijklmnopq") + " = 1\n").encode(), "f")
    for part in "abcdefghijklmnop":  # parsed all the way down: 17 parts, the value at the end
        node = node[part]
    assert node == {"q": 1}
    with pytest.raises(ConfigError, match="line 1: more than 16 dots"):
        parse_toml_bytes((".".join("abcdefghijklmnopqr") + " = 1\n").encode(), "f")


def test_load_config_takes_the_overrides_positionally(tmp_path: Path) -> None:
    """The call other modules make: load_config(path, {"terraform.bin": ..., "environment": ...}, os.environ)."""
    path = write_config(tmp_path, BASE)
    config = load_config(path, {"terraform.bin": None, "environment": "prod"}, {"ATLASIAM_ENVIRONMENT": "staging"})
    assert (config.environment, config.terraform.bin) == ("prod", None)
