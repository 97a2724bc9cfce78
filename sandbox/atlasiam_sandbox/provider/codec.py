"""cty values <-> msgpack (tfplugin6 `DynamicValue.msgpack`) and JSON state.

Values are plain Python data: `None` is null, `UNKNOWN` an unknown value, objects and maps are dicts,
lists, sets and tuples are lists, numbers are int or float. A value of a `dynamic`-typed attribute whose
type is known is wrapped in `Dyn` so that it keeps its type on the way back out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

import msgpack

from atlasiam_sandbox.provider.ctytypes import (
    Collection,
    CtyType,
    Dynamic,
    Object,
    Primitive,
    Tuple,
    parse_type,
    type_json_bytes,
)

Value = Any
"""A cty value as Python data (see the module docstring)."""

_EXT_UNKNOWN: Final = 0
_EXT_REFINED_UNKNOWN: Final = 12


class _Unknown:
    """The type of `UNKNOWN`, a value that is not known until apply."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = _Unknown()


def is_unknown(value: Value) -> bool:
    """Return whether `value` is the unknown sentinel."""
    return value is UNKNOWN


@dataclass(frozen=True)
class Dyn:
    """A value of a dynamic-typed attribute together with its concrete type."""

    type: CtyType
    value: Value


class CodecError(ValueError):
    """A value does not fit the type it is decoded or encoded as."""


def _ext_hook(code: int, data: bytes) -> Any:
    if code in (_EXT_UNKNOWN, _EXT_REFINED_UNKNOWN):
        return UNKNOWN
    return msgpack.ExtType(code, data)


def decode_msgpack(data: bytes, ty: CtyType) -> Value:
    """Decode a msgpack `DynamicValue` payload as type `ty`.

    Args:
        data: The msgpack bytes; empty bytes decode as null.
        ty: The expected type.

    Returns:
        The value.
    """
    if not data:
        return None
    raw = msgpack.unpackb(data, raw=False, ext_hook=_ext_hook, strict_map_key=False)
    return _coerce(raw, ty, wire=True)


def decode_json(data: bytes | str, ty: CtyType) -> Value:
    """Decode a JSON value (state JSON, `DynamicValue.json`) as type `ty`."""
    if not data:
        return None
    return _coerce(json.loads(data), ty, wire=False)


def from_python(raw: Any, ty: CtyType) -> Value:
    """Coerce loosely-typed Python/JSON data to type `ty` (objects gain null attributes, others drop)."""
    return _coerce(raw, ty, wire=False)


def encode_msgpack(value: Value, ty: CtyType) -> bytes:
    """Encode a value of type `ty` as msgpack.

    Raises:
        CodecError: If the value does not fit the type.
    """
    return msgpack.packb(_to_wire(value, ty), use_bin_type=True)  # type: ignore[no-any-return]


def _coerce(raw: Any, ty: CtyType, *, wire: bool) -> Value:  # noqa: C901 - one branch per cty kind
    if raw is None or raw is UNKNOWN:
        return raw
    if isinstance(ty, Dynamic):
        return _coerce_dynamic(raw, wire=wire)
    if isinstance(ty, Primitive):
        return _coerce_primitive(raw, ty)
    if isinstance(ty, Object):
        if not isinstance(raw, dict):
            raise CodecError(f"expected an object, got {type(raw).__name__}")
        return {name: _coerce(raw.get(name), aty, wire=wire) for name, aty in ty.attrs.items()}
    if isinstance(ty, Tuple):
        if not isinstance(raw, list) or len(raw) != len(ty.elems):
            raise CodecError(f"expected a tuple of {len(ty.elems)}, got {raw!r}")
        return [_coerce(v, t, wire=wire) for v, t in zip(raw, ty.elems, strict=True)]
    if ty.kind == "map":
        if not isinstance(raw, dict):
            raise CodecError(f"expected a map, got {type(raw).__name__}")
        return {str(k): _coerce(v, ty.elem, wire=wire) for k, v in raw.items()}
    if not isinstance(raw, list):
        raise CodecError(f"expected a {ty.kind}, got {type(raw).__name__}")
    return [_coerce(v, ty.elem, wire=wire) for v in raw]


def _coerce_dynamic(raw: Any, *, wire: bool) -> Value:
    if wire:
        if not (isinstance(raw, list) and len(raw) == 2):
            raise CodecError(f"dynamic value must be [type, value], got {raw!r}")
        type_json = raw[0].decode() if isinstance(raw[0], bytes) else raw[0]
        inner = parse_type(json.loads(type_json))
        return Dyn(inner, _coerce(raw[1], inner, wire=True))
    if isinstance(raw, dict) and set(raw) == {"value", "type"}:
        inner = parse_type(raw["type"])
        return Dyn(inner, _coerce(raw["value"], inner, wire=False))
    return Dyn(_infer_type(raw), raw)


def _infer_type(raw: Any) -> CtyType:
    """Infer a type for untyped JSON (for dynamic attributes in legacy state)."""
    if isinstance(raw, bool):
        return Primitive("bool")
    if isinstance(raw, (int, float)):
        return Primitive("number")
    if isinstance(raw, str):
        return Primitive("string")
    if isinstance(raw, list):
        return Tuple(tuple(_infer_type(v) for v in raw))
    if isinstance(raw, dict):
        return Object({k: _infer_type(v) for k, v in raw.items()})
    return Dynamic()


def _coerce_primitive(raw: Any, ty: Primitive) -> Value:
    if isinstance(raw, bytes):
        raw = raw.decode()
    if ty.name == "string":
        return _to_string(raw)
    if ty.name == "number":
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return raw
        if isinstance(raw, str):
            return _parse_number(raw)
    elif isinstance(raw, bool):
        return raw
    elif raw in ("true", "false"):
        return raw == "true"
    raise CodecError(f"expected a {ty.name}, got {raw!r}")


def _to_string(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, (int, float)):
        return _number_to_string(raw)
    raise CodecError(f"expected a string, got {raw!r}")


def _number_to_string(num: float) -> str:
    if isinstance(num, float) and num.is_integer():
        return str(int(num))
    return str(num)


def _parse_number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError as exc:
            raise CodecError(f"expected a number, got {text!r}") from exc


def _to_wire(value: Value, ty: CtyType) -> Any:  # noqa: C901 - one branch per cty kind
    if value is UNKNOWN:
        return msgpack.ExtType(_EXT_UNKNOWN, b"\x00")
    if isinstance(ty, Dynamic):
        if value is None:
            return None
        if not isinstance(value, Dyn):
            raise CodecError(f"dynamic value must be wrapped in Dyn, got {value!r}")
        if value.value is UNKNOWN and isinstance(value.type, Dynamic):
            return msgpack.ExtType(_EXT_UNKNOWN, b"\x00")
        return [type_json_bytes(value.type), _to_wire(value.value, value.type)]
    if value is None:
        return None
    if isinstance(ty, Primitive):
        return _coerce_primitive(value, ty)
    if isinstance(ty, Object):
        if not isinstance(value, dict):
            raise CodecError(f"expected an object, got {value!r}")
        extra = set(value) - set(ty.attrs)
        if extra:
            raise CodecError(f"unsupported attributes {sorted(extra)}")
        return {name: _to_wire(value.get(name), aty) for name, aty in sorted(ty.attrs.items())}
    if isinstance(ty, Tuple):
        return [_to_wire(v, t) for v, t in zip(value, ty.elems, strict=False)]
    if isinstance(ty, Collection) and ty.kind == "map":
        if not isinstance(value, dict):
            raise CodecError(f"expected a map, got {value!r}")
        return {k: _to_wire(v, ty.elem) for k, v in value.items()}
    if not isinstance(value, list):
        raise CodecError(f"expected a {ty.kind}, got {value!r}")
    return [_to_wire(v, ty.elem) for v in value]


def to_json_compatible(value: Value) -> Any:
    """Return `value` as plain JSON data (unknowns become None, `Dyn` is unwrapped)."""
    if value is UNKNOWN:
        return None
    if isinstance(value, Dyn):
        return to_json_compatible(value.value)
    if isinstance(value, dict):
        return {k: to_json_compatible(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json_compatible(v) for v in value]
    return value


def contains_unknown(value: Value) -> bool:
    """Return whether `value` has an unknown anywhere inside it."""
    if value is UNKNOWN:
        return True
    if isinstance(value, Dyn):
        return contains_unknown(value.value)
    if isinstance(value, dict):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return False
