"""The emulated Atlas Admin API: users, access list and clusters over HTTP, validated like Atlas."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from atlasiam_sandbox.atlas_api import AtlasAdminApi
from atlasiam_sandbox.atlas_state import AtlasState

P = "0123456789abcdef01234567"
ROLE = "arn:aws:iam::123456789012:role/orders-dev-host"


@pytest.fixture
def api() -> Iterator[AtlasAdminApi]:
    server = AtlasAdminApi(AtlasState(), lambda _p, n: f"mongodb://127.0.0.1:1/?tls=true&replicaSet={n}").start()
    yield server
    server.stop()


def call(api: AtlasAdminApi, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        api.url + "/api/atlas/v2/groups/" + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def user_body(**kw: Any) -> dict[str, Any]:
    return {
        "username": ROLE,
        "databaseName": "$external",
        "awsIAMType": "ROLE",
        "roles": [{"roleName": "readWrite", "databaseName": "orders"}],
        "scopes": [{"name": "Cluster0", "type": "CLUSTER"}],
    } | kw


def test_user_lifecycle(api: AtlasAdminApi) -> None:
    assert call(api, "POST", f"{P}/databaseUsers", user_body())[0] == 201
    status, doc = call(api, "GET", f"{P}/databaseUsers/%24external/{quote(ROLE, safe='')}")
    assert status == 200 and doc["awsIAMType"] == "ROLE" and doc["scopes"] == [{"name": "Cluster0", "type": "CLUSTER"}]
    assert api.state.find_user(P, ROLE) is not None
    assert call(api, "POST", f"{P}/databaseUsers", user_body())[1]["errorCode"] == "USER_ALREADY_EXISTS"
    assert call(api, "DELETE", f"{P}/databaseUsers/%24external/{quote(ROLE, safe='')}")[0] == 204
    assert call(api, "GET", f"{P}/databaseUsers/%24external/{quote(ROLE, safe='')}")[0] == 404


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (user_body(username="not-an-arn"), "ATLAS_INVALID_AWS_IAM_ARN"),
        (user_body(awsIAMType="GROUP"), "INVALID_ENUM_VALUE"),
        (user_body(databaseName="admin"), "INVALID_AUTH_DATABASE"),
        (user_body(roles=[]), "MISSING_ROLES"),
        (user_body(awsIAMType="USER"), "ATLAS_INVALID_AWS_IAM_ARN"),
    ],
)
def test_atlas_validates_the_form(api: AtlasAdminApi, body: dict[str, Any], code: str) -> None:
    status, doc = call(api, "POST", f"{P}/databaseUsers", body)
    assert (status, doc["errorCode"]) == (400, code)


def test_access_list_and_cluster(api: AtlasAdminApi) -> None:
    assert call(api, "POST", f"{P}/accessList", [{"ipAddress": "203.0.113.7", "comment": "host"}])[0] == 201
    assert call(api, "GET", f"{P}/accessList/203.0.113.7")[1]["comment"] == "host"
    assert call(api, "DELETE", f"{P}/accessList/203.0.113.7")[0] == 204
    status, doc = call(api, "GET", f"{P}/clusters/Cluster0")
    assert status == 200 and doc["connectionStrings"]["standardSrv"].endswith("replicaSet=Cluster0")


def test_propagation_delay_hides_new_users() -> None:
    state = AtlasState()
    server = AtlasAdminApi(state, lambda _p, _n: "x", propagation_s=60).start()
    try:
        assert call(server, "POST", f"{P}/databaseUsers", user_body())[0] == 201
        assert state.find_user(P, ROLE) is None  # created, not yet propagated
    finally:
        server.stop()


def test_garbage_is_a_clean_error(api: AtlasAdminApi) -> None:
    req = urllib.request.Request(api.url + f"/api/atlas/v2/groups/{P}/databaseUsers", data=b"{not json", method="POST")
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req, timeout=5)
    assert exc.value.code == 400
    assert call(api, "GET", "nonsense")[0] == 404
