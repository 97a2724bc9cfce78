"""Provider schemas loaded from `terraform providers schema -json`-shaped JSON.

File shape: `{"provenance": {...}, "provider": {"version": 0, "block": BLOCK},
"resource_schemas": {TYPE: {...}}, "data_source_schemas": {TYPE: {...}}}`. Types are parsed lazily, per
resource type, so a plugin process pays only for the types it serves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from atlasiam_sandbox.provider.ctytypes import Collection, CtyType, Object, parse_type

Nesting = Literal["single", "list", "set", "map", "group"]


@dataclass(frozen=True)
class NestedAttributes:
    """A protocol-6 nested attribute type (`nested_type`)."""

    nesting: Nesting
    attributes: dict[str, Attribute]
    min_items: int = 0
    max_items: int = 0

    def object_type(self) -> Object:
        """The object type of one element."""
        return Object({name: a.type for name, a in self.attributes.items()})


@dataclass(frozen=True)
class Attribute:
    """One attribute of a block."""

    name: str
    type: CtyType
    raw: dict[str, Any] = field(repr=False, compare=False)
    nested: NestedAttributes | None = None

    @property
    def required(self) -> bool:
        """Whether the attribute must be set in configuration."""
        return bool(self.raw.get("required"))

    @property
    def optional(self) -> bool:
        """Whether the attribute may be set in configuration."""
        return bool(self.raw.get("optional"))

    @property
    def computed(self) -> bool:
        """Whether the provider may set the attribute."""
        return bool(self.raw.get("computed"))

    @property
    def sensitive(self) -> bool:
        """Whether the value is sensitive."""
        return bool(self.raw.get("sensitive"))


@dataclass(frozen=True)
class NestedBlock:
    """A nested block type."""

    name: str
    nesting: Nesting
    block: Block
    min_items: int = 0
    max_items: int = 0

    @cached_property
    def type(self) -> CtyType:
        """The type of this block's value in its parent object."""
        obj = self.block.type
        if self.nesting in ("single", "group"):
            return obj
        return Collection(self.nesting, obj)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Block:
    """A block: attributes plus nested block types."""

    attributes: dict[str, Attribute]
    block_types: dict[str, NestedBlock]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @cached_property
    def type(self) -> Object:
        """The implied object type of the block."""
        attrs: dict[str, CtyType] = {name: a.type for name, a in self.attributes.items()}
        attrs.update({name: nb.type for name, nb in self.block_types.items()})
        return Object(attrs)


@dataclass(frozen=True)
class TypeSchema:
    """The schema of a provider, resource type or data source."""

    version: int
    block: Block
    raw: dict[str, Any] = field(repr=False, compare=False)


def parse_block(raw: dict[str, Any]) -> Block:
    """Parse a BLOCK JSON object."""
    attributes = {name: _parse_attribute(name, a) for name, a in (raw.get("attributes") or {}).items()}
    block_types = {
        name: NestedBlock(
            name=name,
            nesting=nb.get("nesting_mode", "list"),
            block=parse_block(nb.get("block") or {}),
            min_items=int(nb.get("min_items", 0)),
            max_items=int(nb.get("max_items", 0)),
        )
        for name, nb in (raw.get("block_types") or {}).items()
    }
    return Block(attributes=attributes, block_types=block_types, raw=raw)


def _parse_attribute(name: str, raw: dict[str, Any]) -> Attribute:
    nested_raw = raw.get("nested_type")
    if nested_raw is None:
        return Attribute(name=name, type=parse_type(raw["type"]), raw=raw)
    nested = NestedAttributes(
        nesting=nested_raw.get("nesting_mode", "single"),
        attributes={n: _parse_attribute(n, a) for n, a in (nested_raw.get("attributes") or {}).items()},
        min_items=int(nested_raw.get("min_items", 0)),
        max_items=int(nested_raw.get("max_items", 0)),
    )
    obj = nested.object_type()
    ty: CtyType = obj if nested.nesting == "single" else Collection(nested.nesting, obj)  # type: ignore[arg-type]
    return Attribute(name=name, type=ty, raw=raw, nested=nested)


def _parse_type_schema(raw: dict[str, Any]) -> TypeSchema:
    return TypeSchema(version=int(raw.get("version", 0)), block=parse_block(raw.get("block") or {}), raw=raw)


class ProviderSchema:
    """A provider schema file, parsed on demand."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self._resources: dict[str, TypeSchema] = {}
        self._data_sources: dict[str, TypeSchema] = {}
        self._provider: TypeSchema | None = None

    @classmethod
    def load(cls, path: Path) -> ProviderSchema:
        """Read a schema file."""
        return cls(json.loads(path.read_bytes()))

    @property
    def provider(self) -> TypeSchema:
        """The provider configuration schema."""
        if self._provider is None:
            self._provider = _parse_type_schema(self.raw.get("provider") or {"block": {}})
        return self._provider

    @property
    def resource_types(self) -> list[str]:
        """All managed resource type names."""
        return list(self.raw.get("resource_schemas") or {})

    @property
    def data_source_types(self) -> list[str]:
        """All data source type names."""
        return list(self.raw.get("data_source_schemas") or {})

    def resource(self, type_name: str) -> TypeSchema:
        """The schema of a managed resource type.

        Raises:
            KeyError: If the provider has no such resource type.
        """
        if type_name not in self._resources:
            self._resources[type_name] = _parse_type_schema(self.raw["resource_schemas"][type_name])
        return self._resources[type_name]

    def data_source(self, type_name: str) -> TypeSchema:
        """The schema of a data source.

        Raises:
            KeyError: If the provider has no such data source.
        """
        if type_name not in self._data_sources:
            self._data_sources[type_name] = _parse_type_schema(self.raw["data_source_schemas"][type_name])
        return self._data_sources[type_name]
