"""EC2 instances and SSM parameters on moto."""

from __future__ import annotations

import base64
from typing import Any

from atlasiam_sandbox.provider.backends import maps
from atlasiam_sandbox.provider.backends.aws_ec2_common import Ec2Handler, ec2, first, or_none
from atlasiam_sandbox.provider.backends.base import (
    AwsContext,
    DataHandler,
    Observed,
    State,
    first_block,
    is_not_found,
    known,
    wait_for,
)

FALLBACK_AMI = "ami-12c6146b"
"""An image in moto's bundled default list (every region); launched when the configured AMI is unknown to moto."""

_METADATA_OPTIONS = {
    "http_endpoint": "HttpEndpoint",
    "http_tokens": "HttpTokens",
    "http_put_response_hop_limit": "HttpPutResponseHopLimit",
    "http_protocol_ipv6": "HttpProtocolIpv6",
    "instance_metadata_tags": "InstanceMetadataTags",
}
_ROOT_DEVICE = {
    "volume_size": "VolumeSize",
    "volume_type": "VolumeType",
    "encrypted": "Encrypted",
    "delete_on_termination": "DeleteOnTermination",
    "iops": "Iops",
    "throughput": "Throughput",
    "kms_key_id": "KmsKeyId",
}


def _image(aws: AwsContext, ami: str | None) -> dict[str, Any]:
    """The image to launch: the configured one if moto knows it, else the fallback image."""
    if ami:
        found = first(or_none(lambda: ec2(aws).describe_images(ImageIds=[ami])["Images"]))
        if found is not None:
            return dict(found)
    found = first(or_none(lambda: ec2(aws).describe_images(ImageIds=[FALLBACK_AMI])["Images"]))
    return dict(found) if found is not None else {"ImageId": FALLBACK_AMI, "RootDeviceName": "/dev/sda1"}


def metadata_options(state: State) -> dict[str, Any]:
    """`metadata_options` (known values) -> EC2 `MetadataOptions`."""
    block = first_block(state, "metadata_options")
    return {key: block[attr] for attr, key in _METADATA_OPTIONS.items() if block.get(attr) not in (None, "")}


def root_block_device(state: State, device_name: str) -> list[dict[str, Any]]:
    """`root_block_device` (known values) -> a one-entry `BlockDeviceMappings`, or none."""
    block = first_block(state, "root_block_device")
    ebs = {key: block[attr] for attr, key in _ROOT_DEVICE.items() if block.get(attr) not in (None, "", 0)}
    return [{"DeviceName": device_name, "Ebs": ebs}] if ebs else []


def run_instances_args(state: State, image: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:  # noqa: C901
    """The RunInstances request for an aws_instance (pure; `image` is the DescribeImages entry to launch)."""
    args: dict[str, Any] = {
        "ImageId": image["ImageId"],
        "MinCount": 1,
        "MaxCount": 1,
        "InstanceType": known(state, "instance_type") or "t3.micro",
    }
    subnet, groups = known(state, "subnet_id"), known(state, "vpc_security_group_ids") or []
    public = known(state, "associate_public_ip_address")
    if public is not None and subnet:
        nic: dict[str, Any] = {"DeviceIndex": 0, "SubnetId": subnet, "AssociatePublicIpAddress": bool(public)}
        nic["DeleteOnTermination"] = True
        if groups:
            nic["Groups"] = list(groups)
        if known(state, "private_ip"):
            nic["PrivateIpAddress"] = known(state, "private_ip")
        args["NetworkInterfaces"] = [nic]
    else:
        args |= {"SubnetId": subnet} if subnet else {}
        args |= {"SecurityGroupIds": list(groups)} if groups else {}
        args |= {"PrivateIpAddress": known(state, "private_ip")} if known(state, "private_ip") else {}
    if known(state, "iam_instance_profile"):
        args["IamInstanceProfile"] = {"Name": known(state, "iam_instance_profile")}
    if metadata_options(state):
        args["MetadataOptions"] = metadata_options(state)
    if known(state, "user_data"):
        args["UserData"] = known(state, "user_data")
    elif known(state, "user_data_base64"):
        args["UserData"] = base64.b64decode(known(state, "user_data_base64")).decode()
    for attr, key in (("key_name", "KeyName"), ("ebs_optimized", "EbsOptimized")):
        if known(state, attr) is not None:
            args[key] = known(state, attr)
    if known(state, "monitoring") is not None:
        args["Monitoring"] = {"Enabled": bool(known(state, "monitoring"))}
    placement = {"AvailabilityZone": known(state, "availability_zone"), "Tenancy": known(state, "tenancy")}
    if any(placement.values()) and not subnet:
        args["Placement"] = {k: v for k, v in placement.items() if v}
    devices = root_block_device(state, str(image.get("RootDeviceName") or "/dev/sda1"))
    if devices:
        args["BlockDeviceMappings"] = devices
    if tags:
        args["TagSpecifications"] = [{"ResourceType": "instance", "Tags": maps.tag_list(tags)}]
    return args


def _describe(aws: AwsContext, instance_id: str) -> dict[str, Any] | None:
    reservations = or_none(lambda: ec2(aws).describe_instances(InstanceIds=[instance_id])["Reservations"])
    for reservation in reservations or ():
        for inst in reservation.get("Instances", ()):
            return dict(inst)
    return None


def _wait_state(aws: AwsContext, instance_id: str, wanted: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        inst = _describe(aws, instance_id)
        if inst is None and wanted == "terminated":
            return {}
        if inst is not None and (inst.get("State") or {}).get("Name") == wanted:
            return inst
        return None

    return wait_for(probe, f"instance {instance_id} to be {wanted}", timeout=60.0)


class Instance(Ec2Handler):
    """aws_instance: RunInstances, waits until running; terminated instances count as gone."""

    label = "EC2 Instance"
    refreshed = (
        "instance_state",
        "instance_type",
        "public_ip",
        "public_dns",
        "private_ip",
        "private_dns",
        "iam_instance_profile",
        "vpc_security_group_ids",
    )
    replace = (
        "ami",
        "subnet_id",
        "availability_zone",
        "key_name",
        "private_ip",
        "tenancy",
        "user_data",
        "user_data_base64",
        "associate_public_ip_address",
        "ebs_optimized",
        "root_block_device",
        "ebs_block_device",
        "network_interface",
        "placement_group",
        "host_id",
        "cpu_options",
        "launch_template",
        "ipv6_address_count",
        "secondary_private_ips",
        "hibernation",
    )

    def create(self, aws: AwsContext, state: State) -> Observed:
        """RunInstances and wait until running (the configured AMI is kept in state even if moto lacks it)."""
        image = _image(aws, known(state, "ami"))
        reservation = ec2(aws).run_instances(**run_instances_args(state, image, aws.tags(state)))
        instance_id = reservation["Instances"][0]["InstanceId"]
        return self._observe(_wait_state(aws, instance_id, "running"), aws, image)

    def _observe(self, inst: dict[str, Any], aws: AwsContext, image: dict[str, Any] | None = None) -> Observed:
        observed = maps.instance_state(inst, aws.region)
        root = str((image or {}).get("RootDeviceName") or inst.get("RootDeviceName") or "/dev/sda1")
        device = next((d for d in inst.get("BlockDeviceMappings", ()) if d.get("DeviceName") == root), None)
        if device is not None:
            observed["root_block_device"] = {
                "device_name": root,
                "volume_id": (device.get("Ebs") or {}).get("VolumeId"),
            }
        return observed

    def read(self, aws: AwsContext, state: State) -> Observed | None:
        """DescribeInstances; missing, shutting-down or terminated -> gone."""
        inst = _describe(aws, str(known(state, "id")))
        if maps.instance_is_gone(inst):
            return None
        assert inst is not None  # noqa: S101 - instance_is_gone(None) is True
        return self._observe(inst, aws)

    def update(self, aws: AwsContext, prior: State, planned: State) -> Observed:
        """Instance type (stop/modify/start), security groups, instance profile, metadata options, monitoring."""
        instance_id = str(known(prior, "id"))
        client = ec2(aws)

        def changed(attr: str) -> bool:
            return bool(known(prior, attr) != known(planned, attr))

        if changed("instance_type"):
            client.stop_instances(InstanceIds=[instance_id])
            _wait_state(aws, instance_id, "stopped")
            client.modify_instance_attribute(
                InstanceId=instance_id, InstanceType={"Value": known(planned, "instance_type")}
            )
            client.start_instances(InstanceIds=[instance_id])
            _wait_state(aws, instance_id, "running")
        if changed("vpc_security_group_ids") and known(planned, "vpc_security_group_ids"):
            client.modify_instance_attribute(
                InstanceId=instance_id, Groups=list(known(planned, "vpc_security_group_ids"))
            )
        if changed("iam_instance_profile"):
            self._set_profile(aws, instance_id, known(planned, "iam_instance_profile"))
        if changed("metadata_options") and metadata_options(planned):
            client.modify_instance_metadata_options(InstanceId=instance_id, **metadata_options(planned))
        if changed("monitoring"):
            toggle = client.monitor_instances if known(planned, "monitoring") else client.unmonitor_instances
            toggle(InstanceIds=[instance_id])
        return super().update(aws, prior, planned)

    @staticmethod
    def _set_profile(aws: AwsContext, instance_id: str, name: str | None) -> None:
        client = ec2(aws)
        assocs = client.describe_iam_instance_profile_associations(
            Filters=[{"Name": "instance-id", "Values": [instance_id]}]
        )["IamInstanceProfileAssociations"]
        current = first(a for a in assocs if a.get("State") in ("associating", "associated"))
        if current is not None and name:
            client.replace_iam_instance_profile_association(
                AssociationId=current["AssociationId"], IamInstanceProfile={"Name": name}
            )
        elif current is not None:
            client.disassociate_iam_instance_profile(AssociationId=current["AssociationId"])
        elif name:
            client.associate_iam_instance_profile(InstanceId=instance_id, IamInstanceProfile={"Name": name})

    def delete(self, aws: AwsContext, state: State) -> None:
        """TerminateInstances and wait until terminated."""
        instance_id = str(known(state, "id"))
        try:
            ec2(aws).terminate_instances(InstanceIds=[instance_id])
        except Exception as exc:
            if is_not_found(exc):
                return
            raise
        _wait_state(aws, instance_id, "terminated")


class SsmParameterData(DataHandler):
    """Data aws_ssm_parameter: from moto's SSM; a parameter moto lacks keeps the generated value."""

    label = "SSM Parameter"

    def read(self, aws: AwsContext, config: State) -> Observed:
        """GetParameter (ParameterNotFound -> nothing observed)."""
        decrypt = known(config, "with_decryption")
        found = or_none(
            lambda: aws.client("ssm").get_parameter(
                Name=known(config, "name"), WithDecryption=True if decrypt is None else bool(decrypt)
            )
        )
        return maps.ssm_parameter_state(found["Parameter"]) if found else {}
