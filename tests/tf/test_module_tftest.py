"""`terraform test` of a module's `tests/*.tftest.hcl` files with the embedded Terraform and the stand-in mirror.

`mock_provider` blocks never call a provider, but Terraform still loads each provider's schema from the
installed plugin, so `terraform init` installs the stand-ins from the filesystem mirror first. The harness is
proven on a fixture module (tests/fixtures/tfmodule): a deliberately failing run must be reported, and so must
a module whose test files Terraform did not run.
"""

from __future__ import annotations

import os
import re
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from atlas_iam_tf.render import MODULE_DIR, module_dir, render_static
from atlas_iam_tf.terraform.engine import embedded_engine
from atlas_iam_tf.terraform.runner import TerraformRunner, terraform_env
from atlasiam_sandbox.mirror import MirrorInfo

pytestmark = pytest.mark.terraform

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "tfmodule"
MODULE = ROOT / "modules" / "atlas-iam-access"
_RUN_BLOCK = re.compile(r'^run\s+"([^"]+)"', re.MULTILINE)
_JUNIT = "tftest-results.xml"

FAILING_TFTEST = """\
mock_provider "aws" {}
mock_provider "mongodbatlas" {}

run "deliberately_wrong" {
  command = plan

  variables {
    name = "app"
  }

  assert {
    condition     = aws_iam_role.this[0].name == "not-app-host"
    error_message = "deliberately failing assertion"
  }
}
"""


@dataclass(frozen=True)
class TfTestRun:
    """What one `terraform test` left: exit code, output, and each run's outcome by `file::run`."""

    returncode: int
    stdout: str
    stderr: str
    outcomes: dict[str, str]
    declared: set[str]

    def report(self) -> str:
        return f"terraform test -> {self.returncode}\n{self.stdout}\n{self.stderr}"


def _declared_runs(workdir: Path) -> set[str]:
    """`file::run` for every run block in the module's test files (Terraform's default locations)."""
    files = [*workdir.glob("*.tftest.hcl"), *(workdir / "tests").glob("*.tftest.hcl")]
    return {
        f"{path.relative_to(workdir).as_posix()}::{name}"
        for path in files
        for name in _RUN_BLOCK.findall(path.read_text(encoding="utf-8"))
    }


def _outcomes(junit: Path) -> dict[str, str]:
    """`file::run` -> passed / failed / error / skipped, from Terraform's JUnit report."""
    if not junit.is_file():
        return {}
    outcomes: dict[str, str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        outcomes[f"{case.get('classname')}::{case.get('name')}"] = kinds[0] if kinds else "passed"
    return outcomes


def initialized(
    module_dir: Path, workdir: Path, mirror: MirrorInfo, extra: dict[str, str] | None = None
) -> TerraformRunner:
    """Copy the module to `workdir` (plus `extra` files) and `terraform init` it from the stand-in mirror."""
    shutil.copytree(
        module_dir, workdir, ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "*.tfstate*")
    )
    for name, text in (extra or {}).items():
        (workdir / name).parent.mkdir(parents=True, exist_ok=True)
        (workdir / name).write_text(text, encoding="utf-8")
    env = terraform_env(os.environ, {"TF_CLI_CONFIG_FILE": str(mirror.cli_config)})
    runner = TerraformRunner(embedded_engine(), workdir, env)
    runner.execute(["init", "-input=false", "-no-color", "-backend=false"])
    return runner


def terraform_test(
    module_dir: Path, workdir: Path, mirror: MirrorInfo, extra: dict[str, str] | None = None
) -> TfTestRun:
    """`terraform test` in an initialized copy of the module; exit 1 (a failed run) is a result, not an error."""
    runner = initialized(module_dir, workdir, mirror, extra)
    result = runner.execute(["test", "-no-color", f"-junit-xml={_JUNIT}"], ok_codes=(0, 1))
    return TfTestRun(
        result.returncode, result.stdout, result.stderr, _outcomes(workdir / _JUNIT), _declared_runs(workdir)
    )


def assert_passed(run: TfTestRun) -> None:
    """Every declared run block ran and passed; otherwise fail with Terraform's output."""
    assert run.declared, f"no run blocks in the module's test files\n{run.report()}"
    not_passed = {name: outcome for name, outcome in run.outcomes.items() if outcome != "passed"}
    assert run.returncode == 0 and not not_passed, f"runs not passed: {not_passed}\n{run.report()}"
    missing = run.declared - run.outcomes.keys()
    assert not missing, f"run blocks Terraform did not run: {sorted(missing)}\n{run.report()}"


def test_module_tftest_passes(tmp_path: Path, mirror: MirrorInfo) -> None:
    run = terraform_test(MODULE, tmp_path / "module", mirror)
    assert_passed(run)
    assert {name.split("::")[0] for name in run.outcomes} >= {
        "tests/names.tftest.hcl",
        "tests/modes.tftest.hcl",
        "tests/private_uri.tftest.hcl",
        "tests/validation.tftest.hcl",
    }


def test_module_with_its_test_files_validates_and_is_fmt_clean(tmp_path: Path, mirror: MirrorInfo) -> None:
    # `terraform validate` also checks tests/*.tftest.hcl and the mocks they load (unless -no-tests), so test
    # files that do not fit the module would break the module's own validate.
    runner = initialized(MODULE, tmp_path / "module", mirror)
    assert sorted(p.name for p in (tmp_path / "module" / "tests").glob("*.tftest.hcl"))
    validated = runner.execute(["validate", "-no-color"], ok_codes=(0, 1))
    assert validated.returncode == 0, f"{validated.stdout}\n{validated.stderr}"
    formatted = runner.execute(["fmt", "-check", "-diff", "-recursive", "-no-color"], ok_codes=(0, 3))
    assert formatted.returncode == 0, f"not terraform fmt clean (run terraform fmt -recursive):\n{formatted.stdout}"


def test_rendered_module_leaves_the_test_files_out() -> None:
    # The test files run against mock providers from tests/mocks; `atlasiam render` does not ship them.
    rendered = render_static(module_dir(), MODULE_DIR)
    assert module_dir() == MODULE
    assert (MODULE / "tests").is_dir()
    assert [p for p in rendered if "tests" in p.parts or p.name.endswith((".tftest.hcl", ".tfmock.hcl"))] == []
    assert MODULE_DIR / "variables.tf" in rendered


def test_fixture_tftest_passes(tmp_path: Path, mirror: MirrorInfo) -> None:
    run = terraform_test(FIXTURE, tmp_path / "module", mirror)
    assert_passed(run)
    assert run.outcomes == {
        "tests/rules.tftest.hcl::role_named_after_name": "passed",
        "tests/rules.tftest.hcl::one_user_per_role_arn": "passed",
        "tests/rules.tftest.hcl::long_name_refused": "passed",
    }


def test_failing_run_is_reported(tmp_path: Path, mirror: MirrorInfo) -> None:
    run = terraform_test(FIXTURE, tmp_path / "module", mirror, {"tests/failing.tftest.hcl": FAILING_TFTEST})
    assert run.returncode == 1
    assert run.outcomes["tests/failing.tftest.hcl::deliberately_wrong"] == "failure"
    with pytest.raises(AssertionError, match=r"(?s)deliberately_wrong.*deliberately failing assertion"):
        assert_passed(run)


def test_module_without_test_files_is_reported(tmp_path: Path, mirror: MirrorInfo) -> None:
    source = tmp_path / "source"
    shutil.copytree(FIXTURE, source)
    shutil.rmtree(source / "tests")
    run = terraform_test(source, tmp_path / "module", mirror)
    assert run.returncode == 0  # Terraform itself calls "0 passed, 0 failed" a success
    with pytest.raises(AssertionError, match="no run blocks"):
        assert_passed(run)


def test_declared_run_not_run_is_reported() -> None:
    run = TfTestRun(
        0, "", "", {"tests/a.tftest.hcl::one": "passed"}, {"tests/a.tftest.hcl::one", "tests/a.tftest.hcl::two"}
    )
    with pytest.raises(AssertionError, match=r"did not run: \['tests/a.tftest.hcl::two'\]"):
        assert_passed(run)
