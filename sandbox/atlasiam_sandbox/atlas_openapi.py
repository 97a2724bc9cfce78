"""The Atlas emulation checks each request against MongoDB's published Admin API v2 OpenAPI spec, as Atlas does.

The constraints come from ``openapi/atlas_admin_v2.json``: the path and query parameters and request bodies of
the operations :mod:`atlasiam_sandbox.atlas_api` serves, extracted from ``mongodb/openapi``'s ``openapi/v2.json``
by ``sandbox/scripts/extract_atlas_openapi.py`` (provenance inside the file). Nothing is kept by hand: a request
breaks the spec, or it does not. The rules Atlas applies beyond its spec (an AWS IAM user must be an IAM ARN,
``$external`` for IAM users, …) stay in ``atlas_api.py``, after this check.

Checked: path parameters (``groupId`` is 24 hex digits, ``clusterName`` ``^[a-zA-Z0-9][a-zA-Z0-9-]*$``, …),
query parameters (``itemsPerPage`` 1-500, ``pageNum`` ≥ 1, booleans), and the JSON body with ``jsonschema``
(``required``, ``type``, ``enum``, ``maxLength`` — an access-list comment is at most 80 characters —,
``pattern``, …). Patterns are the spec's, run as Java runs them (:mod:`atlasiam_sandbox.java_regex`) and, as
JSON Schema defines ``pattern``, unanchored: the spec's ``cidrBlock`` pattern only accepts ``10.0.0.0/16`` that
way, and Atlas accepts it. Not checked: ``format`` (date-time), ``readOnly``/``writeOnly``, unknown attributes
(the spec does not forbid them).

A violation is answered as Atlas answers it, HTTP 400 with ``{"error": 400, "errorCode": …, "detail": …}``, one
error, the codes and wording Atlas returns (seen in the mongodbatlas provider's acceptance-test logs and
issues; ``ApiError`` in the spec):

- a required attribute missing: ``MISSING_ATTRIBUTE``, "The required attribute X was not specified.";
- a value outside an ``enum``: ``INVALID_ENUM_VALUE``, "An invalid enumeration value X was specified.";
- a value of the wrong JSON type: ``INVALID_JSON_ATTRIBUTE``, "Received JSON for the X attribute does not match
  expected format.";
- any other broken constraint (length, pattern, range): ``INVALID_ATTRIBUTE``, "Invalid attribute X specified.";
- a path parameter: ``PATH_PARAM_PARSE_ERROR``, "One or more path parameter in the request URI … is malformed."
  (mongodb/terraform-provider-mongodbatlas issue #2317);
- a query parameter: ``INVALID_QUERY_PARAMETER`` (the code the emulation already used; no public sample of
  Atlas's own answer was found).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema  # type: ignore[import-untyped]  # jsonschema ships no type hints
from jsonschema import validators

from atlasiam_sandbox.java_regex import compile_java

Json = dict[str, Any]
Problem = tuple[int, str, str]  # (HTTP status, Atlas errorCode, detail): ApiError's arguments

EXTRACT = "openapi/atlas_admin_v2.json"


def _pattern(validator: Any, pattern: str, instance: Any, schema: Json) -> Iterator[Any]:  # noqa: ARG001
    """JSON Schema's ``pattern`` (unanchored), with Java's regex dialect."""
    if not validator.is_type(instance, "string"):
        return
    compiled = compile_java(pattern)
    if compiled is not None and compiled.search(instance) is None:
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


_Validator = validators.extend(jsonschema.Draft202012Validator, {"pattern": _pattern})


def _attribute(error: Any) -> str:
    """The attribute an error is about, as Atlas names it: the innermost property name."""
    names = [str(p) for p in error.absolute_path if isinstance(p, str)]
    return names[-1] if names else "body"


def _dotted(error: Any) -> str:
    out = ""
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out or "body"


def body_problem(error: Any) -> Problem:
    """A ``jsonschema`` error as Atlas words it.

    A ``oneOf`` (the provider-specific request bodies, e.g. CreateEndpointRequest's AWS, Azure and GCP forms) is
    worded by the branch that came closest: the fewest errors, the first listed (AWS) on a tie.
    """
    if error.validator in ("oneOf", "anyOf") and error.context:
        branches: dict[int, list[Any]] = {}
        for sub in error.context:
            branches.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
        closest = min(branches.items(), key=lambda item: (len(item[1]), item[0]))[1]
        return body_problem(sorted(closest, key=lambda e: [str(p) for p in e.absolute_path])[0])
    keyword = error.validator
    if keyword == "required":
        present = error.instance if isinstance(error.instance, dict) else {}
        missing = next((name for name in error.validator_value if name not in present), _attribute(error))
        return 400, "MISSING_ATTRIBUTE", f"The required attribute {missing} was not specified."
    if keyword == "enum":
        return 400, "INVALID_ENUM_VALUE", f"An invalid enumeration value {error.instance} was specified."
    if keyword == "type":
        detail = f"Received JSON for the {_dotted(error)} attribute does not match expected format."
        return 400, "INVALID_JSON_ATTRIBUTE", detail
    return 400, "INVALID_ATTRIBUTE", f"Invalid attribute {_attribute(error)} specified."


@dataclass(frozen=True)
class Operation:
    """One served operation of the extract."""

    operation_id: str
    method: str
    path: re.Pattern[str]
    parameters: dict[tuple[str, str], Json]  # (in, name) -> parameter
    body: Any  # a validator for the request body, or None
    body_required: bool

    def path_problem(self, uri: str, match: re.Match[str]) -> Problem | None:
        """PATH_PARAM_PARSE_ERROR when a path segment breaks its parameter's schema."""
        for name, raw in match.groupdict().items():
            schema = self.parameters.get(("path", name), {}).get("schema")
            if schema and next(_Validator(schema).iter_errors(raw), None) is not None:
                detail = f"One or more path parameter in the request URI {uri} is malformed."
                return 400, "PATH_PARAM_PARSE_ERROR", detail
        return None

    def query_problem(self, query: str) -> Problem | None:
        """INVALID_QUERY_PARAMETER when a query parameter breaks its schema."""
        for name, values in parse_qs(query, keep_blank_values=True).items():
            schema = self.parameters.get(("query", name), {}).get("schema")
            if not schema:
                continue
            value = _typed(values[-1], schema.get("type"))
            if next(_Validator(schema).iter_errors(value), None) is not None:
                return 400, "INVALID_QUERY_PARAMETER", f"Invalid value {values[-1]} for the query parameter {name}."
        return None

    def body_problem(self, body: Any) -> Problem | None:
        """The first body violation (Atlas reports one), in a stable order."""
        if self.body is None:
            return None
        if body is None:
            return (400, "INVALID_JSON", "A request body is required.") if self.body_required else None
        errors = sorted(self.body.iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path])
        return body_problem(errors[0]) if errors else None


def _typed(raw: str, kind: Any) -> Any:
    """A query value as its schema's type (text that does not parse stays text and fails the type check)."""
    if kind == "integer" and re.fullmatch(r"[+-]?\d+", raw):
        return int(raw)
    if kind == "boolean" and raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    return raw


def _operation(doc: Json, components: Json) -> Operation:
    template = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", re.escape(doc["path"]).replace(r"\{", "{").replace(r"\}", "}"))
    content: Json = (doc.get("requestBody") or {}).get("content") or {}
    if len(content) > 1:  # the extractor keeps every API version; the served operations have one
        raise ValueError(f"{doc['operationId']}: several request body versions, choose one")
    first: Json = next(iter(content.values()), {})
    schema = first.get("schema")
    return Operation(
        operation_id=doc["operationId"],
        method=doc["method"],
        path=re.compile(f"^{template}$"),
        parameters={(p["in"], p["name"]): p for p in doc["parameters"]},
        body=None if schema is None else _Validator({**schema, "components": components}),
        body_required=bool((doc.get("requestBody") or {}).get("required")),
    )


class OpenApiCheck:
    """The served operations of the extract, matched by method and path."""

    def __init__(self, extract: Json) -> None:
        components = extract["components"]
        self.provenance: Json = extract["provenance"]
        self.operations = [_operation(op, components) for op in extract["operations"]]

    def problem(self, method: str, uri: str, body: Any) -> Problem | None:
        """Why Atlas would refuse this request by its spec, or None (also for what the extract does not cover)."""
        parts = urlsplit(uri)
        for op in self.operations:
            match = op.path.match(parts.path)
            if op.method == method and match:
                return op.path_problem(parts.path, match) or op.query_problem(parts.query) or op.body_problem(body)
        return None


@lru_cache(maxsize=1)
def spec_check() -> OpenApiCheck:
    """The check over the extract shipped with the package (loaded once)."""
    text = resources.files("atlasiam_sandbox").joinpath(EXTRACT).read_text(encoding="utf-8")
    return OpenApiCheck(json.loads(text))


def spec_problem(method: str, uri: str, body: Any) -> Problem | None:
    """:meth:`OpenApiCheck.problem` with the shipped extract; ``uri`` is the request target (path and query)."""
    return spec_check().problem(method, uri, body)
