"""The Atlas emulation refuses what the published Admin API v2 OpenAPI spec refuses, with Atlas's error codes."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from atlasiam_sandbox.atlas_api import AtlasAdminApi
from atlasiam_sandbox.atlas_openapi import spec_check
from atlasiam_sandbox.atlas_state import AtlasState
from tests.sandbox_atlas.test_atlas_api import ROLE, P, call, user_body

SCRIPT = Path(__file__).parents[2] / "sandbox" / "scripts" / "extract_atlas_openapi.py"


@pytest.fixture
def atlas() -> Iterator[AtlasAdminApi]:
    server = AtlasAdminApi(AtlasState(), lambda _p, n: f"mongodb://127.0.0.1:1/?tls=true&replicaSet={n}").start()
    yield server
    server.stop()


def error(response: tuple[int, Any]) -> tuple[int, str, str]:
    status, doc = response
    return status, doc["errorCode"], doc["detail"]


def test_an_access_list_comment_is_at_most_80_characters(atlas: AtlasAdminApi) -> None:
    entry = {"ipAddress": "203.0.113.7", "comment": "c" * 81}
    assert error(call(atlas, "POST", f"{P}/accessList", [entry])) == (
        400,
        "INVALID_ATTRIBUTE",
        "Invalid attribute comment specified.",
    )
    assert call(atlas, "POST", f"{P}/accessList", [entry | {"comment": "c" * 80}])[0] == 201


def test_aws_iam_type_outside_the_enum_is_refused_by_the_spec(atlas: AtlasAdminApi) -> None:
    assert error(call(atlas, "POST", f"{P}/databaseUsers", user_body(awsIAMType="GROUP"))) == (
        400,
        "INVALID_ENUM_VALUE",
        "An invalid enumeration value GROUP was specified.",
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {k: v for k, v in user_body().items() if k != "groupId"},
            ("MISSING_ATTRIBUTE", "The required attribute groupId was not specified."),
        ),
        (
            user_body(scopes=[{"name": "Cluster0", "type": "CLUSTERS"}]),
            ("INVALID_ENUM_VALUE", "An invalid enumeration value CLUSTERS was specified."),
        ),
        (
            user_body(scopes=[{"name": "-cluster", "type": "CLUSTER"}]),
            ("INVALID_ATTRIBUTE", "Invalid attribute name specified."),
        ),
        (
            user_body(roles="readWrite"),
            ("INVALID_JSON_ATTRIBUTE", "Received JSON for the roles attribute does not match expected format."),
        ),
        (
            user_body(username="u" * 1025),
            ("INVALID_ATTRIBUTE", "Invalid attribute username specified."),
        ),
        (
            user_body(databaseName="local"),
            ("INVALID_ENUM_VALUE", "An invalid enumeration value local was specified."),
        ),
    ],
)
def test_database_user_bodies_follow_the_spec(
    atlas: AtlasAdminApi, body: dict[str, Any], expected: tuple[str, str]
) -> None:
    assert error(call(atlas, "POST", f"{P}/databaseUsers", body)) == (400, *expected)


def test_a_custom_role_name_is_not_an_enum_violation(atlas: AtlasAdminApi) -> None:
    """The spec lists ``<a custom role name>`` among roleName's values: the extract drops that open enum."""
    body = user_body(roles=[{"roleName": "ordersReader", "databaseName": "orders"}])
    assert call(atlas, "POST", f"{P}/databaseUsers", body)[0] == 201


def test_path_parameters_follow_the_spec(atlas: AtlasAdminApi) -> None:
    assert error(call(atlas, "GET", "not-a-group-id/clusters/Cluster0")) == (
        400,
        "PATH_PARAM_PARSE_ERROR",
        "One or more path parameter in the request URI /api/atlas/v2/groups/not-a-group-id/clusters/Cluster0 "
        "is malformed.",
    )
    assert error(call(atlas, "GET", f"{P}/clusters/bad_name/status"))[1] == "PATH_PARAM_PARSE_ERROR"
    assert call(atlas, "GET", f"{P}/clusters/Cluster0/status")[0] == 200


def test_query_parameters_follow_the_spec(atlas: AtlasAdminApi) -> None:
    assert error(call(atlas, "GET", f"{P}/databaseUsers?pageNum=0"))[:2] == (400, "INVALID_QUERY_PARAMETER")
    assert error(call(atlas, "GET", f"{P}/databaseUsers?includeCount=maybe"))[:2] == (400, "INVALID_QUERY_PARAMETER")
    assert call(atlas, "GET", f"{P}/databaseUsers?itemsPerPage=500&includeCount=true")[0] == 200


def test_what_the_provider_and_verify_send_is_valid(atlas: AtlasAdminApi) -> None:
    """The stand-in provider's bodies and paths (as the real provider builds them) pass the spec."""
    cidr = [{"cidrBlock": "10.0.0.0/16", "comment": "atlasiam"}]  # the spec's cidrBlock pattern is unanchored
    assert call(atlas, "POST", f"{P}/accessList", cidr)[0] == 201
    assert call(atlas, "GET", f"{P}/accessList/{quote('10.0.0.0/16', safe='')}")[0] == 200
    assert call(atlas, "POST", f"{P}/databaseUsers", user_body())[0] == 201
    path = f"{P}/databaseUsers/%24external/{quote(ROLE, safe='')}"
    assert call(atlas, "PATCH", path, user_body(scopes=[]))[0] == 200
    assert call(atlas, "DELETE", path)[0] == 204


def test_provider_specific_bodies_are_checked_against_the_closest_form(atlas: AtlasAdminApi) -> None:
    """CreateEndpointRequest is a oneOf (AWS, Azure, GCP) whose forms point back at it (a cycle the extract cuts)."""
    path = f"{P}/privateEndpoint/AWS/endpointService/{'a' * 24}/endpoint"
    assert error(call(atlas, "POST", path, {}))[:3] == (
        400,
        "MISSING_ATTRIBUTE",
        "The required attribute id was not specified.",
    )
    assert error(call(atlas, "POST", path, {"id": "vpce-0123"}))[:2] == (400, "INVALID_ATTRIBUTE")
    # a well-formed AWS body passes the spec; the service does not exist, which is the emulation's 404
    assert call(atlas, "POST", path, {"id": "vpce-0123456789abcdef0"})[0] == 404
    deviations = spec_check().provenance["deviations"]
    assert any(d.startswith("CreateAWSEndpointRequest: allOf's $ref to CreateEndpointRequest") for d in deviations)


def test_the_extract_covers_every_served_operation_and_says_where_it_comes_from() -> None:
    check = spec_check()
    served = {(op.method, op.operation_id) for op in check.operations}
    assert {
        ("GET", "listDatabaseUsers"),
        ("POST", "createDatabaseUser"),
        ("GET", "getDatabaseUser"),
        ("PATCH", "updateDatabaseUser"),
        ("DELETE", "deleteDatabaseUser"),
        ("POST", "createProjectIpAccessList"),
        ("GET", "getProjectIpList"),
        ("DELETE", "deleteProjectIpAccessList"),
        ("GET", "getCluster"),
        ("GET", "getClusterStatus"),
        ("POST", "createPrivateEndpointService"),
        ("GET", "getPrivateEndpointService"),
        ("DELETE", "deletePrivateEndpointService"),
        ("POST", "createPrivateEndpoint"),
        ("GET", "getPrivateEndpoint"),
        ("DELETE", "deletePrivateEndpoint"),
    } == served
    provenance = check.provenance
    assert provenance["repository"] == "mongodb/openapi" and provenance["path"] == "openapi/v2.json"
    assert len(provenance["commit"]) == 40 and provenance["date"] and len(provenance["sha256"]) == 64


def _extractor() -> Any:
    spec = importlib.util.spec_from_file_location("extract_atlas_openapi", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_extractor_keeps_constraints_drops_prose_and_open_enums() -> None:
    extractor = _extractor()
    group = {"name": "groupId", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^x$"}}
    spec: dict[str, Any] = {
        "openapi": "3.0.1",
        "info": {"version": "2.0"},
        "components": {
            "parameters": {"groupId": group},
            "schemas": {
                "Entry": {
                    "description": "prose",
                    "properties": {
                        "comment": {"maxLength": 80, "type": "string", "example": "x"},
                        "role": {"$ref": "#/components/schemas/Role"},
                    },
                    "type": "object",
                },
                "Role": {"enum": ["read", "<a custom role name>"], "type": "string"},
                "Unused": {"type": "string"},
            },
        },
        "paths": {
            path: {
                method.lower(): {
                    "operationId": f"{method}{path}",
                    "parameters": [{"$ref": "#/components/parameters/groupId"}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/vnd.atlas.2023-01-01+json": {"schema": {"$ref": "#/components/schemas/Entry"}}
                        },
                    },
                }
                for method, p in extractor.SERVED
                if p == path
            }
            for _, path in extractor.SERVED
        },
    }
    doc = extractor.extract(spec, json.dumps(spec).encode(), "0" * 40, "2025-03-27")
    assert set(doc["components"]["schemas"]) == {"Entry", "Role"}
    assert doc["components"]["schemas"]["Entry"] == {
        "properties": {"comment": {"maxLength": 80, "type": "string"}, "role": {"$ref": "#/components/schemas/Role"}},
        "type": "object",
    }
    assert doc["components"]["schemas"]["Role"] == {"type": "string"}
    assert doc["provenance"]["deviations"][0].startswith("Role: enum ['read', '<a custom role name>']")
    assert doc["operations"][0]["parameters"] == [group]
