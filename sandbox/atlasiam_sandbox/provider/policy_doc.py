"""Render `data "aws_iam_policy_document"` statements into IAM policy JSON, as the AWS provider does."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

_STATEMENT_KEYS = (
    ("Action", "actions"),
    ("NotAction", "not_actions"),
    ("Resource", "resources"),
    ("NotResource", "not_resources"),
)


def _string_or_list(values: Iterable[str]) -> str | list[str]:
    """One value stays a string; several become a reverse-sorted list (the provider's order)."""
    items = list(values)
    if len(items) == 1:
        return items[0]
    return sorted(items, reverse=True)


def _principals(blocks: Iterable[Mapping[str, Any]]) -> str | dict[str, Any]:
    by_type: dict[str, list[str]] = {}
    for block in blocks:
        by_type.setdefault(str(block.get("type")), []).extend(block.get("identifiers") or [])
    if set(by_type) == {"*"} and by_type["*"] == ["*"]:
        return "*"
    return {ptype: _string_or_list(ids) for ptype, ids in sorted(by_type.items())}


def _conditions(blocks: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for block in blocks:
        test = out.setdefault(str(block.get("test")), {})
        test[str(block.get("variable"))] = _string_or_list(block.get("values") or [])
    return {k: dict(sorted(v.items())) for k, v in sorted(out.items())}


def statement_json(stmt: Mapping[str, Any]) -> dict[str, Any]:
    """Build one policy statement from a `statement` block value."""
    out: dict[str, Any] = {}
    if stmt.get("sid"):
        out["Sid"] = stmt["sid"]
    out["Effect"] = stmt.get("effect") or "Allow"
    for key, attr in _STATEMENT_KEYS:
        if stmt.get(attr):
            out[key] = _string_or_list(stmt[attr])
    if stmt.get("principals"):
        out["Principal"] = _principals(stmt["principals"])
    if stmt.get("not_principals"):
        out["NotPrincipal"] = _principals(stmt["not_principals"])
    if stmt.get("condition"):
        out["Condition"] = _conditions(stmt["condition"])
    return out


def _merge_by_sid(base: list[dict[str, Any]], overrides: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    merged = list(base)
    for stmt in overrides:
        sid = stmt.get("Sid")
        index = next((i for i, s in enumerate(merged) if sid and s.get("Sid") == sid), None)
        if index is None:
            merged.append(stmt)
        else:
            merged[index] = stmt
    return merged


def _statements_of(documents: Iterable[str] | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for doc in documents or []:
        statements = json.loads(doc).get("Statement") or []
        out.extend([statements] if isinstance(statements, dict) else statements)
    return out


def policy_document(config: Mapping[str, Any]) -> dict[str, Any]:
    """Build the policy document from the data source's (known) configuration.

    Args:
        config: The data source's attribute values as plain data.

    Returns:
        The policy as a dict with `Version`, optional `Id`, and `Statement`.
    """
    statements = _statements_of(config.get("source_policy_documents"))
    statements = _merge_by_sid(statements, (statement_json(s) for s in config.get("statement") or []))
    statements = _merge_by_sid(statements, _statements_of(config.get("override_policy_documents")))
    doc: dict[str, Any] = {"Version": config.get("version") or "2012-10-17"}
    if config.get("policy_id"):
        doc["Id"] = config["policy_id"]
    doc["Statement"] = statements
    return doc


def render(config: Mapping[str, Any]) -> tuple[str, str]:
    """Return `(json, minified_json)` for the data source's configuration."""
    doc = policy_document(config)
    return json.dumps(doc, indent=2), json.dumps(doc, separators=(",", ":"))
