from __future__ import annotations

import msgpack
import pytest

from atlasiam_sandbox.provider.codec import (
    UNKNOWN,
    CodecError,
    Dyn,
    contains_unknown,
    decode_json,
    decode_msgpack,
    encode_msgpack,
    to_json_compatible,
)
from atlasiam_sandbox.provider.ctytypes import (
    BOOL,
    DYNAMIC,
    NUMBER,
    STRING,
    Collection,
    Object,
    Tuple,
    parse_type,
    type_json_bytes,
    type_to_json,
)

NESTED = Object(
    {
        "name": STRING,
        "size": NUMBER,
        "on": BOOL,
        "tags": Collection("map", STRING),
        "ids": Collection("set", STRING),
        "rules": Collection("list", Object({"port": NUMBER, "cidrs": Collection("list", STRING)})),
        "pair": Tuple((STRING, NUMBER)),
        "extra": DYNAMIC,
    }
)


def roundtrip(value: object, ty: object) -> object:
    return decode_msgpack(encode_msgpack(value, ty), ty)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "raw",
    [
        "string",
        "number",
        "bool",
        "dynamic",
        ["list", "string"],
        ["set", ["object", {"a": "string", "b": ["map", "number"]}]],
        ["tuple", ["string", "bool"]],
        ["map", ["list", "number"]],
    ],
)
def test_type_json_roundtrip(raw: object) -> None:
    assert type_to_json(parse_type(raw)) == raw


def test_parse_type_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        parse_type(["frob", "string"])


def test_object_roundtrip_fills_missing_attributes_with_null() -> None:
    value = {"name": "x", "size": 3, "rules": [{"port": 443, "cidrs": ["10.0.0.0/8"]}]}
    out = roundtrip(value, NESTED)
    assert out == {
        "name": "x",
        "size": 3,
        "on": None,
        "tags": None,
        "ids": None,
        "rules": [{"port": 443, "cidrs": ["10.0.0.0/8"]}],
        "pair": None,
        "extra": None,
    }


def test_object_keys_are_all_present_on_the_wire() -> None:
    raw = msgpack.unpackb(encode_msgpack({"name": "x"}, NESTED), raw=False)
    assert sorted(raw) == sorted(NESTED.attrs)


def test_numbers_keep_int_and_float() -> None:
    assert roundtrip({"size": 3}, NESTED)["size"] == 3  # type: ignore[index]
    assert roundtrip({"size": 1.5}, NESTED)["size"] == 1.5  # type: ignore[index]


def test_big_numbers_sent_as_strings_are_parsed() -> None:
    data = msgpack.packb({"size": "12345678901234567890123"})
    assert decode_msgpack(data, Object({"size": NUMBER})) == {"size": 12345678901234567890123}


def test_unknown_is_ext0_and_roundtrips_at_every_depth() -> None:
    value = {
        "name": UNKNOWN,
        "ids": ["a", UNKNOWN],
        "tags": {"k": UNKNOWN},
        "rules": [{"port": UNKNOWN, "cidrs": UNKNOWN}],
        "pair": ["p", UNKNOWN],
        "extra": UNKNOWN,
    }
    data = encode_msgpack(value, NESTED)
    assert b"\xd4\x00\x00" in data
    out = roundtrip(value, NESTED)
    assert out["name"] is UNKNOWN  # type: ignore[index]
    assert out["ids"][1] is UNKNOWN  # type: ignore[index]
    assert out["tags"]["k"] is UNKNOWN  # type: ignore[index]
    assert out["rules"][0]["port"] is UNKNOWN  # type: ignore[index]
    assert out["rules"][0]["cidrs"] is UNKNOWN  # type: ignore[index]
    assert out["pair"][1] is UNKNOWN  # type: ignore[index]
    assert out["extra"] is UNKNOWN  # type: ignore[index]
    assert contains_unknown(out)


def test_refined_unknown_ext12_decodes_as_unknown() -> None:
    refined = msgpack.ExtType(12, msgpack.packb({1: True}))
    data = msgpack.packb({"name": refined, "size": 1}, use_bin_type=True)
    assert decode_msgpack(data, Object({"name": STRING, "size": NUMBER}))["name"] is UNKNOWN


def test_whole_value_unknown_and_null() -> None:
    assert roundtrip(UNKNOWN, NESTED) is UNKNOWN
    assert roundtrip(None, NESTED) is None
    assert decode_msgpack(b"", NESTED) is None


def test_dynamic_values_carry_their_type() -> None:
    ty = Object({"extra": DYNAMIC})
    value = {"extra": Dyn(Object({"a": Collection("list", STRING)}), {"a": ["x"]})}
    raw = msgpack.unpackb(encode_msgpack(value, ty), raw=False)
    assert raw["extra"][0] == type_json_bytes(value["extra"].type)
    assert raw["extra"][1] == {"a": ["x"]}
    assert roundtrip(value, ty) == value


def test_dynamic_must_be_wrapped() -> None:
    with pytest.raises(CodecError):
        encode_msgpack({"extra": "plain"}, Object({"extra": DYNAMIC}))


def test_unsupported_attribute_is_rejected_on_encode() -> None:
    with pytest.raises(CodecError):
        encode_msgpack({"nope": 1}, Object({"name": STRING}))


def test_json_state_drops_unknown_attributes_and_fills_nulls() -> None:
    ty = Object({"id": STRING, "port": NUMBER, "dyn": DYNAMIC})
    out = decode_json(b'{"id": "x", "legacy": 1, "dyn": {"value": [1], "type": ["list", "number"]}}', ty)
    assert out == {"id": "x", "port": None, "dyn": Dyn(Collection("list", NUMBER), [1])}


def test_json_state_coerces_primitive_strings() -> None:
    ty = Object({"port": NUMBER, "on": BOOL, "name": STRING})
    assert decode_json('{"port": "80", "on": "true", "name": 5}', ty) == {"port": 80, "on": True, "name": "5"}


def test_to_json_compatible() -> None:
    assert to_json_compatible({"a": [UNKNOWN, Dyn(STRING, "x")]}) == {"a": [None, "x"]}
