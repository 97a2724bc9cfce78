"""Glue between the provider RPCs and the handlers: create/update/delete, refresh, import, data reads.

Observed values fill only what is still unknown (configuration always wins, so Terraform never sees an
inconsistent result); whatever the cloud did not report is generated exactly as in schema-only mode.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from atlasiam_sandbox.provider import fill
from atlasiam_sandbox.provider.backends.base import (
    AwsContext,
    BackendError,
    DataHandler,
    Handler,
    Observed,
    State,
    describe_error,
)
from atlasiam_sandbox.provider.codec import UNKNOWN, Value
from atlasiam_sandbox.provider.gen import FillContext, Hook, conform
from atlasiam_sandbox.provider.planning import mark_computed_unknown
from atlasiam_sandbox.provider.schema import Block

_T = TypeVar("_T")


@dataclass(frozen=True)
class Outcome:
    """A new state and, if the cloud call failed, the error to report with it."""

    state: Value
    error: BackendError | None = None


def guarded(action: str, label: str, call: Callable[[], _T]) -> _T:
    """Run a cloud call; turn any failure into `BackendError("<action> <label>: <code>: <message>")`."""
    try:
        return call()
    except BackendError as exc:
        if exc.summary.startswith(action):
            raise
        raise BackendError(f"{action} {label}: {exc.summary}", exc.detail) from exc
    except Exception as exc:
        raise BackendError(f"{action} {label}: {describe_error(exc)}") from exc


def merge_observed(value: Value, observed: Any) -> Value:
    """Fill unknowns inside a known nested value from the observed data at the same place."""
    if value is UNKNOWN:
        return observed if observed is not None else UNKNOWN
    if isinstance(value, list) and isinstance(observed, dict):
        return [merge_observed(value[0], observed), *value[1:]] if value else value
    if isinstance(value, dict) and isinstance(observed, dict):
        return {k: merge_observed(v, observed.get(k)) if v is not None else v for k, v in value.items()}
    return value


def complete(
    type_name: str,
    block: Block,
    state: State,
    observed: Observed,
    provider_config: Mapping[str, Any],
    hooks: Mapping[str, Hook],
) -> State:
    """Fill `state`'s unknowns: nested ones from `observed`, top-level ones from `observed` then generated."""
    nested = {
        k: merge_observed(v, observed.get(k)) if v is not UNKNOWN and k in observed else v for k, v in state.items()
    }
    own = hooks.get(type_name)

    def hook(ctx: FillContext) -> Mapping[str, Any]:
        base = dict(own(ctx)) if own is not None else {}
        return {**base, **{k: v for k, v in observed.items() if v is not None}}

    return fill.complete_object(type_name, block, nested, {type_name: hook}, provider_config)


def apply_change(
    handler: Handler,
    type_name: str,
    block: Block,
    change: tuple[Value, Value, Value],
    provider_config: Mapping[str, Any],
) -> Outcome:
    """Carry out a create, update or delete (`change` is prior, planned, config)."""
    prior, planned, config = change
    aws = AwsContext(provider_config)
    label = handler.label
    try:
        if planned is None:
            guarded("deleting", label, lambda: handler.delete(aws, prior))
            return Outcome(None)
        resolved = fill.resolve_from_config(planned, config)
        if prior is None:
            observed = guarded("creating", label, lambda: handler.create(aws, resolved))
        else:
            observed = guarded("updating", label, lambda: handler.update(aws, prior, resolved))
    except BackendError as exc:
        return Outcome(prior, exc)
    return Outcome(complete(type_name, block, resolved, observed, provider_config, fill.RESOURCE_HOOKS))


def refresh(handler: Handler, current: Value, provider_config: Mapping[str, Any]) -> Outcome:
    """Read the object back: null when it is gone, else `current` with the handler's refreshed attributes."""
    if not isinstance(current, dict):
        return Outcome(current)
    try:
        observed = guarded("reading", handler.label, lambda: handler.read(AwsContext(provider_config), current))
    except BackendError as exc:
        return Outcome(current, exc)
    if observed is None:
        return Outcome(None)
    updates = {
        k: observed[k]
        for k in handler.refreshed
        if observed.get(k) is not None and current.get(k) is not None and current.get(k) is not UNKNOWN
    }
    return Outcome({**current, **updates})


def import_state(
    handler: Handler,
    type_name: str,
    block: Block,
    import_id: str,
    provider_config: Mapping[str, Any],
) -> Outcome:
    """The state of an existing object by id; an error when it does not exist."""
    state = fill.imported_state(block, import_id)
    try:
        observed = guarded("importing", handler.label, lambda: handler.read(AwsContext(provider_config), state))
    except BackendError as exc:
        return Outcome(None, exc)
    if observed is None:
        return Outcome(None, BackendError(f"Cannot import non-existent remote object: {handler.label} {import_id}"))
    for name, attr in block.attributes.items():
        if name in observed and observed[name] is not None:
            state[name] = conform(FillContext(type_name, state, block.type.attrs), name, observed[name], attr.type)
    return Outcome(state)


def read_data(
    handler: DataHandler,
    type_name: str,
    block: Block,
    config: State,
    provider_config: Mapping[str, Any],
) -> Outcome:
    """A data source's state from the cloud; attributes it does not report are generated."""
    try:
        observed = guarded("reading", handler.label, lambda: handler.read(AwsContext(provider_config), config))
    except BackendError as exc:
        return Outcome(None, exc)
    marked = mark_computed_unknown(block.attributes, block.block_types, config)
    return Outcome(complete(type_name, block, marked, observed, provider_config, fill.DATA_HOOKS))
