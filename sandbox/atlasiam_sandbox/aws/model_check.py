"""Every request the emulated AWS receives is checked against botocore's service model, as AWS checks it.

AWS enforces the constraints of its API models on the server: each parameter shape's ``min``/``max`` (string
length, list length, number range), ``pattern`` and ``enum``, and the required members. botocore's client-side
validation checks only types, required members and minimums, and moto mostly checks nothing, so without this module a
70-character ``RoleName`` would be accepted here and refused by IAM (FACTS: "botocore carries the AWS API
constraints"). One mechanism, no hand-kept lists: the constraints come from the botocore models moto is
installed with.

How a request is read:

- the service from the SigV4 credential scope's signing name (``Credential=KEY/DATE/REGION/SERVICE/aws4_request``,
  in the ``Authorization`` header or a presigned URL's ``X-Amz-Credential``) mapped to botocore's service by each
  model's ``signingName`` (an unsigned request, such as STS ``AssumeRoleWithWebIdentity``, by the form's
  ``Version``); the operation from ``X-Amz-Target`` (JSON protocol) or the form's ``Action`` (query and EC2);
- JSON bodies are checked member by member, recursively; query and EC2 forms are decoded back into the same
  tree by walking the input shape the way botocore's serializers write it (``X.member.N`` lists, ``X.entry.N``
  maps, ``locationName``/``queryName`` keys and EC2's ``X.N.Y`` flattened lists), so nested members are
  checked too;
- strings: length (in UTF-16 code units, as Java counts), ``pattern`` (Java regex, see
  :mod:`atlasiam_sandbox.java_regex`; an untranslatable one is skipped and counted), ``enum``; integers, longs,
  floats and doubles: ``min``/``max``; lists and maps: ``min``/``max`` entries; structures: required members;
- where a model carries a length limit only in its documentation, as EC2 does (``Constraints: Up to 255
  characters in length`` on CreateSecurityGroup's ``GroupName``), that documented limit is checked too.

Not checked: REST protocols (S3, Lambda, EKS, …: parameters in the path, headers and XML/JSON bodies), the
CBOR protocol, blobs and timestamps, document members, unknown parameters, and semantic rules outside the model
(those stay moto's or the sandbox's own). :data:`STATS` counts what was checked, refused and passed unchecked.

A violation is answered the way the service answers it, with HTTP 400:

- query protocol (IAM, STS): ``<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>…``
  (the awsQuery error shape: https://smithy.io/2.0/aws/protocols/aws-query-protocol.html, "Operation error
  serialization"; ``ValidationError`` in IAM's and STS's "Common Errors" API reference pages);
- EC2: ``<Response><Errors><Error><Code>InvalidParameterValue</Code>…`` (``MissingParameter`` for a missing
  required parameter), one error, the first (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html);
  the message follows EC2's ``Value (sg-1) for parameter GroupName is invalid. …`` (quoted from EC2 in
  pulumi/pulumi-awsx issue #328);
- JSON protocol: ``{"__type": "ValidationException", "message": …}`` (the awsJson1_1 error shape:
  https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html).

The message is AWS's: ``1 validation error detected: Value 'x' at 'roleName' failed to satisfy constraint:
Member must have length less than or equal to 64``, several joined by ``; ``, list members as
``tags.1.member.key``, the value left out for lists, maps and sensitive members (the form of the messages IAM
returns, e.g. ``Value 'aaaaa' at 'policyArn' failed to satisfy constraint: Member must have length greater than
or equal to 20``, and Bedrock's ``at 'toolConfig.tools.1.member.toolSpec.name'`` for list members).
"""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from atlasiam_sandbox.java_regex import compile_java

logger = logging.getLogger(__name__)

Shape = Any  # botocore.model.Shape: botocore ships no type hints
ServiceModel = Any  # botocore.model.ServiceModel
Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]

_CREDENTIAL = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/,\s]+/([^/,\s]+)/aws4_request")
#: EC2 states some limits only in prose, in this form (CreateSecurityGroup GroupName and Description, IpRange
#: Description, PrefixListName, …: 9 members of EC2's input shapes in botocore 1.44).
_PROSE_MAX = re.compile(r"Constraints:\s*Up to (\d+) (?:UTF-8 )?characters in length")
_NUMBERS = frozenset({"integer", "long", "float", "double"})
_FORM = "application/x-www-form-urlencoded"


class _Missing:
    """Marks a member absent from a form."""


MISSING = _Missing()


# --- what the check saw --------------------------------------------------------------------------------------
@dataclass
class CheckStats:
    """What the check saw in this process (moto's state, like this, is process-wide)."""

    checked: Counter[str] = field(default_factory=Counter)  # "service:Operation" -> requests
    refused: Counter[str] = field(default_factory=Counter)
    unchecked: Counter[str] = field(default_factory=Counter)  # reason -> requests
    skipped_patterns: set[str] = field(default_factory=set)  # "service:shape" with an untranslatable pattern
    prose_limits: set[str] = field(default_factory=set)  # "service:shape" limited by its documentation
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, counter: Counter[str], key: str) -> None:
        """Count one request (thread-safe: moto serves each request in its own thread)."""
        with self.lock:
            counter[key] += 1

    def note(self, found: set[str], key: str) -> None:
        """Remember one shape."""
        with self.lock:
            found.add(key)

    def summary(self) -> str:
        """One line: what was checked, refused, left unchecked, and which patterns were skipped."""
        with self.lock:
            services = {key.split(":", 1)[0] for key in self.checked}
            return (
                f"model check: {sum(self.checked.values())} requests checked ({len(services)} services, "
                f"{len(self.checked)} operations), {sum(self.refused.values())} refused, "
                f"{sum(self.unchecked.values())} unchecked {dict(self.unchecked)}, "
                f"{len(self.skipped_patterns)} patterns skipped {sorted(self.skipped_patterns)}, "
                f"{len(self.prose_limits)} documented limits applied"
            )


STATS = CheckStats()


# --- botocore's models ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Meta:
    signing: str
    protocols: tuple[str, ...]
    target_prefix: str | None
    api_version: str | None


class Models:
    """botocore's service models, each loaded once, and which service a signing name means."""

    def __init__(self, session: Any = None) -> None:
        self._session = session
        self._lock = threading.Lock()
        self._models: dict[str, ServiceModel] = {}
        self._names: frozenset[str] | None = None
        self._index: dict[str, _Meta] | None = None

    def _botocore(self) -> Any:
        if self._session is None:
            import botocore.session  # deferred: heavy, and moto has usually imported it already

            self._session = botocore.session.get_session()
        return self._session

    def names(self) -> frozenset[str]:
        """Every service botocore knows."""
        if self._names is None:
            self._names = frozenset(self._botocore().get_available_services())
        return self._names

    def model(self, name: str) -> ServiceModel:
        """One service's model (cached)."""
        with self._lock:
            if name not in self._models:
                self._models[name] = self._botocore().get_service_model(name)
            return self._models[name]

    def _metadata_index(self) -> dict[str, _Meta]:
        """Signing name, protocols, target prefix and API version of every service (≈3 s, once, when needed)."""
        with self._lock:
            if self._index is None:
                loader = self._botocore().get_component("data_loader")
                index: dict[str, _Meta] = {}
                for name in sorted(self.names()):
                    md = loader.load_service_model(name, "service-2")["metadata"]
                    protocols = tuple(md.get("protocols") or [md.get("protocol", "")])
                    signing = md.get("signingName", md.get("endpointPrefix", name))
                    index[name] = _Meta(signing, protocols, md.get("targetPrefix"), md.get("apiVersion"))
                self._index = index
            return self._index

    def resolve(self, signing: str | None, protocol: str, key: str | None, operation: str) -> ServiceModel | None:
        """The one service a request means, or None when none (or more than one) fits.

        Args:
            signing: The credential scope's signing name; None for an unsigned request.
            protocol: ``json`` or ``query`` (which also fits ``ec2``).
            key: The JSON ``X-Amz-Target`` prefix, or the query form's ``Version``.
            operation: The operation name.
        """
        if signing and signing in self.names():
            # Fast path, and the usual case: the service named like its signing name (iam, sts, ec2, ssm).
            model = self.model(signing)
            if model.signing_name == signing and self._fits(model, protocol, key, operation):
                return model
        found = [
            self.model(name)
            for name, meta in self._metadata_index().items()
            if (signing is None or meta.signing == signing)
            and _protocol_fits(meta.protocols, protocol)
            and (key is None or key == (meta.target_prefix if protocol == "json" else meta.api_version))
        ]
        fitting = [m for m in found if operation in m.operation_names]
        return fitting[0] if len(fitting) == 1 else None

    @staticmethod
    def _fits(model: ServiceModel, protocol: str, key: str | None, operation: str) -> bool:
        md = model.metadata
        protocols = tuple(md.get("protocols") or [md.get("protocol", "")])
        expected = md.get("targetPrefix") if protocol == "json" else md.get("apiVersion")
        return _protocol_fits(protocols, protocol) and key in (None, expected) and operation in model.operation_names


def _protocol_fits(protocols: tuple[str, ...], protocol: str) -> bool:
    return protocol in protocols or (protocol == "query" and "ec2" in protocols)


MODELS = Models()


# --- violations and how each protocol words them ----------------------------------------------------------
@dataclass(frozen=True)
class Violation:
    """One broken constraint.

    Attributes:
        path: AWS's path in its message, e.g. ``roleName`` or ``tags.1.member.key``.
        wire: The parameter as sent, e.g. ``GroupName`` (EC2 names it in its message).
        constraint: ``Member must have length less than or equal to 64`` and the like.
        value: The value as shown in the message; None for lists, maps and sensitive members.
        null: A required member is missing.
    """

    path: str
    wire: str
    constraint: str
    value: str | None = None
    null: bool = False

    def coral(self) -> str:
        """The clause AWS's JSON and query services use."""
        shown = "Value null" if self.null else "Value" if self.value is None else f"Value '{self.value}'"
        return f"{shown} at '{self.path}' failed to satisfy constraint: {self.constraint}"

    def ec2(self) -> tuple[str, str]:
        """EC2's code and message."""
        if self.null:
            return "MissingParameter", f"The request must contain the parameter {self.wire}"
        shown = "" if self.value is None else f" ({self.value})"
        return "InvalidParameterValue", f"Value{shown} for parameter {self.wire} is invalid. {self.constraint}"


def validation_message(violations: list[Violation]) -> str:
    """``N validation error(s) detected: …; …`` as AWS writes it."""
    plural = "s" if len(violations) > 1 else ""
    return f"{len(violations)} validation error{plural} detected: " + "; ".join(v.coral() for v in violations)


# --- wire names: botocore's serializers, read backwards ------------------------------------------------------
class WireNames:
    """How a protocol names members, list items and map entries on the wire."""

    def __init__(self, protocol: str) -> None:
        self.ec2 = protocol == "ec2"

    def member(self, shape: Shape, name: str) -> str:
        """A member's key: EC2 prefers ``queryName``, then the capitalised ``locationName``."""
        serialization = shape.serialization
        if self.ec2 and "queryName" in serialization:
            return str(serialization["queryName"])
        location = serialization.get("name")
        if location and self.ec2:
            return str(location[0].upper() + location[1:])
        return str(location or name)

    def items(self, shape: Shape, key: str) -> str:
        """The key a list's ``.N`` items hang from (EC2 lists are always flattened)."""
        if self.ec2:
            return key
        member_name = shape.member.serialization.get("name")
        if shape.serialization.get("flattened"):
            return ".".join([*key.split(".")[:-1], member_name]) if member_name else key
        return f"{key}.{member_name or 'member'}"

    def entries(self, shape: Shape, key: str) -> tuple[str, str, str]:
        """A map's entry prefix and the key and value suffixes."""
        prefix = key if shape.serialization.get("flattened") else f"{key}.entry"
        return prefix, shape.key.serialization.get("name", "key"), shape.value.serialization.get("name", "value")


class FormDecoder:
    """A query or EC2 form back into the parameter tree botocore serialized it from."""

    def __init__(self, form: Mapping[str, str], names: WireNames) -> None:
        self.form = form
        self.names = names
        self.prefixes = {key.rsplit(".", n)[0] for key in form for n in range(1, key.count(".") + 1)}

    def decode(self, shape: Shape, key: str) -> Any:
        """The value at ``key`` (``""`` is the top level), or :data:`MISSING`."""
        decoder = {"structure": self._structure, "list": self._list, "map": self._map}.get(shape.type_name)
        if decoder is not None:
            return decoder(shape, key)
        raw = self.form.get(key)
        if raw is None:
            return MISSING
        return _number(shape.type_name, raw)

    def _structure(self, shape: Shape, key: str) -> Any:
        if key and key not in self.prefixes:
            return MISSING
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            sub = self.names.member(member, name)
            value = self.decode(member, f"{key}.{sub}" if key else sub)
            if value is not MISSING:
                out[name] = value
        return out

    def _list(self, shape: Shape, key: str) -> Any:
        base = self.names.items(shape, key)
        items = list(self._series(lambda i: self.decode(shape.member, f"{base}.{i}")))
        if items or self.form.get(key) == "":  # botocore sends an empty list as "Key="
            return items
        return MISSING

    def _map(self, shape: Shape, key: str) -> Any:
        prefix, key_name, value_name = self.names.entries(shape, key)
        keys = list(self._series(lambda i: self.decode(shape.key, f"{prefix}.{i}.{key_name}")))
        return {k: self.decode(shape.value, f"{prefix}.{i}.{value_name}") for i, k in enumerate(keys, 1)} or MISSING

    @staticmethod
    def _series(item: Callable[[int], Any]) -> Iterator[Any]:
        i = 1
        while (value := item(i)) is not MISSING:
            yield value
            i += 1


def _number(type_name: str, raw: str) -> Any:
    """A form value as the model's type (left as text when it does not parse: the service rejects that)."""
    try:
        if type_name in ("integer", "long"):
            return int(raw)
        if type_name in ("float", "double"):
            return float(raw)
    except ValueError:
        return raw
    return raw


# --- the constraints ------------------------------------------------------------------------------------------
def _utf16_length(value: str) -> int:
    """String length as Java (and so AWS) counts it: a character outside the BMP is two."""
    return len(value.encode("utf-16-le")) // 2


@lru_cache(maxsize=2048)
def _prose_max(documentation: str) -> int | None:
    m = _PROSE_MAX.search(documentation)
    return int(m.group(1)) if m else None


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


class ShapeChecker:
    """Walks a parameter tree against a botocore input shape and collects the violations."""

    def __init__(self, service: str, names: WireNames | None = None) -> None:
        self.service = service
        self.names = names
        self.violations: list[Violation] = []

    def check(self, shape: Shape, value: Any, path: str = "", wire: str = "") -> list[Violation]:
        """All violations of ``value`` against ``shape``."""
        kind = shape.type_name
        if kind == "structure":
            self._structure(shape, value, path, wire)
        elif kind == "list":
            self._list(shape, value, path, wire)
        elif kind == "map":
            self._map(shape, value, path, wire)
        elif kind == "string":
            self._string(shape, value, path, wire)
        elif kind in _NUMBERS:
            self._number(shape, value, path, wire)
        return self.violations

    def _add(self, path: str, wire: str, constraint: str, value: str | None = None, *, null: bool = False) -> None:
        self.violations.append(Violation(path, wire, constraint, value, null))

    def _member_wire(self, wire: str, member: Shape, name: str) -> str:
        sub = self.names.member(member, name) if self.names else name
        return f"{wire}.{sub}" if wire else sub

    def _structure(self, shape: Shape, value: Any, path: str, wire: str) -> None:
        if not isinstance(value, dict) or shape.is_document_type:
            return
        for name, member in shape.members.items():
            sub_path = f"{path}.{_lower_first(name)}" if path else _lower_first(name)
            sub_wire = self._member_wire(wire, member, name)
            if value.get(name) is None:
                if name in shape.required_members:
                    self._add(sub_path, sub_wire, "Member must not be null", null=True)
                continue
            self.check(member, value[name], sub_path, sub_wire)

    def _list(self, shape: Shape, value: Any, path: str, wire: str) -> None:
        if not isinstance(value, list):
            return
        self._size(shape, len(value), path, wire, None)
        base = self.names.items(shape, wire) if self.names else wire
        for i, item in enumerate(value, 1):
            if item is not None:
                self.check(shape.member, item, f"{path}.{i}.member", f"{base}.{i}")

    def _map(self, shape: Shape, value: Any, path: str, wire: str) -> None:
        if not isinstance(value, dict):
            return
        self._size(shape, len(value), path, wire, None)
        for label, part, items in (("keys", shape.key, value.keys()), ("value", shape.value, value.values())):
            inner = ShapeChecker(self.service, self.names)
            for item in items:
                inner.check(part, item, path, wire)
            constraints = sorted({v.constraint for v in inner.violations if not v.null})
            if constraints:  # AWS words it "Map value must satisfy constraint: [Member must …]"
                self._add(path, wire, f"Map {label} must satisfy constraint: [{', '.join(constraints)}]")

    def _size(self, shape: Shape, size: int, path: str, wire: str, shown: str | None) -> None:
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if high is None and shape.type_name == "string":
            high = _prose_max(shape.documentation or "")
            if high is not None:
                STATS.note(STATS.prose_limits, f"{self.service}:{shape.name}")
        if low is not None and size < low:
            self._add(path, wire, f"Member must have length greater than or equal to {low}", shown)
        if high is not None and size > high:
            self._add(path, wire, f"Member must have length less than or equal to {high}", shown)

    def _string(self, shape: Shape, value: Any, path: str, wire: str) -> None:
        if not isinstance(value, str):
            return
        shown = None if shape.metadata.get("sensitive") else value
        self._size(shape, _utf16_length(value), path, wire, shown)
        pattern = shape.metadata.get("pattern")
        if pattern is not None:
            compiled = compile_java(pattern)
            if compiled is None:
                STATS.note(STATS.skipped_patterns, f"{self.service}:{shape.name}")
            elif compiled.fullmatch(value) is None:  # Java's String.matches: the whole value
                self._add(path, wire, f"Member must satisfy regular expression pattern: {pattern}", shown)
        enum = shape.metadata.get("enum")
        if enum and value not in enum:
            self._add(path, wire, f"Member must satisfy enum value set: [{', '.join(enum)}]", shown)

    def _number(self, shape: Shape, value: Any, path: str, wire: str) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and value < low:
            self._add(path, wire, f"Member must have value greater than or equal to {low}", str(value))
        if high is not None and value > high:
            self._add(path, wire, f"Member must have value less than or equal to {high}", str(value))


def check_params(service: ServiceModel, operation: str, params: Any, protocol: str) -> list[Violation]:
    """The violations of one operation's input (a decoded JSON body, or a form decoded by :class:`FormDecoder`)."""
    shape = service.operation_model(operation).input_shape
    if shape is None:
        return []
    names = WireNames(protocol) if protocol in ("query", "ec2") else None
    return ShapeChecker(service.service_name, names).check(shape, params)


# --- the WSGI middleware ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    """One AWS API call, identified."""

    service: ServiceModel
    operation: str
    protocol: str  # json | query | ec2
    params: Any


Response = tuple[str, list[tuple[str, str]], bytes]


def refusal(call: Call, violations: list[Violation]) -> Response:
    """HTTP 400 in the service's own error shape (see the module docstring for the sources)."""
    request_id = str(uuid.uuid4())
    if call.protocol == "json":
        message = validation_message(violations)
        body = json.dumps({"__type": "ValidationException", "message": message}).encode()
        content_type = f"application/x-amz-json-{call.service.metadata.get('jsonVersion', '1.0')}"
        headers = [("x-amzn-RequestId", request_id), ("x-amzn-ErrorType", "ValidationException")]
        return "400 Bad Request", [("Content-Type", content_type), *headers], body
    if call.protocol == "ec2":
        code, text = violations[0].ec2()
        xml = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
            f"<Message>{escape(text)}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
        )
    else:
        namespace = call.service.metadata.get("xmlNamespace")
        xmlns = f' xmlns="{namespace}"' if namespace else ""
        xml = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse{xmlns}><Error><Type>Sender</Type>'
            f"<Code>ValidationError</Code><Message>{escape(validation_message(violations))}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
    return "400 Bad Request", headers, xml.encode()


def _signing_name(environ: Environ) -> str | None:
    """The signing name of the credential scope, from the Authorization header or a presigned URL's query."""
    m = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION") or "")
    if m is None:
        presigned = dict(parse_qsl(str(environ.get("QUERY_STRING") or ""))).get("X-Amz-Credential", "")
        m = _CREDENTIAL.search(f"Credential={presigned}")
    return m.group(1) if m else None


def _read_body(environ: Environ) -> bytes:
    """The whole request body, put back so that moto reads it as if untouched."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = environ.get("CONTENT_LENGTH")
    if length:
        body = bytes(stream.read(int(length)))
    elif environ.get("wsgi.input_terminated"):
        body = bytes(stream.read())
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


class ModelCheck:
    """WSGI middleware: refuse what the service's model refuses, pass everything else to ``app`` unchanged."""

    def __init__(self, app: WsgiApp, models: Models | None = None) -> None:
        self.app = app
        self.models = models or MODELS

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        """Check one request; answer a violation, forward the rest."""
        try:
            call = self.identify(environ)
            violations = [] if call is None else check_params(call.service, call.operation, call.params, call.protocol)
        except Exception:  # noqa: BLE001 - a bug here must not take AWS down: log it, let the request through
            logger.exception("model check failed; request passed unchecked")
            STATS.count(STATS.unchecked, "check error")
            return self.app(environ, start_response)
        if call is None or not violations:
            return self.app(environ, start_response)
        key = f"{call.service.service_name}:{call.operation}"
        STATS.count(STATS.refused, key)
        logger.info("model check refused %s: %s", key, validation_message(violations))
        status, headers, body = refusal(call, violations)
        start_response(status, [*headers, ("Content-Length", str(len(body)))])
        return [body]

    def identify(self, environ: Environ) -> Call | None:
        """The call a request makes, or None (counted in :data:`STATS` as unchecked, with the reason)."""
        signing = _signing_name(environ)
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            return self._json(environ, signing, str(target))
        content_type = str(environ.get("CONTENT_TYPE") or "")
        form = dict(parse_qsl(str(environ.get("QUERY_STRING") or ""), keep_blank_values=True))
        if content_type.startswith(_FORM):
            form |= dict(parse_qsl(_read_body(environ).decode("utf-8", "replace"), keep_blank_values=True))
        if "Action" not in form:
            if not str(environ.get("PATH_INFO") or "").startswith("/moto-api"):  # moto's own API is not AWS
                STATS.count(STATS.unchecked, f"rest protocol ({signing or 'unsigned'})")
            return None
        return self._query(signing, form)

    def _json(self, environ: Environ, signing: str | None, target: str) -> Call | None:
        prefix, _, operation = target.rpartition(".")
        service = self.models.resolve(signing, "json", prefix, operation)
        if service is None:
            STATS.count(STATS.unchecked, f"unknown service ({signing}, {prefix})")
            return None
        try:
            params = json.loads(_read_body(environ) or b"{}")
        except ValueError:
            STATS.count(STATS.unchecked, "body is not JSON")
            return None
        STATS.count(STATS.checked, f"{service.service_name}:{operation}")
        return Call(service, operation, "json", params)

    def _query(self, signing: str | None, form: dict[str, str]) -> Call | None:
        operation = form["Action"]
        service = self.models.resolve(signing, "query", form.get("Version"), operation)
        if service is None:
            STATS.count(STATS.unchecked, f"unknown service ({signing}, {operation})")
            return None
        protocol = "ec2" if service.protocol == "ec2" else "query"
        shape = service.operation_model(operation).input_shape
        params = {} if shape is None else FormDecoder(form, WireNames(protocol)).decode(shape, "")
        STATS.count(STATS.checked, f"{service.service_name}:{operation}")
        return Call(service, operation, protocol, params)


def install(server: Any) -> ModelCheck:
    """Put the check in front of a started ``moto.server.ThreadedMotoServer``'s WSGI app.

    ThreadedMotoServer has no hook for middleware. Its ``_server`` is the werkzeug ``BaseWSGIServer`` it built in
    ``_server_entry``, whose request handler looks up ``self.server.app`` for every request
    (``werkzeug.serving.WSGIRequestHandler.run_wsgi``), so replacing ``app`` once the server is up puts the check
    in front of every request that follows. Read against moto 5.2 (``moto/moto_server/threaded_moto_server.py``).
    """
    wsgi = server._server  # see above: the one way in
    if wsgi is None:
        raise RuntimeError("start the moto server before installing the model check")
    middleware = ModelCheck(wsgi.app)
    wsgi.app = middleware
    return middleware


def check_ssm(operation: str, body: bytes) -> None:
    """Refuse an SSM call our own endpoint serves (not moto) when it breaks SSM's model, as SSM does.

    Raises:
        SsmError: ``ValidationException`` with AWS's message.
    """
    # Imported here: the SSM endpoint imports this module, and models.py must not import it back at load time.
    from atlasiam_sandbox.aws.ssm.models import SsmError

    service = MODELS.model("ssm")
    try:
        params = json.loads(body or b"{}")
    except ValueError:
        return
    STATS.count(STATS.checked, f"ssm:{operation}")
    violations = check_params(service, operation, params, "json")
    if violations:
        STATS.count(STATS.refused, f"ssm:{operation}")
        raise SsmError("ValidationException", validation_message(violations))
