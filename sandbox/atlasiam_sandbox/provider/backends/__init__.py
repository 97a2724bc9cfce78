"""Real behaviour for the stand-in aws provider, backed by moto: a registry of per-type handlers.

Active only when the plugin's environment has `AWS_ENDPOINT_URL` (the sandbox points it at a moto server);
otherwise the provider stays schema-only. Handler modules (and boto3) are imported on first use.

`ATLASIAM_SANDBOX_FAIL_ON=<type>[:<n>]` makes the n-th (default: every) create of `<type>` in a plugin process
fail with a provider error, to test half-way applies. It works with and without moto.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from atlasiam_sandbox.provider.backends.base import DataHandler, Handler

ENDPOINT_ENV = "AWS_ENDPOINT_URL"
ATLAS_ENDPOINT_ENV = "MONGODB_ATLAS_BASE_URL"
FAIL_ON_ENV = "ATLASIAM_SANDBOX_FAIL_ON"

_PKG = __name__
RESOURCES: dict[str, str] = {
    "aws_vpc": "aws_network:Vpc",
    "aws_subnet": "aws_network:Subnet",
    "aws_internet_gateway": "aws_network:InternetGateway",
    "aws_route_table": "aws_network:RouteTable",
    "aws_route": "aws_network:Route",
    "aws_route_table_association": "aws_network:RouteTableAssociation",
    "aws_security_group": "aws_network:SecurityGroup",
    "aws_default_security_group": "aws_network:DefaultSecurityGroup",
    "aws_vpc_security_group_egress_rule": "aws_network:EgressRule",
    "aws_vpc_security_group_ingress_rule": "aws_network:IngressRule",
    "aws_iam_role": "aws_iam:Role",
    "aws_iam_role_policy_attachment": "aws_iam:RolePolicyAttachment",
    "aws_iam_role_policy": "aws_iam:RolePolicy",
    "aws_iam_instance_profile": "aws_iam:InstanceProfile",
    "aws_instance": "aws_ec2:Instance",
    "aws_cloudwatch_log_group": "aws_logs:LogGroup",
    "aws_eks_pod_identity_association": "aws_eks:PodIdentityAssociation",
    "aws_flow_log": "aws_logs:FlowLog",
    "aws_vpc_endpoint": "aws_endpoints:VpcEndpoint",
    "aws_s3_bucket": "aws_s3:Bucket",
    "aws_s3_bucket_public_access_block": "aws_s3:PublicAccessBlock",
    "aws_s3_bucket_server_side_encryption_configuration": "aws_s3:ServerSideEncryption",
    "aws_s3_bucket_versioning": "aws_s3:Versioning",
    "aws_s3_bucket_policy": "aws_s3:BucketPolicy",
    "aws_s3_object": "aws_s3:Object",
    "mongodbatlas_database_user": "atlas:DatabaseUser",
    "mongodbatlas_project_ip_access_list": "atlas:AccessListEntry",
    "mongodbatlas_privatelink_endpoint": "atlas:PrivateLinkEndpoint",
    "mongodbatlas_privatelink_endpoint_service": "atlas:PrivateLinkEndpointService",
}
"""Resource type -> `<module in this package>:<Handler class>`."""

DATA_SOURCES: dict[str, str] = {
    "aws_vpc": "aws_network:VpcData",
    "aws_subnet": "aws_network:SubnetData",
    "aws_caller_identity": "aws_iam:CallerIdentityData",
    "aws_ssm_parameter": "aws_ec2:SsmParameterData",
    "aws_ec2_instance_type_offerings": "aws_endpoints:InstanceTypeOfferingsData",
    "mongodbatlas_advanced_cluster": "atlas:AdvancedClusterData",
}
"""Data source type -> `<module in this package>:<DataHandler class>`."""

_FAULT_COUNTS: dict[str, int] = {}
_FAULT_LOCK = threading.Lock()


def enabled(environ: Mapping[str, str] | None = None, type_name: str = "") -> bool:
    """Whether backed behaviour is on for a type: `AWS_ENDPOINT_URL` (aws) / `MONGODB_ATLAS_BASE_URL` (Atlas)."""
    env = os.environ if environ is None else environ
    return bool(env.get(ATLAS_ENDPOINT_ENV if type_name.startswith("mongodbatlas_") else ENDPOINT_ENV))


def _load(spec: str) -> object:
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(f"{_PKG}.{module}"), name)()


def resource_handler(type_name: str, environ: Mapping[str, str] | None = None) -> Handler | None:
    """The handler for a resource type, or None (backends off, or a type left schema-only)."""
    spec = RESOURCES.get(type_name)
    if spec is None or not enabled(environ, type_name):
        return None
    return _load(spec)  # type: ignore[return-value]


def data_handler(type_name: str, environ: Mapping[str, str] | None = None) -> DataHandler | None:
    """The handler for a data source type, or None (backends off, or a type left schema-only)."""
    spec = DATA_SOURCES.get(type_name)
    if spec is None or not enabled(environ, type_name):
        return None
    return _load(spec)  # type: ignore[return-value]


def replace_attributes(type_name: str, environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Attributes the type's handler cannot update in place (empty when backends are off)."""
    handler = resource_handler(type_name, environ)
    return handler.replace if handler is not None else ()


def parse_fault(spec: str) -> tuple[str, int] | None:
    """`"<type>"` -> (type, 0) meaning every create; `"<type>:<n>"` -> (type, n); blank -> None."""
    spec = spec.strip()
    if not spec:
        return None
    type_name, _, nth = spec.partition(":")
    return type_name.strip(), int(nth) if nth.strip().isdigit() else 0


def injected_fault(type_name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The error summary if `ATLASIAM_SANDBOX_FAIL_ON` says this create must fail, else None."""
    fault = parse_fault((os.environ if environ is None else environ).get(FAIL_ON_ENV, ""))
    if fault is None or fault[0] != type_name:
        return None
    with _FAULT_LOCK:
        count = _FAULT_COUNTS[type_name] = _FAULT_COUNTS.get(type_name, 0) + 1
    if fault[1] and count != fault[1]:
        return None
    return f"creating {type_name}: injected failure ({FAIL_ON_ENV}={fault[0]}{':' + str(fault[1]) if fault[1] else ''})"
