"""Convert schema JSON (BLOCK objects) into tfplugin6 `Schema` messages."""

from __future__ import annotations

import json
from typing import Any

from tf.gen import tfplugin_pb2 as pb

_BLOCK_NESTING = {
    "single": pb.Schema.NestedBlock.SINGLE,
    "list": pb.Schema.NestedBlock.LIST,
    "set": pb.Schema.NestedBlock.SET,
    "map": pb.Schema.NestedBlock.MAP,
    "group": pb.Schema.NestedBlock.GROUP,
}
_OBJECT_NESTING = {
    "single": pb.Schema.Object.SINGLE,
    "list": pb.Schema.Object.LIST,
    "set": pb.Schema.Object.SET,
    "map": pb.Schema.Object.MAP,
}
_MARKDOWN = {"markdown": pb.MARKDOWN, "plain": pb.PLAIN}


def schema_message(raw: dict[str, Any]) -> Any:
    """Build a `Schema` from `{"version": N, "block": BLOCK}`; the version defaults to 0."""
    return pb.Schema(version=int(raw.get("version", 0)), block=block_message(raw.get("block") or {}))


def block_message(raw: dict[str, Any]) -> Any:
    """Build a `Schema.Block` from a BLOCK JSON object."""
    return pb.Schema.Block(
        attributes=[attribute_message(name, a) for name, a in sorted((raw.get("attributes") or {}).items())],
        block_types=[
            pb.Schema.NestedBlock(
                type_name=name,
                block=block_message(nb.get("block") or {}),
                nesting=_BLOCK_NESTING[nb.get("nesting_mode", "list")],
                min_items=int(nb.get("min_items", 0)),
                max_items=int(nb.get("max_items", 0)),
            )
            for name, nb in sorted((raw.get("block_types") or {}).items())
        ],
        description=raw.get("description", ""),
        description_kind=_MARKDOWN.get(raw.get("description_kind", "plain"), pb.PLAIN),
        deprecated=bool(raw.get("deprecated")),
    )


def attribute_message(name: str, raw: dict[str, Any]) -> Any:
    """Build a `Schema.Attribute` (with `nested_type` when the JSON has one)."""
    attr = pb.Schema.Attribute(
        name=name,
        description=raw.get("description", ""),
        description_kind=_MARKDOWN.get(raw.get("description_kind", "plain"), pb.PLAIN),
        required=bool(raw.get("required")),
        optional=bool(raw.get("optional")),
        computed=bool(raw.get("computed")),
        sensitive=bool(raw.get("sensitive")),
        deprecated=bool(raw.get("deprecated")),
    )
    nested = raw.get("nested_type")
    if nested is None:
        attr.type = json.dumps(raw["type"], separators=(",", ":")).encode()
    else:
        attr.nested_type.CopyFrom(
            pb.Schema.Object(
                attributes=[attribute_message(n, a) for n, a in sorted((nested.get("attributes") or {}).items())],
                nesting=_OBJECT_NESTING[nested.get("nesting_mode", "single")],
                min_items=int(nested.get("min_items", 0)),
                max_items=int(nested.get("max_items", 0)),
            )
        )
    return attr


def provider_schema_response(raw: dict[str, Any], capabilities: Any) -> Any:
    """Build the whole `GetProviderSchema.Response` for a provider schema file."""
    resp = pb.GetProviderSchema.Response(
        provider=schema_message(raw.get("provider") or {"block": {}}),
        server_capabilities=capabilities,
    )
    for type_name, schema in (raw.get("resource_schemas") or {}).items():
        resp.resource_schemas[type_name].CopyFrom(schema_message(schema))
    for type_name, schema in (raw.get("data_source_schemas") or {}).items():
        resp.data_source_schemas[type_name].CopyFrom(schema_message(schema))
    if raw.get("provider_meta"):
        resp.provider_meta.CopyFrom(schema_message(raw["provider_meta"]))
    return resp
