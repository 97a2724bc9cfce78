"""Small EC2 helpers shared by the network and instance handlers (tags, not-found reads, dependent deletes)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, TypeVar

from atlasiam_sandbox.provider.backends.base import (
    AwsContext,
    BackendError,
    Handler,
    State,
    error_code,
    is_not_found,
    known,
    wait_for,
)
from atlasiam_sandbox.provider.backends.maps import tag_list

_T = TypeVar("_T")

_DEPENDENCY_CODES = ("DependencyViolation", "InvalidParameterValue", "ResourceInUse")


def ec2(aws: AwsContext) -> Any:
    """The EC2 client."""
    return aws.client("ec2")


def set_ec2_tags(aws: AwsContext, ident: str, old: Mapping[str, str], new: Mapping[str, str]) -> None:
    """Make the tags of EC2 object `ident` go from `old` to `new`."""
    removed = [{"Key": k} for k in old if k not in new]
    if removed:
        ec2(aws).delete_tags(Resources=[ident], Tags=removed)
    changed = {k: v for k, v in new.items() if old.get(k) != v}
    if changed:
        ec2(aws).create_tags(Resources=[ident], Tags=tag_list(changed))


def or_none(call: Callable[[], _T]) -> _T | None:
    """`call()`, or None when it fails with an AWS "not found" error."""
    try:
        return call()
    except Exception as exc:
        if is_not_found(exc):
            return None
        raise


def first(items: Iterable[_T] | None) -> _T | None:
    """The first item, or None."""
    return next(iter(items or ()), None)


def ignore_missing(call: Callable[[], object]) -> None:
    """Run a delete call; an object that is already gone is fine."""
    or_none(call)


def delete_when_free(call: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    """Retry a delete while AWS still reports dependents (`DependencyViolation`), as the real provider does."""
    last: list[BaseException] = []

    def attempt() -> bool | None:
        try:
            ignore_missing(call)
        except Exception as exc:
            if error_code(exc) not in _DEPENDENCY_CODES:
                raise
            last[:] = [exc]
            return None
        return True

    try:
        wait_for(attempt, f"{what} to lose its dependents", timeout=timeout)
    except BackendError:
        if last:
            raise last[0] from None
        raise


class Ec2Handler(Handler):
    """An EC2 object whose `id` is its AWS id and whose tags are EC2 tags."""

    label: ClassVar[str] = "EC2 object"

    def update_tags(self, aws: AwsContext, state: State, old: dict[str, str], new: dict[str, str]) -> None:
        """Retag the object through CreateTags/DeleteTags."""
        set_ec2_tags(aws, str(known(state, "id")), old, new)

    def tag_new(self, aws: AwsContext, ident: str, state: State) -> None:
        """Tag a just-created object with default tags + its own tags."""
        set_ec2_tags(aws, ident, {}, aws.tags(state))
