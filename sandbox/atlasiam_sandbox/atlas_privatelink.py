"""Atlas's AWS PrivateLink, as the Admin API shows it: private endpoint services and the interface endpoints in them.

The life cycle follows what the mongodbatlas provider waits for (``internal/service/privatelinkendpoint`` and
``privatelinkendpointservice``, ``resource.go``) and the states of the published OpenAPI spec
(``AWSPrivateLinkConnection.status``, ``AWSInterfaceEndpoint.connectionStatus``):

- ``POST /groups/{groupId}/privateEndpoint/endpointService`` (200, as both POSTs answer in the spec) creates a
  service ``INITIATING``, without an ``endpointServiceName`` ("MongoDB Cloud returns null while it creates the
  endpoint service"), ``AVAILABLE`` with a name ``com.amazonaws.vpce.<region>.vpce-svc-<17 hex>`` after
  :attr:`PrivateLink.delay_s`. One service per region and cloud provider in a project: a second is refused with
  ``409 PRIVATE_ENDPOINT_SERVICE_ALREADY_EXISTS_FOR_REGION`` ("A private endpoint service already exists for AWS
  region US_EAST_1.", as quoted in mongodb/terraform-provider-mongodbatlas issue #3422).
- ``POST .../endpointService/{id}/endpoint`` with ``{"id": "vpce-…"}`` adds an interface endpoint
  ``PENDING_ACCEPTANCE``; after the delay Atlas looks at it in AWS (here: asks moto) and accepts it
  (``AVAILABLE``) only if an Interface endpoint with that id exists for exactly this service's name; otherwise it is
  ``REJECTED`` with an ``errorMessage`` (the provider's create then fails: it reports a non-empty ``errorMessage``).
- ``DELETE`` marks an endpoint (``deleteRequested``, ``DELETING``) or a service (``DELETING``) and it is gone (404)
  after the delay, which is what the provider's delete waits for.

Not modelled: Azure and GCP (refused), the AWS endpoint's own ``pendingAcceptance`` state before Atlas accepts it
(moto makes every endpoint ``available`` at once), cross-region (``supportedRemoteRegions``) connections. The exact
wording of the emulation's own refusals (a missing service, a duplicate endpoint, a service that still holds
endpoints) is not Atlas's; their codes are marked where they are made up.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from atlasiam_sandbox.atlas_state import AtlasState, EndpointService, InterfaceEndpoint

_AWS_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_ATLAS_REGION = re.compile(r"^[A-Z]{2}(_GOV)?_[A-Z]+_\d$")
_ACCEPTABLE_AWS_STATES = ("available", "pendingAcceptance")


@dataclass(frozen=True)
class AwsEndpointFacts:
    """What Atlas can see of an AWS VPC endpoint (the sandbox reads it from moto)."""

    vpce_id: str
    service_name: str
    vpc_id: str
    endpoint_type: str
    state: str


AwsEndpointLookup = Callable[[str], "AwsEndpointFacts | None"]


class PrivateLinkError(Exception):
    """An Atlas-style refusal: HTTP status, errorCode, detail (``atlas_api.ApiError``'s arguments)."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.args3 = (status, code, detail)


def atlas_region(region: str) -> str:
    """``us-east-1`` or ``US_EAST_1`` -> ``US_EAST_1`` (Atlas takes both spellings and answers with its own)."""
    if _AWS_REGION.match(region):
        return region.upper().replace("-", "_")
    if _ATLAS_REGION.match(region):
        return region
    raise PrivateLinkError(400, "INVALID_REGION", f"No region {region} exists for provider AWS.")


def aws_region(atlas: str) -> str:
    """``US_EAST_1`` -> ``us-east-1``."""
    return atlas.lower().replace("_", "-")


class PrivateLink:
    """The private endpoint services of every project, their status computed from the clock and from AWS.

    Args:
        state: The Atlas state (persisted with the rest).
        aws_endpoint: Looks an AWS VPC endpoint up by id (None: unknown to AWS).
        delay_s: How long INITIATING, PENDING_ACCEPTANCE and DELETING last.
        clock: ``time.time``-like.
    """

    def __init__(
        self,
        state: AtlasState,
        aws_endpoint: AwsEndpointLookup | None = None,
        *,
        delay_s: float = 0.5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state = state
        self.aws_endpoint: AwsEndpointLookup = aws_endpoint or (lambda _vpce: None)
        self.delay_s = delay_s
        self.clock = clock
        self._lock = threading.RLock()

    # -- services ------------------------------------------------------------------------------
    def create_service(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        """``createPrivateEndpointService``."""
        provider = str(body.get("providerName"))
        if provider != "AWS":
            raise PrivateLinkError(
                400, "INVALID_PROVIDER", f"The sandbox emulates AWS PrivateLink only, not {provider}."
            )
        region = atlas_region(str(body.get("region")))
        with self._lock:
            self._expire(project)
            if any(s.region_name == region for s in self.state.services_in(project)):
                raise PrivateLinkError(
                    409,
                    "PRIVATE_ENDPOINT_SERVICE_ALREADY_EXISTS_FOR_REGION",
                    f"A private endpoint service already exists for AWS region {region}.",
                )
            service = EndpointService(
                project_id=project,
                id=secrets.token_hex(12),
                region_name=region,
                service_name=f"com.amazonaws.vpce.{aws_region(region)}.vpce-svc-{secrets.token_hex(9)[:17]}",
                created_at=self.clock(),
            )
            self.state.put_endpoint_service(service)
            return self.service_doc(service)

    def service(self, project: str, provider: str, service_id: str) -> EndpointService:
        """The service (404 when it does not exist, or no longer)."""
        with self._lock:
            self._expire(project)
            found = self.state.endpoint_services.get((project, service_id))
        if found is None or provider != "AWS":
            # the emulation's code: Atlas's own for a missing service was not found in public material
            raise PrivateLinkError(
                404, "PRIVATE_ENDPOINT_SERVICE_NOT_FOUND", f"No private endpoint service {service_id}."
            )
        return found

    def services(self, project: str, provider: str) -> list[dict[str, Any]]:
        """``listPrivateEndpointServices``: the project's services of one cloud provider, a plain JSON array.

        Only AWS services exist here, so another provider's list is empty (Atlas answers ``[]`` too).
        """
        with self._lock:
            self._expire(project)
            found = [s for (p, _), s in self.state.endpoint_services.items() if p == project]
        return [self.service_doc(s) for s in found] if provider == "AWS" else []

    def service_status(self, service: EndpointService) -> str:
        """INITIATING, AVAILABLE or DELETING."""
        now = self.clock()
        if service.delete_requested_at is not None:
            return "DELETING"
        return "INITIATING" if now < service.created_at + self.delay_s else "AVAILABLE"

    def service_doc(self, service: EndpointService) -> dict[str, Any]:
        """The AWSPrivateLinkConnection JSON."""
        status = self.service_status(service)
        return {
            "cloudProvider": "AWS",
            "id": service.id,
            "regionName": service.region_name,
            "status": status,
            "endpointServiceName": None if status == "INITIATING" else service.service_name,
            "errorMessage": None,
            "interfaceEndpoints": [e.vpce_id for e in service.endpoints.values()],
        }

    def delete_service(self, project: str, provider: str, service_id: str) -> None:
        """``deletePrivateEndpointService``: refused while it still holds endpoints (the emulation's code)."""
        with self._lock:
            service = self.service(project, provider, service_id)
            if service.endpoints:
                raise PrivateLinkError(
                    409,
                    "PRIVATE_ENDPOINT_SERVICE_HAS_ENDPOINTS",
                    f"Private endpoint service {service_id} still has interface endpoints; delete them first.",
                )
            if service.delete_requested_at is None:
                service.delete_requested_at = self.clock()
                self.state.put_endpoint_service(service)

    # -- interface endpoints ---------------------------------------------------------------------
    def create_endpoint(self, project: str, provider: str, service_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """``createPrivateEndpoint`` (AWS: ``{"id": "vpce-…"}``)."""
        with self._lock:
            service = self.service(project, provider, service_id)
            if self.service_status(service) != "AVAILABLE":
                raise PrivateLinkError(
                    400,
                    "PRIVATE_ENDPOINT_SERVICE_NOT_AVAILABLE",  # the emulation's code
                    f"Private endpoint service {service_id} is {self.service_status(service)}, not AVAILABLE.",
                )
            vpce_id = str(body.get("id"))
            if vpce_id in service.endpoints:
                raise PrivateLinkError(
                    409,
                    "PRIVATE_ENDPOINT_ALREADY_EXISTS",  # the emulation's code
                    f"Interface endpoint {vpce_id} was already added to private endpoint service {service_id}.",
                )
            endpoint = InterfaceEndpoint(vpce_id=vpce_id, created_at=self.clock())
            service.endpoints[vpce_id] = endpoint
            self.state.put_endpoint_service(service)
            return self.endpoint_doc(service, endpoint)

    def endpoint(
        self, project: str, provider: str, service_id: str, vpce_id: str
    ) -> tuple[EndpointService, InterfaceEndpoint]:
        """The service and its endpoint (404 when either does not exist, or no longer)."""
        with self._lock:
            service = self.service(project, provider, service_id)
            endpoint = service.endpoints.get(vpce_id)
        if endpoint is None:
            raise PrivateLinkError(
                404,
                "PRIVATE_ENDPOINT_NOT_FOUND",
                f"No interface endpoint {vpce_id} in private endpoint service {service_id}.",
            )
        return service, endpoint

    def connection_status(self, service: EndpointService, endpoint: InterfaceEndpoint) -> str:
        """PENDING_ACCEPTANCE, then AVAILABLE or REJECTED (decided once, by asking AWS); DELETING once deleted."""
        if endpoint.delete_requested_at is not None:
            return "DELETING"
        if endpoint.decision is None:
            if self.clock() < endpoint.created_at + self.delay_s:
                return "PENDING_ACCEPTANCE"
            with self._lock:
                if endpoint.decision is None:
                    endpoint.error_message = self._rejection(service, endpoint.vpce_id)
                    endpoint.decision = "REJECTED" if endpoint.error_message else "AVAILABLE"
                    self.state.put_endpoint_service(service)
        return str(endpoint.decision)

    def _rejection(self, service: EndpointService, vpce_id: str) -> str | None:
        """Why Atlas does not accept the interface endpoint, or None when it does."""
        facts = self.aws_endpoint(vpce_id)
        if facts is None or facts.state not in _ACCEPTABLE_AWS_STATES:
            return f"Interface endpoint {vpce_id} was not found in AWS."
        if facts.endpoint_type != "Interface":
            return f"VPC endpoint {vpce_id} is a {facts.endpoint_type} endpoint, not an Interface endpoint."
        if facts.service_name != service.service_name:
            return (
                f"Interface endpoint {vpce_id} connects to {facts.service_name}, "
                f"not to this endpoint service ({service.service_name})."
            )
        return None

    def endpoint_doc(self, service: EndpointService, endpoint: InterfaceEndpoint) -> dict[str, Any]:
        """The AWSInterfaceEndpoint JSON."""
        status = self.connection_status(service, endpoint)
        return {
            "cloudProvider": "AWS",
            "interfaceEndpointId": endpoint.vpce_id,
            "connectionStatus": status,
            "deleteRequested": endpoint.delete_requested_at is not None,
            "errorMessage": endpoint.error_message if status == "REJECTED" else None,
        }

    def delete_endpoint(self, project: str, provider: str, service_id: str, vpce_id: str) -> None:
        """``deletePrivateEndpoint``: DELETING, gone after the delay."""
        with self._lock:
            service, endpoint = self.endpoint(project, provider, service_id, vpce_id)
            if endpoint.delete_requested_at is None:
                endpoint.delete_requested_at = self.clock()
                self.state.put_endpoint_service(service)

    # -- what the cluster and its endpoint see -------------------------------------------------------
    def available_endpoints(self, project: str) -> list[tuple[EndpointService, InterfaceEndpoint]]:
        """The project's interface endpoints that are AVAILABLE now and still exist in AWS."""
        with self._lock:
            self._expire(project)
            pairs = [(s, e) for s in self.state.services_in(project) for e in list(s.endpoints.values())]
        return [
            (s, e)
            for s, e in pairs
            if self.connection_status(s, e) == "AVAILABLE" and self._rejection(s, e.vpce_id) is None
        ]

    def refusal(self, project: str, vpce_id: str) -> str | None:
        """Why a connection through interface endpoint ``vpce_id`` cannot reach the project's clusters, or None."""
        if any(e.vpce_id == vpce_id for _, e in self.available_endpoints(project)):
            return None
        return f"interface endpoint {vpce_id} is not an AVAILABLE private endpoint of project {project}"

    def _expire(self, project: str) -> None:
        """Forget what was deleted more than the delay ago (call with the lock held)."""
        now = self.clock()
        for service in self.state.services_in(project):
            gone = [
                v
                for v, e in service.endpoints.items()
                if e.delete_requested_at is not None and now >= e.delete_requested_at + self.delay_s
            ]
            for vpce_id in gone:
                del service.endpoints[vpce_id]
            if service.delete_requested_at is not None and now >= service.delete_requested_at + self.delay_s:
                self.state.remove_endpoint_service(project, service.id)
            elif gone:
                self.state.put_endpoint_service(service)
