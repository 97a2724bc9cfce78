"""checkov finds nothing in any rendered variant, and every skip in the templates says why.

checkov runs from its own tool venv (`make checkov`; it pins boto3 and packaging too tightly to share
.venv). `make test` passes its path in CHECKOV_BIN, which makes it mandatory; a bare pytest run uses
.venv/tools/checkov or a checkov on PATH, and fails (naming the command to run) when there is none. The
scan is offline: no API key, `--skip-download`, no update check, and a dead proxy so a stray request
fails at once instead of hanging.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from atlas_iam_tf.config import Config, load_config
from atlas_iam_tf.render import render_module, write_module
from tests.conftest import CONFIGS, VARIANTS

pytestmark = pytest.mark.terraform

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
ALL_VARIANTS = (*VARIANTS, "s3_backend")
TIMEOUT = 120
# The form checkov itself recognises (checkov/common/comment/enum.py), so no skip can slip past this.
SKIP_COMMENT = re.compile(r"(?:checkov|bridgecrew):skip= *([A-Za-z_\d]+(?:,[A-Za-z_\d]+)*)?(:[^\n]+)?")
DEAD_PROXY = "http://127.0.0.1:9"


def _checkov_bin() -> str | None:
    explicit = os.environ.get("CHECKOV_BIN")
    if explicit:
        return explicit  # set by `make test`: must exist, so a missing tool fails instead of skipping
    local = ROOT / ".venv" / "tools" / "checkov" / "bin" / "checkov"
    return str(local) if local.exists() else shutil.which("checkov")


CHECKOV = _checkov_bin()


def _config(variant: str, tmp: Path) -> Config:
    if variant == "s3_backend":
        text = (CONFIGS / "new_vpc.toml").read_text() + '\n[backend]\ntype = "s3"\nbucket = "team-state"\n'
        (tmp / "s3_backend.toml").write_text(text)
        return load_config(tmp / "s3_backend.toml", environ={})
    return load_config(CONFIGS / f"{variant}.toml", environ={})


def _offline_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BC_", "PRISMA_", "CKV_", "CHECKOV_"))}
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    env.update(
        CKV_SKIP_PACKAGE_UPDATE_CHECK="true",
        HTTP_PROXY=DEAD_PROXY,
        HTTPS_PROXY=DEAD_PROXY,
        ALL_PROXY=DEAD_PROXY,
        http_proxy=DEAD_PROXY,
        https_proxy=DEAD_PROXY,
    )
    return env


def _scan(module: Path) -> dict[str, Any]:
    assert CHECKOV is not None
    argv = [CHECKOV, "-d", str(module), "--framework", "terraform", "--compact", "-o", "json", "--skip-download"]
    proc = subprocess.run(
        argv, cwd=module, env=_offline_env(), capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert proc.returncode in (0, 1), f"checkov failed to run ({proc.returncode}): {proc.stderr[-2000:]}"
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    """Every variant rendered and scanned once, the scans side by side (a few seconds each)."""
    if CHECKOV is None:
        pytest.fail("checkov is not installed: run `make checkov` (or `make test`, which does)")
    base = tmp_path_factory.mktemp("checkov")
    modules = {}
    for variant in ALL_VARIANTS:
        write_module(render_module(_config(variant, base)), base / variant)
        modules[variant] = base / variant
    with ThreadPoolExecutor(max_workers=len(modules)) as pool:
        futures = {variant: pool.submit(_scan, module) for variant, module in modules.items()}
        return {variant: (modules[variant], future.result()) for variant, future in futures.items()}


def _skips(text: str) -> list[tuple[str, str]]:
    """(check id, reason) for each skip comment in a file; reason '' when none is given."""
    return [(m.group(1) or "", (m.group(2) or ":")[1:].strip()) for m in SKIP_COMMENT.finditer(text)]


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_no_failed_checks(scans: dict[str, tuple[Path, dict[str, Any]]], variant: str) -> None:
    _, report = scans[variant]
    summary = report["summary"]
    assert summary["parsing_errors"] == 0, report
    assert summary["resource_count"] > 0 and summary["passed"] > 0, summary  # it really scanned the module
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}"
        for c in report["results"]["failed_checks"]
    ]
    assert failed == [], "\n".join(failed)


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_every_skip_is_a_template_comment_with_its_reason(
    scans: dict[str, tuple[Path, dict[str, Any]]], variant: str
) -> None:
    module, report = scans[variant]
    written = sorted(skip for path in sorted(module.glob("*.tf")) for skip in _skips(path.read_text()))
    applied = sorted(
        (c["check_id"], c["check_result"]["suppress_comment"]) for c in report["results"]["skipped_checks"]
    )
    # Same set both ways: checkov applied every skip the module carries (none is dead) and no other.
    assert applied == written, "checkov's skips must be exactly the #checkov:skip comments, each with a reason"


def test_template_skips_carry_reasons() -> None:
    skips = [(path.name, *skip) for path in sorted(TEMPLATES.iterdir()) for skip in _skips(path.read_text())]
    assert skips, "expected the documented skips (CKV_AWS_88, CKV2_AWS_11, CKV_AWS_158)"
    for name, check_id, reason in skips:
        assert re.fullmatch(r"CKV2?_[A-Z0-9]+_\d+", check_id), f"{name}: one check id per skip, not {check_id!r}"
        assert len(reason) >= 20, f"{name}: #checkov:skip={check_id} needs a one-line reason"
