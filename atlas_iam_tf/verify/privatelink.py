"""What Atlas knows of a private endpoint, for verify: its AWS PrivateLink state and the cluster's tier.

The shapes are the Admin API v2's (MongoDB's published OpenAPI spec, as the generated ``atlas-sdk-go`` models
``EndpointService``, ``PrivateLinkEndpoint`` and ``ClusterDescription20240805`` carry it):

- ``GET /api/atlas/v2/groups/{groupId}/privateEndpoint/AWS/endpointService`` (``listPrivateEndpointServices``)
  answers a plain JSON array of services, each with ``id``, ``regionName``, ``status``, ``errorMessage`` and
  ``interfaceEndpoints`` (the ``vpce-…`` ids added to it). A service is ``INITIATING`` while Atlas builds its load
  balancer, ``WAITING_FOR_USER`` until an interface endpoint is added, ``AVAILABLE``, ``FAILED`` or ``DELETING``.
- ``GET …/endpointService/{endpointServiceId}/endpoint/{endpointId}`` (``getPrivateEndpoint``) answers the
  interface endpoint: ``interfaceEndpointId``, ``connectionStatus`` (``NONE``, ``PENDING_ACCEPTANCE``,
  ``PENDING``, ``AVAILABLE``, ``REJECTED``, ``DELETING``), ``errorMessage`` and ``deleteRequested``
  (https://www.mongodb.com/docs/atlas/troubleshoot-private-endpoints/ describes each status).
- ``GET /api/atlas/v2/groups/{groupId}/clusters/{clusterName}`` (``getCluster``): an M0 cluster has a region
  config with ``providerName: TENANT`` and ``electableSpecs.instanceSize: M0``; a Flex cluster ``FLEX``, or the
  call is refused with ``400 CANNOT_USE_FLEX_CLUSTER_IN_CLUSTER_API`` (what the mongodbatlas provider checks for
  before it reads the Flex API). Neither tier has private endpoints: "This feature is not available for M0 Free
  clusters and Flex clusters" (https://www.mongodb.com/docs/atlas/security-private-endpoint/).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from atlas_iam_tf.verify.atlas import AtlasApi, AtlasApiError

# Atlas's private-endpoint-aware host names: ``cluster0-pl-0.abcde.mongodb.net`` (the SRV name) and the hosts it
# points to, ``pl-0-us-east-1.abcde.mongodb.net``.
_PRIVATE_HOST = re.compile(r"(^|[.-])pl-\d+[.-]", re.IGNORECASE)
ENDPOINT_ID = re.compile(r"^vpce-[0-9a-f]{17}$")  # the spec's endpointId pattern for AWS
# Service states that mean no connection gets through: still being built, broken, or going away.
_SERVICE_DOWN = ("INITIATING", "FAILED", "DELETING")
# Tiers without private endpoints (M2/M5 were shared tiers, now retired into Flex).
_NO_PRIVATELINK_SIZES = ("M0", "M2", "M5", "FLEX")
_NO_PRIVATELINK_PROVIDERS = ("TENANT", "FLEX")
FLEX_REFUSED = "CANNOT_USE_FLEX_CLUSTER_IN_CLUSTER_API"
MAX_ENDPOINTS = 20  # without an endpoint id verify reads every endpoint of the project, this many at most


def uri_mode(uri: str) -> str | None:
    """``private`` for a private-endpoint-aware Atlas URI, ``public`` for another Atlas one, else None (unknown)."""
    host = urlsplit(uri).netloc.rsplit("@", 1)[-1].split(",")[0].rsplit(":", 1)[0].lower()
    if _PRIVATE_HOST.search(host):
        return "private"
    return "public" if host.endswith(".mongodb.net") else None


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


@dataclass(frozen=True)
class EndpointService:
    """One of the project's AWS private endpoint services (``EndpointService``)."""

    id: str
    region: str
    status: str
    error_message: str | None = None
    interface_endpoints: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, doc: Mapping[str, Any]) -> EndpointService:
        """From the Admin API's JSON shape."""
        return cls(
            id=str(doc.get("id", "")),
            region=str(doc.get("regionName", "")),
            status=str(doc.get("status", "")),
            error_message=_text(doc.get("errorMessage")),
            interface_endpoints=tuple(str(e) for e in doc.get("interfaceEndpoints") or ()),
        )

    @property
    def down(self) -> bool:
        """No connection gets through the service in this state."""
        return self.status in _SERVICE_DOWN

    def describe(self) -> str:
        """``service ID (REGION) is STATUS[: errorMessage]``."""
        why = f": {self.error_message}" if self.error_message else ""
        return f"private endpoint service {self.id} ({self.region}) is {self.status}{why}"


@dataclass(frozen=True)
class InterfaceEndpoint:
    """An interface endpoint as Atlas sees it (``PrivateLinkEndpoint`` for AWS)."""

    id: str
    connection_status: str
    error_message: str | None = None
    delete_requested: bool = False

    @classmethod
    def from_api(cls, doc: Mapping[str, Any], endpoint_id: str) -> InterfaceEndpoint:
        """From the Admin API's JSON shape (``endpoint_id``: the id asked for, if the answer lacks it)."""
        return cls(
            id=str(doc.get("interfaceEndpointId") or endpoint_id),
            connection_status=str(doc.get("connectionStatus", "")),
            error_message=_text(doc.get("errorMessage")),
            delete_requested=bool(doc.get("deleteRequested")),
        )

    @property
    def available(self) -> bool:
        """Atlas has connected it: clusters in its region are reachable through it."""
        return self.connection_status == "AVAILABLE"

    def describe(self) -> str:
        """``interface endpoint ID is STATUS[: errorMessage][ (deletion requested)]``."""
        why = f": {self.error_message}" if self.error_message else ""
        deleting = " (deletion requested)" if self.delete_requested else ""
        return f"interface endpoint {self.id} is {self.connection_status}{why}{deleting}"


@dataclass(frozen=True)
class ClusterTier:
    """The cluster's tier as ``getCluster`` shows it."""

    instance_size: str
    provider: str

    @classmethod
    def from_api(cls, doc: Mapping[str, Any]) -> ClusterTier | None:
        """The first region config's ``electableSpecs.instanceSize`` and ``providerName``; None without one."""
        for spec in doc.get("replicationSpecs") or ():
            for region in (spec.get("regionConfigs") or ()) if isinstance(spec, Mapping) else ():
                if isinstance(region, Mapping):
                    electable = region.get("electableSpecs") or {}
                    size = electable.get("instanceSize", "") if isinstance(electable, Mapping) else ""
                    return cls(instance_size=str(size), provider=str(region.get("providerName", "")))
        return None

    @property
    def without_privatelink(self) -> bool:
        """M0 (free) and Flex: Atlas offers no private endpoints on them."""
        return self.provider in _NO_PRIVATELINK_PROVIDERS or self.instance_size in _NO_PRIVATELINK_SIZES

    def describe(self) -> str:
        """``M0 (providerName TENANT)``."""
        return f"{self.instance_size or '?'} (providerName {self.provider or '?'})"


FLEX = ClusterTier(instance_size="FLEX", provider="FLEX")


@dataclass(frozen=True)
class PrivateLinkView:
    """What Atlas said of the private path, when verify asked (in private mode, with Atlas credentials).

    Attributes:
        endpoint_id: The stack's interface endpoint (``vpce-…``), when known.
        services: The project's AWS private endpoint services; None when Atlas did not answer.
        endpoints: The interface endpoints Atlas described: the stack's, or every one when its id is unknown.
        tier: The cluster's tier; None when Atlas did not answer or had no cluster by that name.
        errors: What could not be learned, one line each.
    """

    endpoint_id: str | None
    services: tuple[EndpointService, ...] | None = None
    endpoints: tuple[InterfaceEndpoint, ...] = ()
    tier: ClusterTier | None = None
    errors: tuple[str, ...] = ()

    def _holder(self) -> EndpointService | None:
        return next((s for s in self.services or () if self.endpoint_id in s.interface_endpoints), None)

    @property
    def problem(self) -> str | None:
        """Why no connection gets through the private endpoint, as Atlas says; None when it is AVAILABLE or unknown."""
        if self.services is None:
            return None
        if self.endpoint_id is None:
            return self._none_available()
        holder = self._holder()
        if holder is None:
            listed = "; ".join(f"{s.id} ({s.region}, {s.status})" for s in self.services) or "there are none"
            return f"interface endpoint {self.endpoint_id} is in none of the project's AWS endpoint services: {listed}"
        endpoint = next((e for e in self.endpoints if e.id == self.endpoint_id), None)
        problems = [holder.describe()] if holder.down else []
        if endpoint is not None and not endpoint.available:
            problems.append(f"Atlas's {endpoint.describe()}")
        return "; ".join(problems) or None

    def _none_available(self) -> str | None:
        """Without the stack's endpoint id: a problem only when no endpoint of the project is AVAILABLE."""
        if any(e.available for e in self.endpoints) or len(self.endpoints) < self._listed():
            return None  # one works, or not every one was read: no evidence that none does
        parts = [s.describe() for s in self.services or () if s.down]
        parts += [f"Atlas's {e.describe()}" for e in self.endpoints]
        return "no interface endpoint of the project is AVAILABLE: " + ("; ".join(parts) or "there are none")

    def _listed(self) -> int:
        return sum(len(s.interface_endpoints) for s in self.services or ())

    @property
    def endpoint(self) -> InterfaceEndpoint | None:
        """The stack's interface endpoint as Atlas described it."""
        return next((e for e in self.endpoints if e.id == self.endpoint_id), None)

    def note(self) -> str:
        """One line for the report: what Atlas said of the private path."""
        said = []
        if self.tier is not None:
            said.append(f"the cluster is {self.tier.describe()}")
        if self.services is not None:
            said.append(self.problem or self._fine())
        said += self.errors
        return "PrivateLink: " + ("; ".join(said) or "nothing learned")

    def _fine(self) -> str:
        endpoint = self.endpoint
        if endpoint is not None:
            return f"{endpoint.describe()} in {self._holder_text()}"
        return f"{sum(e.available for e in self.endpoints)} AVAILABLE interface endpoint(s)"

    def _holder_text(self) -> str:
        holder = self._holder()
        return f"service {holder.id} ({holder.region}, {holder.status})" if holder else "no service"


def cluster_tier(api: AtlasApi, project_id: str, cluster: str) -> ClusterTier | None:
    """The cluster's tier (``getCluster``); Flex when Atlas says the cluster API cannot serve it."""
    try:
        doc = api.get(f"{project_id}/clusters/{quote(cluster, safe='')}")
    except AtlasApiError as err:
        if err.code == FLEX_REFUSED:
            return FLEX
        raise
    return ClusterTier.from_api(doc) if isinstance(doc, Mapping) else None


def endpoint_services(api: AtlasApi, project_id: str) -> tuple[EndpointService, ...]:
    """The project's AWS private endpoint services (``listPrivateEndpointServices``: a plain JSON array)."""
    doc = api.get(f"{project_id}/privateEndpoint/AWS/endpointService")
    if doc is None:
        raise AtlasApiError(f"the Atlas Admin API has no private endpoint service list for project {project_id} (404)")
    if not isinstance(doc, list):
        raise AtlasApiError("the Atlas Admin API's private endpoint service list is not a list")
    return tuple(EndpointService.from_api(s) for s in doc if isinstance(s, Mapping))


def interface_endpoint(api: AtlasApi, project_id: str, service_id: str, endpoint_id: str) -> InterfaceEndpoint:
    """One interface endpoint of a service (``getPrivateEndpoint``); ``NOT_FOUND`` when Atlas has no such one."""
    path = f"{project_id}/privateEndpoint/AWS/endpointService/{quote(service_id, safe='')}/endpoint/"
    doc = api.get(path + quote(endpoint_id, safe=""))
    if not isinstance(doc, Mapping):
        return InterfaceEndpoint(id=endpoint_id, connection_status="NOT_FOUND")
    return InterfaceEndpoint.from_api(doc, endpoint_id)


def ask_privatelink(api: AtlasApi, project_id: str, cluster: str | None, endpoint_id: str | None) -> PrivateLinkView:
    """Ask Atlas for the cluster's tier and the PrivateLink state (of ``endpoint_id``, or of every endpoint).

    Each part is asked on its own: what Atlas does not answer is named in ``errors`` and claims nothing.
    """
    errors: list[str] = []
    tier = None
    if cluster:
        try:
            tier = cluster_tier(api, project_id, cluster)
        except AtlasApiError as err:
            errors.append(f"the cluster's tier is unknown ({err})")
    try:
        services = endpoint_services(api, project_id)
        wanted = [
            (s.id, e) for s in services for e in s.interface_endpoints if endpoint_id is None or e == endpoint_id
        ][:MAX_ENDPOINTS]
        endpoints = tuple(interface_endpoint(api, project_id, sid, e) for sid, e in wanted)
    except AtlasApiError as err:
        errors.append(f"the private endpoints' state is unknown ({err})")
        return PrivateLinkView(endpoint_id, tier=tier, errors=tuple(errors))
    return PrivateLinkView(endpoint_id, services=services, endpoints=endpoints, tier=tier, errors=tuple(errors))
