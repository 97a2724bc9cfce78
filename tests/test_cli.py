"""CLI surface: commands, init's starter file, JSON mode, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from atlas_iam_tf.cli import main
from atlas_iam_tf.config import load_config
from tests.conftest import write_config

COMMANDS = ("init", "render", "plan", "apply", "destroy", "output", "verify", "sandbox")


def test_help_lists_every_command() -> None:
    proc = subprocess.run([sys.executable, "-m", "atlas_iam_tf", "--help"], capture_output=True, text=True, check=True)
    for command in COMMANDS:
        assert f"  {command} " in proc.stdout


def test_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--bogus"]) == 2
    assert "No such option" in capsys.readouterr().err


def test_init_writes_a_valid_starter_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "atlasiam.toml"
    code = main(
        [
            "init",
            "--config",
            str(path),
            "--name",
            "shop",
            "--project-id",
            "0" * 24,
            "--cluster-name",
            "Main",
            "--role",
            "readWrite@shop",
            "--role",
            "read@stats",
            "--json",
        ]
    )
    assert code == 0, capsys.readouterr()
    config = load_config(path, environ={})
    assert config.name == "shop"
    assert [(r.role_name, r.database_name) for r in config.atlas.roles] == [
        ("readWrite", "shop"),
        ("read", "stats"),
    ]
    assert "# atlasiam.toml" in path.read_text()


def test_init_without_tty_needs_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "atlasiam.toml"
    assert main(["init", "--config", str(path), "--json"]) == 2
    doc = json.loads(capsys.readouterr().out)
    assert "--name" in doc["error"]["message"] and "--project-id" in doc["error"]["message"]
    assert not path.exists()


def test_init_rejects_invalid_answers_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "atlasiam.toml"
    assert (
        main(
            [
                "init",
                "--config",
                str(path),
                "--name",
                "Bad Name",
                "--project-id",
                "123",
                "--cluster-name",
                "C",
                "--json",
            ]
        )
        == 2
    )
    message = json.loads(capsys.readouterr().out)["error"]["message"]
    assert "name:" in message and "atlas.project_id:" in message
    assert not path.exists()


def test_init_refuses_to_overwrite(tmp_path: Path, config_text: str) -> None:
    path = write_config(tmp_path, config_text)
    assert main(["init", "--config", str(path), "--name", "x", "--project-id", "0" * 24, "--cluster-name", "C"]) == 2
    assert path.read_text() == config_text


def test_render_out_exports_a_module(tmp_path: Path, config_text: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, config_text)
    out = tmp_path / "module"
    assert main(["render", "--config", str(path), "--out", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert "main.tf" in doc["data"]["files"] and (out / "terraform.tfvars.json").is_file()
    assert main(["render", "--config", str(path), "--out", str(out)]) == 2  # not empty now


def test_plan_names_missing_atlas_credentials_before_terraform(
    tmp_path: Path, config_text: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    path = write_config(tmp_path, config_text)
    assert main(["plan", "--config", str(path), "--json"]) == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["error"]["code"] == "credentials_missing"
    assert "MONGODB_ATLAS_CLIENT_ID" in doc["error"]["message"]
    assert not (tmp_path / ".atlasiam").exists()


def test_plan_names_half_an_atlas_key_pair(
    tmp_path: Path, config_text: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("MONGODB_ATLAS_PUBLIC_API_KEY", "public")
    path = write_config(tmp_path, config_text)
    assert main(["plan", "--config", str(path), "--json"]) == 2
    assert "MONGODB_ATLAS_PRIVATE_API_KEY is not set" in json.loads(capsys.readouterr().out)["error"]["message"]


def test_missing_terraform_binary_is_a_usage_error(
    tmp_path: Path, config_text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, config_text)
    assert main(["plan", "--config", str(path), "--terraform-bin", "/nonexistent/terraform", "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "terraform_not_found"


def test_output_before_apply_says_so(tmp_path: Path, config_text: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, config_text)
    assert main(["output", "--config", str(path), "--json"]) == 1
    assert "nothing has been applied" in json.loads(capsys.readouterr().out)["error"]["message"]


def test_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--config", str(tmp_path / "nope.toml")]) == 2
    assert "atlasiam init" in capsys.readouterr().err


def test_sandbox_without_the_sandbox_installed_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from atlas_iam_tf.commands import sandbox

    monkeypatch.setattr(sandbox, "SANDBOX_MODULE", "atlasiam_sandbox_not_installed")
    assert main(["sandbox", "up"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[0] == (
        "error: the sandbox is not installed: pip install 'atlasiam[sandbox]' (from a checkout: pip install ./sandbox)"
    )
    assert main(["--sandbox", "plan", "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "sandbox_missing"


def test_sandbox_passes_its_arguments_and_exit_code_through(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`atlasiam sandbox status --dir DIR`: the sandbox's own answer (nothing runs there: exit 1)."""
    assert main(["sandbox", "status", "--dir", str(tmp_path), "--json"]) == 1
    assert json.loads(capsys.readouterr().out) == {"data": {"endpoints": {}, "pid": None, "running": False}}
    assert main(["sandbox", "bogus"]) == 2  # argparse's usage error, passed on


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("mongodb+srv://c.example.net/?authSource=%24external", "mongodb+srv://c.example.net/?authSource=%24external"),
        ("mongodb://user:p@ss@c.example.net/", "mongodb://…@c.example.net/"),
        (
            "mongodb://h/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:abc",
            "mongodb://h/?authMechanism=MONGODB-AWS&authMechanismProperties=…",
        ),
        ("not a uri with secret", "…"),
    ],
)
def test_uris_are_redacted_before_printing(uri: str, shown: str) -> None:
    from atlas_iam_tf.verify.request import redact_uri

    assert redact_uri(uri) == shown


def test_shell_completion_completes_commands_and_flags() -> None:
    """`atlasiam --install-completion` installs a script that asks atlasiam itself, like this."""
    help_text = subprocess.run(
        [sys.executable, "-m", "atlas_iam_tf", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "--install-completion" in help_text
    for words, cword, expected in (("atlasiam pl", "1", "plan"), ("atlasiam verify --from-h", "2", "--from-here")):
        env = {**os.environ, "_ATLASIAM_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": cword}
        proc = subprocess.run(
            [sys.executable, "-c", "from atlas_iam_tf.cli import entrypoint; entrypoint()"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert (proc.returncode, proc.stdout.split()) == (0, [expected])


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_render_force_never_touches_the_users_files(tmp_path: Path, config_text: str) -> None:
    """--out pointed at the config's own folder: the user's mine.tf survives every --force render."""
    path = write_config(tmp_path, config_text)
    (tmp_path / "mine.tf").write_text("# the user's own\n")
    assert main(["render", "--config", str(path), "--out", str(tmp_path), "--force"]) == 0
    assert main(["render", "--config", str(path), "--out", str(tmp_path), "--force"]) == 0  # again: its own files
    assert (tmp_path / "mine.tf").read_text() == "# the user's own\n"
    assert path.read_text() == config_text


def test_render_force_refuses_to_overwrite_a_file_it_did_not_write(
    tmp_path: Path, config_text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path / "cfg", config_text)
    out = tmp_path / "module"
    out.mkdir()
    (out / "main.tf").write_text("# the user's main.tf\n")
    before = _snapshot(out)
    assert main(["render", "--config", str(path), "--out", str(out), "--force", "--json"]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["message"].startswith(f"--out {out}: main.tf was not written by atlasiam")
    assert _snapshot(out) == before  # nothing written
    # a file atlasiam wrote and the user edited since is the user's now
    (out / "main.tf").unlink()
    assert main(["render", "--config", str(path), "--out", str(out), "--force"]) == 0
    (out / "outputs.tf").write_text("# edited\n")
    assert main(["render", "--config", str(path), "--out", str(out), "--force"]) == 2
    assert (out / "outputs.tf").read_text() == "# edited\n"


@pytest.mark.parametrize(("where", "code"), [("file", "usage"), ("below-file", "not_writable")])
def test_render_out_that_is_no_directory_is_a_usage_error(
    where: str, code: str, tmp_path: Path, config_text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, config_text)
    (tmp_path / "afile").write_text("x")
    out = tmp_path / "afile" if where == "file" else tmp_path / "afile" / "module"
    assert main(["render", "--config", str(path), "--out", str(out), "--json"]) == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["error"]["code"] == code
    assert str(tmp_path / "afile") in doc["error"]["message"]
    assert (tmp_path / "afile").read_text() == "x"


@pytest.mark.parametrize("command", [["render"], ["plan"]])
def test_state_dir_that_is_a_file_is_a_usage_error(
    command: list[str],
    tmp_path: Path,
    config_text: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MONGODB_ATLAS_CLIENT_ID", "id")
    monkeypatch.setenv("MONGODB_ATLAS_CLIENT_SECRET", "placeholder")
    path = write_config(tmp_path, config_text)
    (tmp_path / ".atlasiam").write_text("not a directory")
    assert main([*command, "--config", str(path), "--json"]) == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["error"]["code"] == "not_writable" and ".atlasiam" in doc["error"]["message"]
    assert (tmp_path / ".atlasiam").read_text() == "not a directory"


@pytest.mark.parametrize("binary", ["/" + "x" * 5000, "x" * 5000, "/" + "y" * 300 + "/terraform"])
def test_an_impossible_terraform_bin_is_a_usage_error(
    binary: str, tmp_path: Path, config_text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A path longer than the OS allows (ENAMETOOLONG) is "not found", not a traceback; the echo is cut."""
    path = write_config(tmp_path, config_text)
    assert main(["plan", "--config", str(path), "--terraform-bin", binary, "--json"]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["code"] == "terraform_not_found"
    assert error["message"] == f"terraform binary not found: {binary[:80] + '…'!r}"


def test_render_module_only_writes_the_module_alone_without_a_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from atlas_iam_tf.render import module_dir

    monkeypatch.chdir(tmp_path)  # no atlasiam.toml here: platform teams call the module from their own root
    assert main(["render", "--module-only", "--out", "mod", "--json"]) == 0
    files = json.loads(capsys.readouterr().out)["data"]["files"]
    source = module_dir()
    relative = (p.relative_to(source) for p in source.rglob("*") if p.is_file())
    expected = sorted(r.as_posix() for r in relative if r.parts[0] != "tests")  # the module's terraform tests stay
    assert files == expected and "versions.tf" in files and "terraform.tfvars.json" not in files
    for name in files:
        assert (tmp_path / "mod" / name).read_text() == (source / name).read_text()
    assert not (tmp_path / ".atlasiam").exists()


def test_render_module_only_needs_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["render", "--module-only"]) == 2
    assert "--module-only needs --out" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
