#!/usr/bin/env python3
"""Extract, from MongoDB's published Atlas Admin API v2 OpenAPI spec, what the sandbox's Atlas emulation checks.

Only the operations the emulation serves (``SERVED`` below) are kept, and of each only what a request carries:
its path and query parameters and its request body schema, plus the component schemas those reference
(transitively). Descriptions, examples and other prose are dropped, so the result is a small file; the
constraints (``type``, ``enum``, ``pattern``, ``minLength``/``maxLength``, ``minimum``/``maximum``, ``required``
…) are kept as published. One documented deviation: an ``enum`` whose list holds a placeholder such as
``"<a custom role name>"`` (DatabaseUserRole.roleName) is not a closed set, so that ``enum`` is dropped and the
drop is listed in the output's provenance. Another: OpenAPI's inheritance idiom, a parent whose ``oneOf`` lists its
children and children whose ``allOf`` names the parent again (CreateEndpointRequest and CreateAWSEndpointRequest),
is a cycle that a JSON Schema validator never leaves; the child's back-reference is dropped (the parent adds no
constraint of its own there) and each drop is listed in the provenance too.

The spec lives in https://github.com/mongodb/openapi (``openapi/v2.json``, the released spec with every API
version). Usage::

    python sandbox/scripts/extract_atlas_openapi.py v2.json \\
        --commit <commit of openapi/v2.json> --date <its commit date> \\
        --out sandbox/atlasiam_sandbox/openapi/atlas_admin_v2.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

Json = dict[str, Any]

REPOSITORY = "mongodb/openapi"
SPEC_PATH = "openapi/v2.json"
EXTRACTED_BY = "sandbox/scripts/extract_atlas_openapi.py"
#: (method, path) of every operation atlasiam_sandbox/atlas_api.py serves.
SERVED = (
    ("GET", "/api/atlas/v2/groups/{groupId}/databaseUsers"),
    ("POST", "/api/atlas/v2/groups/{groupId}/databaseUsers"),
    ("GET", "/api/atlas/v2/groups/{groupId}/databaseUsers/{databaseName}/{username}"),
    ("PATCH", "/api/atlas/v2/groups/{groupId}/databaseUsers/{databaseName}/{username}"),
    ("DELETE", "/api/atlas/v2/groups/{groupId}/databaseUsers/{databaseName}/{username}"),
    ("POST", "/api/atlas/v2/groups/{groupId}/accessList"),
    ("GET", "/api/atlas/v2/groups/{groupId}/accessList/{entryValue}"),
    ("DELETE", "/api/atlas/v2/groups/{groupId}/accessList/{entryValue}"),
    ("GET", "/api/atlas/v2/groups/{groupId}/clusters/{clusterName}"),
    ("GET", "/api/atlas/v2/groups/{groupId}/clusters/{clusterName}/status"),
    ("POST", "/api/atlas/v2/groups/{groupId}/privateEndpoint/endpointService"),
    ("GET", "/api/atlas/v2/groups/{groupId}/privateEndpoint/{cloudProvider}/endpointService/{endpointServiceId}"),
    ("DELETE", "/api/atlas/v2/groups/{groupId}/privateEndpoint/{cloudProvider}/endpointService/{endpointServiceId}"),
    (
        "POST",
        "/api/atlas/v2/groups/{groupId}/privateEndpoint/{cloudProvider}/endpointService/{endpointServiceId}/endpoint",
    ),
    (
        "GET",
        "/api/atlas/v2/groups/{groupId}/privateEndpoint/{cloudProvider}/endpointService/{endpointServiceId}/endpoint/{endpointId}",
    ),
    (
        "DELETE",
        "/api/atlas/v2/groups/{groupId}/privateEndpoint/{cloudProvider}/endpointService/{endpointServiceId}/endpoint/{endpointId}",
    ),
)
#: Schema keywords that are prose or tooling hints, not constraints on a request.
PROSE = frozenset({"description", "example", "examples", "externalDocs", "title"})
PLACEHOLDER = re.compile(r"^<.*>$")


def strip(node: Any) -> Any:
    """The node without prose keywords and vendor extensions (``x-…``)."""
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k not in PROSE and not k.startswith("x-")}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def resolve(spec: Json, node: Json) -> Json:
    """A ``{"$ref": "#/components/..."}`` node replaced by what it points at (other nodes unchanged)."""
    ref = node.get("$ref")
    if not isinstance(ref, str):
        return node
    target: Any = spec
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return dict(target)


def refs(node: Any) -> set[str]:
    """Every component schema name referenced under ``node``."""
    if isinstance(node, dict):
        own = {node["$ref"].rsplit("/", 1)[1]} if isinstance(node.get("$ref"), str) else set()
        return own.union(*(refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(refs(v) for v in node))
    return set()


def closure(spec: Json, roots: set[str]) -> dict[str, Json]:
    """The named component schemas and everything they reference."""
    schemas: Json = spec["components"]["schemas"]
    found: dict[str, Json] = {}
    todo = sorted(roots)
    while todo:
        name = todo.pop()
        if name not in found:
            found[name] = strip(schemas[name])
            todo.extend(sorted(refs(found[name]) - set(found)))
    return dict(sorted(found.items()))


def open_enums(schemas: dict[str, Json]) -> list[str]:
    """Drop each ``enum`` that holds a placeholder value; return where (for the provenance)."""
    dropped = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            enum = node.get("enum")
            if isinstance(enum, list) and any(isinstance(v, str) and PLACEHOLDER.match(v) for v in enum):
                del node["enum"]
                dropped.append(f"{where}: enum {enum} lists a placeholder, so it is not a closed set; dropped")
            for key, value in node.items():
                walk(value, f"{where}.{key}" if key != "properties" else where)
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    for name, schema in schemas.items():
        walk(schema, name)
    return dropped


def inheritance_cycles(schemas: dict[str, Json]) -> list[str]:
    """Drop each child's ``allOf`` back-reference to a parent whose ``oneOf``/``anyOf`` lists the child."""
    dropped = []
    for name, schema in schemas.items():
        parts = schema.get("allOf")
        if not isinstance(parts, list):
            continue
        keep = []
        for part in parts:
            parent = part.get("$ref", "").rsplit("/", 1)[-1] if isinstance(part, dict) else ""
            options = [*schemas.get(parent, {}).get("oneOf", []), *schemas.get(parent, {}).get("anyOf", [])]
            if any(isinstance(o, dict) and o.get("$ref", "").rsplit("/", 1)[-1] == name for o in options):
                dropped.append(f"{name}: allOf's $ref to {parent}, whose oneOf lists {name} (a cycle); dropped")
                continue
            keep.append(part)
        schema["allOf"] = keep
    return dropped


def operation(spec: Json, method: str, path: str) -> Json:
    """One served operation: its parameters (resolved) and request body schemas by content type."""
    item = spec["paths"][path]
    op = item[method.lower()]
    params = [resolve(spec, p) for p in [*item.get("parameters", []), *op.get("parameters", [])]]
    body = resolve(spec, op["requestBody"]) if "requestBody" in op else None
    out: Json = {
        "operationId": op["operationId"],
        "method": method,
        "path": path,
        "parameters": [
            strip({k: p[k] for k in ("name", "in", "required", "schema") if k in p})
            for p in params
            if p.get("in") in ("path", "query")
        ],
    }
    if body is not None:
        out["requestBody"] = {
            "required": bool(body.get("required", False)),
            "content": {ct: strip({"schema": c["schema"]}) for ct, c in sorted(body["content"].items())},
        }
    return out


def extract(spec: Json, raw: bytes, commit: str, date: str, note: str = "") -> Json:
    """The extract document: provenance, the served operations and the component schemas they need."""
    operations = [operation(spec, method, path) for method, path in SERVED]
    schemas = closure(spec, refs(operations))
    deviations = open_enums(schemas) + inheritance_cycles(schemas)
    return {
        "provenance": {
            "repository": REPOSITORY,
            "path": SPEC_PATH,
            "commit": commit,
            "date": date,
            "sha256": hashlib.sha256(raw).hexdigest(),
            "openapi": spec.get("openapi"),
            "info.version": spec.get("info", {}).get("version"),
            "info.x-xgen-sha": spec.get("info", {}).get("x-xgen-sha"),
            "license": spec.get("info", {}).get("license", {}).get("name"),
            "extracted_by": EXTRACTED_BY,
            "kept": "served operations' path/query parameters and request bodies, and the schemas they reference",
            "dropped": sorted(PROSE) + ["x-* extensions"],
            "deviations": deviations,
            **({"note": note} if note else {}),
        },
        "operations": operations,
        "components": {"schemas": schemas},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", type=Path, help=f"a copy of {REPOSITORY}'s {SPEC_PATH}")
    parser.add_argument("--commit", required=True, help="the mongodb/openapi commit the copy is from")
    parser.add_argument("--date", required=True, help="that commit's date (ISO 8601)")
    parser.add_argument("--note", default="", help="how the copy was obtained, if not from mongodb/openapi itself")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    raw = args.spec.read_bytes()
    doc = extract(json.loads(raw), raw, args.commit, args.date, args.note)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(doc['operations'])} operations, {len(doc['components']['schemas'])} schemas")
    return 0


if __name__ == "__main__":
    sys.exit(main())
