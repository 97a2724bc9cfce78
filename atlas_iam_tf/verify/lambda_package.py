"""The Lambda probe's deployment package: the probe as ``atlasiam_probe.py`` plus pymongo[aws], built for Lambda.

pip installs the module's pins (``requirements.txt``, the same the hosts install) for Lambda's platform, not this
machine's: ``--platform manylinux2014_x86_64 --implementation cp --python-version 3.12 --only-binary=:all:``
(https://docs.aws.amazon.com/lambda/latest/dg/python-package.html#python-package-native-libraries). The zip is
deterministic (sorted entries, fixed timestamps and modes, no bytecode) and cached under
``$XDG_CACHE_HOME/atlasiam/lambda/`` (default ``~/.cache``), keyed by the pins, the probe's source and the
runtime, so it is built once per change.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from atlas_iam_tf.errors import VerificationError
from atlas_iam_tf.verify.lambda_run import RUNTIME

Say = Callable[[str], None]
#: Runs a command (argv) and returns (exit code, its stderr): pip, or a test's stand-in.
PipRunner = Callable[[Sequence[str]], tuple[int, str]]
MODULE_NAME = "atlasiam_probe.py"  # the handler is atlasiam_probe.lambda_handler
_EPOCH = (1980, 1, 1, 0, 0, 0)  # the zip format's earliest date: no build time in the bytes
_SKIPPED = ("__pycache__",)


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/atlasiam/lambda`` (``~/.cache`` when unset), per the XDG base directory spec."""
    env = os.environ if env is None else env
    base = env.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return Path(base) / "atlasiam" / "lambda"


def package_key(pins: Sequence[str], probe_source: str, runtime: str = RUNTIME) -> str:
    """The cache key: sha256 of the pins, the probe's source and the runtime."""
    digest = hashlib.sha256()
    for part in (runtime, "\n".join(pins), probe_source):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def pip_argv(target: Path, requirements: Path, python: str = sys.executable) -> list[str]:
    """``pip install --target`` for Lambda's python3.12 on x86_64, wheels only, no bytecode."""
    version = RUNTIME.removeprefix("python")
    return [
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--target",
        str(target),
        "--platform",
        "manylinux2014_x86_64",
        "--implementation",
        "cp",
        "--python-version",
        version,
        "--only-binary=:all:",
        "-r",
        str(requirements),
    ]


def run_pip(argv: Sequence[str]) -> tuple[int, str]:
    """Run pip; its exit code and stderr."""
    done = subprocess.run(list(argv), capture_output=True, text=True, check=False)  # noqa: S603 - our own argv
    return done.returncode, done.stderr


def zip_tree(root: Path, extra: dict[str, str]) -> bytes:
    """A deterministic zip of ``root``'s files plus ``extra`` (name -> text): sorted, fixed dates and modes."""
    import io

    entries: dict[str, bytes] = {}
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if path.is_file() and not any(part in _SKIPPED for part in rel.parts):
            entries[rel.as_posix()] = path.read_bytes()
    entries |= {name: text.encode() for name, text in extra.items()}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, entries[name])
    return buf.getvalue()


def build_package(
    pins: Sequence[str],
    probe_source: str,
    say: Say,
    *,
    cache: Path | None = None,
    pip: PipRunner = run_pip,
) -> bytes:
    """The package's bytes: from the cache, else built with pip (once, with a progress line) and cached.

    Raises:
        VerificationError: pip failed (no route to PyPI, a pin without a wheel for Lambda's platform).
    """
    where = cache or cache_dir()
    zip_path = where / f"{package_key(pins, probe_source)}.zip"
    if zip_path.is_file():
        return zip_path.read_bytes()
    say(f"building the Lambda probe package ({', '.join(pins)} for {RUNTIME}, x86_64) with pip; cached in {where}")
    with tempfile.TemporaryDirectory(prefix="atlasiam-lambda-") as tmp:
        site, requirements = Path(tmp) / "package", Path(tmp) / "requirements.txt"
        requirements.write_text("".join(f"{pin}\n" for pin in pins), encoding="utf-8")
        code, stderr = pip(pip_argv(site, requirements))
        if code != 0:
            last = (stderr.strip().splitlines() or ["no output"])[-1]
            raise VerificationError(
                f"cannot build the Lambda probe package: pip install failed: {last}",
                hint="pip needs PyPI (or a PIP_INDEX_URL mirror) with manylinux2014_x86_64 wheels for CPython 3.12",
            )
        data = zip_tree(site, {MODULE_NAME: probe_source})
    where.mkdir(parents=True, exist_ok=True)
    partial = zip_path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_bytes(data)
    partial.replace(zip_path)  # atomic: a concurrent verify reads a whole zip or none
    return data
