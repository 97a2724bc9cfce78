"""Real pymongo + pymongo-auth-aws against the emulated endpoint, which checks every signature as STS does.

No test switches anything on: the check is the endpoint's own, and moto (which answers the replayed
GetCallerIdentity) keeps its default of checking nothing, as in every sandbox run.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pymongo.errors import OperationFailure

from atlasiam_sandbox.atlas_state import AtlasState, DatabaseUser
from atlasiam_sandbox.mongo import MongoEndpoint

from .support import ACCOUNT, CLUSTER, PROJECT, AwsCreds, Clients, Clock, Moto

RoleUser = Callable[..., tuple[str, AwsCreds]]


def assert_auth_fails(clients: Clients, creds: AwsCreds) -> None:
    client = clients.aws(creds)
    with pytest.raises(OperationFailure) as info:
        client.admin.command("ping")
    assert info.value.code == 18
    assert info.value.details is not None
    assert info.value.details["errmsg"] == "Authentication failed."  # the client never learns why
    assert info.value.details["codeName"] == "AuthenticationFailed"


def last_reason(endpoint: MongoEndpoint) -> str:
    attempt = endpoint.auth_log[-1]
    assert not attempt.ok
    return attempt.reason


def test_assumed_role_logs_in_as_the_role_arn(endpoint: MongoEndpoint, clients: Clients, role_user: RoleUser) -> None:
    role_arn, creds = role_user()
    client = clients.aws(creds)
    assert client.admin.command("ping")["ok"] == 1.0
    status = client.admin.command("connectionStatus")["authInfo"]
    assert status["authenticatedUsers"] == [{"user": role_arn, "db": "$external"}]
    assert status["authenticatedUserRoles"] == [{"role": "readWrite", "db": "test"}]
    [attempt] = endpoint.auth_log
    assert attempt.ok and attempt.reason == "authenticated"
    assert attempt.caller_arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/atlas-login/probe"
    assert attempt.user == role_arn == f"arn:aws:iam::{ACCOUNT}:role/atlas-login"
    assert attempt.access_key_id == creds.access_key_id
    assert client.topology_description.topology_type_name == "ReplicaSetWithPrimary"


def test_user_absent(endpoint: MongoEndpoint, clients: Clients, role_user: RoleUser) -> None:
    role_arn, creds = role_user(add_user=False)
    assert_auth_fails(clients, creds)
    assert last_reason(endpoint) == "user not found"
    assert endpoint.auth_log[-1].user == role_arn


def test_role_arn_with_path_never_matches(
    endpoint: MongoEndpoint, clients: Clients, atlas: AtlasState, moto: Moto
) -> None:
    role_arn = moto.create_role("atlas-login", path="/team/")
    assert role_arn == f"arn:aws:iam::{ACCOUNT}:role/team/atlas-login"
    atlas.put_user(DatabaseUser(PROJECT, role_arn, aws_iam_type="ROLE"))
    assert_auth_fails(clients, moto.assume_role(role_arn))
    reason = last_reason(endpoint)
    assert reason.startswith("user not found")
    assert role_arn in reason and "role path" in reason
    assert endpoint.auth_log[-1].user == f"arn:aws:iam::{ACCOUNT}:role/atlas-login"


def test_not_yet_propagated_then_succeeds_on_retry(
    endpoint: MongoEndpoint, clients: Clients, role_user: RoleUser, clock: Clock
) -> None:
    role_arn, creds = role_user(visible_after=time.time() + 60)
    client = clients.aws(creds)
    with pytest.raises(OperationFailure) as info:
        client.admin.command("ping")
    assert info.value.code == 18
    assert last_reason(endpoint) == "not yet propagated"
    clock.offset = 61  # propagation done; the same client retries (a new pooled connection re-authenticates)
    assert client.admin.command("ping")["ok"] == 1.0
    assert endpoint.auth_log[-1].ok and endpoint.auth_log[-1].user == role_arn


@pytest.mark.parametrize(("scopes", "ok"), [(("OtherCluster",), False), ((CLUSTER, "OtherCluster"), True)])
def test_cluster_scope(
    endpoint: MongoEndpoint, clients: Clients, role_user: RoleUser, scopes: tuple[str, ...], ok: bool
) -> None:
    _, creds = role_user(scopes=scopes)
    if ok:
        assert clients.aws(creds).admin.command("ping")["ok"] == 1.0
    else:
        assert_auth_fails(clients, creds)
        assert last_reason(endpoint) == "scoped to other cluster (OtherCluster)"


def test_role_stored_as_user_type_fails(endpoint: MongoEndpoint, clients: Clients, role_user: RoleUser) -> None:
    _, creds = role_user(aws_iam_type="USER")
    assert_auth_fails(clients, creds)
    assert last_reason(endpoint) == "wrong aws_iam_type USER (caller is an IAM ROLE)"


def test_iam_user_long_term_keys_need_a_user_type_user(
    endpoint: MongoEndpoint, clients: Clients, atlas: AtlasState, moto: Moto
) -> None:
    user_arn, creds = moto.create_user_keys("ci-runner")
    assert creds.session_token is None
    atlas.put_user(DatabaseUser(PROJECT, user_arn, aws_iam_type="USER", roles=(("read", "app"),)))
    client = clients.aws(creds)
    status = client.admin.command("connectionStatus")["authInfo"]
    assert status["authenticatedUsers"] == [{"user": user_arn, "db": "$external"}]
    assert status["authenticatedUserRoles"] == [{"role": "read", "db": "app"}]
    assert endpoint.auth_log[-1].caller_arn == user_arn == f"arn:aws:iam::{ACCOUNT}:user/ci-runner"


def test_wrong_secret_is_refused_though_moto_checks_nothing(
    endpoint: MongoEndpoint, clients: Clients, role_user: RoleUser, moto: Moto
) -> None:
    # moto alone would take the identity from the access key id and let this in: the check is the endpoint's.
    role_arn, creds = role_user()
    sts = moto.client("sts", AwsCreds(creds.access_key_id, "not-the-secret", creds.session_token))
    assert sts.get_caller_identity()["Arn"].startswith("arn:aws:sts::")  # what moto says to a wrong secret
    assert_auth_fails(clients, AwsCreds(creds.access_key_id, "not-the-secret", creds.session_token))
    assert last_reason(endpoint) == "sts rejected signature: SignatureDoesNotMatch"
    assert clients.aws(creds).admin.command("ping")["ok"] == 1.0  # the genuine secret still works
    assert endpoint.auth_log[-1].ok and endpoint.auth_log[-1].user == role_arn


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        (lambda c: AwsCreds(c.access_key_id, "not-the-secret", c.session_token), "SignatureDoesNotMatch"),
        (lambda c: AwsCreds(c.access_key_id, c.secret_access_key, "not-the-token"), "InvalidClientTokenId"),
        (lambda c: AwsCreds(c.access_key_id, c.secret_access_key, None), "InvalidClientTokenId"),
        (lambda c: AwsCreds("unknown-access-key-id", c.secret_access_key, c.session_token), "InvalidClientTokenId"),
    ],
    ids=["wrong-secret", "wrong-token", "no-token", "unknown-key"],
)
def test_bad_credentials_rejected_by_sts(
    endpoint: MongoEndpoint,
    clients: Clients,
    role_user: RoleUser,
    tamper: Callable[[AwsCreds], AwsCreds],
    code: str,
) -> None:
    _, creds = role_user()
    assert_auth_fails(clients, tamper(creds))
    assert last_reason(endpoint) == f"sts rejected signature: {code}"
    assert endpoint.auth_log[-1].caller_arn is None


def test_sts_unreachable_is_an_auth_failure(
    atlas: AtlasState, tls_dir: Path, role_user: RoleUser, moto: Moto, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, creds = role_user()
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with MongoEndpoint(
        atlas, project_id=PROJECT, cluster_name=CLUSTER, sts_endpoint=dead, keys=moto.keys, tls_dir=tls_dir
    ) as ep:
        clients = Clients(ep, monkeypatch)
        try:
            assert_auth_fails(clients, creds)
        finally:
            for client in clients.made:
                client.close()
        assert last_reason(ep).startswith("sts unreachable")
