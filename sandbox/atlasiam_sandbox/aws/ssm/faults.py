"""Fault injection for the SSM endpoint: a separate layer wrapped around its dispatch.

:class:`FaultInjector` holds "fail the next N calls of operation X" entries; :meth:`FaultInjector.wrap` puts
the table in front of a dispatch function, so a pending fault is raised instead of serving (or forwarding to
moto) the call. This makes throttling and 5xx bursts reproducible, for every ``AmazonSSM.*`` operation.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from atlasiam_sandbox.aws.ssm.models import SsmError
from atlasiam_sandbox.aws.ssm.responses import SsmRequest

_R = TypeVar("_R")


class FaultInjector:
    """A thread-safe table of "fail the next N calls of operation X" entries (``"*"`` = any operation)."""

    def __init__(self) -> None:
        self._table: dict[str, list[tuple[SsmError, int]]] = {}
        self._lock = threading.Lock()

    def throttle(self, operation: str, times: int = 1) -> None:
        """The next ``times`` calls of ``operation`` get ``ThrottlingException`` (HTTP 400)."""
        self.add(operation, SsmError("ThrottlingException", "Rate exceeded", 400), times)

    def server_errors(self, operation: str, times: int = 1, status: int = 500) -> None:
        """The next ``times`` calls of ``operation`` get an ``InternalServerError`` with HTTP ``status``."""
        self.add(operation, SsmError("InternalServerError", "Internal server error", status), times)

    def add(self, operation: str, error: SsmError, times: int = 1) -> None:
        """Queue an arbitrary error for the next ``times`` calls of ``operation``."""
        with self._lock:
            self._table.setdefault(operation, []).append((error, times))

    def clear(self) -> None:
        """Forget all pending faults."""
        with self._lock:
            self._table.clear()

    def take(self, operation: str) -> SsmError | None:
        """Consume one pending fault for ``operation`` (exact name first, then ``"*"``)."""
        with self._lock:
            for key in (operation, "*"):
                queue = self._table.get(key)
                if queue:
                    error, left = queue[0]
                    if left <= 1:
                        queue.pop(0)
                    else:
                        queue[0] = (error, left - 1)
                    return error
        return None

    def wrap(self, dispatch: Callable[[SsmRequest], _R]) -> Callable[[SsmRequest], _R]:
        """``dispatch`` behind this table: a request whose operation has a pending fault raises it instead."""

        def faulty(request: SsmRequest) -> _R:
            # No operation name: not an AmazonSSM.* call, so no fault applies (not even "*").
            fault = self.take(request.operation) if request.operation else None
            if fault is not None:
                raise fault
            return dispatch(request)

        return faulty
