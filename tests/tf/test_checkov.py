"""checkov finds nothing in any example or in atlasiam's rendered root, and every skip in the module says why.

checkov runs from its own tool venv (`make checkov`; it pins boto3 and packaging too tightly to share
.venv). `make test` passes its path in CHECKOV_BIN, which makes it mandatory; a bare pytest run uses
.venv/tools/checkov or a checkov on PATH, and fails (naming the command to run) when there is none. The
scan is offline: no API key, `--skip-download`, no update check, and a dead proxy so a stray request
fails at once instead of hanging.

Each example is scanned where it stands beside modules/, so checkov follows its `../../modules/atlas-iam-access`
source and scans the module's resources as that call configures them. Two checks of this test's own
(external checks, written to a temporary directory) show what checkov saw: CKV_ATLASIAM_1 passes every resource
of the types the private example must bring into the scan, and CKV_ATLASIAM_2 passes an `aws_instance` only
when checkov resolved its `associate_public_ip_address` to false.
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
from tests.conftest import CONFIGS

pytestmark = pytest.mark.terraform

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
EXAMPLES = ROOT / "examples"
MODULE = ROOT / "modules" / "atlas-iam-access"
EXAMPLE_NAMES = tuple(sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir()))
ROOTS = ("root", "root_s3_backend")  # atlasiam's rendered root (with the module under it), local and S3 backend
TARGETS = (*EXAMPLE_NAMES, *ROOTS)
TIMEOUT = 180
# The form checkov itself recognises (checkov/common/comment/enum.py), so no skip can slip past this.
SKIP_COMMENT = re.compile(r"(?:checkov|bridgecrew):skip= *([A-Za-z_\d]+(?:,[A-Za-z_\d]+)*)?(:[^\n]+)?")
DEAD_PROXY = "http://127.0.0.1:9"
OWN_CHECKS = "CKV_ATLASIAM_"
# What the private example must bring into the scan: the endpoints, the wheelhouse bucket, Atlas PrivateLink.
PRIVATE_TYPES = (
    "aws_vpc_endpoint",
    "aws_s3_bucket",
    "aws_s3_object",
    "mongodbatlas_privatelink_endpoint",
    "mongodbatlas_privatelink_endpoint_service",
)
PRIVATE_RESOURCES = (
    'module.atlasiam.aws_vpc_endpoint.interface["ec2messages"]',
    'module.atlasiam.aws_vpc_endpoint.interface["ssm"]',
    'module.atlasiam.aws_vpc_endpoint.interface["ssmmessages"]',
    "module.atlasiam.aws_vpc_endpoint.s3[0]",
    "module.atlasiam.aws_vpc_endpoint.atlas[0]",
    "module.atlasiam.aws_s3_bucket.wheelhouse",
    "module.atlasiam.mongodbatlas_privatelink_endpoint.this[0]",
    "module.atlasiam.mongodbatlas_privatelink_endpoint_service.this[0]",
)
HOST = "module.atlasiam.aws_instance.this[0]"

OWN_CHECKS_PY = f"""
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class Seen(BaseResourceCheck):
    def __init__(self):
        super().__init__(
            name="atlasiam test: the resource was scanned",
            id="CKV_ATLASIAM_1",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources={list(PRIVATE_TYPES)!r},
        )

    def scan_resource_conf(self, conf):
        return CheckResult.PASSED


class ResolvedNoPublicIp(BaseResourceCheck):
    def __init__(self):
        super().__init__(
            name="atlasiam test: associate_public_ip_address resolved to false",
            id="CKV_ATLASIAM_2",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["aws_instance"],
        )

    def scan_resource_conf(self, conf):
        return CheckResult.PASSED if conf.get("associate_public_ip_address") == [False] else CheckResult.FAILED


seen = Seen()
resolved = ResolvedNoPublicIp()
"""


def _checkov_bin() -> str | None:
    explicit = os.environ.get("CHECKOV_BIN")
    if explicit:
        return explicit  # set by `make test`: must exist, so a missing tool fails instead of skipping
    local = ROOT / ".venv" / "tools" / "checkov" / "bin" / "checkov"
    return str(local) if local.exists() else shutil.which("checkov")


CHECKOV = _checkov_bin()


def _root_config(target: str, tmp: Path) -> Config:
    if target == "root_s3_backend":
        text = (CONFIGS / "new_vpc.toml").read_text() + '\n[backend]\ntype = "s3"\nbucket = "team-state"\n'
        (tmp / "s3_backend.toml").write_text(text)
        return load_config(tmp / "s3_backend.toml", environ={})
    return load_config(CONFIGS / "new_vpc.toml", environ={})


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


def _scan(directory: Path, own_checks: Path) -> dict[str, Any]:
    assert CHECKOV is not None
    argv = [
        CHECKOV,
        *("-d", str(directory), "--framework", "terraform", "--compact", "-o", "json", "--skip-download"),
        *("--external-checks-dir", str(own_checks)),
    ]
    proc = subprocess.run(
        argv, cwd=directory, env=_offline_env(), capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert proc.returncode in (0, 1), f"checkov failed to run ({proc.returncode}): {proc.stderr[-2000:]}"
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


def _copy_example(name: str, tree: Path) -> Path:
    """The example with modules/ beside it, as in the repository, so its relative module source resolves."""
    if not (tree / "modules").exists():
        shutil.copytree(MODULE, tree / "modules" / MODULE.name, ignore=shutil.ignore_patterns("tests", ".terraform*"))
    shutil.copytree(EXAMPLES / name, tree / "examples" / name, ignore=shutil.ignore_patterns(".terraform*"))
    return tree / "examples" / name


def _without_skip(module_dir: Path, check_id: str) -> None:
    """Strip every `#checkov:skip=check_id` line from a copy of the module."""
    for path in module_dir.glob("*.tf"):
        text = path.read_text(encoding="utf-8")
        stripped = re.sub(rf"^[ \t]*#checkov:skip={check_id}:.*\n", "", text, flags=re.MULTILINE)
        path.write_text(stripped, encoding="utf-8")


@pytest.fixture(scope="module")
def own_checks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("checkov-own-checks")
    (directory / "__init__.py").write_text("")
    (directory / "atlasiam_probes.py").write_text(OWN_CHECKS_PY)
    return directory


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory, own_checks: Path) -> dict[str, tuple[Path, dict[str, Any]]]:
    """Every example and the rendered root scanned once, two at a time (a few seconds each)."""
    if CHECKOV is None:
        pytest.fail("checkov is not installed: run `make checkov` (or `make test`, which does)")
    base = tmp_path_factory.mktemp("checkov")
    directories = {name: _copy_example(name, base / "tree") for name in EXAMPLE_NAMES}
    for target in ROOTS:
        write_module(render_module(_root_config(target, base)), base / target)
        directories[target] = base / target
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {target: pool.submit(_scan, directory, own_checks) for target, directory in directories.items()}
        return {target: (directories[target], future.result()) for target, future in futures.items()}


def _skips(text: str) -> list[tuple[str, str]]:
    """(check id, reason) for each skip comment in a file; reason '' when none is given."""
    return [(m.group(1) or "", (m.group(2) or ":")[1:].strip()) for m in SKIP_COMMENT.finditer(text)]


def _results(report: dict[str, Any], kind: str, *, own: bool = False) -> list[dict[str, Any]]:
    """checkov's passed/failed/skipped checks: checkov's own, or (own=True) this test's probes."""
    return [c for c in report["results"][kind] if c["check_id"].startswith(OWN_CHECKS) == own]


def test_every_example_is_scanned() -> None:
    assert set(EXAMPLE_NAMES) == {"public", "private", "existing-vpc", "for-each", "existing-roles", "workloads"}


@pytest.mark.parametrize("target", TARGETS)
def test_no_failed_checks(scans: dict[str, tuple[Path, dict[str, Any]]], target: str) -> None:
    _, report = scans[target]
    summary = report["summary"]
    assert summary["parsing_errors"] == 0, report
    # It really scanned the module's resources, through the module call.
    assert summary["resource_count"] >= 40, summary
    passed = _results(report, "passed_checks")
    assert len(passed) >= 50, summary  # existing-roles resolves more counts to 0: 82 there, 100+ elsewhere
    assert any("/modules/atlas-iam-access/" in c["file_path"] for c in passed), "no module resource scanned"
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}"
        for c in _results(report, "failed_checks")
    ]
    assert failed == [], "\n".join(failed)


def test_private_example_scan_has_the_endpoints_and_privatelink(
    scans: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    _, report = scans["private"]
    seen = {c["resource"] for c in _results(report, "passed_checks", own=True) if c["check_id"] == "CKV_ATLASIAM_1"}
    assert set(PRIVATE_RESOURCES) <= seen, sorted(set(PRIVATE_RESOURCES) - seen)
    # checkov's own checks ran on those it has checks for (it has none for aws_vpc_endpoint or the Atlas types).
    checked = {c["resource"] for kind in ("passed_checks", "skipped_checks") for c in _results(report, kind)}
    assert {"module.atlasiam.aws_s3_bucket.wheelhouse", "module.atlasiam.aws_s3_bucket_policy.wheelhouse"} <= checked


@pytest.mark.parametrize("target", TARGETS)
def test_every_skip_is_a_module_comment_with_its_reason(
    scans: dict[str, tuple[Path, dict[str, Any]]], target: str
) -> None:
    directory, report = scans[target]
    sources = [*MODULE.glob("*.tf"), *(directory.glob("*.tf") if target in EXAMPLE_NAMES else [])]
    written = {skip for path in sorted(sources) for skip in _skips(path.read_text())}
    applied = {(c["check_id"], c["check_result"]["suppress_comment"]) for c in report["results"]["skipped_checks"]}
    # Same set both ways: checkov applied every skip the module carries (none is dead) and no other.
    assert applied == written, "checkov's skips must be exactly the #checkov:skip comments, each with a reason"


def test_skips_carry_reasons() -> None:
    sources = [*MODULE.glob("*.tf"), *TEMPLATES.iterdir(), *EXAMPLES.glob("*/*.tf")]
    skips = [(path.name, *skip) for path in sorted(sources) for skip in _skips(path.read_text())]
    assert {check_id for _, check_id, _ in skips} >= {"CKV_AWS_88", "CKV2_AWS_11", "CKV_AWS_158", "CKV_AWS_25"}
    for name, check_id, reason in skips:
        assert re.fullmatch(r"CKV2?_[A-Z0-9]+_\d+", check_id), f"{name}: one check id per skip, not {check_id!r}"
        assert len(reason) >= 20, f"{name}: #checkov:skip={check_id} needs a one-line reason"


def test_private_host_needs_no_public_ip_skip(tmp_path: Path, own_checks: Path) -> None:
    """Without the CKV_AWS_88 skip, checkov passes the private example's host: it resolves no public IP."""
    if CHECKOV is None:
        pytest.fail("checkov is not installed: run `make checkov` (or `make test`, which does)")
    example = _copy_example("private", tmp_path)
    _without_skip(tmp_path / "modules" / MODULE.name, "CKV_AWS_88")
    report = _scan(example, own_checks)
    assert not [c for c in report["results"]["skipped_checks"] if c["check_id"] == "CKV_AWS_88"]
    verdicts = {
        (c["check_id"], kind)
        for kind in ("passed_checks", "failed_checks")
        for c in report["results"][kind]
        if c["resource"] == HOST
    }
    # Passed because checkov resolved the value to false (CKV_ATLASIAM_2), not because it could not resolve it.
    assert ("CKV_AWS_88", "passed_checks") in verdicts, verdicts
    assert ("CKV_ATLASIAM_2", "passed_checks") in verdicts, verdicts
