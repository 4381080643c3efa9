"""The REST front door: Google's JSON-over-HTTP surface of the emulated APIs, so tools that speak
REST (the ``gcloud`` CLI, ``curl``) work against the emulator.

A request is matched to its RPC by Google's HTTP rules (``rest_routes``), turned into the RPC's
request message with the protobuf JSON mapping (path variables, then the body, then the query
parameters), and answered by the very method the gRPC server serves: its wire bytes go through
the method's own ``deserialize``, engine call (with its fault injection) and ``serialize``. The
response message goes back as JSON with Google's camelCase names; an error as Google's error body
``{"error": {"code", "message", "status", "details"}}`` with the HTTP status Google maps the gRPC
status code to.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import proto
from google.api_core import exceptions as api_exceptions
from google.protobuf import any_pb2, json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from emulator.server.grpc_api import ServiceTable, UnaryMethod, status_of
from emulator.server.rest_routes import ROUTES, RestRoute

logger = logging.getLogger(__name__)

#: Path prefixes of the REST surface (the control API's own paths never start so).
REST_PREFIXES = ("/v1/projects/", "/v2/projects/")
#: Google's system parameters: accepted in any query and not request fields.
SYSTEM_PARAMETERS = frozenset(
    {"alt", "prettyPrint", "fields", "key", "access_token", "oauth_token", "quotaUser", "$.xgafv"}
)
_MESSAGE = FieldDescriptor.TYPE_MESSAGE


class RestApi:
    """Answers REST requests with the methods of ``tables`` (those of the gRPC server)."""

    def __init__(self, tables: Iterable[ServiceTable]) -> None:
        methods = {(t.name, rpc): spec for t in tables for rpc, spec in t.methods.items()}
        self._routes = [
            (route, methods[route.service, route.rpc])
            for route in ROUTES
            if (route.service, route.rpc) in methods
        ]

    @staticmethod
    def serves(path: str) -> bool:
        """Whether ``path`` belongs to the REST surface rather than the control API."""
        return path.startswith(REST_PREFIXES)

    def handle(
        self, verb: str, path: str, query: Mapping[str, list[str]], body: bytes
    ) -> tuple[int, Any]:
        """The HTTP status and JSON payload answering ``verb path?query`` with ``body``."""
        try:
            route, method, bound = self._match(verb, path)
            fields = request_fields(route, bound, query, body, method.request_type)
            return 200, call_with_json(method, fields)
        except api_exceptions.GoogleAPICallError as error:
            return error_response(error)
        except Exception as error:
            logger.exception("REST %s %s failed unexpectedly.", verb, path)
            return error_response(api_exceptions.InternalServerError(f"Emulator error: {error}"))

    def _match(self, verb: str, path: str) -> tuple[RestRoute, UnaryMethod, dict[str, str]]:
        verbs = []
        for route, method in self._routes:
            bound = route.match(path)
            if bound is None:
                continue
            if route.verb == verb:
                return route, method, bound
            verbs.append(route.verb)
        if verbs:
            raise api_exceptions.NotFound(
                f"{path} answers {', '.join(sorted(set(verbs)))}, not {verb}."
            )
        raise api_exceptions.NotFound(f"No API method of the emulator is at {path}.")


def request_fields(
    route: RestRoute,
    bound: Mapping[str, str],
    query: Mapping[str, list[str]],
    body: bytes,
    request_type: Any,
) -> dict[str, Any] | None:
    """The request as a JSON object: query parameters, then the body, then path variables."""
    if request_type is None:  # a method the emulator refuses: it needs no request
        return None
    descriptor = pb_class(request_type).DESCRIPTOR
    fields = query_fields(descriptor, query)
    payload = _json_object(body)
    if route.body == "*":
        fields.update(payload)
    elif route.body is not None:
        fields[route.body] = payload
    elif payload:
        raise api_exceptions.InvalidArgument(f"{route.verb} {route.template} takes no body.")
    for name, value in bound.items():
        _set_dotted(fields, name.split("."), value)
    return fields


def query_fields(descriptor: Descriptor, query: Mapping[str, list[str]]) -> dict[str, Any]:
    """The request fields named by query parameters (``pageSize=5``, ``queue.name=...``),
    converted to what the JSON mapping expects of each field's type."""
    fields: dict[str, Any] = {}
    for name, values in query.items():
        if name in SYSTEM_PARAMETERS:
            continue
        field = _field_at(descriptor, name)
        if field.is_repeated:
            value: Any = [_scalar(field, name, v) for v in values]
        else:
            value = _scalar(field, name, values[-1])
        _set_dotted(fields, name.split("."), value)
    return fields


def call_with_json(method: UnaryMethod, fields: dict[str, Any] | None) -> Any:
    """Call ``method`` as the gRPC server does, with its request given and answered as JSON."""
    request = None
    if fields is not None:
        message = pb_class(method.request_type)()
        try:
            json_format.ParseDict(fields, message)
        except json_format.ParseError as error:
            raise api_exceptions.InvalidArgument(
                f"Invalid JSON payload received. {error}"
            ) from None
        assert method.deserialize is not None
        request = method.deserialize(message.SerializeToString())
    response = method.call(request)
    assert method.serialize is not None
    answer = pb_class(method.response_type).FromString(method.serialize(response))
    return json_format.MessageToDict(answer)


def error_response(error: api_exceptions.GoogleAPICallError) -> tuple[int, dict[str, Any]]:
    """Google's JSON error body for ``error`` and the HTTP status of its gRPC status code."""
    code = status_of(error)
    http_status = api_exceptions.exception_class_for_grpc_status(code).code or 500
    body: dict[str, Any] = {"code": http_status, "message": error.message, "status": code.name}
    details = [_detail(detail) for detail in error.details or () if isinstance(detail, Message)]
    if details:
        body["details"] = details
    return http_status, {"error": body}


def pb_class(message_type: Any) -> type[Message]:
    """The protobuf class of ``message_type`` (a proto-plus class or a protobuf class)."""
    if isinstance(message_type, type) and issubclass(message_type, proto.Message):
        return message_type.pb()
    return message_type


def _detail(detail: Message) -> dict[str, Any]:
    packed = detail
    if not isinstance(detail, any_pb2.Any):
        packed = any_pb2.Any()
        packed.Pack(detail)
    try:
        return json_format.MessageToDict(packed)
    except (TypeError, KeyError, json_format.Error):
        return {"@type": packed.type_url}


def _field_at(descriptor: Descriptor, dotted: str) -> FieldDescriptor:
    """The field a dotted query parameter names, by its JSON or proto name."""
    current: Descriptor | None = descriptor
    field = None
    for part in dotted.split("."):
        if current is None:
            field = None
            break
        field = current.fields_by_camelcase_name.get(part) or current.fields_by_name.get(part)
        if field is None:
            break
        current = field.message_type if field.type == _MESSAGE else None
    if field is None:
        raise api_exceptions.InvalidArgument(
            f"Invalid JSON payload received. Unknown name {dotted!r}: Cannot bind query "
            f"parameter. Field {dotted!r} could not be found in request message."
        )
    return field


def _scalar(field: FieldDescriptor, name: str, raw: str) -> Any:
    if field.type != FieldDescriptor.TYPE_BOOL:
        return raw  # numbers, enums, masks, durations: the JSON mapping reads them from strings
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise api_exceptions.InvalidArgument(f"Query parameter {name!r} must be true or false.")


def _set_dotted(fields: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        inner = fields.get(part)
        if not isinstance(inner, dict):
            inner = fields[part] = {}
        fields = inner
    fields[path[-1]] = value


def _json_object(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise api_exceptions.InvalidArgument(f"Invalid JSON payload received. {error}") from None
    if not isinstance(payload, dict):
        raise api_exceptions.InvalidArgument(
            "Invalid JSON payload received. The body must be a JSON object."
        )
    return payload
