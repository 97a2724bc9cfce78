"""The workload core (verify_workloads), the Lambda package builder and the report's workload columns."""

from __future__ import annotations

import io
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from atlas_iam_tf.errors import VerificationError
from atlas_iam_tf.output import Output
from atlas_iam_tf.verify.command import ProbeInput
from atlas_iam_tf.verify.lambda_package import build_package, cache_dir, package_key, pip_argv
from atlas_iam_tf.verify.request import VerifyRequest
from atlas_iam_tf.verify.workload import WorkloadTarget
from atlas_iam_tf.verify.workload_run import CREATE_FAILED, SUCCESS, WorkloadRun
from atlas_iam_tf.verify.workloads import merged, verify_workloads

ROLE = "arn:aws:iam::123456789012:role/orders-api"
PINS = ["pymongo[aws]==4.20.1", "pymongo-auth-aws==1.3.0"]


def _result(delivery: str, user: str = ROLE) -> str:
    steps = [
        {"name": "driver", "ok": True, "ms": 1, "detail": {}},
        {"name": "credentials", "ok": True, "ms": 1, "detail": {"source": "env", "delivery": delivery}},
        {"name": "auth", "ok": True, "ms": 1, "detail": {}},
        {"name": "whoami", "ok": True, "ms": 1, "detail": {"user": user, "db": "$external"}},
    ]
    import json

    return json.dumps({"probe": 1, "ok": True, "host": "h", "steps": steps, "ms": 2.0})


def test_each_workload_runs_with_its_role_and_becomes_a_row() -> None:
    seen: list[tuple[str, ProbeInput, float]] = []

    def lambda_runner(target: WorkloadTarget, inp: ProbeInput, timeout_s: float) -> WorkloadRun:
        seen.append((target.name, inp, timeout_s))
        return WorkloadRun(SUCCESS, stdout=_result("lambda-environment"))

    def ecs_runner(target: WorkloadTarget, inp: ProbeInput, timeout_s: float) -> WorkloadRun:
        seen.append((target.name, inp, timeout_s))
        return WorkloadRun(CREATE_FAILED, reason="RegisterTaskDefinition: AccessDeniedException")

    req = VerifyRequest(uri="mongodb+srv://c.example.mongodb.net/", wait_s=10, expect_arn="arn:aws:iam::1:role/host")
    targets = [
        WorkloadTarget("api", "lambda", ROLE),
        WorkloadTarget("worker", "ecs", "arn:aws:iam::123456789012:role/worker"),
    ]
    said: list[str] = []
    report = verify_workloads(
        req, targets, lambda *_a, **_k: None, said.append, runners={"lambda": lambda_runner, "ecs": ecs_runner}
    )
    assert [(n, i.expect_arn) for n, i, _ in seen] == [
        ("api", ROLE),
        ("worker", "arn:aws:iam::123456789012:role/worker"),
    ]
    assert seen[0][2] == req.probe_timeout_s
    api, worker = (h.to_dict() for h in report.hosts)
    assert (api["target"], api["kind"], api["via"], api["credential_source"], api["ok"]) == (
        "api",
        "lambda",
        "lambda",
        "lambda-environment",
        True,
    )
    assert api["expected_user"] == ROLE and api["command_status"] == SUCCESS
    assert (worker["ok"], worker["command_status"]) == (False, CREATE_FAILED)
    assert [f["code"] for f in worker["findings"]] == ["workload_not_run"]
    assert "AccessDeniedException" in worker["findings"][0]["message"]
    assert any("verifying workload api (lambda)" in s for s in said)


def test_a_kind_without_a_runner_is_a_row_not_a_crash() -> None:
    req = VerifyRequest(uri="mongodb://h/")
    report = verify_workloads(req, [WorkloadTarget("h", "ec2", ROLE)], lambda *_a, **_k: None, runners={})
    [row] = report.hosts
    assert row.findings[0].code == "workload_not_run"


def test_merged_reports_keep_hosts_first() -> None:
    req = VerifyRequest(uri="mongodb://h/")
    runners = {"lambda": lambda *_a: WorkloadRun(SUCCESS, stdout=_result("lambda-environment"))}
    one = verify_workloads(req, [WorkloadTarget("a", "lambda", ROLE)], lambda *_a, **_k: None, runners=runners)
    two = verify_workloads(req, [WorkloadTarget("b", "lambda", ROLE)], lambda *_a, **_k: None, runners=runners)
    assert [h.facts.target for h in merged(one, two).hosts] == ["a", "b"]


def test_the_human_report_shows_kind_and_credential_source() -> None:
    req = VerifyRequest(uri="mongodb://h/")
    runners = {"lambda": lambda *_a: WorkloadRun(SUCCESS, stdout=_result("lambda-environment"))}
    report = verify_workloads(req, [WorkloadTarget("api", "lambda", ROLE)], lambda *_a, **_k: None, runners=runners)
    out = io.StringIO()
    Output(stdout=out).verify_report(report)
    text = " ".join(out.getvalue().split())
    assert "credentials from" in text and "lambda-environment" in text and "api (lambda)" in text


# -- the Lambda package ---------------------------------------------------------------------------------------------
class FakePip:
    def __init__(self, code: int = 0, stderr: str = "") -> None:
        self.code, self.stderr = code, stderr
        self.argvs: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> tuple[int, str]:
        self.argvs.append(list(argv))
        target = Path(argv[argv.index("--target") + 1])
        (target / "pymongo" / "__pycache__").mkdir(parents=True)
        (target / "pymongo" / "__init__.py").write_text("version = '4.20.1'\n")
        (target / "pymongo" / "__pycache__" / "x.pyc").write_bytes(b"\0")
        (target / "bson").mkdir()
        (target / "bson" / "__init__.py").write_text("")
        requirements = Path(argv[argv.index("-r") + 1]).read_text()
        assert requirements == "".join(f"{p}\n" for p in PINS)
        return self.code, self.stderr


def test_the_package_is_built_once_deterministic_and_cached(tmp_path: Path) -> None:
    pip = FakePip()
    said: list[str] = []
    first = build_package(PINS, "# probe\n", said.append, cache=tmp_path, pip=pip)
    again = build_package(PINS, "# probe\n", said.append, cache=tmp_path, pip=pip)
    assert first == again and len(pip.argvs) == 1 and len(said) == 1
    key = package_key(PINS, "# probe\n")
    assert (tmp_path / f"{key}.zip").read_bytes() == first
    with zipfile.ZipFile(io.BytesIO(first)) as zf:
        names = zf.namelist()
        assert names == sorted(names) == ["atlasiam_probe.py", "bson/__init__.py", "pymongo/__init__.py"]
        assert zf.read("atlasiam_probe.py") == b"# probe\n"
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    rebuilt = build_package(PINS, "# probe\n", said.append, cache=tmp_path / "other", pip=FakePip())
    assert rebuilt == first  # byte for byte, wherever and whenever built
    changed = build_package(PINS, "# probe v2\n", said.append, cache=tmp_path, pip=FakePip())
    assert changed != first


def test_pip_targets_lambdas_platform(tmp_path: Path) -> None:
    argv = pip_argv(tmp_path / "t", tmp_path / "r.txt")
    assert argv[:4] == [sys.executable, "-m", "pip", "install"]
    joined = " ".join(argv)
    for part in (
        "--platform manylinux2014_x86_64",
        "--implementation cp",
        "--python-version 3.12",
        "--only-binary=:all:",
        f"--target {tmp_path / 't'}",
        f"-r {tmp_path / 'r.txt'}",
    ):
        assert part in joined


def test_a_failing_pip_is_a_verification_error(tmp_path: Path) -> None:
    pip = FakePip(1, "ERROR: No matching distribution found for pymongo-auth-aws==1.3.0\n")
    with pytest.raises(VerificationError, match="No matching distribution found"):
        build_package(PINS, "# probe\n", lambda _m: None, cache=tmp_path, pip=pip)
    assert list(tmp_path.iterdir()) == []  # nothing cached


def test_the_cache_lives_under_xdg_cache_home(tmp_path: Path) -> None:
    assert cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "atlasiam" / "lambda"
    assert cache_dir({}) == Path("~/.cache/atlasiam/lambda").expanduser()
