#!/usr/bin/env python3
"""Extract real Terraform provider schemas from the prebuilt cdktf provider npm packages.

The cdktf prebuilt provider packages (``@cdktf/provider-aws``, ``@cdktf/provider-mongodbatlas``) are
generated from ``terraform providers schema -json``. No schema JSON ships in the tarball (only ``.jsii``
type metadata, which lacks the computed/optional/required flags), but every generated
``lib/<name>/index.js`` ends with an inline base64 source map whose ``sourcesContent`` is the original
TypeScript. That TypeScript carries everything needed to rebuild the schema of one resource:

* ``// name - computed: X, optional: Y, required: Z`` before every attribute/block accessor
  (in the resource class and in each ``<Struct>OutputReference`` class);
* the ``*ToHclTerraform`` functions / ``synthesizeHclAttributes`` give ``isBlock``, ``type``
  (simple|list|set|map|struct) and ``storageClassType`` of every configurable member;
* ``new <Struct>List(this, "name", wrapsSet)`` / ``new <Struct>OutputReference(this, "name")`` /
  ``new cdktf.StringMap(...)`` and the ``get*Attribute`` getters give list vs set, max-one blocks and
  the types of computed-only members.

Usage::

    python sandbox/scripts/extract_schemas.py --out sandbox/atlasiam_sandbox/schemas

The script shells out to ``npm pack`` (or reuses tarballs from ``--tarballs DIR``); only the derived
schema JSON is written, never provider source.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Json = dict[str, Any]
CtyType = Any  # "string" | "number" | "bool" | "dynamic" | [kind, CtyType] | ["object", {name: CtyType}]

EXTRACTED_BY = "sandbox/scripts/extract_schemas.py"
METHOD = (
    "npm pack; decode the inline base64 source map (sourcesContent = generated TypeScript) of each "
    "lib/<resource>/index.js; flags from '// name - computed/optional/required' comments, block-ness and "
    "types from *ToHclTerraform attrs, List(wrapsSet)/OutputReference/cdktf.*Map classes and get*Attribute "
    "getters"
)
NOT_RECOVERABLE = ["sensitive", "deprecated", "ForceNew", "defaults", "provider-side validators"]


# --------------------------------------------------------------------------------------------------
# Package specifications
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PackageSpec:
    """One cdktf prebuilt provider package and the types to extract from it."""

    key: str
    npm_package: str
    npm_version: str
    source: str
    provider_version: str
    prefix: str
    resources: tuple[str, ...]
    data_sources: tuple[str, ...]

    def resource_path(self, tf_type: str) -> str:
        """Tarball path of the generated JS module of resource ``tf_type``."""
        return f"package/lib/{tf_type.removeprefix(self.prefix + '_').replace('_', '-')}/index.js"

    def data_source_path(self, tf_type: str) -> str:
        """Tarball path of the generated JS module of data source ``tf_type``."""
        return f"package/lib/data-{tf_type.replace('_', '-')}/index.js"

    @property
    def provider_path(self) -> str:
        """Tarball path of the generated provider-configuration module."""
        return "package/lib/provider/index.js"


AWS = PackageSpec(
    key="aws",
    npm_package="@cdktf/provider-aws",
    npm_version="21.22.1",
    source="hashicorp/aws",
    provider_version="6.25.0",
    prefix="aws",
    resources=(
        "aws_vpc",
        "aws_subnet",
        "aws_internet_gateway",
        "aws_route_table",
        "aws_route",
        "aws_route_table_association",
        "aws_security_group",
        "aws_vpc_security_group_egress_rule",
        "aws_vpc_security_group_ingress_rule",
        "aws_default_security_group",
        "aws_iam_role",
        "aws_iam_role_policy_attachment",
        "aws_iam_role_policy",
        "aws_iam_policy",
        "aws_iam_instance_profile",
        "aws_instance",
        "aws_flow_log",
        "aws_cloudwatch_log_group",
        "aws_kms_key",
        "aws_vpc_endpoint",
        "aws_eip",
        "aws_s3_bucket",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_policy",
        "aws_s3_object",
        "aws_eks_pod_identity_association",
    ),
    data_sources=(
        "aws_iam_policy_document",
        "aws_partition",
        "aws_region",
        "aws_caller_identity",
        "aws_ssm_parameter",
        "aws_vpc",
        "aws_subnet",
        "aws_ami",
        "aws_ec2_instance_type_offerings",
    ),
)

MONGODBATLAS = PackageSpec(
    key="mongodbatlas",
    npm_package="@cdktf/provider-mongodbatlas",
    npm_version="8.6.2",
    source="mongodb/mongodbatlas",
    provider_version="1.41.1",
    prefix="mongodbatlas",
    resources=(
        "mongodbatlas_database_user",
        "mongodbatlas_project_ip_access_list",
        "mongodbatlas_advanced_cluster",
        "mongodbatlas_project",
        "mongodbatlas_cloud_provider_access_setup",
        "mongodbatlas_cloud_provider_access_authorization",
        "mongodbatlas_privatelink_endpoint",
        "mongodbatlas_privatelink_endpoint_service",
    ),
    data_sources=("mongodbatlas_advanced_cluster", "mongodbatlas_project", "mongodbatlas_database_user"),
)

PACKAGES: dict[str, PackageSpec] = {p.key: p for p in (AWS, MONGODBATLAS)}


# --------------------------------------------------------------------------------------------------
# Source map and TypeScript parsing (pure functions)
# --------------------------------------------------------------------------------------------------

_SOURCE_MAP_RE = re.compile(r"sourceMappingURL=data:application/json;(?:charset=[\w-]+;)?base64,([A-Za-z0-9+/=]+)")
_TOP_LEVEL_RE = re.compile(r"^export (?:declare )?(class|interface|function) (\w+)", re.MULTILINE)
_MEMBER_RE = re.compile(
    r"^  // (\w+) - computed: (true|false), optional: (true|false), required: (true|false)\n", re.MULTILINE
)
_SECTION_END_RE = re.compile(r"^  // (?:\w+ - computed: |=+)|^}", re.MULTILINE)
_HCL_ENTRY_RE = re.compile(
    r"^\s*(\w+): \{\s*value: (.*?),\s*isBlock: (true|false),\s*"
    r"type: \"(\w+)\",\s*storageClassType: \"(\w+)\",\s*\}",
    re.MULTILINE | re.DOTALL,
)
_NEW_CLASS_RE = re.compile(r"= new ([\w.]+)\(this, \"(\w+)\"(?:, (true|false))?\)")
_GETTER_RE = re.compile(r"this\.get(\w*)Attribute\('(\w+)'\)")
_STRUCT_FN_RE = re.compile(r"(?<![.\w])([a-z]\w*)ToHclTerraform\b")
_CAMEL_REF_RE = re.compile(r"(?:this\._|struct!\.)(\w+)")
_INTERFACE_FIELD_RE = re.compile(
    r"(?:/\*\*(?P<doc>(?:(?!\*/).)*)\*/\s*)?readonly (?P<name>\w+)(?P<opt>\?)?:", re.DOTALL
)
_MD_LINK_RE = re.compile(r"\[([^\]]+)\]\([^)\s]+\)")
_TF_TYPE_RE = re.compile(r"public static readonly tfResourceType = \"(\w+)\";")

_PRIMITIVES: dict[str, CtyType] = {
    "string": "string",
    "number": "number",
    "boolean": "bool",
    "any": "dynamic",
}
_CDKTF_MAP_CLASSES: dict[str, CtyType] = {
    "cdktf.StringMap": ["map", "string"],
    "cdktf.NumberMap": ["map", "number"],
    "cdktf.BooleanMap": ["map", "bool"],
    "cdktf.AnyMap": ["map", "dynamic"],
    "cdktf.StringListMap": ["map", ["list", "string"]],
    "cdktf.NumberListMap": ["map", ["list", "number"]],
    "cdktf.BooleanListMap": ["map", ["list", "bool"]],
    "cdktf.AnyListMap": ["map", ["list", "dynamic"]],
}
_GETTER_TYPES: dict[str, CtyType] = {
    "String": "string",
    "Number": "number",
    "Boolean": "bool",
    "List": ["list", "string"],
    "NumberList": ["list", "number"],
    "BooleanList": ["list", "bool"],
    "StringMap": ["map", "string"],
    "NumberMap": ["map", "number"],
    "BooleanMap": ["map", "bool"],
    "AnyMap": ["map", "dynamic"],
}


class ExtractionError(RuntimeError):
    """The generated TypeScript did not match any pattern the parser understands."""


def decode_source_map(js: str) -> str:
    """Return the original TypeScript embedded in the inline source map at the end of ``js``."""
    match = _SOURCE_MAP_RE.search(js)
    if not match:
        raise ExtractionError("no inline base64 source map found")
    source_map = json.loads(base64.b64decode(match.group(1)))
    contents = source_map.get("sourcesContent") or []
    if not contents or not contents[0]:
        raise ExtractionError("source map has no sourcesContent")
    return str(contents[0])


def lower_first(name: str) -> str:
    """``DatabaseUserRoles`` -> ``databaseUserRoles`` (cdktf's function-name convention)."""
    return name[:1].lower() + name[1:]


def upper_first(name: str) -> str:
    """``databaseUserRoles`` -> ``DatabaseUserRoles`` (cdktf's struct-name convention)."""
    return name[:1].upper() + name[1:]


@dataclass(frozen=True)
class HclEntry:
    """One entry of a cdktf ``*ToHclTerraform`` attrs object."""

    name: str
    value: str
    is_block: bool
    kind: str  # simple | list | set | map | struct
    storage: str  # storageClassType

    @property
    def struct(self) -> str | None:
        """Name of the nested struct this entry maps, if it is a complex (struct-valued) member."""
        match = _STRUCT_FN_RE.search(self.value)
        return upper_first(match.group(1)) if match else None

    @property
    def camel(self) -> str | None:
        """The camelCase TypeScript name of the member (``this._x`` / ``struct!.x``)."""
        match = _CAMEL_REF_RE.search(self.value)
        return match.group(1) if match else None


@dataclass(frozen=True)
class Member:
    """One attribute or block of a schema level, as announced by a ``// name - computed: ...`` comment."""

    name: str
    computed: bool
    optional: bool
    required: bool
    body: str = ""


@dataclass(frozen=True)
class StructRef:
    """A member whose value is a nested struct: ``container`` is list | set | one | map."""

    struct: str
    container: str


def parse_hcl_entries(body: str) -> dict[str, HclEntry]:
    """Parse the ``const attrs = {...}`` object of a ``*ToHclTerraform`` function or "
    "``synthesizeHclAttributes``."""
    start = body.find("const attrs = {")
    if start < 0:
        return {}
    end = body.find("\n  };", start)
    end2 = body.find("\n    };", start)
    stop = min(x for x in (end, end2, len(body)) if x >= 0)
    return {
        m.group(1): HclEntry(m.group(1), m.group(2), m.group(3) == "true", m.group(4), m.group(5))
        for m in _HCL_ENTRY_RE.finditer(body[start:stop])
    }


def parse_members(class_body: str) -> list[Member]:
    """Parse the ``// name - computed: X, optional: Y, required: Z`` sections of a class body."""
    members: list[Member] = []
    for match in _MEMBER_RE.finditer(class_body):
        end_match = _SECTION_END_RE.search(class_body, match.end())
        end = end_match.start() if end_match else len(class_body)
        members.append(
            Member(
                name=match.group(1),
                computed=match.group(2) == "true",
                optional=match.group(3) == "true",
                required=match.group(4) == "true",
                body=class_body[match.end() : end],
            )
        )
    return members


@dataclass(frozen=True)
class FieldDoc:
    """What an ``export interface`` field declaration tells: optional marker, description, block marker."""

    optional: bool = True
    description: str = ""
    block: bool = False


def parse_interface_fields(body: str) -> dict[str, FieldDoc]:
    """Map camelCase field -> ``FieldDoc`` for an ``export interface`` body."""
    fields: dict[str, FieldDoc] = {}
    for match in _INTERFACE_FIELD_RE.finditer(body):
        description, block = doc_description(match.group("doc") or "")
        fields[match.group("name")] = FieldDoc(bool(match.group("opt")), description, block)
    return fields


def doc_description(doc: str) -> tuple[str, bool]:
    """Split a cdktf doc comment into (free text, is-a-block marker).

    cdktf writes ``<name> block`` as the first doc line of members that are nested *blocks* in the
    provider schema (not for object-typed attributes or framework ``timeouts`` attributes).
    """
    lines = [line.strip().lstrip("*").strip() for line in doc.splitlines()]
    text: list[str] = []
    for line in lines:
        if line.startswith(("Docs at Terraform Registry", "@")):
            break
        text.append(line)
    words = [t for t in text if t]
    block = bool(words) and re.fullmatch(r"\w+ block", words[0]) is not None
    description = " ".join(words[1:] if block else words).strip()
    # description_kind is "plain": keep markdown link text, drop the link targets.
    return _MD_LINK_RE.sub(r"\1", description), block


def hcl_primitive(entry: HclEntry) -> CtyType:
    """CTY type of a primitive HCL entry (``storageClassType`` string/number/boolean[List|Map])."""
    for prim, cty in _PRIMITIVES.items():
        if entry.storage == prim and entry.kind == "simple":
            return cty
        if entry.storage == prim + "List" and entry.kind in ("list", "set"):
            return [entry.kind, cty]
        if entry.storage == prim + "Map" and entry.kind == "map":
            return ["map", cty]
    raise ExtractionError(f"unsupported storageClassType {entry.storage!r}/{entry.kind!r} for {entry.name}")


def getter_primitive(member: Member) -> CtyType:
    """CTY type of a member from its ``this.get<Kind>Attribute('name')`` getter."""
    match = _GETTER_RE.search(member.body)
    if not match or match.group(2) != member.name:
        if "interpolationForAttribute" in member.body:
            return "dynamic"
        raise ExtractionError(f"no typed getter for {member.name}")
    cty = _GETTER_TYPES.get(match.group(1))
    if cty is None:
        raise ExtractionError(f"unsupported getter get{match.group(1)}Attribute for {member.name}")
    if isinstance(cty, list) and cty[0] == "list" and "Fn.tolist(" in member.body:
        return ["set", cty[1]]
    return cty


def member_kind(member: Member, entry: HclEntry | None) -> StructRef | CtyType:
    """Resolve what a member holds: a nested struct (``StructRef``) or a primitive CTY type."""
    match = _NEW_CLASS_RE.search(member.body)
    if match and match.group(2) == member.name:
        cls, wraps_set = match.group(1), match.group(3)
        if cls in _CDKTF_MAP_CLASSES:
            return _CDKTF_MAP_CLASSES[cls]
        if cls.endswith("OutputReference"):
            return StructRef(cls.removesuffix("OutputReference"), "one")
        if cls.endswith("List"):
            return StructRef(cls.removesuffix("List"), "set" if wraps_set == "true" else "list")
        if cls.endswith("Map"):
            return StructRef(cls.removesuffix("Map"), "map")
        raise ExtractionError(f"unsupported member class {cls} for {member.name}")
    if entry is not None and entry.struct is not None:
        container = {"list": "list", "set": "set", "struct": "one", "map": "map"}.get(entry.kind)
        if container is None:
            raise ExtractionError(f"unsupported struct container {entry.kind} for {member.name}")
        return StructRef(entry.struct, container)
    if entry is not None:
        return hcl_primitive(entry)
    return getter_primitive(member)


def member_flags(member: Member) -> Json:
    """Terraform JSON flags of an attribute (false flags omitted)."""
    if member.required:
        return {"required": True}
    flags: Json = {}
    if member.optional:
        flags["optional"] = True
    if member.computed:
        flags["computed"] = True
    if not flags:  # cdktf never emits this, but never produce a flag-less attribute
        flags["computed"] = True
    return flags


class TsModule:
    """The generated TypeScript of one cdktf resource/data source/provider module."""

    def __init__(self, ts: str) -> None:
        self.ts = ts
        self.classes: dict[str, str] = {}
        self.interfaces: dict[str, str] = {}
        self.functions: dict[str, str] = {}
        matches = list(_TOP_LEVEL_RE.finditer(ts))
        for i, match in enumerate(matches):
            end = matches[i + 1].start() if i + 1 < len(matches) else len(ts)
            target = {"class": self.classes, "interface": self.interfaces, "function": self.functions}
            target[match.group(1)][match.group(2)] = ts[match.start() : end]

    def main_class(self) -> tuple[str, str, str]:
        """Return (class name, class body, Terraform type name or 'provider') of the top-level construct."""
        for name, body in self.classes.items():
            if re.search(r"extends cdktf\.Terraform(Resource|DataSource)\b", body):
                type_match = _TF_TYPE_RE.search(body)
                return name, body, type_match.group(1) if type_match else name
            if re.search(r"extends cdktf\.TerraformProvider\b", body):
                return name, body, "provider"
        raise ExtractionError("no TerraformResource/TerraformDataSource/TerraformProvider class found")

    def config_interface(self, class_name: str) -> str:
        """Body of the ``<Class>Config`` interface (top-level argument docs)."""
        return self.interfaces.get(class_name + "Config", "")

    def struct_members(self, struct: str) -> tuple[list[Member], dict[str, HclEntry], str]:
        """Members, HCL entries and interface body of nested struct ``struct``."""
        entries = parse_hcl_entries(self.functions.get(lower_first(struct) + "ToHclTerraform", ""))
        interface = self.interfaces.get(struct, "")
        output_ref = self.classes.get(struct + "OutputReference")
        if output_ref is not None:
            return parse_members(output_ref), entries, interface
        # Provider-configuration structs have no OutputReference class: use the interface's '?' markers.
        fields = parse_interface_fields(interface)
        members = []
        for entry in entries.values():
            optional = fields.get(entry.camel or "", FieldDoc()).optional
            members.append(Member(entry.name, computed=False, optional=optional, required=not optional))
        return members, entries, interface


# --------------------------------------------------------------------------------------------------
# Schema construction
# --------------------------------------------------------------------------------------------------


@dataclass
class SchemaBuilder:
    """Build Terraform JSON schema blocks from a parsed ``TsModule``."""

    module: TsModule
    descriptions: bool = True
    _stack: list[str] = field(default_factory=list)

    def build_main(self) -> tuple[str, Json]:
        """Return (Terraform type name, BLOCK) for the module's top-level construct."""
        class_name, body, tf_type = self.module.main_class()
        members = parse_members(body)
        entries = parse_hcl_entries(body[max(body.find("synthesizeHclAttributes"), 0) :])
        return tf_type, self.build_block(members, entries, self.module.config_interface(class_name))

    def build_block(self, members: list[Member], entries: dict[str, HclEntry], interface: str) -> Json:
        """BLOCK for one schema level."""
        docs = parse_interface_fields(interface)
        unannounced = set(entries) - {m.name for m in members}
        if unannounced:
            raise ExtractionError(f"HCL entries without a '// name - computed' comment: {sorted(unannounced)}")
        attributes: Json = {}
        block_types: Json = {}
        for member in members:
            entry = entries.get(member.name)
            doc = docs.get((entry.camel if entry else None) or "", FieldDoc())
            kind = member_kind(member, entry)
            if is_block(entry, doc):
                if not isinstance(kind, StructRef) or entry is None:
                    raise ExtractionError(f"block {member.name} without a nested struct")
                block_types[member.name] = self.block_type(member, entry, kind)
                continue
            attr: Json = {"type": self.cty(kind), "description_kind": "plain", **member_flags(member)}
            if doc.description and self.descriptions:
                attr["description"] = doc.description
            attributes[member.name] = attr
        block: Json = {"attributes": attributes}
        if block_types:
            block["block_types"] = block_types
        return block

    def block_type(self, member: Member, entry: HclEntry, ref: StructRef) -> Json:
        """A ``block_types`` entry (nesting mode, nested BLOCK, min/max items)."""
        members, entries, interface = self.struct(ref.struct)
        result: Json = {"block": self.build_block(members, entries, interface)}
        if ref.container in ("list", "set"):
            result["nesting_mode"] = ref.container
        elif ref.container == "one" and entry.kind == "struct":
            result["nesting_mode"] = "single"
        elif ref.container == "one":
            result["nesting_mode"] = "set" if entry.kind == "set" else "list"
            result["max_items"] = 1
        else:
            raise ExtractionError(f"unsupported block container {ref.container} for {member.name}")
        if member.required and result["nesting_mode"] != "single":
            result["min_items"] = 1
        return result

    def struct(self, struct: str) -> tuple[list[Member], dict[str, HclEntry], str]:
        """Members of a nested struct, guarding against recursive definitions."""
        if struct in self._stack:
            raise ExtractionError(f"recursive struct {struct}")
        return self.module.struct_members(struct)

    def cty(self, kind: StructRef | CtyType) -> CtyType:
        """CTY type of a member kind; nested structs become object types (blocks included)."""
        if not isinstance(kind, StructRef):
            return kind
        members, entries, interface = self.struct(kind.struct)
        docs = parse_interface_fields(interface)
        self._stack.append(kind.struct)
        try:
            obj = ["object", {m.name: self.cty(nested_kind(m, entries.get(m.name), docs)) for m in members}]
        finally:
            self._stack.pop()
        return obj if kind.container == "one" else [kind.container, obj]


def is_block(entry: HclEntry | None, doc: FieldDoc) -> bool:
    """A configurable member is a nested block iff cdktf marks it ``isBlock`` *and* documents it as a block.

    ``isBlock`` alone is not enough: SDKv2 attributes-as-blocks (``aws_security_group.ingress``,
    ConfigModeAttr, rendered with ``listMapperHcl(fn, false)``) and framework ``timeouts`` attributes
    also carry ``isBlock: true``.
    """
    if entry is None or not entry.is_block:
        return False
    mapper = re.search(r"MapperHcl\(\w+, (true|false)\)", entry.value)
    if mapper is not None and mapper.group(1) == "false":
        return False
    return doc.block


def nested_kind(member: Member, entry: HclEntry | None, docs: dict[str, FieldDoc]) -> StructRef | CtyType:
    """Kind of a member inside an object type: a max-one *list* block stays a list of one object."""
    kind = member_kind(member, entry)
    doc = docs.get((entry.camel if entry else None) or "", FieldDoc())
    max_one_block = isinstance(kind, StructRef) and kind.container == "one" and is_block(entry, doc)
    if max_one_block and entry is not None and entry.kind in ("list", "set"):
        return StructRef(kind.struct, entry.kind)
    return kind


def extract_module(js: str, descriptions: bool = True) -> tuple[str, Json]:
    """Return (Terraform type name or 'provider', BLOCK) for one generated cdktf JS module."""
    return SchemaBuilder(TsModule(decode_source_map(js)), descriptions).build_main()


def ensure_id(block: Json) -> bool:
    """Every resource/data source carries an ``id`` attribute in this project's contract; True if one was "
    "added."""
    if "id" in block["attributes"]:
        return False
    block["attributes"]["id"] = {"type": "string", "description_kind": "plain", "computed": True}
    return True


# --------------------------------------------------------------------------------------------------
# mongodbatlas 2.x (hand-applied, documented changes)
# --------------------------------------------------------------------------------------------------

UPGRADE_GUIDE = "mongodb/terraform-provider-mongodbatlas docs/guides/2.0.0-upgrade-guide.md (tag v2.0.0)"
AC_DOC = "mongodb/terraform-provider-mongodbatlas docs/resources/advanced_cluster.md (tag v2.0.0)"
AC_SCHEMA = "internal/service/advancedclustertpf/schema.go (tag v2.0.0)"
CHANGELOG = "mongodb/terraform-provider-mongodbatlas CHANGELOG.md, section 2.0.0"

# Root attributes of mongodbatlas_advanced_cluster 2.0.0 and their flags (plugin framework schema).
AC_ROOT_FLAGS_2X: dict[str, Json] = {
    "accept_data_risks_and_force_replica_set_reconfig": {"optional": True},
    "advanced_configuration": {"optional": True, "computed": True},
    "backup_enabled": {"optional": True, "computed": True},
    "bi_connector_config": {"optional": True, "computed": True},
    "cluster_id": {"computed": True},
    "cluster_type": {"required": True},
    "config_server_management_mode": {"optional": True, "computed": True},
    "config_server_type": {"computed": True},
    "connection_strings": {"computed": True},
    "create_date": {"computed": True},
    "delete_on_create_timeout": {"optional": True},
    "encryption_at_rest_provider": {"optional": True, "computed": True},
    "global_cluster_self_managed_sharding": {"optional": True, "computed": True},
    "labels": {"optional": True},
    "mongo_db_major_version": {"optional": True, "computed": True},
    "mongo_db_version": {"computed": True},
    "name": {"required": True},
    "paused": {"optional": True, "computed": True},
    "pinned_fcv": {"optional": True},
    "pit_enabled": {"optional": True, "computed": True},
    "project_id": {"required": True},
    "redact_client_log_data": {"optional": True, "computed": True},
    "replica_set_scaling_strategy": {"optional": True, "computed": True},
    "replication_specs": {"required": True},
    "retain_backups_enabled": {"optional": True},
    "root_cert_type": {"optional": True, "computed": True},
    "state_name": {"computed": True},
    "tags": {"optional": True},
    "termination_protection_enabled": {"optional": True, "computed": True},
    "timeouts": {"optional": True},
    "version_release_system": {"optional": True, "computed": True},
}
# Nested paths removed in 2.0.0 (dot-separated, through list elements).
AC_REMOVED_NESTED_2X = (
    "replication_specs.num_shards",
    "replication_specs.id",
    "advanced_configuration.default_read_concern",
    "advanced_configuration.fail_index_key_too_long",
)
# Framework SingleNestedAttribute (object) in 2.x where 1.x had a max-one list block.
AC_SINGLE_OBJECTS_2X = (
    "advanced_configuration",
    "bi_connector_config",
    "connection_strings",
    "pinned_fcv",
    "timeouts",
    "replication_specs.region_configs.electable_specs",
    "replication_specs.region_configs.read_only_specs",
    "replication_specs.region_configs.analytics_specs",
    "replication_specs.region_configs.auto_scaling",
    "replication_specs.region_configs.analytics_auto_scaling",
)
PROJECT_USERS_2X: CtyType = [
    "list",
    [
        "object",
        {
            "country": "string",
            "created_at": "string",
            "first_name": "string",
            "id": "string",
            "invitation_created_at": "string",
            "invitation_expires_at": "string",
            "inviter_username": "string",
            "last_auth": "string",
            "last_name": "string",
            "mobile_number": "string",
            "org_membership_status": "string",
            "roles": ["set", "string"],
            "username": "string",
        },
    ],
]


def block_type_to_cty(block_type: Json, single: bool) -> CtyType:
    """CTY type of a ``block_types`` entry when re-expressed as an attribute (nested blocks included)."""
    inner = block_type["block"]
    obj: dict[str, CtyType] = {name: a["type"] for name, a in inner["attributes"].items()}
    for name, nested in inner.get("block_types", {}).items():
        obj[name] = block_type_to_cty(nested, single=False)
    if single or block_type["nesting_mode"] == "single":
        return ["object", obj]
    return [block_type["nesting_mode"], ["object", obj]]


def _object_of(cty: CtyType) -> dict[str, CtyType]:
    """The attribute map of an object type, looking through list/set/map wrappers."""
    while isinstance(cty, list) and cty[0] in ("list", "set", "map"):
        cty = cty[1]
    if not (isinstance(cty, list) and cty[0] == "object"):
        raise ExtractionError(f"not an object type: {cty!r}")
    return dict(cty[1]) if not isinstance(cty[1], dict) else cty[1]


def cty_at(attrs: Json, path: str) -> CtyType:
    """Type at dot-separated ``path`` (first element an attribute of ``attrs``)."""
    head, *rest = path.split(".")
    cty = attrs[head]["type"]
    for part in rest:
        cty = _object_of(cty)[part]
    return cty


def set_cty_at(attrs: Json, path: str, new: CtyType | None) -> None:
    """Replace (or with ``None`` delete) the type at dot-separated ``path``."""
    head, *rest = path.split(".")
    if not rest:
        if new is None:
            del attrs[head]
        else:
            attrs[head]["type"] = new
        return
    cty = attrs[head]["type"]
    for part in rest[:-1]:
        cty = _object_of(cty)[part]
    obj = _object_of(cty)
    if new is None:
        del obj[rest[-1]]
    else:
        obj[rest[-1]] = new


def unwrap_single(cty: CtyType) -> CtyType:
    """``["list", ["object", X]]`` (a max-one SDKv2 block) -> ``["object", X]``."""
    if isinstance(cty, list) and cty[0] in ("list", "set") and isinstance(cty[1], list) and cty[1][0] == "object":
        return cty[1]
    return cty


def advanced_cluster_2x(block_1x: Json, data_source: bool) -> Json:
    """Rebuild the 2.0.0 (plugin framework) ``mongodbatlas_advanced_cluster`` schema from the 1.41.1 one."""
    attrs: Json = copy.deepcopy(block_1x["attributes"])
    for name, block_type in block_1x.get("block_types", {}).items():
        attrs[name] = {"type": block_type_to_cty(block_type, single=False), "description_kind": "plain"}
    for path in AC_SINGLE_OBJECTS_2X:
        if path.split(".")[0] in attrs:
            set_cty_at(attrs, path, unwrap_single(cty_at(attrs, path)))
    for path in AC_REMOVED_NESTED_2X:
        set_cty_at(attrs, path, None)
    attrs["labels"]["type"] = ["map", "string"]  # was a set block of {key, value}
    attrs["tags"]["type"] = ["map", "string"]
    attrs["delete_on_create_timeout"] = {"type": "bool"}
    attrs["timeouts"] = {"type": ["object", {"create": "string", "delete": "string", "update": "string"}]}
    result: Json = {}
    for name, flags in AC_ROOT_FLAGS_2X.items():
        if data_source and name in (
            "accept_data_risks_and_force_replica_set_reconfig",
            "delete_on_create_timeout",
            "timeouts",
        ):
            continue
        if data_source:
            flags = {"required": True} if name in ("project_id", "name") else {"computed": True}
        if name not in attrs:
            raise ExtractionError(f"advanced_cluster 2.x: no 1.x source for {name}")
        entry = {"type": attrs[name]["type"], "description_kind": "plain", **flags}
        if attrs[name].get("description"):
            entry["description"] = attrs[name]["description"]
        result[name] = entry
    return {"attributes": result}  # 2.0.0 has no root `id` (cluster_id identifies the cluster)


def apply_mongodbatlas_2x(schema: Json) -> list[str]:
    """Apply the documented mongodbatlas 2.0.0 changes in place; return the provenance change list."""
    changes: list[str] = []
    resource_1x = schema["resource_schemas"]["mongodbatlas_advanced_cluster"]["block"]
    for kind, data_source in (("resource_schemas", False), ("data_source_schemas", True)):
        # 2.0.0 derives the data source from the resource schema (conversion.DataSourceSchemaFromResource).
        schema[kind]["mongodbatlas_advanced_cluster"]["block"] = advanced_cluster_2x(resource_1x, data_source)
    changes += [
        "mongodbatlas_advanced_cluster (resource and data source) rebuilt for the 2.0.0 plugin-framework "
        "schema: replication_specs, region_configs, electable_specs/read_only_specs/analytics_specs, "
        "auto_scaling/analytics_auto_scaling, advanced_configuration, bi_connector_config, "
        "connection_strings, pinned_fcv are nested ATTRIBUTES (list-of-object / object types, no longer "
        f"blocks); root flags as in 2.0.0 (source: {UPGRADE_GUIDE}; {AC_DOC}; {AC_SCHEMA})",
        "mongodbatlas_advanced_cluster: removed disk_size_gb, replication_specs.num_shards, "
        "replication_specs.id, advanced_configuration.default_read_concern, "
        "advanced_configuration.fail_index_key_too_long; data source also use_replication_spec_per_shard "
        f"(source: {UPGRADE_GUIDE})",
        "mongodbatlas_advanced_cluster: labels and tags are map(string) attributes (1.x: set blocks of "
        f"key/value) (source: {AC_DOC}; {AC_SCHEMA})",
        "mongodbatlas_advanced_cluster resource: added delete_on_create_timeout (bool, optional); timeouts "
        f"is an object attribute {{create, update, delete}}; data source drops timeouts (source: "
        f"{UPGRADE_GUIDE}; {AC_SCHEMA})",
        "data mongodbatlas_advanced_cluster: derived from the 2.0.0 resource schema like the provider does "
        "- every attribute computed except required project_id and name, no "
        "timeouts/delete_on_create_timeout/accept_data_risks_and_force_replica_set_reconfig (source: "
        f"{AC_SCHEMA}, dataSourceSchema; internal/common/conversion/schema_generation.go)",
        "mongodbatlas_advanced_cluster: 2.0.0 removed the root 'id' attribute (use cluster_id); removed here "
        f"too (source: {UPGRADE_GUIDE})",
    ]
    setup = schema["resource_schemas"]["mongodbatlas_cloud_provider_access_setup"]["block"]
    setup["attributes"]["delete_on_create_timeout"] = {
        "type": "bool",
        "description_kind": "plain",
        "optional": True,
    }
    setup.setdefault("block_types", {})["timeouts"] = {
        "nesting_mode": "single",
        "block": {"attributes": {"create": {"type": "string", "description_kind": "plain", "optional": True}}},
    }
    changes.append(
        "mongodbatlas_cloud_provider_access_setup: added delete_on_create_timeout (bool, optional) and a "
        f"timeouts block with create (SDKv2) (source: {UPGRADE_GUIDE}; {CHANGELOG})"
    )
    for tf_type in ("mongodbatlas_privatelink_endpoint", "mongodbatlas_privatelink_endpoint_service"):
        schema["resource_schemas"][tf_type]["block"]["attributes"]["delete_on_create_timeout"] = {
            "type": "bool",
            "description_kind": "plain",
            "optional": True,
        }
    changes.append(
        "mongodbatlas_privatelink_endpoint, mongodbatlas_privatelink_endpoint_service: added "
        "delete_on_create_timeout (bool, optional); no other schema change from 1.41.1 (timeouts create/delete "
        f"unchanged) (source: {UPGRADE_GUIDE}; {CHANGELOG}; internal/service/privatelinkendpoint/resource.go "
        "and internal/service/privatelinkendpointservice/resource.go at v2.0.0 against "
        "resource_privatelink_endpoint.go / resource_privatelink_endpoint_service.go at v1.41.1); the later "
        "2.x optional port_mapping_enabled/supported_remote_regions (endpoint) and computed "
        "gcp_endpoint_status/port_mapping_enabled (service), present at v2.16.0, are not added: the target "
        "stays 2.0.0, so a config these schemas accept is accepted by 2.0.0 and by 2.16.0"
    )
    provider_attrs = schema["provider"]["block"]["attributes"]
    for name in ("access_token", "client_id", "client_secret"):
        provider_attrs[name] = {"type": "string", "description_kind": "plain", "optional": True}
    changes.append(
        "provider config: added optional client_id, client_secret, access_token (Service Account auth, "
        "added in a 2.x minor after 2.0.0; ~> 2.0 resolves to it) - 2.0.0 itself left the provider block "
        "unchanged (source: mongodb/terraform-provider-mongodbatlas docs/index.md and "
        "internal/provider/provider.go, tag v2.16.0)"
    )
    project_ds = schema["data_source_schemas"]["mongodbatlas_project"]["block"]
    project_ds["attributes"]["users"] = {
        "type": PROJECT_USERS_2X,
        "description_kind": "plain",
        "computed": True,
    }
    changes += [
        f"data mongodbatlas_project: added computed users list (source: {CHANGELOG}; "
        "internal/service/project/model_project.go UsersProjectSchema at v2.0.0)",
        "mongodbatlas_database_user, mongodbatlas_project_ip_access_list, mongodbatlas_project (resource), "
        "mongodbatlas_cloud_provider_access_authorization, data mongodbatlas_database_user: no 2.0.0 "
        "schema change documented - kept as 1.41.1 (project 'teams' only deprecated) (source: "
        f"{UPGRADE_GUIDE}; {CHANGELOG})",
    ]
    return changes


# --------------------------------------------------------------------------------------------------
# I/O: npm pack, tarball reading, output
# --------------------------------------------------------------------------------------------------


def npm_pack(spec: PackageSpec, dest: Path) -> Path:
    """Download the package tarball with ``npm pack`` into ``dest`` and return its path."""
    out = subprocess.run(
        ["npm", "pack", f"{spec.npm_package}@{spec.npm_version}", "--json", "--pack-destination", str(dest)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    filename = json.loads(out)[0]["filename"]
    return dest / Path(filename).name


def tarball_for(spec: PackageSpec, tarballs: Path | None, tmp: Path) -> Path:
    """Reuse ``<tarballs>/<name>-<version>.tgz`` if present, otherwise ``npm pack`` into ``tmp``."""
    name = spec.npm_package.lstrip("@").replace("/", "-") + f"-{spec.npm_version}.tgz"
    if tarballs is not None and (tarballs / name).is_file():
        return tarballs / name
    return npm_pack(spec, tarballs or tmp)


def read_tar_members(tgz: Path, wanted: Iterable[str]) -> dict[str, str]:
    """Read only the ``wanted`` members (text) of a gzipped tarball in one streaming pass."""
    wanted_set = set(wanted)
    found: dict[str, str] = {}
    with tarfile.open(tgz, "r:gz") as tar:
        for info in tar:
            if info.name in wanted_set and info.isfile():
                handle = tar.extractfile(info)
                if handle is not None:
                    found[info.name] = handle.read().decode("utf-8")
    missing = wanted_set - found.keys()
    if missing:
        raise ExtractionError(f"{tgz.name}: missing {sorted(missing)}")
    return found


def npm_integrity(tgz: Path) -> str:
    """npm-style ``sha512-<base64>`` integrity string of a tarball."""
    return "sha512-" + base64.b64encode(hashlib.sha512(tgz.read_bytes()).digest()).decode()


def extract_package(spec: PackageSpec, tgz: Path, descriptions: bool = True) -> tuple[Json, list[str]]:
    """Build the provider schema document (without provenance) for one package tarball, plus change notes."""
    paths = {spec.provider_path: ("provider", "provider")}
    paths.update({spec.resource_path(t): ("resource_schemas", t) for t in spec.resources})
    paths.update({spec.data_source_path(t): ("data_source_schemas", t) for t in spec.data_sources})
    files = read_tar_members(tgz, paths)
    doc: Json = {"provider": {}, "resource_schemas": {}, "data_source_schemas": {}}
    changes: list[str] = []
    for path, (kind, tf_type) in paths.items():
        found_type, block = extract_module(files[path], descriptions)
        if found_type != tf_type:
            raise ExtractionError(f"{path}: expected {tf_type}, found {found_type}")
        if kind == "provider":
            doc["provider"] = {"version": 0, "block": block}
            continue
        if ensure_id(block):
            changes.append(f"{kind}.{tf_type}: added computed 'id' (absent in the cdktf schema; project contract)")
        doc[kind][tf_type] = {"version": 0, "block": block}
    return doc, changes


def build_document(spec: PackageSpec, tgz: Path, descriptions: bool = True) -> Json:
    """Full output document for one provider: provenance + schemas (+ 2.x changes for mongodbatlas)."""
    doc, changes = extract_package(spec, tgz, descriptions)
    transforms: dict[str, Callable[[Json], list[str]]] = {"mongodbatlas": apply_mongodbatlas_2x}
    if spec.key in transforms:
        changes += transforms[spec.key](doc)
    provenance: Json = {
        "npm_package": spec.npm_package,
        "npm_version": spec.npm_version,
        "npm_integrity": npm_integrity(tgz),
        "source": spec.source,
        "provider_version": spec.provider_version,
        "extracted_by": EXTRACTED_BY,
        "method": METHOD,
        "bundled_schema_json": "none: the tarball holds only generated JS/d.ts, .jsii type metadata (no "
        "computed/optional/required flags), README and package.json",
        "not_recoverable": NOT_RECOVERABLE,
        "notes": [
            "provider-configuration blocks: cdktf models them as plain arrays, so max_items is unknown and omitted",
            "SDKv2 attributes-as-blocks (ConfigModeAttr, e.g. aws_security_group.ingress) are attributes of "
            "list/set-of-object type, as in 'terraform providers schema -json'",
        ],
        "changes": changes,
    }
    if spec.key == "mongodbatlas":
        provenance["schema_target"] = "mongodb/mongodbatlas 2.0.0 (configs pin ~> 2.0); base extraction 1.41.1"
    return {"provenance": provenance, **doc}


def write_json(doc: Json, path: Path) -> None:
    """Write ``doc`` with sorted keys and one-space indent (stable diffs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output directory for <provider>.json")
    parser.add_argument("--tarballs", type=Path, help="directory holding (or receiving) the npm tarballs")
    parser.add_argument("--provider", choices=sorted(PACKAGES), action="append", help="limit to provider(s)")
    parser.add_argument("--no-descriptions", action="store_true", help="omit attribute descriptions")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        for key in args.provider or sorted(PACKAGES):
            spec = PACKAGES[key]
            tgz = tarball_for(spec, args.tarballs, Path(tmp))
            doc = build_document(spec, tgz, descriptions=not args.no_descriptions)
            out = args.out / f"{key}.json"
            write_json(doc, out)
            n_res, n_ds = len(doc["resource_schemas"]), len(doc["data_source_schemas"])
            print(f"{out}: {n_res} resources, {n_ds} data sources, {out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
