"""IAM roles, their policies and instance profiles, and STS caller identity, on moto."""

from __future__ import annotations

from typing import Any

from atlasiam_sandbox.provider.backends import maps
from atlasiam_sandbox.provider.backends.aws_ec2_common import ignore_missing, or_none
from atlasiam_sandbox.provider.backends.base import (
    AwsContext,
    BackendError,
    DataHandler,
    Handler,
    Observed,
    State,
    known,
    unique_name,
)


def iam(aws: AwsContext) -> Any:
    """The IAM client."""
    return aws.client("iam")


def _name(state: State) -> str:
    return str(known(state, "name") or unique_name(known(state, "name_prefix")))


def _must(observed: Observed | None, what: str) -> Observed:
    if observed is None:
        raise BackendError(f"{what} not found right after it was created")
    return observed


def _retag(aws: AwsContext, kind: str, name: str, old: dict[str, str], new: dict[str, str]) -> None:
    """TagRole/UntagRole-style calls for `kind` (`Role`, `InstanceProfile`)."""
    key = f"{kind}Name"
    removed = [k for k in old if k not in new]
    if removed:
        getattr(iam(aws), f"untag_{_snake(kind)}")(**{key: name, "TagKeys": removed})
    changed = {k: v for k, v in new.items() if old.get(k) != v}
    if changed:
        getattr(iam(aws), f"tag_{_snake(kind)}")(**{key: name, "Tags": maps.tag_list(changed)})


def _snake(kind: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in kind).lstrip("_")


class Role(Handler):
    """aws_iam_role: name, path, trust policy, description, max session duration, tags."""

    label = "IAM Role"
    refreshed = ("description", "max_session_duration", "path")
    replace = ("name", "name_prefix", "path", "permissions_boundary", "inline_policy")

    def create(self, aws: AwsContext, state: State) -> Observed:
        """CreateRole (plus deprecated `managed_policy_arns`, if configured)."""
        name = _name(state)
        args: dict[str, Any] = {
            "RoleName": name,
            "Path": known(state, "path") or "/",
            "AssumeRolePolicyDocument": known(state, "assume_role_policy"),
        }
        for attr, key in (
            ("description", "Description"),
            ("max_session_duration", "MaxSessionDuration"),
            ("permissions_boundary", "PermissionsBoundary"),
        ):
            if known(state, attr) is not None:
                args[key] = known(state, attr)
        tags = aws.tags(state)
        if tags:
            args["Tags"] = maps.tag_list(tags)
        iam(aws).create_role(**args)
        for arn in known(state, "managed_policy_arns") or ():
            iam(aws).attach_role_policy(RoleName=name, PolicyArn=arn)
        return _must(self.read(aws, {"id": name}), f"role {name}")

    def read(self, aws: AwsContext, state: State) -> Observed | None:
        """GetRole."""
        role = or_none(lambda: iam(aws).get_role(RoleName=known(state, "id") or known(state, "name"))["Role"])
        return maps.role_state(role) if role else None

    def update(self, aws: AwsContext, prior: State, planned: State) -> Observed:
        """UpdateRole, UpdateAssumeRolePolicy, tags."""
        name = str(known(prior, "id"))
        changes: dict[str, Any] = {}
        if known(prior, "description") != known(planned, "description"):
            changes["Description"] = known(planned, "description") or ""
        if known(prior, "max_session_duration") != known(planned, "max_session_duration"):
            changes["MaxSessionDuration"] = known(planned, "max_session_duration") or 3600
        if changes:
            iam(aws).update_role(RoleName=name, **changes)
        policy = known(planned, "assume_role_policy")
        if policy and not maps.same_policy(policy, known(prior, "assume_role_policy")):
            iam(aws).update_assume_role_policy(RoleName=name, PolicyDocument=policy)
        return super().update(aws, prior, planned)

    def update_tags(self, aws: AwsContext, state: State, old: dict[str, str], new: dict[str, str]) -> None:
        """TagRole/UntagRole."""
        _retag(aws, "Role", str(known(state, "id")), old, new)

    def delete(self, aws: AwsContext, state: State) -> None:
        """Leave instance profiles (and, with force_detach_policies, policies), then DeleteRole."""
        name = str(known(state, "id"))
        client = iam(aws)
        profiles = or_none(lambda: client.list_instance_profiles_for_role(RoleName=name)["InstanceProfiles"])
        if profiles is None:
            return
        for profile in profiles:
            client.remove_role_from_instance_profile(InstanceProfileName=profile["InstanceProfileName"], RoleName=name)
        if known(state, "force_detach_policies"):
            for policy in client.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
                client.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
            for policy_name in client.list_role_policies(RoleName=name)["PolicyNames"]:
                client.delete_role_policy(RoleName=name, PolicyName=policy_name)
        ignore_missing(lambda: client.delete_role(RoleName=name))


def _attachment_key(state: State) -> tuple[str, str]:
    role, arn = known(state, "role"), known(state, "policy_arn")
    if role and arn:
        return str(role), str(arn)
    role, _, arn = str(known(state, "id") or "").partition("/")
    return role, arn


class RolePolicyAttachment(Handler):
    """aws_iam_role_policy_attachment."""

    label = "IAM Role Policy Attachment"
    replace = ("role", "policy_arn")

    def create(self, aws: AwsContext, state: State) -> Observed:
        """AttachRolePolicy."""
        role, arn = _attachment_key(state)
        iam(aws).attach_role_policy(RoleName=role, PolicyArn=arn)
        return {"id": unique_name(f"{role}-")}

    def read(self, aws: AwsContext, state: State) -> Observed | None:
        """ListAttachedRolePolicies."""
        role, arn = _attachment_key(state)
        pages = or_none(lambda: list(iam(aws).get_paginator("list_attached_role_policies").paginate(RoleName=role)))
        attached = [p["PolicyArn"] for page in pages or () for p in page["AttachedPolicies"]]
        return {"role": role, "policy_arn": arn} if arn in attached else None

    def delete(self, aws: AwsContext, state: State) -> None:
        """DetachRolePolicy."""
        role, arn = _attachment_key(state)
        ignore_missing(lambda: iam(aws).detach_role_policy(RoleName=role, PolicyArn=arn))


def _role_policy_key(state: State) -> tuple[str, str]:
    role, name = known(state, "role"), known(state, "name")
    if role and name:
        return str(role), str(name)
    role, _, name = str(known(state, "id") or "").partition(":")
    return role, name


class RolePolicy(Handler):
    """aws_iam_role_policy: an inline policy, id `<role>:<name>`."""

    label = "IAM Role Policy"
    replace = ("name", "name_prefix", "role")

    def create(self, aws: AwsContext, state: State) -> Observed:
        """PutRolePolicy."""
        role = str(known(state, "role"))
        name = _name(state)
        iam(aws).put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=known(state, "policy"))
        return {"id": f"{role}:{name}", "name": name, "name_prefix": ""}

    def read(self, aws: AwsContext, state: State) -> Observed | None:
        """GetRolePolicy."""
        role, name = _role_policy_key(state)
        found = or_none(lambda: iam(aws).get_role_policy(RoleName=role, PolicyName=name))
        if found is None:
            return None
        return {"id": f"{role}:{name}", "role": role, "name": name, "policy": maps.policy_json(found["PolicyDocument"])}

    def update(self, aws: AwsContext, prior: State, planned: State) -> Observed:
        """PutRolePolicy with the new document."""
        role, name = _role_policy_key(prior)
        iam(aws).put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=known(planned, "policy"))
        return {}

    def delete(self, aws: AwsContext, state: State) -> None:
        """DeleteRolePolicy."""
        role, name = _role_policy_key(state)
        ignore_missing(lambda: iam(aws).delete_role_policy(RoleName=role, PolicyName=name))


class InstanceProfile(Handler):
    """aws_iam_instance_profile with (at most) one role."""

    label = "IAM Instance Profile"
    refreshed = ("role",)
    replace = ("name", "name_prefix", "path")

    def create(self, aws: AwsContext, state: State) -> Observed:
        """CreateInstanceProfile, AddRoleToInstanceProfile."""
        name = _name(state)
        args: dict[str, Any] = {"InstanceProfileName": name, "Path": known(state, "path") or "/"}
        tags = aws.tags(state)
        if tags:
            args["Tags"] = maps.tag_list(tags)
        iam(aws).create_instance_profile(**args)
        if known(state, "role"):
            iam(aws).add_role_to_instance_profile(InstanceProfileName=name, RoleName=known(state, "role"))
        return _must(self.read(aws, {"id": name}), f"instance profile {name}")

    def read(self, aws: AwsContext, state: State) -> Observed | None:
        """GetInstanceProfile."""
        name = known(state, "id") or known(state, "name")
        profile = or_none(lambda: iam(aws).get_instance_profile(InstanceProfileName=name)["InstanceProfile"])
        return maps.instance_profile_state(profile) if profile else None

    def update(self, aws: AwsContext, prior: State, planned: State) -> Observed:
        """Swap the role; tags."""
        name = str(known(prior, "id"))
        old, new = known(prior, "role"), known(planned, "role")
        if old != new:
            if old:
                ignore_missing(
                    lambda: iam(aws).remove_role_from_instance_profile(InstanceProfileName=name, RoleName=old)
                )
            if new:
                iam(aws).add_role_to_instance_profile(InstanceProfileName=name, RoleName=new)
        return super().update(aws, prior, planned)

    def update_tags(self, aws: AwsContext, state: State, old: dict[str, str], new: dict[str, str]) -> None:
        """TagInstanceProfile/UntagInstanceProfile."""
        _retag(aws, "InstanceProfile", str(known(state, "id")), old, new)

    def delete(self, aws: AwsContext, state: State) -> None:
        """Remove its roles, then DeleteInstanceProfile."""
        observed = self.read(aws, state)
        if observed is None:
            return
        name = observed["name"]
        profile = iam(aws).get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
        for role in profile.get("Roles", ()):
            iam(aws).remove_role_from_instance_profile(InstanceProfileName=name, RoleName=role["RoleName"])
        ignore_missing(lambda: iam(aws).delete_instance_profile(InstanceProfileName=name))


class CallerIdentityData(DataHandler):
    """Data aws_caller_identity from STS GetCallerIdentity."""

    label = "STS Caller Identity"

    def read(self, aws: AwsContext, config: State) -> Observed:  # noqa: ARG002 - interface
        """GetCallerIdentity."""
        return maps.caller_identity_state(aws.client("sts").get_caller_identity())
