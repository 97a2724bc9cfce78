"""verify's Atlas Admin API client, against the sandbox's emulation of the API (which requires sign-in)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from atlas_iam_tf.verify import atlas
from atlas_iam_tf.verify.atlas import AtlasApi, AtlasApiError, AtlasUser, AtlasView, look_alikes
from atlasiam_sandbox.atlas_api import AtlasAdminApi
from atlasiam_sandbox.atlas_state import AtlasState, DatabaseUser

P = "0123456789abcdef01234567"
ROLE = "arn:aws:iam::123456789012:role/orders-dev-host"
SERVICE_ACCOUNT = {"MONGODB_ATLAS_CLIENT_ID": "sandbox-client", "MONGODB_ATLAS_CLIENT_SECRET": "sandbox-secret"}


@pytest.fixture
def server() -> Iterator[AtlasAdminApi]:
    api = AtlasAdminApi(AtlasState(), lambda _p, _n: "mongodb://127.0.0.1:1/", propagation_s=0.0).start()
    yield api
    api.stop()


def client(server: AtlasAdminApi, **env: str) -> AtlasApi:
    api = AtlasApi.from_env({"MONGODB_ATLAS_BASE_URL": server.url, **(env or SERVICE_ACCOUNT)})
    assert api is not None
    return api


def test_no_credentials_no_client() -> None:
    assert AtlasApi.from_env({}) is None
    assert AtlasApi.from_env({"MONGODB_ATLAS_CLIENT_ID": "only-half"}) is None


def test_reads_a_user_and_the_change_status(server: AtlasAdminApi) -> None:
    server.state.put_user(DatabaseUser(project_id=P, username=ROLE, scopes=("Cluster0",)))
    api = client(server)
    assert api.user(P, ROLE) == AtlasUser(ROLE, "$external", "ROLE", ("Cluster0",))
    assert api.user(P, ROLE + "-other") is None
    assert api.change_status(P, "Cluster0") == "APPLIED"
    server.state.put_user(DatabaseUser(project_id=P, username=ROLE + "-new", visible_after=time.time() + 60))
    assert api.change_status(P, "Cluster0") == "PENDING"


def test_lists_every_page(server: AtlasAdminApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(atlas, "PAGE_SIZE", 2)
    for i in range(5):
        server.state.put_user(DatabaseUser(project_id=P, username=f"{ROLE}-{i}"))
    assert sorted(u.username for u in client(server).users(P)) == [f"{ROLE}-{i}" for i in range(5)]


def test_view_of_a_missing_user_lists_the_accounts_users(server: AtlasAdminApi) -> None:
    with_path = "arn:aws:iam::123456789012:role/team/orders-dev-host"
    server.state.put_user(DatabaseUser(project_id=P, username=with_path))
    server.state.put_user(DatabaseUser(project_id=P, username="arn:aws:iam::999999999999:role/elsewhere"))
    view = client(server).view(P, "Cluster0", ROLE)
    assert view.user is None and view.change_status == "APPLIED" and view.missing_for_good
    assert [u.username for u in view.same_account] == [with_path]  # the other account's user is not listed
    assert look_alikes(ROLE, view.same_account) == [f"{with_path} has a path; STS reports the role without it"]


def test_view_of_a_present_user_is_not_missing(server: AtlasAdminApi) -> None:
    server.state.put_user(DatabaseUser(project_id=P, username=ROLE))
    view = client(server).view(P, "Cluster0", ROLE)
    assert view.user is not None and not view.missing_for_good and not view.pending


def test_a_wrong_secret_is_an_error_naming_the_refusal(server: AtlasAdminApi) -> None:
    api = client(server, MONGODB_ATLAS_CLIENT_ID="sandbox-client", MONGODB_ATLAS_CLIENT_SECRET="wrong")
    with pytest.raises(AtlasApiError, match=r"Atlas refused the service account \(HTTP 401: INVALID_CLIENT"):
        api.user(P, ROLE)


def test_api_keys_use_digest_auth_which_the_sandbox_refuses(server: AtlasAdminApi) -> None:
    """The sandbox takes only service accounts (stricter than Atlas, which also takes digest)."""
    api = client(server, MONGODB_ATLAS_PUBLIC_API_KEY="pub", MONGODB_ATLAS_PRIVATE_API_KEY="priv")
    with pytest.raises(AtlasApiError, match="HTTP 401: UNAUTHORIZED"):
        api.change_status(P, "Cluster0")


def test_unreachable_atlas_is_an_error() -> None:
    api = AtlasApi.from_env({"MONGODB_ATLAS_BASE_URL": "http://127.0.0.1:9", **SERVICE_ACCOUNT})
    assert api is not None
    with pytest.raises(AtlasApiError, match="could not be reached"):
        api.user(P, ROLE)


@pytest.mark.parametrize(
    ("username", "aws_iam_type", "says"),
    [
        ("orders-dev-host", "NONE", "is the role's name, not its ARN"),
        ("arn:aws:iam::123456789012:instance-profile/orders-dev-host", "ROLE", "is an instance-profile ARN"),
        ("arn:aws:iam::123456789012:role/a/b/orders-dev-host", "ROLE", "has a path"),
        ("arn:aws:iam::123456789012:user/orders-dev-host", "USER", "is an IAM user (USER type)"),
    ],
)
def test_look_alikes_name_each_classic_confusion(username: str, aws_iam_type: str, says: str) -> None:
    [line] = look_alikes(ROLE, [AtlasUser(username, "$external", aws_iam_type, ())])
    assert line.startswith(f"{username} {says}")


def test_look_alikes_ignore_unrelated_users() -> None:
    others = [AtlasUser("arn:aws:iam::123456789012:role/payments-host", "$external", "ROLE", ())]
    assert look_alikes(ROLE, others) == []


def test_pending_view() -> None:
    view = AtlasView(expected=ROLE, user=None, change_status="PENDING")
    assert view.pending and not view.missing_for_good


def test_a_client_costs_nothing_until_it_is_used() -> None:
    """verify makes one on every run with Atlas credentials; most runs never call Atlas."""
    import subprocess
    import sys

    code = (
        "import sys; from atlas_iam_tf.verify.atlas import AtlasApi; "
        "api = AtlasApi.from_env({'MONGODB_ATLAS_CLIENT_ID': 'i', 'MONGODB_ATLAS_CLIENT_SECRET': 's'}); "
        "print(api is not None, 'requests' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "False"]
