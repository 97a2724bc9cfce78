"""Plan-time value logic: what a stand-in provider proposes for a resource change (pure functions)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

from atlasiam_sandbox.provider.codec import UNKNOWN, Value
from atlasiam_sandbox.provider.schema import Attribute, Block, NestedBlock


def map_nested(nesting: str, value: Value, fn: Callable[[dict[str, Value]], Value]) -> Value:
    """Apply `fn` to every object of a nested block/attribute value of the given nesting mode."""
    if value is None or value is UNKNOWN:
        return value
    if nesting in ("single", "group"):
        return fn(value) if isinstance(value, dict) else value
    if nesting == "map":
        return {k: fn(v) if isinstance(v, dict) else v for k, v in value.items()}
    return [fn(v) if isinstance(v, dict) else v for v in value]


def mark_computed_unknown(
    attributes: Mapping[str, Attribute],
    block_types: Mapping[str, NestedBlock],
    obj: dict[str, Value],
) -> dict[str, Value]:
    """Return `obj` with every null computed attribute set to unknown, at every depth.

    Non-null values (configuration, or prior state that Terraform carried into the proposed new state for
    computed attributes) are kept.
    """
    out = dict(obj)
    for name, attr in attributes.items():
        value = obj.get(name)
        if value is None:
            if attr.computed:
                out[name] = UNKNOWN
        elif attr.nested is not None:
            fn = functools.partial(mark_computed_unknown, attr.nested.attributes, {})
            out[name] = map_nested(attr.nested.nesting, value, fn)
    for name, nb in block_types.items():
        fn = functools.partial(mark_computed_unknown, nb.block.attributes, nb.block.block_types)
        out[name] = map_nested(nb.nesting, obj.get(name), fn)
    return out


def plan_resource(block: Block, proposed: Value) -> Value:
    """Compute the planned new state from Terraform's proposed new state.

    A null proposal (destroy) stays null; otherwise configuration and carried-over prior values are kept and
    null computed attributes become unknown.
    """
    if proposed is None:
        return None
    return mark_computed_unknown(block.attributes, block.block_types, proposed)


def requires_replace(names: tuple[str, ...], prior: Value, planned: Value) -> list[str]:
    """Top-level attributes among `names` whose planned value differs from the prior one.

    An unknown planned value counts as a change, as in the real providers (ForceNew). Creates and destroys
    (null prior or planned state) never require replacement.
    """
    if not isinstance(prior, dict) or not isinstance(planned, dict):
        return []
    return [name for name in names if name in planned and planned.get(name) != prior.get(name)]


def recompute_on_change(
    planned: Value, prior: Value, config: Value, triggers: tuple[str, ...], outputs: tuple[str, ...]
) -> Value:
    """A provider's CustomizeDiff `SetNewComputed` in an update.

    When any of `triggers` changes, the `outputs` not set in the configuration become unknown (e.g.
    aws_s3_object's `version_id` and `etag` when its content changes).
    """
    if not isinstance(planned, dict) or not isinstance(prior, dict) or not triggers:
        return planned
    if all(planned.get(name) == prior.get(name) for name in triggers):
        return planned
    unset = {name for name in outputs if not isinstance(config, dict) or config.get(name) is None}
    return {k: UNKNOWN if k in unset else v for k, v in planned.items()}


def default_tags(provider_config: Mapping[str, object]) -> dict[str, str]:
    """The aws provider's ``default_tags { tags = ... }``, as plain strings (empty when not configured)."""
    block = provider_config.get("default_tags")
    if isinstance(block, list):
        block = block[0] if block else None
    tags = block.get("tags") if isinstance(block, dict) else None
    return {str(k): str(v) for k, v in (tags or {}).items() if v is not None}


def plan_tags_all(block: Block, planned: Value, default_tags: Mapping[str, str]) -> Value:
    """``tags_all`` as the aws provider plans it: the provider's default_tags with the resource's tags over them.

    The real provider knows it at plan time whenever ``tags`` is known (its tagging guide: "tags_all ... including
    those inherited from the provider default_tags configuration block"), so a plan shows every tag AWS will get.
    """
    if not isinstance(planned, dict) or "tags_all" not in block.attributes or planned.get("tags_all") is not UNKNOWN:
        return planned
    own = planned.get("tags")
    if own is UNKNOWN or (isinstance(own, dict) and any(v is UNKNOWN for v in own.values())):
        return planned
    merged = {**default_tags, **{k: v for k, v in (own or {}).items() if v is not None}}
    return {**planned, "tags_all": merged}
