"""The emulated Atlas Admin API: users, access list and clusters over HTTP, validated like Atlas."""

from __future__ import annotations

import base64
import json
import time
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


def _send(req: urllib.request.Request) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def token(
    api: AtlasAdminApi, client: str = "sandbox-client:sandbox-secret", form: bytes | None = None
) -> tuple[int, Any]:
    req = urllib.request.Request(
        api.url + "/api/oauth/token",
        data=form or b"grant_type=client_credentials",
        method="POST",
        headers={"Authorization": "Basic " + base64.b64encode(client.encode()).decode()},
    )
    return _send(req)


def call(api: AtlasAdminApi, method: str, path: str, body: Any = None, *, auth: str | None = "") -> tuple[int, Any]:
    """One authenticated call (``auth=""``: a fresh service-account token; None: no Authorization header)."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if auth is not None:
        headers["Authorization"] = "Bearer " + (auth or token(api)[1]["access_token"])
    req = urllib.request.Request(api.url + "/api/atlas/v2/groups/" + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def user_body(**kw: Any) -> dict[str, Any]:
    return {
        "groupId": P,  # required by the spec's CloudDatabaseUser; the mongodbatlas provider always sends it
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
    bearer = {"Authorization": "Bearer " + token(api)[1]["access_token"]}
    req = urllib.request.Request(
        api.url + f"/api/atlas/v2/groups/{P}/databaseUsers", data=b"{not json", method="POST", headers=bearer
    )
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req, timeout=5)
    assert exc.value.code == 400
    assert call(api, "GET", "nonsense")[0] == 404


def test_nothing_is_answered_without_a_service_account_token(api: AtlasAdminApi) -> None:
    assert call(api, "GET", f"{P}/databaseUsers", auth=None) == (
        401,
        {"error": 401, "errorCode": "UNAUTHORIZED", "detail": "You are not authorized for this resource."},
    )
    assert call(api, "GET", f"{P}/databaseUsers", auth="made-up-token")[0] == 401
    assert token(api, "sandbox-client:wrong-secret")[1]["errorCode"] == "INVALID_CLIENT"
    assert token(api, form=b"grant_type=password")[1]["errorCode"] == "INVALID_GRANT_TYPE"
    status, doc = token(api)
    assert status == 200 and doc["token_type"] == "Bearer" and doc["expires_in"] == 3600
    assert call(api, "GET", f"{P}/databaseUsers", auth=doc["access_token"])[0] == 200


def test_users_are_listed_a_page_at_a_time(api: AtlasAdminApi) -> None:
    for i in range(3):
        assert call(api, "POST", f"{P}/databaseUsers", user_body(username=f"{ROLE}-{i}"))[0] == 201
    status, doc = call(api, "GET", f"{P}/databaseUsers?itemsPerPage=2&pageNum=2")
    assert status == 200 and doc["totalCount"] == 3
    assert [u["username"] for u in doc["results"]] == [f"{ROLE}-2"]
    assert call(api, "GET", f"{P}/databaseUsers?itemsPerPage=501")[1]["errorCode"] == "INVALID_QUERY_PARAMETER"


def test_change_status_is_pending_until_the_user_propagates() -> None:
    state = AtlasState()
    server = AtlasAdminApi(state, lambda _p, _n: "x", propagation_s=1.0).start()
    try:
        status_path = f"{P}/clusters/Cluster0/status"
        assert call(server, "GET", status_path) == (200, {"changeStatus": "APPLIED"})
        assert call(server, "POST", f"{P}/databaseUsers", user_body())[0] == 201
        assert call(server, "GET", status_path)[1] == {"changeStatus": "PENDING"}
        assert call(server, "GET", f"{P}/clusters/Other/status")[1] == {"changeStatus": "APPLIED"}  # not in scope
        time.sleep(1.1)
        assert call(server, "GET", status_path)[1] == {"changeStatus": "APPLIED"}
    finally:
        server.stop()
