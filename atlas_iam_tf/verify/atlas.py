"""What Atlas knows, for verify: a small Atlas Admin API v2 client and what its answers mean.

Atlas can say directly what the driver only hints at with code 18: whether a database user exists for
the host's role ARN (``GET /api/atlas/v2/groups/{groupId}/databaseUsers/$external/{ARN}``), which users
the project has, and whether a user change is still being deployed to the cluster
(``GET .../clusters/{clusterName}/status`` → ``changeStatus``: ``PENDING`` or ``APPLIED``; MongoDB's
Admin API reference, "Return Status of All Cluster Operations": while it is PENDING new users cannot
log in).

It signs in as the mongodbatlas provider does, from the same environment: a service account
(``MONGODB_ATLAS_CLIENT_ID`` / ``_SECRET``: an OAuth 2.0 client-credentials token from
``/api/oauth/token``), else an API key pair (``MONGODB_ATLAS_PUBLIC_API_KEY`` / ``_PRIVATE_API_KEY``:
HTTP digest). ``MONGODB_ATLAS_BASE_URL`` moves it (the provider honours it too).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    import requests

DEFAULT_BASE_URL = "https://cloud.mongodb.com"
ACCEPT = "application/vnd.atlas.2023-01-01+json"
PAGE_SIZE = 500  # the Admin API's largest itemsPerPage
MAX_USERS = 5000  # enough to find look-alikes; a project with more is listed only this far
_ARN = re.compile(r"^arn:(aws[a-z-]*):(iam|sts)::(\d{12}):([a-z-]+)/(.+)$")


class AtlasApiError(Exception):
    """Atlas could not be asked, or refused: the reason, in one line (and Atlas's ``errorCode``, if it gave one)."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class AtlasUser:
    """A database user as the Admin API describes it (what verify looks at)."""

    username: str
    database_name: str
    aws_iam_type: str
    scopes: tuple[str, ...]

    @classmethod
    def from_api(cls, doc: Mapping[str, Any]) -> AtlasUser:
        """From the Admin API's JSON shape."""
        return cls(
            username=str(doc.get("username", "")),
            database_name=str(doc.get("databaseName", "")),
            aws_iam_type=str(doc.get("awsIAMType", "NONE")),
            scopes=tuple(str(s.get("name")) for s in doc.get("scopes") or [] if isinstance(s, Mapping)),
        )


@dataclass(frozen=True)
class AtlasView:
    """What Atlas said about one expected database user and the cluster, when verify asked.

    Attributes:
        expected: The username verify expects to log in (the role ARN).
        user: That user, or None when Atlas has no such user in ``$external``.
        change_status: The cluster's ``changeStatus`` (``PENDING`` or ``APPLIED``).
        same_account: The project's other ``$external`` users of the same AWS account.
    """

    expected: str
    user: AtlasUser | None
    change_status: str
    same_account: tuple[AtlasUser, ...] = ()

    @property
    def missing_for_good(self) -> bool:
        """No such user and no change pending: code 18 is certain, retrying cannot help."""
        return self.user is None and self.change_status == "APPLIED"

    @property
    def pending(self) -> bool:
        """A user change is still being deployed: new users cannot log in yet."""
        return self.change_status == "PENDING"


def account_of(arn: str) -> str | None:
    """The 12-digit account of an IAM/STS ARN, else None."""
    m = _ARN.match(arn)
    return m.group(3) if m else None


def look_alikes(expected: str, users: Sequence[AtlasUser]) -> list[str]:
    """The classic confusions among ``users`` for ``expected`` (a role ARN), one line each.

    Atlas checks only an ARN's form (``ATLAS_INVALID_AWS_IAM_ARN``), so these exist and never match
    what STS reports for the host: a role ARN with a path, an instance-profile ARN, the role's name
    alone, or a USER-type user where the host has a role.
    """
    m = _ARN.match(expected)
    name = m.group(5).rsplit("/", 1)[-1] if m else expected
    found = []
    for user in users:
        u = _ARN.match(user.username)
        if user.username == name:
            found.append(f"{user.username} is the role's name, not its ARN")
        elif u and u.group(4) == "instance-profile":
            found.append(f"{user.username} is an instance-profile ARN; Atlas needs the role ARN")
        elif u and u.group(4) == "role" and u.group(5).rsplit("/", 1)[-1] == name and "/" in u.group(5):
            found.append(f"{user.username} has a path; STS reports the role without it")
        elif u and u.group(4) == "user" and user.aws_iam_type == "USER" and u.group(5) == name:
            found.append(f"{user.username} is an IAM user (USER type); the host authenticates as a role")
    return found


class AtlasApi:
    """The few Admin API v2 calls verify makes, over one HTTP session."""

    def __init__(
        self,
        base_url: str,
        *,
        service_account: tuple[str, str] | None = None,
        api_key: tuple[str, str] | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.service_account = service_account
        self.api_key = api_key
        self.timeout_s = timeout_s
        self._session: requests.Session | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AtlasApi | None:
        """A client for the environment's Atlas credentials, or None when there are none.

        Cheap: nothing is imported or sent until the first call (most verify runs never make one).
        """
        base = env.get("MONGODB_ATLAS_BASE_URL") or DEFAULT_BASE_URL
        if env.get("MONGODB_ATLAS_CLIENT_ID") and env.get("MONGODB_ATLAS_CLIENT_SECRET"):
            return cls(base, service_account=(env["MONGODB_ATLAS_CLIENT_ID"], env["MONGODB_ATLAS_CLIENT_SECRET"]))
        if env.get("MONGODB_ATLAS_PUBLIC_API_KEY") and env.get("MONGODB_ATLAS_PRIVATE_API_KEY"):
            return cls(base, api_key=(env["MONGODB_ATLAS_PUBLIC_API_KEY"], env["MONGODB_ATLAS_PRIVATE_API_KEY"]))
        return None

    @property
    def session(self) -> requests.Session:
        """The HTTP session, signed in as the credentials say (a service account's token, or digest)."""
        if self._session is None:
            import requests

            session = requests.Session()
            session.headers["Accept"] = ACCEPT
            if self.service_account is not None:
                session.auth = _ServiceAccount(self.base_url, *self.service_account)
            elif self.api_key is not None:
                session.auth = requests.auth.HTTPDigestAuth(*self.api_key)
            self._session = session
        return self._session

    def get(self, path: str, params: Mapping[str, int] | None = None) -> Any:
        """GET one Admin API resource; None for 404; an AtlasApiError for anything else that is not 200."""
        import requests

        url = f"{self.base_url}/api/atlas/v2/groups/{path}"
        try:
            resp = self.session.get(url, params=params, timeout=self.timeout_s)
        except (requests.RequestException, AtlasApiError) as err:
            raise AtlasApiError(f"the Atlas Admin API at {self.base_url} could not be reached: {err}") from None
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            text = _error_text(resp)
            raise AtlasApiError(f"the Atlas Admin API answered HTTP {resp.status_code}: {text}", _error_code(resp))
        try:
            return resp.json()
        except ValueError:
            raise AtlasApiError("the Atlas Admin API answered something that is not JSON") from None

    def user(self, project_id: str, username: str) -> AtlasUser | None:
        """The ``$external`` user named ``username`` (an ARN), or None."""
        doc = self.get(f"{project_id}/databaseUsers/%24external/{quote(username, safe='')}")
        return AtlasUser.from_api(doc) if isinstance(doc, Mapping) else None

    def users(self, project_id: str) -> list[AtlasUser]:
        """The project's database users, page by page (at most ``MAX_USERS``)."""
        found: list[AtlasUser] = []
        for page in range(1, MAX_USERS // PAGE_SIZE + 1):
            doc = self.get(f"{project_id}/databaseUsers", {"itemsPerPage": PAGE_SIZE, "pageNum": page})
            results = doc.get("results") if isinstance(doc, Mapping) else None
            if not isinstance(results, list):
                raise AtlasApiError("the Atlas Admin API's user list has no results")
            found += [AtlasUser.from_api(r) for r in results if isinstance(r, Mapping)]
            if len(results) < PAGE_SIZE:
                break
        return found

    def change_status(self, project_id: str, cluster: str) -> str:
        """The cluster's ``changeStatus``: ``PENDING`` or ``APPLIED``."""
        doc = self.get(f"{project_id}/clusters/{quote(cluster, safe='')}/status")
        status = doc.get("changeStatus") if isinstance(doc, Mapping) else None
        if status not in ("PENDING", "APPLIED"):
            raise AtlasApiError(f"cluster {cluster}: no changeStatus (does it exist in project {project_id}?)")
        return str(status)

    def view(self, project_id: str, cluster: str, expected: str) -> AtlasView:
        """Everything verify asks Atlas about ``expected`` on ``cluster``, in three calls at most."""
        user = self.user(project_id, expected)
        status = self.change_status(project_id, cluster)
        same: tuple[AtlasUser, ...] = ()
        if user is None:
            account = account_of(expected)
            same = tuple(
                u
                for u in self.users(project_id)
                if u.database_name == "$external" and (account is None or account_of(u.username) == account)
            )
        return AtlasView(expected=expected, user=user, change_status=status, same_account=same)


def _error_code(resp: requests.Response) -> str:
    try:
        doc = resp.json()
    except ValueError:
        return ""
    return str(doc.get("errorCode") or "") if isinstance(doc, Mapping) else ""


def _error_text(resp: requests.Response) -> str:
    try:
        doc = resp.json()
    except ValueError:
        return resp.reason or "no detail"
    if isinstance(doc, Mapping):
        return f"{doc.get('errorCode', '')} {doc.get('detail', '')}".strip() or "no detail"
    return "no detail"


class _ServiceAccount:
    """``requests`` auth: a bearer token from the service account's client credentials, fetched once."""

    def __init__(self, base_url: str, client_id: str, client_secret: str) -> None:
        self.token_url = base_url.rstrip("/") + "/api/oauth/token"
        self.credentials = (client_id, client_secret)
        self.token: str | None = None

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self.token is None:
            self.token = self._fetch()
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request

    def _fetch(self) -> str:
        import requests

        try:
            resp = requests.post(
                self.token_url,
                data={"grant_type": "client_credentials"},
                auth=self.credentials,
                headers={"Accept": "application/json"},
                timeout=10,
            )
        except requests.RequestException as err:
            raise AtlasApiError(f"the Atlas token endpoint could not be reached: {err}") from None
        if resp.status_code != 200:
            raise AtlasApiError(f"Atlas refused the service account (HTTP {resp.status_code}: {_error_text(resp)})")
        try:
            token = resp.json().get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise AtlasApiError("Atlas's token endpoint answered without an access token")
        return token


# How often verify asks again while a change is PENDING: Atlas deploys user changes in seconds to minutes.
POLL_S = 2.0
NO_CREDENTIALS = (
    "Atlas was not asked: no Atlas credentials in the environment (MONGODB_ATLAS_CLIENT_ID/_SECRET, or the "
    "API key pair). With them, verify asks Atlas whether the database user exists and whether a change is "
    "still pending, and answers a missing user at once instead of retrying code 18 until --wait runs out."
)
NOT_ENOUGH = (
    "Atlas was not asked: it needs the project id, the cluster name and the expected ARN (config mode has "
    "them; standalone: --atlas-project-id, --cluster-name and --expect-arn)."
)


@dataclass(frozen=True)
class AtlasGate:
    """What verify learned from Atlas before probing, and what it means for the probe.

    Attributes:
        view: Atlas's answer, when verify asked and got one.
        error: Why it could not get one, when it asked.
        note: One line for the report: asked or not, and why.
    """

    view: AtlasView | None = None
    error: str | None = None
    note: str = ""
    waited_s: float = 0.0

    @property
    def skip_probe(self) -> bool:
        """The user does not exist and no change is pending: the login cannot work, so it is not tried."""
        return self.view is not None and self.view.missing_for_good

    @property
    def retry_auth(self) -> bool:
        """Whether the probe should retry code 18: not when Atlas has the user and nothing is pending."""
        return not (self.view is not None and self.view.user is not None and not self.view.pending)


def ask_atlas(
    api: AtlasApi | None,
    project_id: str | None,
    cluster: str | None,
    expected: str | None,
    wait_s: float,
    say: Callable[[str], None],
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> AtlasGate:
    """Ask Atlas about ``expected`` on ``cluster``; while a change is PENDING, wait for it (within ``wait_s``)."""
    if api is None:
        return AtlasGate(note=NO_CREDENTIALS)
    if not (project_id and cluster and expected):
        return AtlasGate(note=NOT_ENOUGH)
    start = clock()
    try:
        view = api.view(project_id, cluster, expected)
        if view.pending:
            waiting = f"waiting up to {wait_s:.0f}s"
            say(f"Atlas is still deploying a user change to {cluster} (changeStatus PENDING): {waiting}")
            deadline = start + wait_s
            while api.change_status(project_id, cluster) == "PENDING" and clock() + POLL_S <= deadline:
                sleep(POLL_S)
            view = api.view(project_id, cluster, expected)
    except AtlasApiError as err:
        return AtlasGate(error=str(err), note=f"Atlas was asked but did not answer: {err}")
    found = "exists" if view.user is not None else "does not exist"
    note = f"Atlas was asked: the user {found} in $external, and the cluster's changeStatus is {view.change_status}"
    return AtlasGate(view=view, note=note, waited_s=clock() - start)
