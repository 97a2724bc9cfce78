"""EKS Pod Identity associations on moto (the sandbox adds the EKS operations moto lacks: ``aws/pod_identity``)."""

from __future__ import annotations

from typing import Any

from atlasiam_sandbox.provider.backends.aws_ec2_common import ignore_missing, or_none
from atlasiam_sandbox.provider.backends.base import AwsContext, BackendError, Handler, Observed, State, known


def eks(aws: AwsContext) -> Any:
    """The EKS client."""
    return aws.client("eks")


def _observed(association: dict[str, Any], region: str) -> Observed:
    return {
        "id": association["associationId"],
        "association_id": association["associationId"],
        "association_arn": association["associationArn"],
        "cluster_name": association["clusterName"],
        "namespace": association["namespace"],
        "service_account": association["serviceAccount"],
        "role_arn": association["roleArn"],
        "disable_session_tags": bool(association.get("disableSessionTags", False)),
        "external_id": association.get("externalId") or "",
        "tags_all": dict(association.get("tags") or {}),
        "region": region,
    }


class PodIdentityAssociation(Handler):
    """aws_eks_pod_identity_association: id = the association id (the provider's; import id ``CLUSTER,ID``)."""

    label = "EKS Pod Identity Association"
    replace = ("cluster_name", "namespace", "service_account")

    def create(self, aws: AwsContext, state: State) -> Observed:
        """CreatePodIdentityAssociation."""
        args: dict[str, Any] = {
            "clusterName": str(known(state, "cluster_name")),
            "namespace": str(known(state, "namespace")),
            "serviceAccount": str(known(state, "service_account")),
            "roleArn": str(known(state, "role_arn")),
        }
        tags = aws.tags(state)
        if tags:
            args["tags"] = tags
        association = eks(aws).create_pod_identity_association(**args)["association"]
        return _observed(association, aws.region)

    @staticmethod
    def _key(state: State) -> tuple[str, str]:
        cluster, ident = known(state, "cluster_name"), known(state, "association_id") or known(state, "id")
        if cluster and ident:
            return str(cluster), str(ident)
        cluster, _, ident = str(known(state, "id") or "").partition(",")
        return cluster, ident

    def read(self, aws: AwsContext, state: State) -> Observed | None:
        """DescribePodIdentityAssociation."""
        cluster, ident = self._key(state)
        found = or_none(lambda: eks(aws).describe_pod_identity_association(clusterName=cluster, associationId=ident))
        return _observed(found["association"], aws.region) if found else None

    def update(self, aws: AwsContext, prior: State, planned: State) -> Observed:
        """UpdatePodIdentityAssociation (the role)."""
        cluster, ident = self._key(prior)
        if known(prior, "role_arn") != known(planned, "role_arn"):
            eks(aws).update_pod_identity_association(
                clusterName=cluster, associationId=ident, roleArn=str(known(planned, "role_arn"))
            )
        observed = self.read(aws, prior)
        if observed is None:
            raise BackendError(f"pod identity association {ident} not found after update")
        return observed

    def delete(self, aws: AwsContext, state: State) -> None:
        """DeletePodIdentityAssociation."""
        cluster, ident = self._key(state)
        ignore_missing(lambda: eks(aws).delete_pod_identity_association(clusterName=cluster, associationId=ident))
