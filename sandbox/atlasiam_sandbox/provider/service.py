"""The `tfplugin6.Provider` servicer: decodes requests, calls the pure value logic, encodes responses."""

from __future__ import annotations

import functools
import logging
import os
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tf.gen import tfplugin_pb2 as pb

from atlasiam_sandbox.provider.codec import (
    Value,
    decode_json,
    decode_msgpack,
    encode_msgpack,
    to_json_compatible,
)
from atlasiam_sandbox.provider.schema import ProviderSchema

if TYPE_CHECKING:
    from types import ModuleType

logger = logging.getLogger(__name__)

TRACE_ENV = "ATLASIAM_PROVIDER_TRACE"
"""If set, every RPC appends `<pid> <method>` to this file (to see what Terraform calls)."""

_F = TypeVar("_F", bound=Callable[..., Any])


def error_diagnostic(summary: str, detail: str = "") -> Any:
    """An error `Diagnostic`."""
    return pb.Diagnostic(severity=pb.Diagnostic.ERROR, summary=summary, detail=detail)


def _trace(method: str) -> None:
    path = os.environ.get(TRACE_ENV)
    if path:
        with Path(path).open("a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()} {method}\n")


def rpc(response: Callable[..., Any]) -> Callable[[_F], _F]:
    """Decorate an RPC method: log/trace it and turn exceptions into an error diagnostic."""

    def decorate(method: _F) -> _F:
        @functools.wraps(method)
        def wrapper(self: Any, request: Any, context: Any) -> Any:
            logger.debug("rpc %s", method.__name__)
            _trace(method.__name__)
            try:
                return method(self, request, context)
            except Exception as exc:
                logger.exception("rpc %s failed", method.__name__)
                return response(diagnostics=[error_diagnostic(f"{method.__name__}: {exc}", traceback.format_exc())])

        return wrapper  # type: ignore[return-value]

    return decorate


def _fill() -> ModuleType:
    """The apply/read value logic, imported on first use to keep plugin start-up short."""
    from atlasiam_sandbox.provider import fill

    return fill


def _planning() -> ModuleType:
    from atlasiam_sandbox.provider import planning

    return planning


def _backends() -> ModuleType:
    """The moto-backed handler registry (light; handler modules and boto3 load only when used)."""
    from atlasiam_sandbox.provider import backends

    return backends


def _dispatch() -> ModuleType:
    from atlasiam_sandbox.provider.backends import dispatch

    return dispatch


def _outcome_diagnostics(outcome: Any) -> list[Any]:
    error = outcome.error
    return [] if error is None else [error_diagnostic(error.summary, error.detail)]


def _validators() -> ModuleType:
    from atlasiam_sandbox.provider import validators

    return validators


def _problem_diagnostics(problems: list[Any]) -> list[Any]:
    """Error diagnostics pointing at the attribute, as the real providers report their validation errors."""
    return [
        pb.Diagnostic(
            severity=pb.Diagnostic.ERROR,
            summary=p.summary,
            detail=p.detail,
            attribute=pb.AttributePath(steps=[pb.AttributePath.Step(attribute_name=p.attribute)]),
        )
        for p in problems
    ]


def _dv(data: bytes) -> Any:
    return pb.DynamicValue(msgpack=data)


class ProviderService:
    """Serves one provider schema; plan/apply logic is in `planning` and `fill`.

    Args:
        schema_path: The provider's schema JSON file (read on first use).
        on_stop: Called after `StopProvider` has been answered.
        schema_cache: Optional file holding a serialized `GetProviderSchema.Response` for this schema.
    """

    def __init__(
        self,
        schema_path: Path,
        on_stop: Callable[[], None] | None = None,
        schema_cache: Path | None = None,
    ) -> None:
        self._schema_path = schema_path
        self._schema_cache = schema_cache
        self._schema: ProviderSchema | None = None
        self._schema_response: Any = None
        self._lock = threading.Lock()
        self._on_stop = on_stop
        self.provider_config: dict[str, Any] = {}

    @property
    def schema(self) -> ProviderSchema:
        """The provider schema, loaded on first use."""
        with self._lock:
            if self._schema is None:
                self._schema = ProviderSchema.load(self._schema_path)
            return self._schema

    def warm_up(self) -> None:
        """Import the value logic and load the schema (called after the handshake, before the first RPC)."""
        _fill()
        _ = self.schema

    @staticmethod
    def capabilities() -> Any:
        """What this server supports: planning destroys, and a cacheable schema."""
        return pb.ServerCapabilities(plan_destroy=True, get_provider_schema_optional=True)

    @rpc(pb.GetMetadata.Response)
    def GetMetadata(self, _request: Any, _context: Any) -> Any:  # noqa: N802, D102 - gRPC names
        return pb.GetMetadata.Response(
            server_capabilities=self.capabilities(),
            resources=[pb.GetMetadata.ResourceMetadata(type_name=t) for t in self.schema.resource_types],
            data_sources=[pb.GetMetadata.DataSourceMetadata(type_name=t) for t in self.schema.data_source_types],
        )

    @rpc(pb.GetProviderSchema.Response)
    def GetProviderSchema(self, _request: Any, _context: Any) -> Any:  # noqa: N802, D102
        if self._schema_response is None:
            self._schema_response = self._load_schema_response()
        return self._schema_response

    def _load_schema_response(self) -> Any:
        cache = self._schema_cache
        if cache is not None and cache.is_file() and cache.stat().st_mtime >= self._schema_path.stat().st_mtime:
            return pb.GetProviderSchema.Response.FromString(cache.read_bytes())
        from atlasiam_sandbox.provider.proto_schema import provider_schema_response

        return provider_schema_response(self.schema.raw, self.capabilities())

    @rpc(pb.ValidateProviderConfig.Response)
    def ValidateProviderConfig(self, _request: Any, _context: Any) -> Any:  # noqa: N802, D102
        return pb.ValidateProviderConfig.Response()

    @rpc(pb.ConfigureProvider.Response)
    def ConfigureProvider(self, request: Any, _context: Any) -> Any:  # noqa: N802, D102
        config = decode_msgpack(request.config.msgpack, self.schema.provider.block.type)
        self.provider_config = to_json_compatible(config) or {}
        return pb.ConfigureProvider.Response()

    @rpc(pb.ValidateResourceConfig.Response)
    def ValidateResourceConfig(self, request: Any, _context: Any) -> Any:  # noqa: N802, D102
        if request.type_name not in self.schema.resource_types:
            return pb.ValidateResourceConfig.Response(
                diagnostics=[error_diagnostic(f"unsupported resource type {request.type_name}")]
            )
        # Terraform calls this at validate, and again at plan and apply with the values known by then.
        config = decode_msgpack(request.config.msgpack, self.schema.resource(request.type_name).block.type)
        problems = _validators().validate(request.type_name, config)
        return pb.ValidateResourceConfig.Response(diagnostics=_problem_diagnostics(problems))

    @rpc(pb.ValidateDataResourceConfig.Response)
    def ValidateDataResourceConfig(self, request: Any, _context: Any) -> Any:  # noqa: N802, D102
        if request.type_name not in self.schema.data_source_types:
            return pb.ValidateDataResourceConfig.Response(
                diagnostics=[error_diagnostic(f"unsupported data source {request.type_name}")]
            )
        return pb.ValidateDataResourceConfig.Response()

    @rpc(pb.UpgradeResourceState.Response)
    def UpgradeResourceState(self, request: Any, _context: Any) -> Any:  # noqa: N802, D102
        block = self.schema.resource(request.type_name).block
        raw = request.raw_state.json
        state: Value = decode_json(raw, block.type) if raw else None
        if isinstance(state, dict):
            state = _fill().empty_blocks(block, state)
        return pb.UpgradeResourceState.Response(upgraded_state=_dv(encode_msgpack(state, block.type)))

    @rpc(pb.ReadResource.Response)
    def ReadResource(self, request: Any, _context: Any) -> Any:  # noqa: N802, D102
        handler = _backends().resource_handler(request.type_name)
        if handler is None:
            return pb.ReadResource.Response(new_state=request.current_state, private=request.private)
        block = self.schema.resource(request.type_name).block
        current = decode_msgpack(request.current_state.msgpack, block.type)
        outcome = _dispatch().refresh(handler, current, self.provider_config)
        return pb.ReadResource.Response(
            new_state=_dv(encode_msgpack(outcome.state, block.type)),
            private=request.private,
            diagnostics=_outcome_diagnostics(outcome),
        )

    @rpc(pb.PlanResourceChange.Response)
    def PlanResourceChange(self, request: Any, _context: Any) -> Any:  # noqa: N802, D102
        block = self.schema.resource(request.type_name).block
        prior = decode_msgpack(request.prior_state.msgpack, block.type)
        proposed = decode_msgpack(request.proposed_new_state.msgpack, block.type)
        planned = _planning().plan_resource(block, proposed)
        if request.type_name.startswith("aws_"):
            planned = _planning().plan_tags_all(block, planned, _planning().default_tags(self.provider_config))
        handler = _backends().resource_handler(request.type_name)
        if handler is not None and handler.recomputed:
            config = decode_msgpack(request.config.msgpack, block.type)
            planned = _planning().recompute_on_change(planned, prior, config, *handler.recomputed)
        names = _fill().REQUIRES_REPLACE.get(request.type_name, ()) + _backends().replace_attributes(request.type_name)
        replace = _planning().requires_replace(tuple(dict.fromkeys(names)), prior, planned)
        return pb.PlanResourceChange.Response(
            planned_state=_dv(encode_msgpack(planned, block.type)),
            requires_replace=[pb.AttributePath(steps=[pb.AttributePath.Step(attribute_name=n)]) for n in replace],
            planned_private=request.prior_private,
        )

    @rpc(pb.ApplyResourceChange.Response)
    def ApplyResourceChange(self, request: Any, _context: Any) -> Any:  # noqa: N802, D102
        block = self.schema.resource(request.type_name).block
        planned = decode_msgpack(request.planned_state.msgpack, block.type)
        config = decode_msgpack(request.config.msgpack, block.type)
        prior = decode_msgpack(request.prior_state.msgpack, block.type)
        if prior is None and planned is not None:
            region = str(self.provider_config.get("region") or "us-east-1")
            refused = _validators().create_problems(request.type_name, config, region)
            if refused:
                return pb.ApplyResourceChange.Response(
                    new_state=request.prior_state, diagnostics=_problem_diagnostics(refused)
                )
            fault = _backends().injected_fault(request.type_name)
            if fault is not None:
                return pb.ApplyResourceChange.Response(
                    new_state=request.prior_state, diagnostics=[error_diagnostic(fault)]
                )
        handler = _backends().resource_handler(request.type_name)
        if handler is None:
            new = _fill().apply_resource(request.type_name, block, planned, config, self.provider_config)
            diagnostics: list[Any] = []
        else:
            outcome = _dispatch().apply_change(
                handler, request.type_name, block, (prior, planned, config), self.provider_config
            )
            new, diagnostics = outcome.state, _outcome_diagnostics(outcome)
        return pb.ApplyResourceChange.Response(
            new_state=_dv(encode_msgpack(new, block.type)), private=request.planned_private, diagnostics=diagnostics
        )

    @rpc(pb.ImportResourceState.Response)
    def ImportResourceState(self, request: Any, _context: Any) -> Any:  # noqa: N802, D102
        block = self.schema.resource(request.type_name).block
        handler = _backends().resource_handler(request.type_name)
        if handler is None:
            state = _fill().imported_state(block, request.id)
        else:
            outcome = _dispatch().import_state(handler, request.type_name, block, request.id, self.provider_config)
            if outcome.error is not None:
                return pb.ImportResourceState.Response(diagnostics=_outcome_diagnostics(outcome))
            state = outcome.state
        return pb.ImportResourceState.Response(
            imported_resources=[
                pb.ImportResourceState.ImportedResource(
                    type_name=request.type_name, state=_dv(encode_msgpack(state, block.type))
                )
            ]
        )

    @rpc(pb.MoveResourceState.Response)
    def MoveResourceState(self, _request: Any, _context: Any) -> Any:  # noqa: N802, D102
        return pb.MoveResourceState.Response(
            diagnostics=[error_diagnostic("moving resource state is not supported by the stand-in provider")]
        )

    @rpc(pb.ReadDataSource.Response)
    def ReadDataSource(self, request: Any, _context: Any) -> Any:  # noqa: N802, D102
        block = self.schema.data_source(request.type_name).block
        config = decode_msgpack(request.config.msgpack, block.type) or {}
        handler = _backends().data_handler(request.type_name)
        if handler is None:
            state = _fill().read_data_source(request.type_name, block, config, self.provider_config)
            return pb.ReadDataSource.Response(state=_dv(encode_msgpack(state, block.type)))
        outcome = _dispatch().read_data(handler, request.type_name, block, config, self.provider_config)
        if outcome.error is not None:
            return pb.ReadDataSource.Response(diagnostics=_outcome_diagnostics(outcome))
        return pb.ReadDataSource.Response(state=_dv(encode_msgpack(outcome.state, block.type)))

    @rpc(pb.GetFunctions.Response)
    def GetFunctions(self, _request: Any, _context: Any) -> Any:  # noqa: N802, D102
        return pb.GetFunctions.Response()

    def CallFunction(self, request: Any, _context: Any) -> Any:  # noqa: N802, D102
        _trace("CallFunction")
        return pb.CallFunction.Response(error=pb.FunctionError(text=f"no function {request.name}"))

    def StopProvider(self, _request: Any, context: Any) -> Any:  # noqa: N802, D102
        _trace("StopProvider")
        if self._on_stop is not None:
            context.add_callback(self._on_stop)
        return pb.StopProvider.Response()
