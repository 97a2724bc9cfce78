"""A Terraform filesystem mirror whose providers are the Python stand-in plugin.

Layout (Terraform's "unpacked" mirror layout)::

    <root>/<registry host>/hashicorp/aws/6.25.0/linux_amd64/terraform-provider-aws_v6.25.0
    <root>/<registry host>/mongodb/mongodbatlas/2.16.0/linux_amd64/terraform-provider-mongodbatlas_v2.16.0
    <root>/.atlasiam/  stamp, TLS pair (0600), pre-serialized schemas, terraform.rc

Each executable is a `#!/bin/sh` wrapper that execs Python on `atlasiam_sandbox.provider`. Terraform
skips the `.atlasiam` directory (not a valid hostname).
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from atlasiam_sandbox.provider import tls

REGISTRY_HOST = "registry.terraform.io"
"""The one place the registry hostname is spelled."""

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
PACKAGE_ROOT = Path(__file__).resolve().parents[2]
STATE_DIR = ".atlasiam"
CLI_CONFIG_NAME = "terraform.rc"
_STAMP_NAME = "stamp.json"
_WRAPPER_FORMAT = 1


@dataclass(frozen=True)
class MirrorProvider:
    """One provider served from the mirror."""

    namespace: str
    type: str
    version: str
    schema_file: str

    @property
    def short_address(self) -> str:
        """`namespace/type`, as in `required_providers` and the CLI config's `include`."""
        return f"{self.namespace}/{self.type}"

    @property
    def address(self) -> str:
        """The full source address, `<registry host>/namespace/type`."""
        return f"{REGISTRY_HOST}/{self.short_address}"


PROVIDERS: tuple[MirrorProvider, ...] = (
    MirrorProvider("hashicorp", "aws", "6.25.0", "aws.json"),
    MirrorProvider("mongodb", "mongodbatlas", "2.16.0", "mongodbatlas.json"),
)


@dataclass(frozen=True)
class MirrorInfo:
    """Where a built mirror lives.

    Attributes:
        root: The mirror directory (the `filesystem_mirror` path).
        cli_config: A Terraform CLI config file that installs providers only from this mirror.
        tls_dir: The pre-generated plugin certificate pair.
        plugins: Short provider address -> plugin executable.
    """

    root: Path
    cli_config: Path
    tls_dir: Path
    plugins: Mapping[str, Path] = field(default_factory=dict)


def platform_dir() -> str:
    """Terraform's `<os>_<arch>` for this machine."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"{sys.platform.removesuffix('2')}_{arch}"


def plugin_path(root: Path, provider: MirrorProvider) -> Path:
    """Where the provider's executable goes in the mirror."""
    return (
        root
        / REGISTRY_HOST
        / provider.namespace
        / provider.type
        / provider.version
        / platform_dir()
        / f"terraform-provider-{provider.type}_v{provider.version}"
    )


def wrapper_script(python: str, provider: MirrorProvider, schema: Path, state_dir: Path) -> str:
    """The `#!/bin/sh` plugin wrapper for one provider."""
    argv = [
        python,
        "-m",
        "atlasiam_sandbox.provider",
        "--schema",
        str(schema),
        "--address",
        provider.address,
        "--tls-dir",
        str(state_dir / "tls"),
        "--schema-cache",
        str(_schema_cache_path(state_dir, provider)),
    ]
    root = shlex.quote(str(PACKAGE_ROOT))
    return (
        "#!/bin/sh\n"
        f"PYTHONPATH={root}${{PYTHONPATH:+:$PYTHONPATH}}\n"
        "export PYTHONPATH\n"
        f'exec {" ".join(shlex.quote(a) for a in argv)} "$@"\n'
    )


def _schema_cache_path(state_dir: Path, provider: MirrorProvider) -> Path:
    return state_dir / f"{provider.namespace}-{provider.type}.schema.pb"


def _schema_paths(schemas: Mapping[str, Path] | None) -> dict[str, Path]:
    overrides = dict(schemas or {})
    return {
        p.short_address: Path(overrides.get(p.short_address, SCHEMA_DIR / p.schema_file)).resolve() for p in PROVIDERS
    }


def _stamp(python: str, schemas: Mapping[str, Path]) -> dict[str, object]:
    files = {}
    for address, path in sorted(schemas.items()):
        st = path.stat() if path.exists() else None
        files[address] = [str(path.resolve()), st.st_mtime_ns if st else None, st.st_size if st else None]
    return {
        "format": _WRAPPER_FORMAT,
        "python": python,
        "package_root": str(PACKAGE_ROOT),
        "platform": platform_dir(),
        "schemas": files,
    }


def _write_schema_cache(schema: Path, cache: Path) -> None:
    """Pre-serialize the `GetProviderSchema` response so plugin processes need not rebuild it."""
    from atlasiam_sandbox.provider.proto_schema import provider_schema_response
    from atlasiam_sandbox.provider.service import ProviderService

    raw = json.loads(schema.read_bytes())
    cache.write_bytes(provider_schema_response(raw, ProviderService.capabilities()).SerializeToString())


def build_mirror(
    root: Path,
    python: str = sys.executable,
    schemas: Mapping[str, Path] | None = None,
) -> MirrorInfo:
    """Create (or refresh) the stand-in provider mirror under `root`; cheap when already up to date.

    Args:
        root: The mirror directory.
        python: The interpreter the plugin wrappers exec.
        schemas: Optional schema file per short address (`hashicorp/aws`), for tests and experiments;
            defaults to `sandbox/atlasiam_sandbox/schemas/<type>.json`.

    Returns:
        The mirror's paths.
    """
    root = Path(root).resolve()
    state_dir = root / STATE_DIR
    schema_paths = _schema_paths(schemas)
    info = MirrorInfo(
        root=root,
        cli_config=state_dir / CLI_CONFIG_NAME,
        tls_dir=state_dir / "tls",
        plugins={p.short_address: plugin_path(root, p) for p in PROVIDERS},
    )
    stamp = _stamp(python, schema_paths)
    stamp_path = state_dir / _STAMP_NAME
    if _is_current(info, stamp_path, stamp):
        return info
    state_dir.mkdir(parents=True, exist_ok=True)
    if tls.load(info.tls_dir) is None:
        tls.write(info.tls_dir, tls.generate())
    for provider in PROVIDERS:
        schema = schema_paths[provider.short_address]
        exe = info.plugins[provider.short_address]
        exe.parent.mkdir(parents=True, exist_ok=True)
        exe.write_text(wrapper_script(python, provider, schema, state_dir), encoding="utf-8")
        exe.chmod(0o755)
        cache = _schema_cache_path(state_dir, provider)
        if schema.exists():
            _write_schema_cache(schema, cache)
        else:
            cache.unlink(missing_ok=True)
    write_cli_config(info.cli_config, root)
    stamp_path.write_text(json.dumps(stamp, sort_keys=True), encoding="utf-8")
    return info


def _is_current(info: MirrorInfo, stamp_path: Path, stamp: Mapping[str, object]) -> bool:
    try:
        if json.loads(stamp_path.read_text(encoding="utf-8")) != stamp:
            return False
    except (OSError, ValueError):
        return False
    needed = [info.cli_config, *info.plugins.values()]
    return all(p.exists() for p in needed) and tls.load(info.tls_dir) is not None


def write_cli_config(path: Path, mirror_root: Path) -> Path:
    """Write a CLI config that installs the stand-in providers from `mirror_root` only.

    Args:
        path: The file to write (parents are created).
        mirror_root: The mirror directory.

    Returns:
        `path`.
    """
    include = ", ".join(json.dumps(p.short_address) for p in PROVIDERS)
    text = (
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {json.dumps(str(Path(mirror_root).resolve()))}\n"
        f"    include = [{include}]\n"
        "  }\n"
        "}\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
