"""cty types, parsed from their JSON form (`"string"`, `["list", "string"]`, `["object", {...}]`, ...)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

PrimitiveName = Literal["string", "number", "bool"]
CollectionKind = Literal["list", "set", "map"]


@dataclass(frozen=True)
class Primitive:
    """A primitive type: string, number or bool."""

    name: PrimitiveName


@dataclass(frozen=True)
class Collection:
    """A list, set or map of one element type."""

    kind: CollectionKind
    elem: CtyType


@dataclass(frozen=True, eq=False)
class Object:
    """An object type with named attributes (optional-attribute markers are dropped)."""

    attrs: dict[str, CtyType]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Object) and self.attrs == other.attrs

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.attrs)))


@dataclass(frozen=True)
class Tuple:
    """A tuple type with positional element types."""

    elems: tuple[CtyType, ...]


@dataclass(frozen=True)
class Dynamic:
    """The dynamic pseudo-type: values carry their own type on the wire."""


CtyType = Primitive | Collection | Object | Tuple | Dynamic

STRING = Primitive("string")
NUMBER = Primitive("number")
BOOL = Primitive("bool")
DYNAMIC = Dynamic()

_PRIMITIVES: dict[str, CtyType] = {"string": STRING, "number": NUMBER, "bool": BOOL, "dynamic": DYNAMIC}


def parse_type(raw: Any) -> CtyType:
    """Parse the JSON form of a cty type.

    Args:
        raw: Decoded JSON, e.g. `"string"` or `["map", "number"]`.

    Returns:
        The parsed type.

    Raises:
        ValueError: If `raw` is not a cty type.
    """
    if isinstance(raw, str):
        if raw in _PRIMITIVES:
            return _PRIMITIVES[raw]
        raise ValueError(f"unknown cty primitive type {raw!r}")
    if isinstance(raw, list) and len(raw) >= 2:
        kind = raw[0]
        if kind in ("list", "set", "map"):
            return Collection(kind, parse_type(raw[1]))
        if kind == "object" and isinstance(raw[1], dict):
            return Object({name: parse_type(t) for name, t in raw[1].items()})
        if kind == "tuple" and isinstance(raw[1], list):
            return Tuple(tuple(parse_type(t) for t in raw[1]))
    raise ValueError(f"not a cty type: {raw!r}")


def type_to_json(ty: CtyType) -> Any:
    """Return the JSON form of a type (inverse of `parse_type`)."""
    if isinstance(ty, Primitive):
        return ty.name
    if isinstance(ty, Dynamic):
        return "dynamic"
    if isinstance(ty, Collection):
        return [ty.kind, type_to_json(ty.elem)]
    if isinstance(ty, Object):
        return ["object", {name: type_to_json(t) for name, t in ty.attrs.items()}]
    return ["tuple", [type_to_json(t) for t in ty.elems]]


def type_json_bytes(ty: CtyType) -> bytes:
    """Return the compact JSON encoding of a type, as cty writes it."""
    return json.dumps(type_to_json(ty), separators=(",", ":")).encode()
