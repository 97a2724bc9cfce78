"""Apply-time and read-time value logic: replace unknowns with plausible, deterministic values.

The per-type tables live in `values_aws` and `values_atlas`; this module merges them and walks values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from atlasiam_sandbox.provider import values_atlas, values_aws
from atlasiam_sandbox.provider.codec import UNKNOWN, Dyn, Value, contains_unknown
from atlasiam_sandbox.provider.ctytypes import Collection, CtyType, Object, Tuple
from atlasiam_sandbox.provider.gen import FillContext, Hook, conform, generic_value
from atlasiam_sandbox.provider.planning import mark_computed_unknown
from atlasiam_sandbox.provider.schema import Block

RESOURCE_HOOKS: dict[str, Hook] = {**values_aws.RESOURCE_HOOKS, **values_atlas.RESOURCE_HOOKS}
DATA_HOOKS: dict[str, Hook] = {**values_aws.DATA_HOOKS, **values_atlas.DATA_HOOKS}
COMMON_HOOKS: dict[str, Hook] = {"aws_": values_aws.common}
"""Hooks applied to every type whose name starts with the key (before the type's own hook)."""

REQUIRES_REPLACE: dict[str, tuple[str, ...]] = {
    **values_aws.REQUIRES_REPLACE,
    **values_atlas.REQUIRES_REPLACE,
}


def hook_values(ctx: FillContext, hooks: Mapping[str, Hook]) -> dict[str, Any]:
    """Run the common and the type's own hook; the type's values win."""
    out: dict[str, Any] = {}
    for prefix, hook in COMMON_HOOKS.items():
        if ctx.type_name.startswith(prefix):
            out.update(hook(ctx))
    own = hooks.get(ctx.type_name)
    if own is not None:
        out.update(own(ctx))
    return out


def resolve_from_config(planned: Value, config: Value) -> Value:
    """Replace unknowns in `planned` with the (now known) configuration value at the same place."""
    if planned is UNKNOWN:
        return config if config is not None and not contains_unknown(config) else UNKNOWN
    if isinstance(planned, dict) and isinstance(config, dict):
        return {k: resolve_from_config(v, config.get(k)) for k, v in planned.items()}
    if isinstance(planned, list) and isinstance(config, list) and len(planned) == len(config):
        return [resolve_from_config(p, c) for p, c in zip(planned, config, strict=True)]
    return planned


def fill_unknowns(ctx: FillContext, path: str, value: Value, ty: CtyType) -> Value:  # noqa: C901 - per kind
    """Replace every unknown inside `value` (of type `ty`) with a generic value for its path."""
    if value is UNKNOWN:
        return generic_value(ctx, path, ty)
    if value is None:
        return None
    if isinstance(value, Dyn):
        return Dyn(value.type, fill_unknowns(ctx, path, value.value, value.type))
    if isinstance(ty, Object):
        return {k: fill_unknowns(ctx, f"{path}.{k}", value.get(k), t) for k, t in ty.attrs.items()}
    if isinstance(ty, Tuple):
        return [fill_unknowns(ctx, f"{path}[{i}]", v, t) for i, (v, t) in enumerate(zip(value, ty.elems, strict=False))]
    if isinstance(ty, Collection):
        if ty.kind == "map":
            return {k: fill_unknowns(ctx, f"{path}.{k}", v, ty.elem) for k, v in value.items()}
        return [fill_unknowns(ctx, f"{path}[{i}]", v, ty.elem) for i, v in enumerate(value)]
    return value


def complete_object(
    type_name: str,
    block: Block,
    state: dict[str, Value],
    hooks: Mapping[str, Hook],
    provider_config: Mapping[str, Any],
) -> dict[str, Value]:
    """Fill every unknown in a resource/data source object: hook values first, then generic ones."""
    ctx = FillContext(type_name=type_name, state=state, types=block.type.attrs, provider_config=provider_config)
    from_hooks: dict[str, Any] | None = None
    out: dict[str, Value] = {}
    for name, ty in block.type.attrs.items():
        value = state.get(name)
        if value is UNKNOWN:
            if from_hooks is None:
                from_hooks = hook_values(ctx, hooks)
            if name in from_hooks and from_hooks[name] is not None:
                value = conform(ctx, name, from_hooks[name], ty)
        out[name] = fill_unknowns(ctx, name, value, ty)
    return out


def apply_resource(
    type_name: str,
    block: Block,
    planned: Value,
    config: Value,
    provider_config: Mapping[str, Any],
) -> Value:
    """Compute the new state after apply: null for destroy, else the planned state with unknowns filled."""
    if planned is None:
        return None
    resolved = resolve_from_config(planned, config)
    return complete_object(type_name, block, resolved, RESOURCE_HOOKS, provider_config)


def read_data_source(
    type_name: str,
    block: Block,
    config: dict[str, Value],
    provider_config: Mapping[str, Any],
) -> dict[str, Value]:
    """Compute a data source's state: every null computed attribute gets a value, no unknowns remain."""
    marked = mark_computed_unknown(block.attributes, block.block_types, config)
    return complete_object(type_name, block, marked, DATA_HOOKS, provider_config)


def empty_blocks(block: Block, obj: dict[str, Value]) -> dict[str, Value]:
    """Turn null nested blocks into their empty form (`[]`, `{}`, or an all-null group object)."""
    out = dict(obj)
    for name, nb in block.block_types.items():
        value = out.get(name)
        if value is None:
            if nb.nesting in ("list", "set"):
                out[name] = []
            elif nb.nesting == "map":
                out[name] = {}
            elif nb.nesting == "group":
                out[name] = empty_blocks(nb.block, {})
        elif nb.nesting in ("single", "group") and isinstance(value, dict):
            out[name] = empty_blocks(nb.block, value)
        elif nb.nesting in ("list", "set") and isinstance(value, list):
            out[name] = [empty_blocks(nb.block, v) if isinstance(v, dict) else v for v in value]
        elif nb.nesting == "map" and isinstance(value, dict):
            out[name] = {k: empty_blocks(nb.block, v) if isinstance(v, dict) else v for k, v in value.items()}
    for name in block.attributes:
        out.setdefault(name, None)
    return out


def imported_state(block: Block, import_id: str) -> dict[str, Value]:
    """The state an import produces: `id` set, everything else null/empty."""
    state = empty_blocks(block, {})
    if "id" in block.attributes:
        state["id"] = import_id
    return state
