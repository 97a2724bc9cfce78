"""The emulated host's stand-ins for the commands whose work is the network: dnf, pip, and the AWS CLI's ``s3 cp``.

Run as a script (``python …/host_commands.py``), never through the package: it imports nothing of the sandbox, so
a stand-in starts in tens of milliseconds (boot.py writes the commands that run it).

Each asks the host's network first (the sandbox path of the host's IMDS server, :data:`imds.SANDBOX_PREFIX`,
answered by :meth:`HostRegistry.internet_egress`/``s3_egress`` from moto's route tables, VPC endpoints and
policies) and then fails the way the real command fails without a route or when a policy refuses, or does its
work:

- ``dnf install``: the AL2023 repositories are reached over the internet (a default route to an internet or NAT
  gateway) or, without one, through an S3 gateway endpoint, since they are served from the S3 bucket
  ``al2023-repos-REGION-de612dc2`` (see ``hosts.AL2023_REPO_BUCKET``); a restrictive endpoint policy gives dnf
  HTTP 403s. Success copies in the stand-in ``python3.11``.
- ``pip install``: from an index only over the internet; with ``--no-index --find-links DIR`` only from the wheels in
  DIR, checked by file name (distribution name; pymongo's wheel must be for CPython 3.11 on manylinux x86_64, as
  ``pip download --platform manylinux2014_x86_64 --python-version 3.11 --only-binary=:all:`` gets it; the version
  in the name must meet the requirement's specifiers), with the dependency closure of ``pymongo[aws]`` as pip
  resolves it (:data:`REQUIRES`). The wheels are not unpacked: success makes the sandbox's pymongo visible to the
  venv.
- ``container-pip``: pip in the probe image's container (``containers.py``): from PyPI only with the container's
  egress (the same offline failure as the host's pip), then only exact pins of pymongo[aws]'s distributions at the
  sandbox's own versions; success marks the container's site-packages installed.
- ``aws s3 cp s3://B/K DEST`` and ``aws s3 cp --recursive s3://B/P DEST``: real downloads from moto's S3 with the
  host's instance-role credentials, found by botocore's instance-metadata provider as the AWS CLI on the host finds
  them, and the CLI's error lines and exit codes (1) for a missing bucket or key, a refusal and no route.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

DNF_NO_ROUTE = (
    "Error: Failed to download metadata for repo 'amazonlinux': Cannot download repomd.xml: "
    "Curl error (28): Timeout was reached for https://cdn.amazonlinux.com/al2023/core/mirrors/latest/x86_64/mirror.list"
)
DNF_FORBIDDEN = (
    "Error: Failed to download metadata for repo 'amazonlinux': Cannot download repomd.xml: "
    "Status code: 403 for https://al2023-repos-{region}-de612dc2.s3.dualstack.{region}.amazonaws.com"
    "/core/mirrors/latest/x86_64/mirror.list"
)
#: What ``pip install 'pymongo[aws]'`` needs, as pip resolves it: distribution -> (requirement, the dependent).
#: The versions in these requirements (from pymongo 4.20/boto3 1.44's metadata) only word the error; what is checked
#: is that a wheel of each distribution is there, and the versions the install's own requirements pin.
REQUIRES: dict[str, tuple[str, str]] = {
    "pymongo": ("pymongo[aws]", ""),
    "dnspython": ("dnspython<3.0.0,>=2.7.0", "pymongo"),
    "pymongo_auth_aws": ("pymongo-auth-aws<2.0.0,>=1.3.0", "pymongo[aws]"),
    "boto3": ("boto3", "pymongo-auth-aws"),
    "botocore": ("botocore", "pymongo-auth-aws"),
    "jmespath": ("jmespath<2.0.0,>=0.7.1", "boto3"),
    "s3transfer": ("s3transfer<0.20.0,>=0.19.0", "boto3"),
    "python_dateutil": ("python-dateutil<3.0.0,>=2.1", "botocore"),
    "urllib3": ("urllib3!=2.2.0,<3,>=1.25.4", "botocore"),
    "six": ("six>=1.5", "python-dateutil"),
}
#: What the emulated network adds to an S3 request that went through a gateway endpoint (read by ``moto_patches``).
SOURCE_VPCE_HEADER = "x-sandbox-source-vpce"
SOURCE_VPC_HEADER = "x-sandbox-source-vpc"
_PIP_VALUE_OPTIONS = frozenset(
    {"-f", "--find-links", "-i", "--index-url", "--extra-index-url", "-r", "--requirement", "-c", "--constraint"}
)


def egress(query: dict[str, str]) -> dict[str, Any]:
    """Ask the host's network (the sandbox path of its IMDS server) whether a request gets through."""
    base = os.environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT", "").rstrip("/")
    if not base:
        return {"ok": False, "reason": "no-route", "detail": "the host has no network stand-in", "via": None}
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        conn.request("GET", f"/sandbox/egress?{urlencode(query)}")
        return dict(json.loads(conn.getresponse().read()))
    finally:
        conn.close()


# --- dnf ---------------------------------------------------------------------------------------------------
def dnf(args: Sequence[str], os_bin: Path, region: str) -> int:
    """``dnf install -y PKG...``: the repositories over the internet or an S3 gateway endpoint."""
    verdict = egress({"to": "internet"})
    if not verdict["ok"]:
        verdict = egress({"to": "al2023"})
    if not verdict["ok"]:
        if verdict["reason"] == "AccessDenied":
            print(DNF_FORBIDDEN.format(region=region), file=sys.stderr)
        else:
            print(DNF_NO_ROUTE, file=sys.stderr)
        return 1
    if "python3.11" in args:
        shutil.copy(os_bin / ".packages" / "python3.11", os_bin / "python3.11")
    print("Complete!")
    return 0


# --- pip ---------------------------------------------------------------------------------------------------
def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _wheels(directories: Sequence[str]) -> dict[str, list[str]]:
    """Distribution name (normalized) -> wheel file names in the find-links directories."""
    found: dict[str, list[str]] = {}
    for directory in directories:
        path = Path(directory.removeprefix("file://"))
        for wheel in sorted(path.glob("*.whl")) if path.is_dir() else ():
            found.setdefault(_normalized(wheel.name.split("-", 1)[0]), []).append(wheel.name)
    return found


def _compatible(dist: str, wheel: str) -> bool:
    """Pymongo ships compiled wheels: one for CPython 3.11 on manylinux x86_64; the rest are pure Python."""
    if dist != "pymongo":
        return True
    tags = wheel.removesuffix(".whl").split("-")[-3:]
    return len(tags) == 3 and tags[0] == "cp311" and "manylinux" in tags[2] and tags[2].endswith("x86_64")


def _missing(requirement: str, parent: str) -> int:
    origin = f" (from {parent})" if parent else ""
    print(
        f"ERROR: Could not find a version that satisfies the requirement {requirement}{origin} (from versions: none)",
        file=sys.stderr,
    )
    print(f"ERROR: No matching distribution found for {requirement}", file=sys.stderr)
    return 1


def _dist(requirement: str) -> str:
    """A requirement's distribution name, normalized (``'pymongo[aws]>=4.7,<5'`` -> ``pymongo``)."""
    return _normalized(re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0])


def _pip_args(args: Sequence[str]) -> tuple[bool, list[str], list[str]]:
    """(``--no-index``, find-links directories, requirements) of ``pip install``'s arguments."""
    links: list[str] = []
    requirements: list[str] = []
    no_index = False
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg == "--no-index":
            no_index = True
        elif arg in _PIP_VALUE_OPTIONS:
            value = rest.pop(0) if rest else ""
            if arg in ("-f", "--find-links"):
                links.append(value)
        elif arg.startswith("--find-links="):
            links.append(arg.split("=", 1)[1])
        elif not arg.startswith("-"):
            requirements.append(arg)
    return no_index, links, requirements


def _satisfies(requirement: str, wheel: str) -> bool:
    """Whether the wheel's version meets the requirement's version specifiers (``==4.20.1``, ``>=4.7,<5``)."""
    spec = re.sub(r"^[A-Za-z0-9_.-]+(\[[^\]]*\])?", "", requirement).split(";")[0].strip()
    if not spec:
        return True
    try:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet
        from packaging.version import InvalidVersion, Version
    except ImportError:  # pragma: no cover - packaging ships with pip and pytest; without it, names only
        return True
    try:
        return Version(wheel.split("-")[1]) in SpecifierSet(spec)
    except (InvalidSpecifier, InvalidVersion, IndexError):
        return False


def _from_links(links: Sequence[str], wanted: Sequence[str]) -> int:
    """``--no-index``: every requirement (and pymongo[aws]'s closure) must have a usable wheel in the links."""
    print("Looking in links: " + ", ".join(links))
    wheels = _wheels(links)
    pinned = {_dist(r): r for r in wanted}
    for requirement in wanted:
        name = _dist(requirement)
        for dist in list(REQUIRES) if name == "pymongo" else [name]:
            label, parent = (requirement, "") if dist == name else REQUIRES[dist]
            usable = [w for w in wheels.get(dist, ()) if _compatible(dist, w) and _satisfies(pinned.get(dist, ""), w)]
            if not usable:
                return _missing(pinned.get(dist, label), "" if dist in pinned else parent)
    return 0


def _from_index(wanted: Sequence[str], online: bool) -> int:
    """From PyPI: only over the internet (no VPC endpoint leads to PyPI); offline, pip's connect-timeout failure.

    The index's host name in pip's words is a reserved example name (RFC 2606): only the shape of the message counts.
    """
    if online:
        return 0
    print(
        "WARNING: Retrying (Retry(total=0, connect=None, read=None, redirect=None, status=None)) after connection "
        "broken by 'ConnectTimeoutError(<pip._vendor.urllib3.connection.HTTPSConnection object>, 'Connection to "
        f"package-index.example timed out. (connect timeout=15)')': /simple/{_dist(wanted[0]).replace('_', '-')}/",
        file=sys.stderr,
    )
    return _missing(wanted[0], "")


def pip(venv: Path, args: Sequence[str]) -> int:
    """``python3 -m pip install [--upgrade] [--quiet] [--no-index --find-links DIR] REQ...``."""
    if not args or args[0] != "install":
        return 0
    no_index, links, requirements = _pip_args(args[1:])
    wanted = [r for r in requirements if _dist(r) != "pip"]
    if not wanted:
        return 0  # pip itself is installed in every venv: "Requirement already satisfied"
    code = _from_links(links, wanted) if no_index else _from_index(wanted, egress({"to": "internet"})["ok"])
    if code == 0 and any(_dist(r) == "pymongo" for r in wanted):
        (venv / ".installed").touch()
    return code


# --- pip in a container (containers.py) ------------------------------------------------------------------
#: pip 25's warning when it runs as root (as in the python image) without ``--root-user-action=ignore``
#: (pip ``src/pip/_internal/cli/req_command.py``, ``warn_if_run_as_root``).
ROOT_WARNING = (
    "WARNING: Running pip as the 'root' user can result in broken permissions and conflicting behaviour with the "
    "system package manager, possibly rendering your system unusable. It is recommended to use a virtual environment "
    "instead: https://pip.pypa.io/warnings/venv. Use the --root-user-action option if you know what you are doing "
    "and want to suppress this warning."
)


def _installed_version(dist: str) -> str | None:
    """The version of ``dist`` in the sandbox's own environment (what the container's pip can "install")."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def _unavailable(wanted: Sequence[str]) -> int:
    """0 when every requirement pins (``==``) a distribution of pymongo[aws]'s closure at the sandbox's version.

    Real pip would fetch any version of anything from PyPI; the sandbox has only what its own environment holds,
    so it refuses the rest (stricter than PyPI, never kinder), saying why on a ``sandbox:`` line.
    """
    for requirement in wanted:
        dist = _dist(requirement)
        pin = re.fullmatch(r"[A-Za-z0-9_.-]+(\[[^\]]*\])?==([A-Za-z0-9_.+!-]+)", requirement.strip())
        have = _installed_version(dist) if dist in REQUIRES else None
        if pin is None or have is None or pin[2] != have:
            offer = f" (it has {dist.replace('_', '-')}=={have})" if have else ""
            print(
                f"sandbox: the emulated PyPI serves only exact pins of pymongo[aws]'s distributions at the sandbox's "
                f"own versions; cannot install {requirement!r}{offer}",
                file=sys.stderr,
            )
            return _missing(requirement, "")
    return 0


def container_pip(site_mark: Path, online: bool, args: Sequence[str]) -> int:
    """``python3 -m pip install [options] REQ...`` in the python image: PyPI over the internet, then the mark.

    ``online`` is the container's egress, decided by its runner (``containers.py``). Success touches
    ``site_mark``, after which the container's ``python3`` sees the sandbox's site-packages.
    """
    if not args or args[0] != "install":
        return 0
    _no_index, _links, requirements = _pip_args(args[1:])
    wanted = [r for r in requirements if _dist(r) != "pip"]
    if not wanted:
        return 0
    if "--root-user-action=ignore" not in args:
        print(ROOT_WARNING, file=sys.stderr)
    code = _from_index(wanted, online) or _unavailable(wanted)
    if code == 0:
        site_mark.parent.mkdir(parents=True, exist_ok=True)
        site_mark.touch()
    return code


# --- aws s3 cp ---------------------------------------------------------------------------------------------
def _cli_error(message: str, code: int = 1) -> int:
    print(message, file=sys.stderr)
    return code


def _s3_url(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _client(moto_url: str) -> Any:
    import boto3
    import botocore.session

    session = botocore.session.get_session()
    region = session.get_config_variable("region") or _imds_region()
    return boto3.session.Session(botocore_session=session).client("s3", region_name=region, endpoint_url=moto_url)


def _imds_region() -> str:
    """The AWS CLI v2 on EC2 takes the instance's region from IMDS when none is configured."""
    import urllib.request

    base = os.environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT", "").rstrip("/")
    token_req = urllib.request.Request(
        f"{base}/latest/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}
    )
    with urllib.request.urlopen(token_req, timeout=5) as resp:  # noqa: S310 - the host's own IMDS
        token = resp.read().decode()
    req = urllib.request.Request(
        f"{base}/latest/meta-data/placement/region", headers={"X-aws-ec2-metadata-token": token}
    )
    with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310
        return str(resp.read().decode())


def _denied(verdict: dict[str, Any], operation: str, url: str) -> str:
    if verdict["reason"] == "AccessDenied":
        return f"An error occurred (AccessDenied) when calling the {operation} operation: Access Denied"
    return f'Could not connect to the endpoint URL: "{url}"'


def _code(exc: BaseException) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", "")) or type(exc).__name__


def aws(moto_url: str, region: str, args: Sequence[str]) -> int:
    """``aws s3 cp [--recursive] [--quiet|--no-progress|--only-show-errors] s3://B/K DEST`` (downloads only)."""
    flags = {a for a in args if a.startswith("--")}
    positional = [a for a in args if not a.startswith("--")]
    unknown = flags - {"--recursive", "--quiet", "--no-progress", "--only-show-errors"}
    if positional[:2] != ["s3", "cp"] or len(positional) != 4 or unknown or not positional[2].startswith("s3://"):
        return _cli_error(
            "usage: aws [options] <command> <subcommand> [<subcommand> ...] [parameters]\n"
            "aws: error: the sandbox's AWS CLI stand-in only does: aws s3 cp [--recursive] s3://BUCKET/KEY DEST",
            252,
        )
    quiet = bool(flags & {"--quiet", "--only-show-errors"})
    bucket, key = _s3_url(positional[2])
    dest = Path(positional[3])
    host = f"https://{bucket}.s3.{region}.amazonaws.com"
    try:
        client = _client(moto_url)
    except Exception as exc:  # noqa: BLE001 - the CLI reports any set-up failure the same way
        return _cli_error(f"fatal error: {exc}")
    if "--recursive" in flags:
        return _copy_tree(client, bucket, key, dest, host, quiet)
    return _copy_one(client, bucket, key, dest, host, quiet)


def _through(client: Any, verdict: dict[str, Any]) -> None:
    """Stamp the client's requests as coming through the gateway endpoint, as S3 sees them (``moto_patches``)."""
    if not verdict.get("vpce"):
        return

    def stamp(request: Any, **_: Any) -> None:
        request.headers[SOURCE_VPCE_HEADER] = verdict["vpce"]
        request.headers[SOURCE_VPC_HEADER] = verdict["vpc"] or ""

    client.meta.events.register("before-sign.s3", stamp)


def _copy_one(client: Any, bucket: str, key: str, dest: Path, host: str, quiet: bool) -> int:
    verdict = egress({"to": "s3", "bucket": bucket, "key": key, "action": "s3:GetObject"})
    if not verdict["ok"]:
        if verdict["reason"] == "AccessDenied":
            return _cli_error("fatal error: An error occurred (403) when calling the HeadObject operation: Forbidden")
        return _cli_error(f"fatal error: {_denied(verdict, 'HeadObject', f'{host}/{quote(key)}')}")
    _through(client, verdict)
    try:
        client.head_object(Bucket=bucket, Key=key)
    except Exception as exc:  # noqa: BLE001
        code = _code(exc)
        if code in ("404", "NoSuchKey", "NoSuchBucket"):
            message = f'An error occurred (404) when calling the HeadObject operation: Key "{key}" does not exist'
            return _cli_error(f"fatal error: {message}")
        return _cli_error(f"fatal error: An error occurred ({code}) when calling the HeadObject operation: {exc}")
    target = dest / key.rsplit("/", 1)[-1] if str(dest).endswith("/") or dest.is_dir() else dest
    return _download(client, bucket, key, target, quiet)


def _copy_tree(client: Any, bucket: str, prefix: str, dest: Path, host: str, quiet: bool) -> int:
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    verdict = egress({"to": "s3", "bucket": bucket, "action": "s3:ListBucket"})
    if not verdict["ok"]:
        url = f"{host}/?list-type=2&prefix={quote(prefix, safe='')}&encoding-type=url"
        return _cli_error(f"fatal error: {_denied(verdict, 'ListObjectsV2', url)}")
    _through(client, verdict)
    keys: list[str] = []
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys += [o["Key"] for o in page.get("Contents", []) if not o["Key"].endswith("/")]
    except Exception as exc:  # noqa: BLE001
        code = _code(exc)
        message = getattr(exc, "response", {}).get("Error", {}).get("Message", str(exc))
        return _cli_error(
            f"fatal error: An error occurred ({code}) when calling the ListObjectsV2 operation: {message}"
        )
    failed = 0
    for key in keys:  # an empty prefix copies nothing and succeeds, as the CLI does
        verdict = egress({"to": "s3", "bucket": bucket, "key": key, "action": "s3:GetObject"})
        if not verdict["ok"]:
            print(
                f"download failed: s3://{bucket}/{key} to {dest / key[len(prefix) :]} "
                f"{_denied(verdict, 'GetObject', f'{host}/{quote(key)}')}",
                file=sys.stderr,
            )
            failed += 1
            continue
        failed += _download(client, bucket, key, dest / key[len(prefix) :], quiet)
    return 1 if failed else 0


def _download(client: Any, bucket: str, key: str, target: Path, quiet: bool) -> int:
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as exc:  # noqa: BLE001
        code = _code(exc)
        print(
            f"download failed: s3://{bucket}/{key} to {target} An error occurred ({code}) when calling the "
            "GetObject operation",
            file=sys.stderr,
        )
        return 1
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(body)
    if not quiet:
        print(f"download: s3://{bucket}/{key} to {target}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run a stand-in: ``dnf|pip|aws REGION OS_BIN|VENV|MOTO_URL ARGS``; ``container-pip online|offline MARK ARGS``."""
    args = list(sys.argv[1:] if argv is None else argv)
    command, region, where, rest = args[0], args[1], args[2], args[3:]
    if command == "dnf":
        return dnf(rest, Path(where), region)
    if command == "pip":
        return pip(Path(where), rest)
    if command == "aws":
        return aws(where, region, rest)
    if command == "container-pip":  # REGION is "online" or "offline" here: the container's egress
        return container_pip(Path(where), region == "online", rest)
    return 127


if __name__ == "__main__":
    sys.exit(main())
