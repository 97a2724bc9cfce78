"""A canonical JSON snapshot of the Terraform plan atlasiam makes for each single-host test config.

What: for every config in ``tests/configs/*.toml`` without ``[[workloads]]`` (a single-host config), render
and plan it with the atlasiam *on the import path* against the offline stand-in providers (the same mirror,
placeholder credentials and ``Deployment.plan`` the tests in ``tests/tf`` use), read the saved plan with
``terraform show -json``, and keep, for every planned resource change (data source reads included): its
address, its actions and its planned ``after`` values, with every ``after_unknown`` path written as
``"(known after apply)"``. Nothing else of a change is kept, and nothing of ``after`` is dropped. The snapshot
is a JSON object keyed by address, written with sorted keys and a fixed indent, so equal plans give equal
bytes.

Why: tests/tf/test_plan_unchanged.py compares the current code's snapshots with golden files made from the
commit before the workloads feature, so a change to what a single-host config plans cannot slip in unnoticed.

Which checkout plans is whichever ``atlas_iam_tf`` and ``atlasiam_sandbox`` Python imports: run it with
``PYTHONPATH=<checkout>:<checkout>/sandbox``. The configs come from this script's own repository unless
``--configs`` says otherwise. Usage::

    PYTHONPATH=<checkout>:<checkout>/sandbox .venv/bin/python scripts/plan_snapshot.py            # print
    PYTHONPATH=<checkout>:<checkout>/sandbox .venv/bin/python scripts/plan_snapshot.py --twice    # + stable?
    PYTHONPATH=<checkout>:<checkout>/sandbox .venv/bin/python scripts/plan_snapshot.py --write tests/tf/golden

Run-dependent values, and what is done about each:

* Temporary paths (the project directory, ``HOME``, the provider mirror) and machine paths (the checkout that
  planned, the Python prefix): replaced by ``<project>``, ``<home>``, ``<mirror>``, ``<checkout>``,
  ``<python>`` wherever they occur in a string. None occurs in today's plans; the replacement is a guard.
* Sandbox ports: none. The environment drops every ``AWS_*``, ``MONGODB_ATLAS_*``, ``TF_*`` and
  ``ATLASIAM_*`` variable before adding the placeholder credentials, so ``AWS_ENDPOINT_URL`` and
  ``MONGODB_ATLAS_BASE_URL`` are unset and the stand-ins never call a sandbox server.
* Generated ids (the AMI the stand-in's data source returns, for one): the stand-ins derive them from a hash
  of what is planned, so they are the same on every run; ids made at apply are ``after_unknown``.
* Timestamps: the plan's top-level ``timestamp`` (and ``terraform_version``, ``prior_state``, ...) are not
  part of a resource change, so not of the snapshot.
* The mirror's TLS pair is random per mirror, but only the plugin handshake uses it.

``--twice`` plans every config a second time in fresh directories and fails unless the snapshots are equal.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import atlas_iam_tf
from atlas_iam_tf.deploy import Deployment
from atlas_iam_tf.project import load_project
from atlas_iam_tf.terraform.args import PLAN_FILE, build_args
from atlasiam_sandbox.mirror import build_mirror
from tests.tf.conftest import FAKE_CREDENTIALS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
CONFIGS = REPO / "tests" / "configs"
UNKNOWN = "(known after apply)"
GOLDEN_PREFIX = "plan_"
# What tests/conftest.py's clean_env removes: the developer's cloud, Terraform and atlasiam settings.
STRIPPED_PREFIXES = ("AWS_", "MONGODB_ATLAS_", "TF_", "ATLASIAM_")

Json = Any


def single_host_configs(directory: Path = CONFIGS) -> list[Path]:
    """The ``*.toml`` configs in ``directory`` without ``[[workloads]]``, sorted by name."""
    return [
        path
        for path in sorted(directory.glob("*.toml"))
        if "workloads" not in tomllib.loads(path.read_text(encoding="utf-8"))
    ]


def golden_name(config: Path) -> str:
    """The golden file of a config: ``plan_<config stem>.json``."""
    return f"{GOLDEN_PREFIX}{config.stem}.json"


def standin_environ(base: Mapping[str, str], cli_config: Path, home: Path) -> dict[str, str]:
    """``base`` without cloud/Terraform/atlasiam settings, plus the stand-in mirror and placeholder credentials."""
    env = {k: v for k, v in base.items() if not k.startswith(STRIPPED_PREFIXES)}
    env |= {
        **FAKE_CREDENTIALS,
        "TF_CLI_CONFIG_FILE": str(cli_config),
        "HOME": str(home),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return env


def plan_document(config: Path, project_dir: Path, environ: Mapping[str, str]) -> dict[str, Json]:
    """Plan ``config`` (copied into ``project_dir`` as atlasiam.toml) and return ``terraform show -json`` of it."""
    project_dir.mkdir(parents=True, exist_ok=True)
    config_path = project_dir / "atlasiam.toml"
    shutil.copyfile(config, config_path)
    deployment = Deployment(load_project(config_path, environ=dict(environ)))
    deployment.plan()
    shown = deployment.runner.execute(build_args("show", plan_file=PLAN_FILE))
    doc: dict[str, Json] = json.loads(shown.stdout)
    return doc


def mark_unknown(after: Json, unknown: Json) -> Json:
    """``after`` with every path that ``unknown`` (a plan's ``after_unknown``) marks true set to ``UNKNOWN``."""
    if unknown is True:
        return UNKNOWN
    if isinstance(unknown, dict):
        known = after if isinstance(after, dict) else {}
        return {key: mark_unknown(known.get(key), unknown.get(key)) for key in {*known, *unknown}}
    if isinstance(unknown, list):
        known_items = after if isinstance(after, list) else []
        return [
            mark_unknown(known_items[i] if i < len(known_items) else None, unknown[i] if i < len(unknown) else None)
            for i in range(max(len(known_items), len(unknown)))
        ]
    return after


def normalise(value: Json, replacements: Mapping[str, str]) -> Json:
    """``value`` with each key of ``replacements`` replaced by its placeholder in every string (longest first)."""
    if isinstance(value, str):
        for old in sorted(replacements, key=len, reverse=True):
            value = value.replace(old, replacements[old])
        return value
    if isinstance(value, dict):
        return {normalise(k, replacements): normalise(v, replacements) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v, replacements) for v in value]
    return value


def snapshot(plan: Mapping[str, Json], replacements: Mapping[str, str]) -> dict[str, Json]:
    """Address -> ``{"actions", "after"}`` for every resource change of a ``terraform show -json`` plan."""
    out: dict[str, Json] = {}
    for change in plan.get("resource_changes", []):
        body = change["change"]
        out[change["address"]] = {
            "actions": body["actions"],
            "after": mark_unknown(body.get("after"), body.get("after_unknown")),
        }
    normalised: dict[str, Json] = normalise(out, replacements)
    return normalised


def dumps(snap: Mapping[str, Json]) -> str:
    """The canonical text of a snapshot: sorted keys, two-space indent, UTF-8 as is, a final newline."""
    return json.dumps(snap, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def run_dependent_paths(project_dir: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """The run- and machine-dependent paths a plan could carry, each with its placeholder."""
    paths = {
        "<project>": project_dir,
        "<home>": Path(environ["HOME"]),
        # The CLI config is <mirror>/.atlasiam/terraform.rc (atlasiam_sandbox.mirror).
        "<mirror>": Path(environ["TF_CLI_CONFIG_FILE"]).parent.parent,
        "<checkout>": Path(atlas_iam_tf.__file__).resolve().parent.parent,
        "<python>": Path(sys.prefix),
    }
    out: dict[str, str] = {}
    for placeholder, path in paths.items():
        for spelling in {str(path), str(path.resolve())}:
            out[spelling] = placeholder
    return out


def snapshot_text(config: Path, project_dir: Path, environ: Mapping[str, str]) -> str:
    """Plan ``config`` in ``project_dir`` with ``environ`` (see ``standin_environ``); its canonical snapshot."""
    plan = plan_document(config, project_dir, environ)
    return dumps(snapshot(plan, run_dependent_paths(project_dir, environ)))


def snapshot_all(configs: Sequence[Path], workspace: Path) -> dict[str, str]:
    """Config stem -> snapshot text, planned in fresh directories under ``workspace`` with a mirror built there."""
    mirror = build_mirror(workspace / "mirror")
    home = workspace / "home"
    home.mkdir(exist_ok=True)
    environ = standin_environ(os.environ, mirror.cli_config, home)
    return {config.stem: snapshot_text(config, workspace / "projects" / config.stem, environ) for config in configs}


def main(argv: Sequence[str] | None = None) -> int:
    """Print (or ``--write``) the snapshots; with ``--twice``, fail unless a second planning gives the same."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=Path, default=CONFIGS, help="directory of *.toml configs")
    parser.add_argument("--write", type=Path, metavar="DIR", help="write DIR/plan_<config>.json instead of printing")
    parser.add_argument("--twice", action="store_true", help="plan again and fail unless the snapshots are equal")
    args = parser.parse_args(argv)

    print(f"planning with {Path(atlas_iam_tf.__file__).parent}", file=sys.stderr)
    configs = single_host_configs(args.configs)
    if not configs:
        print(f"no single-host configs in {args.configs}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="plan-snapshot-") as tmp:
        snaps = snapshot_all(configs, Path(tmp) / "first")
        if args.twice:
            again = snapshot_all(configs, Path(tmp) / "second")
            unstable = sorted(name for name in snaps if snaps[name] != again[name])
            if unstable:
                print(f"unstable snapshots (two plans differ): {', '.join(unstable)}", file=sys.stderr)
                return 1
            print(f"stable: {len(snaps)} configs planned twice give equal snapshots", file=sys.stderr)
    if args.write is not None:
        args.write.mkdir(parents=True, exist_ok=True)
        for config in configs:
            (args.write / golden_name(config)).write_text(snaps[config.stem], encoding="utf-8")
            print(f"wrote {args.write / golden_name(config)}", file=sys.stderr)
    else:
        sys.stdout.write(dumps({name: json.loads(text) for name, text in snaps.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
