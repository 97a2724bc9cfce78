"""verify's PrivateLink questions to Atlas: the calls it makes, and what it reads from answers shaped like the API's."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from atlas_iam_tf.verify.atlas import AtlasApi, AtlasApiError
from atlas_iam_tf.verify.privatelink import (
    FLEX,
    ClusterTier,
    EndpointService,
    InterfaceEndpoint,
    PrivateLinkView,
    ask_privatelink,
    uri_mode,
)

FIXTURES = Path(__file__).with_name("atlas_api")
P = "0123456789abcdef01234567"
SERVICE = "65f0c0ffee0123456789abcd"
OURS = "vpce-0123456789abcdef0"
OTHER = "vpce-0fedcba9876543210"
BASE = f"/api/atlas/v2/groups/{P}"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


class Atlas:
    """A loopback Admin API answering ``routes`` (path -> (status, body)) and recording every GET."""

    def __init__(self, routes: dict[str, tuple[int, Any]]) -> None:
        self.routes = routes
        self.asked: list[str] = []
        atlas = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                atlas.asked.append(self.path)
                status, body = atlas.routes.get(self.path, (404, {"errorCode": "RESOURCE_NOT_FOUND"}))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    @property
    def api(self) -> AtlasApi:
        # An API key pair: digest auth only answers a 401 challenge, which this server never sends.
        return AtlasApi(f"http://127.0.0.1:{self.server.server_address[1]}", api_key=("pub", "priv"))


@pytest.fixture
def atlas() -> Iterator[Atlas]:
    server = Atlas(
        {
            f"{BASE}/clusters/Cluster0": (200, fixture("cluster_m10.json")),
            f"{BASE}/privateEndpoint/AWS/endpointService": (200, fixture("endpoint_services.json")),
            f"{BASE}/privateEndpoint/AWS/endpointService/{SERVICE}/endpoint/{OURS}": (
                200,
                fixture("endpoint_available.json"),
            ),
            f"{BASE}/privateEndpoint/AWS/endpointService/{SERVICE}/endpoint/{OTHER}": (
                200,
                fixture("endpoint_rejected.json"),
            ),
        }
    )
    yield server
    server.server.shutdown()


def test_parses_the_services_list() -> None:
    first, second = (EndpointService.from_api(s) for s in fixture("endpoint_services.json"))
    assert first == EndpointService(SERVICE, "US_EAST_1", "AVAILABLE", None, (OURS, OTHER))
    assert not first.down
    assert second.status == "INITIATING" and second.down and second.interface_endpoints == ()
    assert second.describe() == "private endpoint service 65f0c0ffee0123456789abce (EU_WEST_1) is INITIATING"


def test_parses_an_interface_endpoint() -> None:
    ok = InterfaceEndpoint.from_api(fixture("endpoint_available.json"), "ignored")
    assert ok == InterfaceEndpoint(OURS, "AVAILABLE", None, False) and ok.available
    rejected = InterfaceEndpoint.from_api(fixture("endpoint_rejected.json"), OTHER)
    assert not rejected.available
    assert rejected.describe() == (
        f"interface endpoint {OTHER} is REJECTED: Interface endpoint {OTHER} was not found in AWS."
    )
    deleting = InterfaceEndpoint.from_api({"connectionStatus": "DELETING", "deleteRequested": True}, OURS)
    assert deleting.id == OURS and deleting.describe().endswith("is DELETING (deletion requested)")


@pytest.mark.parametrize(
    ("name", "tier", "without"),
    [("cluster_m10.json", ClusterTier("M10", "AWS"), False), ("cluster_m0.json", ClusterTier("M0", "TENANT"), True)],
)
def test_parses_the_tier(name: str, tier: ClusterTier, without: bool) -> None:
    parsed = ClusterTier.from_api(fixture(name))
    assert parsed == tier and parsed.without_privatelink is without


@pytest.mark.parametrize(
    ("tier", "without"),
    [
        (ClusterTier("M0", "TENANT"), True),
        (ClusterTier("FLEX", "FLEX"), True),
        (ClusterTier("M5", "TENANT"), True),  # a retired shared tier, as the API may still report it
        (ClusterTier("", "TENANT"), True),  # the provider alone says it
        (ClusterTier("M0", ""), True),  # the size alone says it
        (ClusterTier("M10", "AWS"), False),
        (ClusterTier("M30", "GCP"), False),
    ],
)
def test_which_tiers_have_no_private_endpoints(tier: ClusterTier, without: bool) -> None:
    assert tier.without_privatelink is without


def test_a_cluster_without_region_configs_has_no_tier() -> None:
    assert ClusterTier.from_api({"name": "Cluster0"}) is None
    assert ClusterTier.from_api({"replicationSpecs": [{"regionConfigs": []}]}) is None


@pytest.mark.parametrize(
    ("uri", "mode"),
    [
        ("mongodb+srv://cluster0-pl-0.abcde.mongodb.net", "private"),
        ("mongodb://pl-0-us-east-1.abcde.mongodb.net:1024,pl-0-us-east-1.abcde.mongodb.net:1025/", "private"),
        ("mongodb+srv://cluster0.abcde.mongodb.net/?retryWrites=true", "public"),
        ("mongodb+srv://user:pl-0-secret@cluster0.abcde.mongodb.net", "public"),  # user info is not the host
        ("mongodb://127.0.0.1:27017/", None),
        ("mongodb+srv://apple-plum.example.com", None),
    ],
)
def test_uri_mode_reads_atlas_host_names(uri: str, mode: str | None) -> None:
    assert uri_mode(uri) == mode


def test_asks_for_the_tier_and_the_stacks_endpoint_only(atlas: Atlas) -> None:
    view = ask_privatelink(atlas.api, P, "Cluster0", OURS)
    assert atlas.asked == [
        f"{BASE}/clusters/Cluster0",
        f"{BASE}/privateEndpoint/AWS/endpointService",
        f"{BASE}/privateEndpoint/AWS/endpointService/{SERVICE}/endpoint/{OURS}",
    ]
    assert view.tier == ClusterTier("M10", "AWS") and view.errors == ()
    assert view.problem is None
    assert view.note() == (
        f"PrivateLink: the cluster is M10 (providerName AWS); interface endpoint {OURS} is AVAILABLE in "
        f"service {SERVICE} (US_EAST_1, AVAILABLE)"
    )


def test_a_rejected_endpoint_is_the_problem_with_atlass_error_message(atlas: Atlas) -> None:
    view = ask_privatelink(atlas.api, P, "Cluster0", OTHER)
    assert view.problem == (
        f"Atlas's interface endpoint {OTHER} is REJECTED: Interface endpoint {OTHER} was not found in AWS."
    )


def test_without_the_endpoint_id_every_endpoint_is_read_and_one_available_is_enough(atlas: Atlas) -> None:
    view = ask_privatelink(atlas.api, P, "Cluster0", None)
    assert len(view.endpoints) == 2 and view.problem is None


def test_an_endpoint_in_no_service_is_the_problem(atlas: Atlas) -> None:
    stray = "vpce-00000000000000000"
    view = ask_privatelink(atlas.api, P, "Cluster0", stray)
    assert not any("/endpoint/" in path for path in atlas.asked)
    assert view.problem == (
        f"interface endpoint {stray} is in none of the project's AWS endpoint services: "
        f"{SERVICE} (US_EAST_1, AVAILABLE); 65f0c0ffee0123456789abce (EU_WEST_1, INITIATING)"
    )


def test_an_endpoint_atlas_does_not_know_is_not_found(atlas: Atlas) -> None:
    del atlas.routes[f"{BASE}/privateEndpoint/AWS/endpointService/{SERVICE}/endpoint/{OURS}"]
    view = ask_privatelink(atlas.api, P, "Cluster0", OURS)
    assert view.problem == f"Atlas's interface endpoint {OURS} is NOT_FOUND"


def test_flex_is_read_from_atlass_refusal(atlas: Atlas) -> None:
    atlas.routes[f"{BASE}/clusters/Cluster0"] = (400, fixture("flex_refused.json"))
    view = ask_privatelink(atlas.api, P, "Cluster0", OURS)
    assert view.tier == FLEX and view.tier.without_privatelink


def test_another_refusal_of_the_cluster_call_is_an_error_not_a_tier(atlas: Atlas) -> None:
    atlas.routes[f"{BASE}/clusters/Cluster0"] = (403, {"errorCode": "USER_UNAUTHORIZED", "detail": "no"})
    view = ask_privatelink(atlas.api, P, "Cluster0", OURS)
    assert view.tier is None and view.problem is None  # the endpoint part still answered
    assert view.errors == (
        "the cluster's tier is unknown (the Atlas Admin API answered HTTP 403: USER_UNAUTHORIZED no)",
    )


def test_no_service_list_claims_nothing(atlas: Atlas) -> None:
    """An Admin API without the list (404), as an emulation may be: the state is unknown, not bad."""
    del atlas.routes[f"{BASE}/privateEndpoint/AWS/endpointService"]
    view = ask_privatelink(atlas.api, P, "Cluster0", OURS)
    assert view.services is None and view.problem is None and view.tier == ClusterTier("M10", "AWS")
    assert "the private endpoints' state is unknown" in view.note()


def test_the_error_code_travels_with_the_error(atlas: Atlas) -> None:
    atlas.routes[f"{BASE}/clusters/Cluster0"] = (400, fixture("flex_refused.json"))
    with pytest.raises(AtlasApiError) as refused:
        atlas.api.get(f"{P}/clusters/Cluster0")
    assert refused.value.code == "CANNOT_USE_FLEX_CLUSTER_IN_CLUSTER_API"


@pytest.mark.parametrize(
    ("services", "endpoints", "problem"),
    [
        (
            (EndpointService("s", "US_EAST_1", "AVAILABLE", None, (OURS,)),),
            (InterfaceEndpoint(OURS, "AVAILABLE"),),
            None,
        ),
        (
            (EndpointService("s", "US_EAST_1", "FAILED", "boom", (OURS,)),),
            (InterfaceEndpoint(OURS, "AVAILABLE"),),
            "private endpoint service s (US_EAST_1) is FAILED: boom",
        ),
        (
            (EndpointService("s", "US_EAST_1", "AVAILABLE", None, (OURS,)),),
            (InterfaceEndpoint(OURS, "PENDING_ACCEPTANCE"),),
            f"Atlas's interface endpoint {OURS} is PENDING_ACCEPTANCE",
        ),
        # WAITING_FOR_USER is the service's state before any endpoint is added: not itself a failure
        (
            (EndpointService("s", "US_EAST_1", "WAITING_FOR_USER", None, (OURS,)),),
            (InterfaceEndpoint(OURS, "AVAILABLE"),),
            None,
        ),
        ((), (), f"interface endpoint {OURS} is in none of the project's AWS endpoint services: there are none"),
    ],
)
def test_the_problem_of_the_stacks_endpoint(
    services: tuple[EndpointService, ...], endpoints: tuple[InterfaceEndpoint, ...], problem: str | None
) -> None:
    assert PrivateLinkView(OURS, services, endpoints).problem == problem


def test_without_an_endpoint_id_none_available_is_the_problem_only_when_all_were_read() -> None:
    service = EndpointService("s", "US_EAST_1", "AVAILABLE", None, (OURS, OTHER))
    rejected = InterfaceEndpoint(OTHER, "REJECTED", "gone")
    assert PrivateLinkView(None, (service,), (rejected,)).problem is None  # OURS was not read: no evidence
    both = (InterfaceEndpoint(OURS, "PENDING"), rejected)
    assert PrivateLinkView(None, (service,), both).problem == (
        f"no interface endpoint of the project is AVAILABLE: Atlas's interface endpoint {OURS} is PENDING; "
        f"Atlas's interface endpoint {OTHER} is REJECTED: gone"
    )
    assert PrivateLinkView(None, (), ()).problem == "no interface endpoint of the project is AVAILABLE: there are none"
