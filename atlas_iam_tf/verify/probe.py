"""The on-host probe: can this host's AWS identity log in to the Atlas cluster with MONGODB-AWS?

Self-contained: standard library plus pymongo (and what pymongo[aws] brings: boto3/botocore,
dnspython). Python 3.9+ (Amazon Linux 2023's system python3), so no newer syntax at runtime.
Input: one base64-encoded JSON object as the last argument (never pasted into shell text).
Output: exactly one JSON object on stdout, one line, well under SSM's 24,000-character cap.
Exit code: 0 when every step passed, 1 otherwise. Secrets (keys, tokens) are never printed.

Steps, in order, each timed: bootstrap (only when the wrapper reports one), driver, credentials, identity,
dns, reach, auth, whoami. ``bootstrap`` and ``identity`` are evidence, not gates: the probe goes on after
they fail (MONGODB-AWS needs no STS call from the host: Atlas makes it), and ``ok`` means every other step
passed. The total ``ms`` runs from the shell wrapper's start of the Python run (``ATLASIAM_PROBE_T0``, epoch
ns from ``date``), so it includes the interpreter's start-up and this script's imports; when that value is
missing or implausible (not an integer, in the future, over a minute old), from this script's first line.
"""

# ruff: noqa: E402 - the clock is read before the other imports, which are part of the probe's time
from __future__ import annotations

import time

_LOADED_NS = time.time_ns()
_LOADED = time.perf_counter()

import base64
import json
import os
import platform
import re
import socket
import ssl
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PROBE_VERSION = 1
T0_ENV = "ATLASIAM_PROBE_T0"  # set by the shell wrapper (verify/command.py)
# Set by the shell wrapper too: what became of atlasiam's user data (ready | failed | pending; unset: not
# atlasiam's host), how long the wrapper waited for it, and the first line of its failure marker.
BOOTSTRAP_ENV = "ATLASIAM_BOOTSTRAP"
BOOTSTRAP_WAITED_ENV = "ATLASIAM_BOOTSTRAP_WAITED_S"
BOOTSTRAP_ERROR_ENV = "ATLASIAM_BOOTSTRAP_ERROR"
BOOTSTRAP_LOG = "/var/log/atlasiam-user-data.log"  # the module's user_data.sh.tftpl writes it
# SSM Agent gives a Run Command script the instance's region in this variable and sets no AWS_REGION
# (amazon-ssm-agent, agent/executers/executers.go, prepareEnvironment).
SSM_REGION_ENV = "AWS_SSM_REGION_NAME"
T0_MAX_AGE_NS = 60 * 10**9
MAX_TEXT = 400
AUTH_FAILED = 18
_ASSUMED_ROLE = re.compile(r"^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/.+$")


class StepFailed(Exception):
    """A step failed; ``kind`` is a stable tag the host side diagnoses."""

    def __init__(self, kind: str, message: str, code: int | None = None, **detail: Any) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.code = code
        self.detail = detail


def _clip(text: object) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= MAX_TEXT else s[: MAX_TEXT - 1] + "…"


def decode_input(arg: str) -> dict[str, Any]:
    """Decode the base64 JSON input; anything else is a StepFailed('bad_input')."""
    try:
        data = json.loads(base64.b64decode(arg.encode("ascii"), validate=True).decode("utf-8"))
    except Exception as exc:  # noqa: BLE001 - any malformed input is the same failure
        raise StepFailed("bad_input", "probe input is not base64-encoded JSON: " + _clip(exc)) from None
    if not isinstance(data, dict) or not isinstance(data.get("uri"), str):
        raise StepFailed("bad_input", "probe input must be a JSON object with a string 'uri'")
    return data


def started_at(t0: str | None, loaded_ns: int, loaded: float) -> float:
    """The probe's start on the ``perf_counter`` scale: the wrapper's ``t0`` if plausible, else ``loaded``."""
    value = (t0 or "").strip()
    if not (value.isascii() and value.isdigit() and len(value) <= 20):
        return loaded
    ago_ns = loaded_ns - int(value)
    return loaded - ago_ns / 1e9 if 0 <= ago_ns <= T0_MAX_AGE_NS else loaded


def role_arn_of(sts_arn: str) -> str:
    """Map an STS assumed-role session ARN to the role ARN Atlas matches (never with a path)."""
    m = _ASSUMED_ROLE.match(sts_arn)
    return f"arn:{m.group(1)}:iam::{m.group(2)}:role/{m.group(3)}" if m else sts_arn


def bootstrap_waited_s() -> int:
    """Seconds the wrapper already spent waiting for the bootstrap (part of the ``wait_s`` budget)."""
    value = os.environ.get(BOOTSTRAP_WAITED_ENV, "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else 0


# -- steps -------------------------------------------------------------------------------------
def step_bootstrap(_: dict[str, Any]) -> dict[str, Any]:
    """The outcome of atlasiam's user data on this host: done, failed, or still running when the wait ended."""
    state = os.environ.get(BOOTSTRAP_ENV, "")
    detail = {"state": state, "waited_s": bootstrap_waited_s(), "log": BOOTSTRAP_LOG}
    if state == "failed":
        reason = _clip(os.environ.get(BOOTSTRAP_ERROR_ENV) or "no reason recorded")
        raise StepFailed("bootstrap_failed", "atlasiam's user data failed on this host: " + reason, None, **detail)
    if state != "ready":
        raise StepFailed(
            "bootstrap_unfinished",
            f"atlasiam's user data had not finished after {detail['waited_s']}s (Python 3.11 and pymongo not yet "
            "installed)",
            None,
            **detail,
        )
    return detail


def step_driver(_: dict[str, Any]) -> dict[str, Any]:
    """The driver: pymongo importable, with MONGODB-AWS support (the aws extra)."""
    try:
        import pymongo
    except ImportError as exc:
        raise StepFailed(
            "pymongo_missing", "pymongo is not installed for " + sys.executable + ": " + _clip(exc)
        ) from None
    detail = {"pymongo": pymongo.version, "python": platform.python_version(), "executable": sys.executable}
    try:
        import pymongo_auth_aws
    except ImportError as exc:
        raise StepFailed(
            "aws_extra_missing",
            "pymongo has no MONGODB-AWS support (pymongo[aws] missing): " + _clip(exc),
            None,
            **detail,
        ) from None
    detail["pymongo_auth_aws"] = getattr(pymongo_auth_aws, "__version__", "?")
    return detail


# How the SDK's credentials reached this process, by botocore's provider ``method`` and the environment the
# compute service sets up (botocore/credentials.py: EnvProvider "env", ContainerProvider "container-role",
# AssumeRoleWithWebIdentityProvider "assume-role-with-web-identity", InstanceMetadataProvider "iam-role",
# SharedCredentialProvider "shared-credentials-file").
# Lambda puts the execution role's session in AWS_ACCESS_KEY_ID/... and names the function in
# AWS_LAMBDA_FUNCTION_NAME (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
# The EKS Pod Identity agent listens on 169.254.170.23 (fd00:ec2::23) and the webhook sets
# AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-how-it-works.html);
# ECS sets AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, served at 169.254.170.2
# (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html).
POD_IDENTITY_HOSTS = ("169.254.170.23", "fd00:ec2::23")
ECS_CREDENTIALS_HOST = "http://169.254.170.2"
IMDS_ENDPOINT = "http://169.254.169.254"
# Where a container runtime says "you are in a container": ECS (task metadata v4) and Kubernetes (every pod).
CONTAINER_SIGNS = ("ECS_CONTAINER_METADATA_URI_V4", "KUBERNETES_SERVICE_HOST")
IMDS_TOKEN_TIMEOUT_S = 1.5


def delivery_of(method: str | None, env: Any) -> str:
    """How the credentials were delivered: botocore's provider ``method`` read with the environment ``env``."""
    if method == "env":
        return "lambda-environment" if env.get("AWS_LAMBDA_FUNCTION_NAME") else "environment"
    if method == "container-role":
        host = urlsplit(env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI", "")).hostname
        if env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") or host in POD_IDENTITY_HOSTS:
            return "eks-pod-identity-agent"
        return "ecs-container-endpoint"
    if method == "assume-role-with-web-identity":
        return "web-identity-token-file"
    if method == "iam-role":
        return "imds"
    if method == "shared-credentials-file":
        return "shared-credentials-file"
    return "other"


def container_credentials_uri(env: Any) -> str | None:
    """The container credentials endpoint botocore calls (FULL_URI, else ECS's fixed host plus RELATIVE_URI)."""
    relative = env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
    if relative:
        return ECS_CREDENTIALS_HOST + str(relative)  # botocore uses RELATIVE_URI first when both are set
    full = env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI")
    return str(full) if full else None


def endpoint_answers(uri: str, timeout: float) -> str:
    """Whether a TCP connection to the URI's host and port opens: ``open``, ``refused``, ``timeout`` or ``error``."""
    parts = urlsplit(uri)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=timeout):
            return "open"
    except ConnectionRefusedError:
        return "refused"
    except socket.timeout:  # noqa: UP041 - on Python 3.9 this is not TimeoutError
        return "timeout"
    except OSError:
        return "error"


def imds_token_answers(endpoint: str, timeout: float) -> str:
    """PUT an IMDSv2 token request: ``answered`` (any HTTP answer), ``timeout``, or ``refused``/``error``.

    With the instance's HttpPutResponseHopLimit at 1, a container one network hop further never sees the answer
    to this PUT: it times out (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html).
    """
    import http.client

    parts = urlsplit(endpoint)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=timeout)
    try:
        conn.request("PUT", "/latest/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
        conn.getresponse().read()
        return "answered"
    except ConnectionRefusedError:
        return "refused"
    except socket.timeout:  # noqa: UP041 - on Python 3.9 this is not TimeoutError
        return "timeout"
    except (OSError, http.client.HTTPException):
        return "error"
    finally:
        conn.close()


def _no_credentials(detail: dict[str, Any]) -> StepFailed:
    """No credentials at all; from inside a container, an IMDSv2 PUT that times out points at the hop limit."""
    endpoint = os.environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT") or IMDS_ENDPOINT
    detail["imds_endpoint"] = endpoint
    container = [name for name in CONTAINER_SIGNS if os.environ.get(name)]
    disabled = os.environ.get("AWS_EC2_METADATA_DISABLED", "").lower() == "true"
    if container and not disabled:
        answer = imds_token_answers(endpoint, IMDS_TOKEN_TIMEOUT_S)
        detail.update(container=container, imds_token=answer, imds_timeout_s=IMDS_TOKEN_TIMEOUT_S)
        if answer == "timeout":
            return StepFailed(
                "imds_hop_limit",
                f"no AWS credentials: inside a container ({container[0]} is set) the IMDSv2 token request to "
                f"{endpoint} got no answer within {IMDS_TOKEN_TIMEOUT_S:g}s, as when the instance's "
                "HttpPutResponseHopLimit is 1",
                None,
                **detail,
            )
    return StepFailed(
        "no_credentials",
        "no AWS credentials: no env keys, no shared file, and the instance metadata service gave none",
        None,
        **detail,
    )


def step_credentials(_: dict[str, Any]) -> dict[str, Any]:
    """Which credential source the AWS SDK chain picks (the driver uses the same chain), and how it got here."""
    import botocore.session

    shared = Path(os.environ.get("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")).expanduser()
    detail: dict[str, Any] = {
        "shared_credentials_file": shared.exists(),
        "env_keys": "AWS_ACCESS_KEY_ID" in os.environ,
    }
    session = botocore.session.get_session()
    session.set_config_variable("metadata_service_timeout", 2)
    session.set_config_variable("metadata_service_num_attempts", 2)
    try:
        creds = session.get_credentials()
    except Exception as exc:  # noqa: BLE001 - botocore raises many kinds here
        message = "resolving AWS credentials failed: " + _clip(exc)
        uri = container_credentials_uri(os.environ)
        if uri:
            # The container endpoint (ECS agent, EKS Pod Identity agent) failed: say which, and whether it listens.
            detail["delivery"] = delivery_of("container-role", os.environ)
            detail["container_uri"] = uri
            detail["container_endpoint"] = endpoint_answers(uri, 1.0)
            message = f"resolving AWS credentials from {uri} failed ({detail['container_endpoint']}): " + _clip(exc)
        raise StepFailed("credentials_error", message, None, **detail) from None
    if creds is None:
        raise _no_credentials(detail)
    detail["source"] = getattr(creds, "method", "unknown")
    detail["delivery"] = delivery_of(detail["source"], os.environ)
    return detail


_REJECTED = ("InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken", "AccessDenied", "UnrecognizedClient")


def sts_region(sdk_region: str | None) -> str | None:
    """The region to call STS in: the SDK's own (env, config file), else the one SSM Agent names.

    With no region botocore calls the global endpoint (sts.amazonaws.com), which a host that reaches STS only
    through a VPC endpoint cannot use: that needs the matching regional endpoint
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sts_vpc_endpoint_create.html); and with an
    endpoint override botocore cannot sign without one. Under Run Command the agent's ``AWS_SSM_REGION_NAME``
    is the instance's own region.
    """
    return sdk_region or os.environ.get(SSM_REGION_ENV) or None


def imds_region(session: Any) -> str | None:
    """The instance's own region from IMDS (its availability zone, read as botocore reads it), or None.

    For credentials that came from IMDS with no region configured: an EKS pod on its node's role, a container on
    an EC2 host. The instance's region is the one its regional STS endpoint serves, as SSM Agent's is for a host.
    """
    from botocore.utils import IMDSRegionProvider

    try:
        return IMDSRegionProvider(session).provide() or None
    except Exception:  # noqa: BLE001 - evidence only: without it STS is called as before
        return None


def step_identity(_: dict[str, Any], credential_source: str | None = None) -> dict[str, Any]:
    """Who STS says we are: the ARN Atlas will see (before role mapping). Evidence only, not a gate.

    ``credential_source`` is botocore's provider method from the credentials step (``iam-role``: IMDS).
    """
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    cfg = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 2, "mode": "standard"})
    session = boto3.session.Session()
    region = sts_region(session.region_name)
    if region is None and credential_source == "iam-role":
        region = imds_region(session._session)  # noqa: SLF001 - its IMDS settings are the botocore session's
    detail: dict[str, Any] = {"region": region}
    try:
        client = session.client("sts", region_name=detail["region"], config=cfg)
        detail["endpoint"] = client.meta.endpoint_url
        arn = client.get_caller_identity()["Arn"]
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        kind = "credentials_rejected" if code in _REJECTED else "sts_error"
        raise StepFailed(kind, "sts:GetCallerIdentity failed: " + _clip(exc), None, aws_error=code, **detail) from None
    except Exception as exc:  # noqa: BLE001 - reported, not handled
        raise StepFailed("sts_error", "sts:GetCallerIdentity failed: " + _clip(exc), None, **detail) from None
    return {"sts_arn": arn, "mapped_arn": role_arn_of(arn), **detail}


def _hosts(uri: str) -> tuple[str, list[tuple[str, int]]]:
    parts = urlsplit(uri)
    if parts.scheme not in ("mongodb", "mongodb+srv"):
        raise StepFailed("bad_uri", "the URI must start with mongodb:// or mongodb+srv://")
    netloc = parts.netloc.rsplit("@", 1)[-1]
    hosts = []
    for item in netloc.split(","):
        host, _, port = item.rpartition(":") if item.count(":") == 1 else (item, "", "")
        hosts.append((host or item, int(port) if port.isdigit() else 27017))
    return parts.scheme, hosts


def step_dns(inp: dict[str, Any]) -> dict[str, Any]:
    """Resolve the cluster's hosts (SRV and TXT records for mongodb+srv)."""
    scheme, hosts = _hosts(inp["uri"])
    if scheme == "mongodb+srv":
        try:
            import dns.resolver

            answers = dns.resolver.resolve("_mongodb._tcp." + hosts[0][0], "SRV", lifetime=10)
            resolved = [(str(a.target).rstrip("."), int(a.port)) for a in answers]
        except Exception as exc:  # noqa: BLE001 - dnspython raises many kinds
            raise StepFailed(
                "dns_srv_failed", "SRV lookup of _mongodb._tcp." + hosts[0][0] + " failed: " + _clip(exc)
            ) from None
        return {"srv": True, "hosts": [f"{h}:{p}" for h, p in resolved]}
    for host, _port in hosts:
        try:
            socket.getaddrinfo(host, None)
        except OSError as exc:  # noqa: PERF203 - stops at the first failure
            raise StepFailed("dns_failed", "cannot resolve " + host + ": " + _clip(exc)) from None
    return {"srv": False, "hosts": [f"{h}:{p}" for h, p in hosts]}


def step_reach(inp: dict[str, Any], dns_detail: dict[str, Any]) -> dict[str, Any]:
    """TCP connect and TLS handshake to the first host, with the system trust store."""
    host, _, port = dns_detail["hosts"][0].rpartition(":")
    timeout = float(inp.get("connect_timeout_s", 10))
    tls = "tls=true" in inp["uri"].lower() or "ssl=true" in inp["uri"].lower() or inp["uri"].startswith("mongodb+srv")
    try:
        sock = socket.create_connection((host, int(port)), timeout=timeout)
    except socket.timeout:  # noqa: UP041 - on Python 3.9 this is not TimeoutError
        raise StepFailed("connect_timeout", f"TCP connect to {host}:{port} timed out after {timeout:g}s") from None
    except OSError as exc:
        raise StepFailed("connect_failed", f"TCP connect to {host}:{port} failed: " + _clip(exc)) from None
    detail: dict[str, Any] = {"host": f"{host}:{port}", "tls": tls}
    with sock:
        if tls:
            try:
                with ssl.create_default_context().wrap_socket(sock, server_hostname=host) as tls_sock:
                    detail["tls_version"] = tls_sock.version()
            except ssl.SSLError as exc:
                raise StepFailed("tls_failed", f"TLS handshake with {host}:{port} failed: " + _clip(exc)) from None
            except OSError as exc:
                raise StepFailed("tls_failed", f"TLS handshake with {host}:{port} failed: " + _clip(exc)) from None
    return detail


def _client(inp: dict[str, Any]) -> Any:
    from pymongo import MongoClient

    timeout_ms = int(float(inp.get("connect_timeout_s", 10)) * 1000)
    return MongoClient(
        inp["uri"],
        authMechanism="MONGODB-AWS",
        authSource="$external",
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        appname="atlasiam-verify",
    )


def step_auth(inp: dict[str, Any]) -> dict[str, Any]:
    """Authenticate and ping; retry auth failures and timeouts until the deadline (propagation)."""
    from pymongo.errors import OperationFailure, PyMongoError, ServerSelectionTimeoutError

    # The wrapper's wait for the bootstrap came out of the same --wait budget.
    deadline = time.monotonic() + max(0.0, float(inp.get("wait_s", 0)) - bootstrap_waited_s())
    cap = float(inp.get("retry_interval_s", 5))
    interval = min(1.0, cap)  # first retries come fast; propagation often takes seconds, not minutes
    attempts = 0
    while True:
        attempts += 1
        client = _client(inp)
        try:
            client.admin.command("ping")
            return {"attempts": attempts, "_client": client}
        except OperationFailure as exc:  # noqa: PERF203 - a retry loop, not a hot path
            client.close()
            err = StepFailed("auth_failed", _clip(exc.details.get("errmsg", exc) if exc.details else exc), exc.code)
            retry = exc.code == AUTH_FAILED and bool(inp.get("retry_auth", True))
        except ServerSelectionTimeoutError as exc:
            client.close()
            err = StepFailed("server_selection_timeout", _clip(exc))
            retry = True
        except PyMongoError as exc:
            client.close()
            err = StepFailed("driver_error", _clip(exc))
            retry = False
        if not retry or time.monotonic() + interval > deadline:
            err.detail["attempts"] = attempts
            raise err
        time.sleep(interval)
        interval = min(cap, interval * 2)


def step_whoami(inp: dict[str, Any], client: Any) -> dict[str, Any]:
    """connectionStatus: the database user Atlas authenticated us as."""
    try:
        status = client.admin.command("connectionStatus")
    finally:
        client.close()
    users = (status.get("authInfo") or {}).get("authenticatedUsers") or []
    user = users[0] if users else {}
    detail = {"user": user.get("user"), "db": user.get("db")}
    expected = inp.get("expect_arn")
    if expected and detail["user"] != expected:
        raise StepFailed("unexpected_user", f"authenticated as {detail['user']}, expected {expected}", **detail)
    return detail


# -- driver ------------------------------------------------------------------------------------
def _timed(name: str, fn: Callable[[], dict[str, Any]], steps: list[dict[str, Any]]) -> dict[str, Any] | None:
    start = time.perf_counter()
    try:
        detail = fn()
    except StepFailed as exc:
        steps.append(
            {
                "name": name,
                "ok": False,
                "ms": round((time.perf_counter() - start) * 1000, 1),
                "error": {"kind": exc.kind, "message": exc.message, "code": exc.code},
                "detail": exc.detail,
            }
        )
        return None
    except Exception as exc:  # noqa: BLE001 - the probe must always print its one JSON object
        steps.append(
            {
                "name": name,
                "ok": False,
                "ms": round((time.perf_counter() - start) * 1000, 1),
                "error": {"kind": "internal", "message": f"{type(exc).__name__}: {_clip(exc)}", "code": None},
                "detail": {},
            }
        )
        return None
    public = {k: v for k, v in detail.items() if not k.startswith("_")}
    steps.append({"name": name, "ok": True, "ms": round((time.perf_counter() - start) * 1000, 1), "detail": public})
    return detail


def _run_steps(inp: dict[str, Any], steps: list[dict[str, Any]]) -> bool:
    """Run the steps; True when every gating step passed (bootstrap and identity are evidence only)."""
    if os.environ.get(BOOTSTRAP_ENV):
        _timed("bootstrap", lambda: step_bootstrap(inp), steps)
    if _timed("driver", lambda: step_driver(inp), steps) is None:
        return False
    creds = _timed("credentials", lambda: step_credentials(inp), steps)
    if creds is None:
        return False
    _timed("identity", lambda: step_identity(inp, creds.get("source")), steps)
    dns = _timed("dns", lambda: step_dns(inp), steps)
    if dns is None or _timed("reach", lambda: step_reach(inp, dns), steps) is None:
        return False
    auth = _timed("auth", lambda: step_auth(inp), steps)
    if auth is None:
        return False
    client = auth["_client"]
    return _timed("whoami", lambda: step_whoami(inp, client), steps) is not None


def run(arg: str, started: float | None = None) -> dict[str, Any]:
    """Run every step in order, stopping at the first failed gating step; return the result object.

    ``ms`` counts from ``started`` (a ``perf_counter`` value), by default from this call.
    """
    started = time.perf_counter() if started is None else started
    steps: list[dict[str, Any]] = []
    result: dict[str, Any] = {"probe": PROBE_VERSION, "ok": False, "host": socket.gethostname()[:100], "steps": steps}
    inp = _timed("input", lambda: decode_input(arg), steps)
    if inp is not None:
        steps.pop()  # a well-formed input is not worth a step of its own
        result["ok"] = _run_steps(inp, steps)
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:  # noqa: ARG001 - Lambda passes both
    """AWS Lambda's entry point (``atlasiam_probe.lambda_handler``): ``{"input": "<base64>"}`` -> the result object.

    Lambda returns the object as the Invoke response's JSON payload, the line ``main`` would print. The time counts
    from this call: the function lives for one invocation, and its init is Lambda's, not the probe's.
    """
    started = time.perf_counter()
    arg = event.get("input") if isinstance(event, dict) else None
    return run(arg if isinstance(arg, str) else "", started)


def main(argv: list[str]) -> int:
    """Print exactly one JSON line; exit 0 when every step passed."""
    result = run(argv[-1] if len(argv) > 1 else "", started_at(os.environ.get(T0_ENV), _LOADED_NS, _LOADED))
    sys.stdout.write(json.dumps(result, separators=(",", ":"), default=str) + "\n")
    sys.stdout.flush()
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    # The one JSON line is written and flushed: skip interpreter teardown, where the driver's atexit
    # hooks join its monitor threads (about 0.6 s of nothing on every run).
    os._exit(main(sys.argv))
