"""The project cache: an unchanged config is not validated or rendered again; any change is a miss."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

from atlas_iam_tf.commands.common import load_project
from atlas_iam_tf.config import load_config
from atlas_iam_tf.deploy import Deployment
from atlas_iam_tf.project import ProjectValues
from atlas_iam_tf.project_cache import KEEP, ProjectCache, cache_key
from tests.conftest import CONFIGS, VARIANTS, write_config


def _remembered(path: Path) -> None:
    """Load the project and let the command's first write store it, as plan/apply do."""
    project = load_project(path)
    Deployment(project).render()


def _entries(root: Path) -> list[Path]:
    return sorted((root / ".atlasiam" / ".cache").glob("project-*.json"))


@pytest.mark.parametrize("variant", VARIANTS)
def test_values_round_trip_through_json(variant: str) -> None:
    values = ProjectValues.from_config(load_config(CONFIGS / f"{variant}.toml"))
    assert ProjectValues.from_json(json.loads(json.dumps(values.to_json()))) == values


def test_a_hit_returns_what_validating_again_returns(tmp_path: Path, config_text: str) -> None:
    path = write_config(tmp_path, config_text)
    fresh = load_project(path)
    assert fresh.cache_key is not None  # validated now: to be stored once the command writes
    Deployment(fresh).render()
    cached = load_project(path)
    assert cached.cache_key is None  # read back, not validated
    assert cached.values == fresh.values
    assert cached.workdir == fresh.workdir


def test_nothing_is_stored_until_the_command_writes(tmp_path: Path, config_text: str) -> None:
    path = write_config(tmp_path, config_text)
    load_project(path)
    assert not (tmp_path / ".atlasiam").exists()


def test_a_changed_config_is_a_miss(tmp_path: Path, config_text: str) -> None:
    path = write_config(tmp_path, config_text)
    _remembered(path)
    path.write_text(config_text.replace('vpc_cidr = "10.42.0.0/16"', 'vpc_cidr = "10.43.0.0/16"'))
    project = load_project(path)
    assert project.cache_key is not None
    assert '"vpc_cidr": "10.43.0.0/16"' in project.module[PurePosixPath("terraform.tfvars.json")]


def test_an_invalid_config_is_refused_even_after_a_valid_one_was_cached(tmp_path: Path, config_text: str) -> None:
    from atlas_iam_tf.errors import ConfigError

    path = write_config(tmp_path, config_text)
    _remembered(path)
    path.write_text(config_text.replace('name = "orders"', 'name = "Orders!"'))
    with pytest.raises(ConfigError, match="name"):
        load_project(path)


def test_overrides_are_part_of_the_key(tmp_path: Path, config_text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_config(tmp_path, config_text)
    _remembered(path)
    monkeypatch.setenv("ATLASIAM_ENVIRONMENT", "staging")
    staged = load_project(path)
    assert staged.cache_key is not None
    assert staged.environment == "staging"
    assert load_project(path, environment="prod").environment == "prod"


def test_the_key_covers_bytes_and_overrides() -> None:
    base = cache_key(b"a", [{}, {}])
    assert cache_key(b"a", [{}, {}]) == base
    assert cache_key(b"b", [{}, {}]) != base
    assert cache_key(b"a", [{"environment": "x"}, {}]) != base
    assert cache_key(b"a", [{}, {"environment": "x"}]) != cache_key(b"a", [{"environment": "x"}, {}])


def _values_with_module(files: dict[str, str]) -> str:
    values = ProjectValues.from_config(load_config(CONFIGS / "new_vpc.toml")).to_json()
    return json.dumps(values | {"module": files})


@pytest.mark.parametrize(
    "damage",
    [
        "",
        "{",
        '{"key": "other", "values": {}}',
        '{"key": "K", "values": {"name": 1}}',
        '{"key": "K", "values": ' + _values_with_module({"../escape.tf": ""}) + "}",
        '{"key": "K", "values": ' + _values_with_module({"/abs.tf": ""}) + "}",
    ],
)
def test_an_unreadable_entry_is_a_miss(tmp_path: Path, config_text: str, damage: str) -> None:
    path = write_config(tmp_path, config_text)
    _remembered(path)
    (entry,) = _entries(tmp_path)
    key = json.loads(entry.read_text())["key"]
    entry.write_text(damage.replace('"K"', json.dumps(key)))
    assert load_project(path).cache_key is not None


def test_entries_are_private_and_few(tmp_path: Path) -> None:
    cache = ProjectCache(tmp_path)
    values = ProjectValues.from_config(load_config(CONFIGS / "new_vpc.toml"))
    for i in range(KEEP + 3):
        cache.put(f"{i:064x}", values)
    entries = _entries(tmp_path)
    assert len(entries) == KEEP
    assert all(e.stat().st_mode & 0o777 == 0o600 for e in entries)
    assert cache.get(f"{KEEP + 2:064x}") == values


def test_a_hit_needs_neither_pydantic_nor_jinja(tmp_path: Path, config_text: str) -> None:
    path = write_config(tmp_path, config_text)
    _remembered(path)
    code = (
        "import sys; from pathlib import Path;"
        "from atlas_iam_tf.commands.common import load_project;"
        f"p = load_project(Path({str(path)!r})); assert p.cache_key is None;"
        "print(sorted(m for m in ('pydantic', 'jinja2', 'atlas_iam_tf.config') if m in sys.modules))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLASIAM_")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "[]"
