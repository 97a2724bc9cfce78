"""EKS Pod Identity: the associations (EKS API on moto, which has none) and the decision the agent's call makes.

- **Associations** ("Assign an IAM role to a Kubernetes service account",
  https://docs.aws.amazon.com/eks/latest/userguide/pod-id-association.html): CreatePodIdentityAssociation,
  DescribePodIdentityAssociation, ListPodIdentityAssociations, UpdatePodIdentityAssociation (the role) and
  DeletePodIdentityAssociation are added to moto's EKS
  service (:func:`patch_moto`), one association per cluster + namespace + service account, on a cluster that exists
  (else EKS's ``ResourceNotFoundException``; a second one for the same service account is ``ResourceInUseException``).
- **Credentials** ("Understand how EKS Pod Identity works",
  https://docs.aws.amazon.com/eks/latest/userguide/pod-id-how-it-works.html; "Create IAM role with trust policy
  required by EKS Pod Identity", https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html): the agent passes
  the pod's service-account token to EKS Auth AssumeRoleForPodIdentity, which checks the token, finds the
  association and assumes its role as the service principal ``pods.eks.amazonaws.com``. The role's trust policy must
  allow that principal both ``sts:AssumeRole`` and ``sts:TagSession`` (the session carries the tags
  ``eks-cluster-arn``, ``eks-cluster-name``, ``kubernetes-namespace``, ``kubernetes-service-account``,
  ``kubernetes-pod-name``, ``kubernetes-pod-uid``; "Grant pods access to AWS resources based on tags",
  https://docs.aws.amazon.com/eks/latest/userguide/pod-id-abac.html). :func:`decide` is that check, pure.

Sandbox difference: moto's role sessions carry no tags, so a permission policy that tests ``aws:PrincipalTag/...``
cannot be evaluated with them; the tags are computed (and used as ``aws:RequestTag/...`` in the trust check) only.
"""

from __future__ import annotations

import secrets
import string
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from atlasiam_sandbox.aws import trust_policy

SERVICE_PRINCIPAL = "pods.eks.amazonaws.com"
_ID_ALPHABET = string.ascii_lowercase + string.digits


@dataclass
class Association:
    """One pod identity association."""

    account: str
    region: str
    cluster: str
    namespace: str
    service_account: str
    role_arn: str
    association_id: str = field(default_factory=lambda: "a-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(17)))
    created: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    tags: dict[str, str] = field(default_factory=dict)
    modified: datetime | None = None

    @property
    def arn(self) -> str:
        """``arn:aws:eks:REGION:ACCOUNT:podidentityassociation/CLUSTER/ID``."""
        return f"arn:aws:eks:{self.region}:{self.account}:podidentityassociation/{self.cluster}/{self.association_id}"

    def describe(self) -> dict[str, Any]:
        """The ``association`` object of the EKS API."""
        return {
            "clusterName": self.cluster,
            "namespace": self.namespace,
            "serviceAccount": self.service_account,
            "roleArn": self.role_arn,
            "associationArn": self.arn,
            "associationId": self.association_id,
            "tags": dict(self.tags),
            "createdAt": self.created,
            "modifiedAt": self.modified or self.created,
            "disableSessionTags": False,
        }

    def summary(self) -> dict[str, Any]:
        """The ``associations[]`` item of ListPodIdentityAssociations."""
        return {
            "clusterName": self.cluster,
            "namespace": self.namespace,
            "serviceAccount": self.service_account,
            "associationArn": self.arn,
            "associationId": self.association_id,
        }


#: Every association of this process (moto is process-global too).
ASSOCIATIONS: list[Association] = []
_lock = threading.Lock()


def find(account: str, region: str, cluster: str, namespace: str, service_account: str) -> Association | None:
    """The association for one service account, or None."""
    with _lock:
        return next(
            (
                a
                for a in ASSOCIATIONS
                if (a.account, a.region, a.cluster, a.namespace, a.service_account)
                == (account, region, cluster, namespace, service_account)
            ),
            None,
        )


def session_tags(cluster_arn: str, namespace: str, service_account: str, pod: str, pod_uid: str) -> dict[str, str]:
    """The session tags EKS Pod Identity adds (see the module docstring)."""
    return {
        "eks-cluster-arn": cluster_arn,
        "eks-cluster-name": cluster_arn.rsplit("/", 1)[-1],
        "kubernetes-namespace": namespace,
        "kubernetes-service-account": service_account,
        "kubernetes-pod-name": pod,
        "kubernetes-pod-uid": pod_uid,
    }


def decide(trust: Mapping[str, Any] | None, account: str, cluster_arn: str, tags: Mapping[str, str]) -> str | None:
    """None when the role's trust policy lets EKS Pod Identity assume it with session tags, else why not.

    The request context is what EKS Auth's AssumeRole carries: ``aws:SourceAccount``, ``aws:SourceArn`` (the
    cluster) and the session tags as ``aws:RequestTag/KEY`` (pod-id-role.html shows conditions on the first two).
    """
    caller = trust_policy.service_caller(SERVICE_PRINCIPAL)
    context = {"aws:sourceaccount": account, "aws:sourcearn": cluster_arn}
    context |= {f"aws:requesttag/{k}".lower(): v for k, v in tags.items()}
    if trust is None:
        return "the role does not exist"
    for action in ("sts:AssumeRole", "sts:TagSession"):
        if not trust_policy.allows(trust, caller, action, context):
            return f"the role's trust policy does not allow {SERVICE_PRINCIPAL} to perform {action}"
    return None


# --- the EKS API on moto -------------------------------------------------------------------------------------------
_PATHS = {
    "{0}/clusters/(?P<name>[^/]+)/pod-identity-associations$",
    "{0}/clusters/(?P<name>[^/]+)/pod-identity-associations/(?P<associationId>[^/]+)$",
}
_patched = False


def _cluster(self: Any) -> str:
    """The path's cluster, which must exist (moto's ResourceNotFoundException otherwise)."""
    name = str(self._get_param("name") or "").split("/")[0]
    self.eks_backend.describe_cluster(name=name)
    return name


def _key(self: Any, cluster: str) -> tuple[str, str, str]:
    return self.current_account, self.region, cluster


def _association(self: Any) -> Association:
    from moto.eks.exceptions import ResourceNotFoundException

    key, wanted = _key(self, _cluster(self)), str(self._get_param("associationId") or "")
    with _lock:
        for a in ASSOCIATIONS:
            if (a.account, a.region, a.cluster) == key and a.association_id == wanted:
                return a
    raise ResourceNotFoundException(f"No Pod Identity Association found for id: {wanted}")


def _create(self: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.eks.exceptions import InvalidParameterException, ResourceInUseException

    cluster = _cluster(self)
    namespace, sa = str(self._get_param("namespace")), str(self._get_param("serviceAccount"))
    role_arn = str(self._get_param("roleArn") or "")
    if not role_arn.startswith("arn:"):
        raise InvalidParameterException(f"Invalid role ARN: {role_arn}")
    key = _key(self, cluster)
    with _lock:
        for a in ASSOCIATIONS:
            if (a.account, a.region, a.cluster) == key and (a.namespace, a.service_account) == (namespace, sa):
                raise ResourceInUseException(f"Association already exists: {a.association_id}", clusterName=cluster)
        association = Association(*key, namespace, sa, role_arn, tags=self._get_param("tags") or {})
        ASSOCIATIONS.append(association)
    return ActionResult({"association": association.describe()})


def _describe(self: Any) -> Any:
    from moto.core.responses import ActionResult

    return ActionResult({"association": _association(self).describe()})


def _update(self: Any) -> Any:
    from moto.core.responses import ActionResult

    association = _association(self)
    role_arn = self._get_param("roleArn")
    with _lock:
        if role_arn:
            association.role_arn = str(role_arn)
        association.modified = datetime.now(timezone.utc)
    return ActionResult({"association": association.describe()})


def _delete(self: Any) -> Any:
    from moto.core.responses import ActionResult

    association = _association(self)
    with _lock:
        ASSOCIATIONS.remove(association)
    return ActionResult({"association": association.describe()})


def _list(self: Any) -> Any:
    from moto.core.responses import ActionResult

    key = _key(self, _cluster(self))
    namespace, sa = self._get_param("namespace"), self._get_param("serviceAccount")
    with _lock:
        found = [
            a.summary()
            for a in ASSOCIATIONS
            if (a.account, a.region, a.cluster) == key
            and namespace in (None, a.namespace)
            and sa in (None, a.service_account)
        ]
    return ActionResult({"associations": found})


#: EKSResponse method name -> implementation (``self`` is moto's EKSResponse).
_RESPONSES = {
    "create_pod_identity_association": _create,
    "describe_pod_identity_association": _describe,
    "update_pod_identity_association": _update,
    "delete_pod_identity_association": _delete,
    "list_pod_identity_associations": _list,
}


def patch_moto() -> None:
    """Add the operations to moto's EKS service (before its server app is built; idempotent)."""
    global _patched
    with _lock:
        if _patched:
            return
        from moto.eks import urls
        from moto.eks.responses import EKSResponse

        for path in _PATHS:
            urls.url_paths[path] = urls.response.dispatch
        for name, method in _RESPONSES.items():
            setattr(EKSResponse, name, method)
        _patched = True


def reset() -> None:
    """Forget every association (a fresh sandbox, as moto's reset forgets clusters)."""
    with _lock:
        ASSOCIATIONS.clear()
