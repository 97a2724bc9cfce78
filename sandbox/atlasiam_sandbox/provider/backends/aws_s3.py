"""S3 buckets, their configuration resources and objects on moto.

What the real provider does (hashicorp/terraform-provider-aws ``internal/service/s3``):

- ``aws_s3_bucket``: the name is ``bucket``, else ``bucket_prefix`` + a 26-character unique suffix (the SDK's
  ``id.PrefixedUniqueId``, as for every ``name_prefix``), else ``terraform-`` + that suffix; CreateBucket (with a
  LocationConstraint outside us-east-1), then tags. Delete refuses a bucket that still holds objects
  (``BucketNotEmpty``) unless ``force_destroy``, which first deletes every object version and delete marker.
- ``aws_s3_bucket_public_access_block``, ``..._server_side_encryption_configuration``, ``..._versioning``,
  ``..._policy``: one Put call each, id = the bucket name; delete removes the configuration, except versioning,
  which S3 cannot turn off: delete suspends it (``bucket_versioning.go``: "versioning ... is suspended").
- ``aws_s3_object``: PutObject from ``source`` (a local file), ``content`` or ``content_base64``; id = the key;
  ``etag`` is the object's ETag without quotes; delete removes every version of the key (``deleteAllObjectVersions``).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, ClassVar

from atlasiam_sandbox.provider.backends import maps
from atlasiam_sandbox.provider.backends.base import (
    AwsContext,
    BackendError,
    Handler,
    Observed,
    State,
    error_code,
    first_block,
    known,
    unique_name,
)

#: S3's "it is not there" error codes (HeadBucket/HeadObject answer a bare 404).
_MISSING = frozenset(
    {
        "404",
        "NoSuchBucket",
        "NoSuchKey",
        "NotFound",
        "NoSuchBucketPolicy",
        "NoSuchTagSet",
        "NoSuchPublicAccessBlockConfiguration",
        "ServerSideEncryptionConfigurationNotFoundError",
    }
)


def s3(aws: AwsContext) -> Any:
    """The S3 client."""
    return aws.client("s3")


def _missing(exc: BaseException) -> bool:
    return (error_code(exc) or "") in _MISSING


def _or_none(call: Any) -> Any:
    try:
        return call()
    except Exception as exc:
        if _missing(exc):
            return None
        raise


def _bucket(state: State) -> str:
    return str(known(state, "bucket") or known(state, "id"))


def bucket_name(state: State) -> str:
    """`bucket`, else `bucket_prefix` + the unique suffix, else `terraform-` + it."""
    return str(known(state, "bucket") or unique_name(known(state, "bucket_prefix") or "terraform-"))


def delete_all_versions(aws: AwsContext, bucket: str, key: str | None = None) -> None:
    """Delete every object version and delete marker (of one key, or of the whole bucket)."""
    paginator = s3(aws).get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, **({"Prefix": key} if key else {})):
        doomed = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
            if key is None or v["Key"] == key
        ]
        if doomed:
            s3(aws).delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})


class Bucket(Handler):
    """aws_s3_bucket (the legacy inline configuration blocks are left to their own resources)."""

    label = "S3 Bucket"
    replace = ("bucket", "bucket_prefix", "object_lock_enabled")

    def create(self, aws: AwsContext, state: State) -> Observed:
        """CreateBucket, then PutBucketTagging."""
        name = bucket_name(state)
        args: dict[str, Any] = {"Bucket": name}
        if aws.region != "us-east-1":
            args["CreateBucketConfiguration"] = {"LocationConstraint": aws.region}
        if known(state, "object_lock_enabled"):
            args["ObjectLockEnabledForBucket"] = True
        s3(aws).create_bucket(**args)
        self.update_tags(aws, {"bucket": name}, {}, aws.tags(state))
        observed = self.read(aws, {"bucket": name})
        if observed is None:
            raise BackendError(f"S3 Bucket ({name}) not found right after it was created")
        return observed

    def read(self, aws: AwsContext, state: State) -> Observed | None:
        """HeadBucket and GetBucketTagging."""
        name = _bucket(state)
        if _or_none(lambda: s3(aws).head_bucket(Bucket=name)) is None:
            return None
        tags = _or_none(lambda: s3(aws).get_bucket_tagging(Bucket=name)) or {}
        return maps.s3_bucket_state(name, aws.region, maps.tag_dict(tags.get("TagSet")))

    def update_tags(self, aws: AwsContext, state: State, old: dict[str, str], new: dict[str, str]) -> None:
        """PutBucketTagging (all tags at once), or DeleteBucketTagging when none remain."""
        if new:
            s3(aws).put_bucket_tagging(Bucket=_bucket(state), Tagging={"TagSet": maps.tag_list(new)})
        elif old:
            s3(aws).delete_bucket_tagging(Bucket=_bucket(state))

    def delete(self, aws: AwsContext, state: State) -> None:
        """DeleteBucket; with force_destroy, every object version first."""
        name = _bucket(state)
        if known(state, "force_destroy"):
            _or_none(lambda: delete_all_versions(aws, name))
        _or_none(lambda: s3(aws).delete_bucket(Bucket=name))


class _BucketConfig(Handler):
    """A bucket sub-resource whose id is the bucket name and which has no tags."""

    replace: ClassVar[tuple[str, ...]] = ("bucket", "expected_bucket_owner")

    def update(self, aws: AwsContext, prior: State, planned: State) -> Observed:  # noqa: ARG002 - interface
        """Put the new configuration (the Put calls replace the whole configuration)."""
        return self.create(aws, planned)

    def update_tags(self, aws: AwsContext, state: State, old: dict[str, str], new: dict[str, str]) -> None:
        """No tags."""

    def observed(self, aws: AwsContext, state: State) -> Observed:
        observed = self.read(aws, state)
        if observed is None:
            raise BackendError(f"{self.label} ({_bucket(state)}) not found right after it was written")
        return observed


class PublicAccessBlock(_BucketConfig):
    """aws_s3_bucket_public_access_block."""

    label = "S3 Bucket Public Access Block"
    _FLAGS = {
        "block_public_acls": "BlockPublicAcls",
        "block_public_policy": "BlockPublicPolicy",
        "ignore_public_acls": "IgnorePublicAcls",
        "restrict_public_buckets": "RestrictPublicBuckets",
    }

    def create(self, aws: AwsContext, state: State) -> Observed:
        """PutPublicAccessBlock."""
        config = {key: bool(known(state, attr)) for attr, key in self._FLAGS.items()}
        s3(aws).put_public_access_block(Bucket=_bucket(state), PublicAccessBlockConfiguration=config)
        return self.observed(aws, state)

    def read(self, aws: AwsContext, state: State) -> Observed | None:
        """GetPublicAccessBlock."""
        name = _bucket(state)
        found = _or_none(lambda: s3(aws).get_public_access_block(Bucket=name))
        if found is None:
            return None
        config = found.get("PublicAccessBlockConfiguration") or {}
        return {"id": name, "bucket": name, "region": aws.region} | {
            attr: bool(config.get(key)) for attr, key in self._FLAGS.items()
        }

    def delete(self, aws: AwsContext, state: State) -> None:
        """DeletePublicAccessBlock."""
        _or_none(lambda: s3(aws).delete_public_access_block(Bucket=_bucket(state)))


class ServerSideEncryption(_BucketConfig):
    """aws_s3_bucket_server_side_encryption_configuration."""

    label = "S3 Bucket Server-side Encryption Configuration"

    def create(self, aws: AwsContext, state: State) -> Observed:
        """PutBucketEncryption with the configured rules."""
        rules = []
        for rule in known(state, "rule") or ():
            default = next(iter(rule.get("apply_server_side_encryption_by_default") or ()), None)
            entry: dict[str, Any] = {}
            if default:
                by_default = {"SSEAlgorithm": default["sse_algorithm"]}
                if default.get("kms_master_key_id"):
                    by_default["KMSMasterKeyID"] = default["kms_master_key_id"]
                entry["ApplyServerSideEncryptionByDefault"] = by_default
            if rule.get("bucket_key_enabled") is not None:
                entry["BucketKeyEnabled"] = bool(rule["bucket_key_enabled"])
            rules.append(entry)
        s3(aws).put_bucket_encryption(Bucket=_bucket(state), ServerSideEncryptionConfiguration={"Rules": rules or [{}]})
        return self.observed(aws, state)

    def read(self, aws: AwsContext, state: State) -> Observed | None:
        """GetBucketEncryption."""
        name = _bucket(state)
        found = _or_none(lambda: s3(aws).get_bucket_encryption(Bucket=name))
        return None if found is None else {"id": name, "bucket": name, "region": aws.region}

    def delete(self, aws: AwsContext, state: State) -> None:
        """DeleteBucketEncryption."""
        _or_none(lambda: s3(aws).delete_bucket_encryption(Bucket=_bucket(state)))


class Versioning(_BucketConfig):
    """aws_s3_bucket_versioning."""

    label = "S3 Bucket Versioning"
    refreshed = ()

    def create(self, aws: AwsContext, state: State) -> Observed:
        """PutBucketVersioning (a `Disabled` status on a never-versioned bucket needs no call, as in the provider)."""
        status = first_block(state, "versioning_configuration").get("status", "Enabled")
        if status != "Disabled":
            s3(aws).put_bucket_versioning(Bucket=_bucket(state), VersioningConfiguration={"Status": status})
        return self.observed(aws, state)

    def read(self, aws: AwsContext, state: State) -> Observed | None:
        """GetBucketVersioning; a bucket that never had versioning reports `Disabled`."""
        name = _bucket(state)
        found = _or_none(lambda: s3(aws).get_bucket_versioning(Bucket=name))
        if found is None:
            return None
        status = found.get("Status") or "Disabled"
        return {
            "id": name,
            "bucket": name,
            "region": aws.region,
            "versioning_configuration": {"status": status, "mfa_delete": found.get("MFADelete") or "Disabled"},
        }

    def delete(self, aws: AwsContext, state: State) -> None:
        """S3 cannot turn versioning off: suspend it (unless it was never on)."""
        found = _or_none(lambda: s3(aws).get_bucket_versioning(Bucket=_bucket(state)))
        if found and found.get("Status") == "Enabled":
            s3(aws).put_bucket_versioning(Bucket=_bucket(state), VersioningConfiguration={"Status": "Suspended"})


class BucketPolicy(_BucketConfig):
    """aws_s3_bucket_policy."""

    label = "S3 Bucket Policy"
    replace = ("bucket",)

    def create(self, aws: AwsContext, state: State) -> Observed:
        """PutBucketPolicy (S3 refuses a malformed policy: MalformedPolicy)."""
        s3(aws).put_bucket_policy(Bucket=_bucket(state), Policy=str(known(state, "policy")))
        return self.observed(aws, state)

    def read(self, aws: AwsContext, state: State) -> Observed | None:
        """GetBucketPolicy."""
        name = _bucket(state)
        found = _or_none(lambda: s3(aws).get_bucket_policy(Bucket=name))
        if found is None:
            return None
        return {"id": name, "bucket": name, "region": aws.region, "policy": maps.policy_json(found.get("Policy"))}

    def delete(self, aws: AwsContext, state: State) -> None:
        """DeleteBucketPolicy."""
        _or_none(lambda: s3(aws).delete_bucket_policy(Bucket=_bucket(state)))


def object_body(state: State) -> bytes:
    """What an aws_s3_object uploads: the `source` file, `content` or `content_base64` (empty otherwise)."""
    source = known(state, "source")
    if source:
        path = Path(str(source)).expanduser()
        try:
            return path.read_bytes()
        except OSError as exc:
            raise BackendError(f"opening S3 object source ({source}): {exc.strerror or exc}") from None
    if known(state, "content_base64"):
        return base64.b64decode(str(known(state, "content_base64")))
    return str(known(state, "content") or "").encode()


class Object(Handler):
    """aws_s3_object."""

    label = "S3 Object"
    replace = ("bucket", "key")
    refreshed = ("etag", "version_id")
    # resourceObjectCustomizeDiff: a content change plans a new version_id (and etag, unless configured)
    recomputed = (
        ("source", "source_hash", "content", "content_base64", "etag", "content_type", "metadata", "kms_key_id"),
        ("version_id", "etag"),
    )

    def create(self, aws: AwsContext, state: State) -> Observed:
        """PutObject with the body, content type, metadata and tags."""
        bucket, key = str(known(state, "bucket")), str(known(state, "key"))
        args: dict[str, Any] = {"Bucket": bucket, "Key": key, "Body": object_body(state)}
        for attr, name in (
            ("content_type", "ContentType"),
            ("cache_control", "CacheControl"),
            ("content_disposition", "ContentDisposition"),
            ("content_encoding", "ContentEncoding"),
            ("content_language", "ContentLanguage"),
            ("server_side_encryption", "ServerSideEncryption"),
            ("storage_class", "StorageClass"),
            ("kms_key_id", "SSEKMSKeyId"),
            ("acl", "ACL"),
        ):
            if known(state, attr):
                args[name] = known(state, attr)
        if known(state, "kms_key_id") and not known(state, "server_side_encryption"):
            args["ServerSideEncryption"] = "aws:kms"  # the provider sets it whenever kms_key_id is set
        if known(state, "metadata"):
            args["Metadata"] = {str(k): str(v) for k, v in known(state, "metadata").items()}
        tags = aws.tags(state)
        if tags:
            args["Tagging"] = "&".join(f"{k}={v}" for k, v in sorted(tags.items()))
        s3(aws).put_object(**args)
        observed = self.read(aws, {"bucket": bucket, "key": key})
        if observed is None:
            raise BackendError(f"S3 Object ({bucket}/{key}) not found right after it was uploaded")
        return observed

    def read(self, aws: AwsContext, state: State) -> Observed | None:
        """HeadObject."""
        bucket = str(known(state, "bucket"))
        key = str(known(state, "key") or known(state, "id"))
        head = _or_none(lambda: s3(aws).head_object(Bucket=bucket, Key=key))
        if head is None:
            return None
        return maps.s3_object_state(bucket, key, head, aws.region)

    def update(self, aws: AwsContext, prior: State, planned: State) -> Observed:  # noqa: ARG002 - interface
        """A new upload replaces the object (a new version on a versioned bucket)."""
        return self.create(aws, planned)

    def delete(self, aws: AwsContext, state: State) -> None:
        """Delete every version of the key (a plain DeleteObject on an unversioned bucket)."""
        bucket, key = str(known(state, "bucket")), str(known(state, "key"))
        _or_none(lambda: delete_all_versions(aws, bucket, key))
        _or_none(lambda: s3(aws).delete_object(Bucket=bucket, Key=key))
