"""The core of plan / apply / destroy / output: render, init when needed, run Terraform, summarise."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from atlas_iam_tf.credentials import require_credentials
from atlas_iam_tf.errors import StateError, TerraformError
from atlas_iam_tf.project import Project
from atlas_iam_tf.render import RenderedModule, module_dir, write_module
from atlas_iam_tf.terraform.args import PLAN_FILE, build_args
from atlas_iam_tf.terraform.diagnostics import Diagnostic
from atlas_iam_tf.terraform.plan import (
    Outputs,
    PlanSummary,
    parse_events,
    plan_summary_from_events,
    progress_line,
)
from atlas_iam_tf.terraform.runner import TerraformRunner, terraform_env
from atlas_iam_tf.workdir_lock import workdir_lock

log = logging.getLogger(__name__)

Progress = Callable[[str], None]
FINGERPRINT_FILE = "atlasiam.tfplan.sha256"
INIT_STAMP = Path(".terraform") / "atlasiam-init.sha256"
# The lines of `terraform init` worth showing; the rest (lock file advice, blank lines) is noise here.
_INIT_PROGRESS_PREFIXES = (
    "- Installed",
    "- Using previously",
    "Initializing the backend",
    "Terraform has been",
)
STALE_PLAN_MARKERS = ("Saved plan is stale", "saved plan is stale")


@dataclass(frozen=True)
class PlanOutcome:
    """A saved plan and what it would change."""

    summary: PlanSummary
    plan_file: Path


@dataclass(frozen=True)
class ApplyOutcome:
    """What an apply changed and the outputs afterwards."""

    summary: PlanSummary
    outputs: Outputs


def fingerprint(files: RenderedModule) -> str:
    """A digest of the rendered module: a saved plan only applies to the files it was made from."""
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(rel.as_posix().encode() + b"\0" + files[rel].encode() + b"\0")
    return h.hexdigest()


class Deployment:
    """Drives Terraform for one project; every Terraform call goes through ``self.runner``."""

    def __init__(self, project: Project, progress: Progress | None = None) -> None:
        self.project = project
        self.progress = progress or (lambda _line: None)
        self.runner = TerraformRunner(project.engine, project.workdir, terraform_env(project.env))

    # -- steps -------------------------------------------------------------------------------
    def render(self) -> RenderedModule:
        """Write the rendered module into the working directory (only changed files are rewritten).

        A private-mode host needs its wheelhouse before Terraform plans the upload: built here when missing.
        """
        wheels = self.project.wheelhouse
        if wheels is not None and self.project.builds_wheelhouse:
            from atlas_iam_tf import wheelhouse

            wheelhouse.ensure(wheels, wheelhouse.requirements(module_dir()), self.progress)
        write_module(self.project.module, self.project.workdir)
        return self.project.module

    def ensure_init(self, files: RenderedModule) -> None:
        """Run ``terraform init`` unless the same providers/backend were already initialised."""
        backend = self.project.backend_config
        stamp_path = self.project.workdir / INIT_STAMP
        cli_config = self.runner.env.get("TF_CLI_CONFIG_FILE", "")
        stamp = hashlib.sha256(
            json.dumps(
                [
                    _versions_text(files),
                    backend,
                    cli_config,
                    _file_text(cli_config),
                    self.project.engine.label,
                ],
            ).encode()
        ).hexdigest()
        if stamp_path.is_file() and stamp_path.read_text() == stamp:
            return
        self.progress("Initialising Terraform (providers, backend)…")
        self.runner.execute(build_args("init", backend_config=backend), on_line=self._init_progress)
        stamp_path.parent.mkdir(parents=True, exist_ok=True)
        stamp_path.write_text(stamp)

    def plan(self, *, destroy: bool = False) -> PlanOutcome:
        """Render, init, and save a plan; return its summary."""
        files = self.render()
        self.ensure_init(files)
        extra = ["-destroy"] if destroy else []
        result = self.runner.execute(build_args("plan", plan_file=PLAN_FILE, extra=extra), on_line=self._json_progress)
        summary = plan_summary_from_events(parse_events(result.stdout.splitlines()))
        fp = fingerprint(files) + (":destroy" if destroy else "")
        (self.project.workdir / FINGERPRINT_FILE).write_text(fp)
        return PlanOutcome(summary=summary, plan_file=self.project.workdir / PLAN_FILE)

    def validate(self) -> None:
        """Render, init, and run ``terraform validate``; raise with every error diagnostic."""
        files = self.render()
        self.ensure_init(files)
        result = self.runner.execute(build_args("validate"), ok_codes=(0, 1))
        doc = json.loads(result.stdout or "{}")
        if doc.get("valid", result.returncode == 0):
            return
        diags = [Diagnostic.from_validate(d) for d in doc.get("diagnostics", [])]
        lines = [d.one_line() for d in diags if d.severity == "error"] or [f"exit code {result.returncode}"]
        raise TerraformError(
            "terraform validate failed:" + "".join(f"\n  {line}" for line in lines),
            cmd=result.args,
            returncode=result.returncode,
            stdout=result.stdout,
            stderr=result.stderr,
        )

    def saved_plan_matches(self) -> bool:
        """True when a saved (non-destroy) plan exists and was made from the current config."""
        plan = self.project.workdir / PLAN_FILE
        fp_file = self.project.workdir / FINGERPRINT_FILE
        if not (plan.is_file() and fp_file.is_file()):
            return False
        return fp_file.read_text() == fingerprint(self.project.module)

    def apply_saved(self) -> ApplyOutcome:
        """Apply the saved plan; replan once if Terraform says it is stale."""
        try:
            result = self.runner.execute(build_args("apply", plan_file=PLAN_FILE), on_line=self._json_progress)
        except TerraformError as err:
            if not any(m in err.stdout + err.stderr for m in STALE_PLAN_MARKERS):
                raise
            self.progress("The saved plan is stale (state changed since); planning again…")
            self.plan()
            result = self.runner.execute(build_args("apply", plan_file=PLAN_FILE), on_line=self._json_progress)
        self.discard_plan()
        summary = plan_summary_from_events(parse_events(result.stdout.splitlines()))
        return ApplyOutcome(summary=summary, outputs=self.outputs())

    def discard_plan(self) -> None:
        """Remove the saved plan and its fingerprint."""
        for name in (PLAN_FILE, FINGERPRINT_FILE):
            (self.project.workdir / name).unlink(missing_ok=True)

    def outputs(self) -> Outputs:
        """``terraform output -json`` of the current state."""
        if not (self.project.workdir / ".terraform").is_dir():
            raise StateError(
                f"nothing has been applied for environment {self.project.environment!r}",
                hint="run `atlasiam apply` first",
            )
        result = self.runner.execute(build_args("output"))
        return Outputs.from_json(result.stdout)

    # -- progress ----------------------------------------------------------------------------
    def _init_progress(self, line: str) -> None:
        text = line.strip()
        if text.startswith(_INIT_PROGRESS_PREFIXES):
            self.progress(text)

    def _json_progress(self, line: str) -> None:
        for event in parse_events([line]):
            text = progress_line(event)
            if text:
                self.progress(text)


@contextmanager
def locked_deployment(project: Project, command: str, progress: Progress | None = None) -> Iterator[Deployment]:
    """The deployment of ``project`` for a command that changes its working directory or state.

    Credentials are checked first (naming what is missing before Terraform starts), then the working
    directory's lock is held for the whole command, so a second run is refused at once.
    """
    require_credentials(project.env)
    with workdir_lock(project.workdir, command):
        yield Deployment(project, progress)


def _versions_text(files: RenderedModule) -> str:
    return next((text for path, text in files.items() if path.name == "versions.tf"), "")


def _file_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8") if path else ""
    except OSError:
        return ""
