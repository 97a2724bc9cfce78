"""The emulated Admin API's AWS PrivateLink: services, interface endpoints, and the cluster's private strings."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from atlasiam_sandbox.atlas_api import AtlasAdminApi
from atlasiam_sandbox.atlas_privatelink import AwsEndpointFacts
from atlasiam_sandbox.atlas_state import AtlasState, Cluster
from tests.sandbox_atlas.test_atlas_api import call

P = "0123456789abcdef01234567"
DELAY = 0.2
VPCE = "vpce-0123456789abcdef0"


class FakeAws:
    """The VPC endpoints AWS knows (stands in for moto)."""

    def __init__(self) -> None:
        self.endpoints: dict[str, AwsEndpointFacts] = {}

    def add(self, vpce_id: str, service_name: str, endpoint_type: str = "Interface") -> None:
        self.endpoints[vpce_id] = AwsEndpointFacts(vpce_id, service_name, "vpc-1", endpoint_type, "available")

    def __call__(self, vpce_id: str) -> AwsEndpointFacts | None:
        return self.endpoints.get(vpce_id)


@pytest.fixture
def aws() -> FakeAws:
    return FakeAws()


@pytest.fixture
def state() -> AtlasState:
    return AtlasState()


@pytest.fixture
def api(aws: FakeAws, state: AtlasState) -> Iterator[AtlasAdminApi]:
    server = AtlasAdminApi(
        state,
        lambda _p, n: f"mongodb://127.0.0.1:1/?tls=true&replicaSet={n}",
        aws_endpoint=aws,
        private_uri=lambda _p, n, v: f"mongodb://127.0.0.1:2/?tls=true&replicaSet={n}&pe={v}",
        privatelink_delay_s=DELAY,
    ).start()
    yield server
    server.stop()


def _until(api: AtlasAdminApi, path: str, key: str, pending: str, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status, doc = call(api, "GET", path)
        assert status == 200, doc
        if doc[key] != pending or time.monotonic() > deadline:
            return dict(doc)
        time.sleep(0.05)


def _service(api: AtlasAdminApi) -> dict[str, Any]:
    status, doc = call(
        api, "POST", f"{P}/privateEndpoint/endpointService", {"providerName": "AWS", "region": "us-east-1"}
    )
    assert status == 200, doc
    assert doc["status"] == "INITIATING" and doc["endpointServiceName"] is None
    return _until(api, f"{P}/privateEndpoint/AWS/endpointService/{doc['id']}", "status", "INITIATING")


def test_service_becomes_available_with_an_aws_service_name(api: AtlasAdminApi) -> None:
    service = _service(api)
    assert service["status"] == "AVAILABLE" and service["regionName"] == "US_EAST_1"
    assert re.fullmatch(r"com\.amazonaws\.vpce\.us-east-1\.vpce-svc-[0-9a-f]{17}", service["endpointServiceName"])
    # one service per region and provider in a project (Atlas's 409, provider issue #3422)
    status, doc = call(
        api, "POST", f"{P}/privateEndpoint/endpointService", {"providerName": "AWS", "region": "US_EAST_1"}
    )
    assert (status, doc["errorCode"]) == (409, "PRIVATE_ENDPOINT_SERVICE_ALREADY_EXISTS_FOR_REGION")
    # the spec's checks run first: a provider outside the enum
    status, doc = call(api, "POST", f"{P}/privateEndpoint/endpointService", {"providerName": "AWZ", "region": "x"})
    assert (status, doc["errorCode"]) == (400, "INVALID_ENUM_VALUE")


def test_endpoint_is_accepted_only_if_it_exists_in_aws_for_this_service(api: AtlasAdminApi, aws: FakeAws) -> None:
    service = _service(api)
    base = f"{P}/privateEndpoint/AWS/endpointService/{service['id']}/endpoint"
    aws.add(VPCE, service["endpointServiceName"])
    status, doc = call(api, "POST", base, {"id": VPCE})
    assert status == 200 and doc["connectionStatus"] == "PENDING_ACCEPTANCE", doc
    accepted = _until(api, f"{base}/{VPCE}", "connectionStatus", "PENDING_ACCEPTANCE")
    assert accepted["connectionStatus"] == "AVAILABLE" and accepted["errorMessage"] is None

    # an endpoint AWS does not know, and one to another service, are rejected with a reason
    ghost = "vpce-0fffffffffffffff0"
    other = "vpce-0eeeeeeeeeeeeeee0"
    aws.add(other, "com.amazonaws.us-east-1.ssm")
    for vpce, reason in ((ghost, "not found"), (other, "not to this endpoint service")):
        assert call(api, "POST", base, {"id": vpce})[0] == 200
        rejected = _until(api, f"{base}/{vpce}", "connectionStatus", "PENDING_ACCEPTANCE")
        assert rejected["connectionStatus"] == "REJECTED" and reason in rejected["errorMessage"]

    # the spec's pattern for an AWS endpoint id
    status, doc = call(api, "POST", base, {"id": "vpce-123"})
    assert (status, doc["errorCode"]) == (400, "INVALID_ATTRIBUTE")


def test_cluster_lists_private_strings_for_available_endpoints_of_dedicated_clusters(
    api: AtlasAdminApi, aws: FakeAws, state: AtlasState
) -> None:
    assert call(api, "GET", f"{P}/clusters/Cluster0")[1]["connectionStrings"]["privateEndpoint"] == []
    service = _service(api)
    base = f"{P}/privateEndpoint/AWS/endpointService/{service['id']}/endpoint"
    aws.add(VPCE, service["endpointServiceName"])
    call(api, "POST", base, {"id": VPCE})
    # PENDING_ACCEPTANCE: no private string yet
    assert call(api, "GET", f"{P}/clusters/Cluster0")[1]["connectionStrings"]["privateEndpoint"] == []
    _until(api, f"{base}/{VPCE}", "connectionStatus", "PENDING_ACCEPTANCE")
    strings = call(api, "GET", f"{P}/clusters/Cluster0")[1]["connectionStrings"]
    (entry,) = strings["privateEndpoint"]
    assert (
        entry["srvConnectionString"].endswith(f"pe={VPCE}") and entry["srvConnectionString"] != strings["standardSrv"]
    )
    assert entry["endpoints"] == [{"endpointId": VPCE, "providerName": "AWS", "region": "US_EAST_1"}]
    assert entry["type"] == "MONGOD"

    # M0 and Flex clusters have no private endpoints (Atlas docs, security-private-endpoint)
    for tier in ("M0", "FLEX"):
        state.put_cluster(Cluster(P, f"Small{tier}", f"atlas-small-{tier.lower()}-shard-0", tier=tier))
        doc = call(api, "GET", f"{P}/clusters/Small{tier}")[1]
        assert doc["connectionStrings"]["privateEndpoint"] == []
        assert doc["replicationSpecs"][0]["regionConfigs"][0]["electableSpecs"]["instanceSize"] == tier

    # the AWS endpoint is deleted: its string goes
    del aws.endpoints[VPCE]
    assert call(api, "GET", f"{P}/clusters/Cluster0")[1]["connectionStrings"]["privateEndpoint"] == []


def test_deletes_take_a_while_and_end_in_404(api: AtlasAdminApi, aws: FakeAws) -> None:
    service = _service(api)
    svc_path = f"{P}/privateEndpoint/AWS/endpointService/{service['id']}"
    aws.add(VPCE, service["endpointServiceName"])
    call(api, "POST", f"{svc_path}/endpoint", {"id": VPCE})
    # a service that still holds endpoints is not deleted
    assert call(api, "DELETE", svc_path)[0] == 409
    assert call(api, "DELETE", f"{svc_path}/endpoint/{VPCE}")[0] == 204
    doc = call(api, "GET", f"{svc_path}/endpoint/{VPCE}")[1]
    assert doc["connectionStatus"] == "DELETING" and doc["deleteRequested"] is True
    time.sleep(DELAY + 0.05)
    assert call(api, "GET", f"{svc_path}/endpoint/{VPCE}")[0] == 404
    assert call(api, "DELETE", svc_path)[0] == 204
    assert call(api, "GET", svc_path)[1]["status"] == "DELETING"
    time.sleep(DELAY + 0.05)
    assert call(api, "GET", svc_path)[0] == 404


def test_privatelink_state_survives_a_restart(api: AtlasAdminApi, aws: FakeAws, state: AtlasState) -> None:
    service = _service(api)
    aws.add(VPCE, service["endpointServiceName"])
    call(api, "POST", f"{P}/privateEndpoint/AWS/endpointService/{service['id']}/endpoint", {"id": VPCE})
    again = AtlasState.from_json(state.to_json())
    (copy,) = again.services_in(P)
    assert copy.service_name == service["endpointServiceName"] and list(copy.endpoints) == [VPCE]


def test_the_services_are_listed_per_cloud_provider_as_a_plain_array(api: AtlasAdminApi) -> None:
    """listPrivateEndpointServices: GET …/privateEndpoint/{cloudProvider}/endpointService answers a JSON array."""
    status, created = call(
        api, "POST", f"{P}/privateEndpoint/endpointService", {"providerName": "AWS", "region": "us-east-1"}
    )
    assert status == 200
    status, listed = call(api, "GET", f"{P}/privateEndpoint/AWS/endpointService")
    assert status == 200 and [doc["id"] for doc in listed] == [created["id"]]
    assert call(api, "GET", f"{P}/privateEndpoint/AZURE/endpointService") == (200, [])
    assert call(api, "GET", f"{P}/privateEndpoint/AWZ/endpointService")[0] == 404
