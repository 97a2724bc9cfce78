"""Deterministic generated values: the context handed to per-type value hooks, and the generic fallback.

Hooks (see `values_aws`, `values_atlas`) are small functions `FillContext -> dict[attr, raw value]`; the
raw values are shaped to the attribute's type by `conform`, so a hook may return an object where the schema
says "list of one object" and the other way round.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from atlasiam_sandbox.provider.codec import UNKNOWN, Dyn, Value, to_json_compatible
from atlasiam_sandbox.provider.ctytypes import Collection, CtyType, Dynamic, Object, Primitive, Tuple

ACCOUNT_ID = "123456789012"
"""The AWS account every generated ARN lives in."""

DEFAULT_REGION = "us-east-1"


@dataclass
class FillContext:
    """What a value hook may look at: the resource type, its (partly unknown) state and the provider config.

    Attributes:
        type_name: Resource or data source type, e.g. `aws_vpc`.
        state: The object being completed; attributes still to generate are `UNKNOWN`.
        types: Attribute name -> type of the object being completed.
        provider_config: The provider's configuration (`ConfigureProvider`), as plain data.
        seed: A digest of the type and the known configuration; every generated value derives from it.
    """

    type_name: str
    state: dict[str, Value]
    types: Mapping[str, CtyType]
    provider_config: Mapping[str, Any] = field(default_factory=dict)
    seed: str = ""

    def __post_init__(self) -> None:
        if not self.seed:
            self.seed = make_seed(self.type_name, self.state)

    def hex(self, label: str, length: int = 17) -> str:
        """Deterministic lowercase hex digits for `label`."""
        out = ""
        counter = 0
        while len(out) < length:
            out += hashlib.sha256(f"{self.seed}|{label}|{counter}".encode()).hexdigest()
            counter += 1
        return out[:length]

    def keyed_hex(self, label: str, keys: tuple[str, ...], length: int = 24) -> str:
        """Hex digits derived only from the type and the named attributes.

        Lets a resource and the data source reading it back (same type name, same identifying
        attributes) agree on generated ids.
        """
        basis = json.dumps([self.type_name, label, [self.known(k) for k in keys]], default=str)
        return hashlib.sha256(basis.encode()).hexdigest()[:length]

    def number(self, label: str, modulo: int) -> int:
        """A deterministic integer in `[0, modulo)`."""
        return int(self.hex(label, 12), 16) % modulo

    def known(self, name: str) -> Any:
        """The attribute's value if it is known and not null, else None (as plain JSON data)."""
        value = self.state.get(name)
        if value is None or value is UNKNOWN:
            return None
        return to_json_compatible(value)

    @property
    def region(self) -> str:
        """The provider's configured region, or the default."""
        region = self.provider_config.get("region")
        return region if isinstance(region, str) and region else DEFAULT_REGION


Hook = Callable[[FillContext], Mapping[str, Any]]
"""A per-type value hook: returns raw values for (some) top-level attributes."""


def make_seed(type_name: str, state: Mapping[str, Value]) -> str:
    """Digest of the type and the known, non-null values of `state`."""
    known = {k: to_json_compatible(v) for k, v in state.items() if v is not None and v is not UNKNOWN}
    text = json.dumps([type_name, known], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def generic_value(ctx: FillContext, path: str, ty: CtyType) -> Value:
    """The fallback for a computed value: `"<type>-<hash>"`, 0, false, empty collections, filled objects."""
    if isinstance(ty, Primitive):
        if ty.name == "string":
            return f"{ctx.type_name}-{ctx.hex(path, 8)}"
        return 0 if ty.name == "number" else False
    if isinstance(ty, Object):
        return {name: generic_value(ctx, f"{path}.{name}", aty) for name, aty in ty.attrs.items()}
    if isinstance(ty, Tuple):
        return [generic_value(ctx, f"{path}[{i}]", t) for i, t in enumerate(ty.elems)]
    if isinstance(ty, Collection):
        return {} if ty.kind == "map" else []
    return None


def conform(ctx: FillContext, path: str, raw: Any, ty: CtyType) -> Value:
    """Shape a hook's raw value to `ty`, filling missing object attributes with generic values.

    A dict given for a list/set becomes a one-element list, a one-element list given for an object is
    unwrapped; numbers and bools given for strings are formatted. A value that cannot be shaped is
    replaced by the generic value for the type.
    """
    if raw is None or raw is UNKNOWN:
        return raw
    shaped = _shape(ctx, path, raw, ty)
    return generic_value(ctx, path, ty) if shaped is _MISMATCH else shaped


_MISMATCH: Any = object()


def _shape(ctx: FillContext, path: str, raw: Any, ty: CtyType) -> Any:  # noqa: C901 - one branch per kind
    if isinstance(ty, Dynamic):
        return raw if isinstance(raw, Dyn) else Dyn(Primitive("string"), str(raw))
    if isinstance(ty, Primitive):
        return _shape_primitive(raw, ty)
    if isinstance(ty, Object):
        if isinstance(raw, list) and len(raw) == 1:
            raw = raw[0]
        if not isinstance(raw, dict):
            return _MISMATCH
        return {
            name: conform(ctx, f"{path}.{name}", raw[name], aty)
            if name in raw
            else generic_value(ctx, f"{path}.{name}", aty)
            for name, aty in ty.attrs.items()
        }
    if isinstance(ty, Tuple):
        if not isinstance(raw, list) or len(raw) != len(ty.elems):
            return _MISMATCH
        return [conform(ctx, f"{path}[{i}]", v, t) for i, (v, t) in enumerate(zip(raw, ty.elems, strict=True))]
    if ty.kind == "map":
        if not isinstance(raw, dict):
            return _MISMATCH
        return {k: conform(ctx, f"{path}.{k}", v, ty.elem) for k, v in raw.items()}
    if isinstance(raw, dict) and raw and isinstance(ty.elem, Object):
        raw = [raw]
    if not isinstance(raw, list):
        return _MISMATCH if raw else []
    return [conform(ctx, f"{path}[{i}]", v, ty.elem) for i, v in enumerate(raw)]


def _shape_primitive(raw: Any, ty: Primitive) -> Any:
    if ty.name == "string":
        if isinstance(raw, bool):
            return "true" if raw else "false"
        return raw if isinstance(raw, str) else (str(raw) if isinstance(raw, (int, float)) else _MISMATCH)
    if ty.name == "number":
        return raw if isinstance(raw, (int, float)) and not isinstance(raw, bool) else _MISMATCH
    return raw if isinstance(raw, bool) else _MISMATCH
