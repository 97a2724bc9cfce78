"""`make bench`: performance figures as ratios measured in one run, each against its target.

Figures:
  cli-start  `atlasiam --help` against `python -c "import typer"`      target <= 1.30
  plan       `atlasiam plan` against a bare `terraform plan` of the
             same rendered directory (same embedded Terraform 1.15.5) target <= 1.10
Medians of interleaved runs, so machine noise hits both sides alike.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from atlas_iam_tf.sandbox.demo import PLACEHOLDER_CREDENTIALS  # noqa: E402
from atlas_iam_tf.sandbox.mirror import build_mirror  # noqa: E402


@dataclass(frozen=True)
class Figure:
    name: str
    ours: float
    baseline: float
    target: float
    what: str

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline

    @property
    def ok(self) -> bool:
        return self.ratio <= self.target


def _time(argv: Sequence[str], env: dict[str, str], cwd: Path, expect: int = 0) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != expect:
        raise SystemExit(f"bench: {' '.join(argv)} exited {proc.returncode}:\n{proc.stderr.decode()[-2000:]}")
    return elapsed


def interleaved(a: Callable[[], float], b: Callable[[], float], rounds: int) -> tuple[float, float]:
    """Alternate the two measurements and return their medians."""
    xs, ys = [], []
    for _ in range(rounds):
        xs.append(a())
        ys.append(b())
    return statistics.median(xs), statistics.median(ys)


def bench_cli_start(env: dict[str, str], rounds: int = 25) -> Figure:
    exe = str(Path(sys.executable).with_name("atlasiam"))
    ours, base = interleaved(
        lambda: _time([exe, "--help"], env, ROOT),
        lambda: _time([sys.executable, "-c", "import typer"], env, ROOT),
        rounds,
    )
    return Figure("cli-start", ours, base, 1.30, '`atlasiam --help` vs `python -c "import typer"`')


def bench_plan(env: dict[str, str], work: Path, rounds: int = 9) -> Figure:
    project = work / "project"
    project.mkdir()
    shutil.copyfile(ROOT / "examples" / "atlasiam.toml", project / "atlasiam.toml")
    mirror = build_mirror(work / "mirror")
    env = env | PLACEHOLDER_CREDENTIALS | {"TF_CLI_CONFIG_FILE": str(mirror.cli_config)}
    atlasiam = [sys.executable, "-m", "atlas_iam_tf", "plan", "--config", str(project / "atlasiam.toml")]
    _time(atlasiam, env, ROOT)  # renders and initialises once; both sides then plan the same directory
    workdir = project / ".atlasiam" / "demo"
    bare = [sys.executable, "-m", "atlas_iam_tf.terraform.embedded_worker", "plan", "-input=false"]
    ours, base = interleaved(lambda: _time(atlasiam, env, ROOT), lambda: _time(bare, env, workdir), rounds)
    return Figure("plan", ours, base, 1.10, "`atlasiam plan` vs bare `terraform plan` (same dir, same engine)")


def main() -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MONGODB_ATLAS_", "TF_", "ATLASIAM_"))}
    env["CHECKPOINT_DISABLE"] = "1"
    with tempfile.TemporaryDirectory(prefix="atlasiam-bench-") as tmp:
        figures = [bench_cli_start(env), bench_plan(env, Path(tmp))]
    width = max(len(f.what) for f in figures)
    print(f"{'figure':<10} {'what':<{width}} {'ours':>8} {'base':>8} {'ratio':>6} {'target':>7}  result")
    for f in figures:
        verdict = "ok" if f.ok else "MISSED"
        print(
            f"{f.name:<10} {f.what:<{width}} {f.ours:>7.3f}s {f.baseline:>7.3f}s {f.ratio:>6.2f} "
            f"{'<=' + format(f.target, '.2f'):>7}  {verdict}"
        )
    out = ROOT / ".bench" / "results.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps([f.__dict__ | {"ratio": f.ratio, "ok": f.ok} for f in figures], indent=2))
    return 0 if all(f.ok for f in figures) else 1


if __name__ == "__main__":
    raise SystemExit(main())
