"""What every moto-backed handler shares: the error type, the AWS call context and the handler interface.

Nothing here imports boto3: clients are created (and boto3 imported) on the first `AwsContext.client` call, so
plugin processes that never touch AWS (validate, schema, most plan phases) do not pay for the import.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, ClassVar, TypeVar

from atlasiam_sandbox.provider.codec import UNKNOWN, Value, to_json_compatible

State = dict[str, Value]
"""A resource/data source object: attribute name -> value (`UNKNOWN` where not yet known)."""

Observed = dict[str, Any]
"""Attribute values read back from the emulated cloud, as plain data."""

DEFAULT_REGION = "us-east-1"

_T = TypeVar("_T")


class BackendError(Exception):
    """A failed cloud call, shown by Terraform as `Error: <summary>` with `detail` below it.

    Args:
        summary: One line, e.g. `creating EC2 Instance: InvalidParameterValue: ...`.
        detail: Optional longer text.
    """

    def __init__(self, summary: str, detail: str = "") -> None:
        super().__init__(summary)
        self.summary = summary
        self.detail = detail


def known(state: Mapping[str, Value], name: str) -> Any:
    """The attribute's value as plain data, or None when it is null or unknown."""
    value = state.get(name)
    if value is None or value is UNKNOWN:
        return None
    return to_json_compatible(value)


def first_block(state: Mapping[str, Value], name: str) -> dict[str, Any]:
    """The first object of a list/single nested block as plain data (empty when absent)."""
    value = known(state, name)
    if isinstance(value, list):
        value = value[0] if value else None
    return {k: v for k, v in value.items() if v is not None} if isinstance(value, dict) else {}


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore `ClientError`, else None (no botocore import needed)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    return str(code) if code else None


def describe_error(exc: BaseException) -> str:
    """`Code: message` for a `ClientError`, else the exception text."""
    code = error_code(exc)
    if code is None:
        return str(exc) or type(exc).__name__
    message = getattr(exc, "response", {}).get("Error", {}).get("Message", "")
    return f"{code}: {message}" if message else code


def is_not_found(exc: BaseException) -> bool:
    """Whether `exc` is an AWS "does not exist" error (`*.NotFound`, `NoSuchEntity`, ...)."""
    code = error_code(exc) or ""
    return code.endswith(("NotFound", "NotFoundException", "NoSuchEntity")) or code in (
        "ResourceNotFoundException",
        "ParameterNotFound",
    )


def wait_for(probe: Callable[[], _T | None], what: str, timeout: float = 20.0, interval: float = 0.05) -> _T:
    """Poll `probe` until it returns a value that is not None.

    Raises:
        BackendError: `timeout` seconds passed first.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() >= deadline:
            raise BackendError(f"timeout while waiting for {what}")
        time.sleep(interval)
        interval = min(interval * 2, 0.5)


_UNIQUE = itertools.count(1)


def unique_name(prefix: str | None) -> str:
    """A name like the provider's `PrefixedUniqueId`: prefix + UTC timestamp + counter."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S%f")[:18]
    return f"{prefix or 'terraform-'}{stamp}{next(_UNIQUE):08d}"


_CLIENTS: dict[tuple[str, str], Any] = {}
_SESSION: list[Any] = []
_CLIENTS_LOCK = threading.Lock()


def _new_client(service: str, region: str) -> Any:
    """A boto3 client from the process's one session (call with `_CLIENTS_LOCK` held)."""
    if not _SESSION:
        import boto3  # lazy on purpose: ~0.2 s that most plugin processes never need

        _SESSION.append(boto3.session.Session())
    from botocore.config import Config

    config = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5, read_timeout=60)
    return _SESSION[0].client(service, region_name=region, config=config)


@dataclass
class AwsContext:
    """What a handler needs to call the emulated AWS: clients for the provider's region, and its tags.

    Attributes:
        provider_config: The aws provider configuration (`ConfigureProvider`) as plain data.
        environ: The plugin's environment (for the default region).
    """

    provider_config: Mapping[str, Any] = field(default_factory=dict)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)

    @property
    def region(self) -> str:
        """The provider's region, else `AWS_REGION` / `AWS_DEFAULT_REGION`, else us-east-1."""
        region = self.provider_config.get("region")
        if isinstance(region, str) and region:
            return region
        return self.environ.get("AWS_REGION") or self.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION

    def client(self, service: str) -> Any:
        """A (cached, thread-safe) boto3 client; the endpoint comes from `AWS_ENDPOINT_URL*`."""
        key = (service, self.region)
        with _CLIENTS_LOCK:
            if key not in _CLIENTS:
                _CLIENTS[key] = _new_client(service, self.region)
            return _CLIENTS[key]

    @property
    def default_tags(self) -> dict[str, str]:
        """The provider's `default_tags { tags = ... }`."""
        from atlasiam_sandbox.provider.planning import default_tags

        return default_tags(self.provider_config)

    def tags(self, state: Mapping[str, Value]) -> dict[str, str]:
        """Default tags merged with the resource's own `tags` (the resource wins), as AWS stores them."""
        own = known(state, "tags") or {}
        return {**self.default_tags, **{str(k): str(v) for k, v in own.items() if v is not None}}


class Handler:
    """One resource type backed by the emulated cloud; subclasses override what they support.

    Every method receives plain-ish state (`UNKNOWN` marks values the handler may fill) and returns the
    attributes it observed. The caller fills only unknown attributes from them (configuration always wins),
    then generates the rest as in schema-only mode.

    Attributes:
        label: How the real provider names the resource in errors, e.g. `EC2 Instance`.
        refreshed: Attributes a refresh copies from the cloud into state (drift shows in the next plan).
        replace: Attributes whose change this handler cannot apply in place (planned as replacement).
        recomputed: (triggers, outputs): when an update changes a trigger, the outputs not set in the
            configuration are planned as unknown (the real provider's CustomizeDiff `SetNewComputed`).
    """

    label: ClassVar[str] = "resource"
    refreshed: ClassVar[tuple[str, ...]] = ()
    replace: ClassVar[tuple[str, ...]] = ()
    recomputed: ClassVar[tuple[tuple[str, ...], tuple[str, ...]]] = ((), ())

    def create(self, aws: AwsContext, state: State) -> Observed:
        """Create the object; return what the cloud reports about it."""
        raise NotImplementedError

    def read(self, aws: AwsContext, state: State) -> Observed | None:
        """Read the object named by `state` (at least its `id`); None when it no longer exists."""
        raise NotImplementedError

    def update(self, aws: AwsContext, prior: State, planned: State) -> Observed:
        """Apply in-place changes (default: tags only, through `update_tags`); return observed values."""
        if known(prior, "tags") != known(planned, "tags"):
            self.update_tags(aws, planned, aws.tags(prior), aws.tags(planned))
        return self.read(aws, planned) or {}

    def update_tags(self, aws: AwsContext, state: State, old: dict[str, str], new: dict[str, str]) -> None:
        """Replace the object's tags `old` with `new` (default: nothing to do)."""

    def delete(self, aws: AwsContext, state: State) -> None:
        """Delete the object (a missing object is not an error)."""
        raise NotImplementedError


class DataHandler:
    """One data source backed by the emulated cloud.

    Attributes:
        label: How the real provider names the data source in errors, e.g. `EC2 VPC`.
    """

    label: ClassVar[str] = "data source"

    def read(self, aws: AwsContext, config: State) -> Observed:
        """Return the observed attributes; raise `BackendError` when nothing matches."""
        raise NotImplementedError
