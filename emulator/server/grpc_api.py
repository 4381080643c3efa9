"""The gRPC front door: Google's services on one port, built from generic handlers.

Each service is a table of unary methods, each with the official client's own message classes
for (de)serialization, so no protoc step is needed and the wire format is exactly the client's.
More services (Cloud Scheduler, Cloud Run Jobs, long-running operations) join the same server by
adding their table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
from google.api_core import exceptions as api_exceptions
from google.iam.v1 import iam_policy_pb2
from google.protobuf import empty_pb2
from google.protobuf.message import Message
from google.rpc import status_pb2

logger = logging.getLogger(__name__)

DEFAULT_MAX_WORKERS = 32
STATUS_DETAILS_KEY = "grpc-status-details-bin"
"""The trailer carrying a serialized ``google.rpc.Status`` with an error's rich details."""


@dataclass(frozen=True)
class UnaryMethod:
    """One unary RPC: how to read its request, what to do, how to write its response.

    ``request_type`` and ``response_type`` are the message classes (proto-plus or protobuf) that
    ``deserialize`` and ``serialize`` read and write: the REST front door maps JSON through them.
    """

    deserialize: Callable[[bytes], Any] | None
    serialize: Callable[[Any], bytes] | None
    call: Callable[[Any], Any]
    request_type: Any = None
    response_type: Any = None


@dataclass(frozen=True)
class ServiceTable:
    """A gRPC service (full name, e.g. ``google.cloud.tasks.v2.CloudTasks``) and its methods."""

    name: str
    methods: Mapping[str, UnaryMethod]


def message_method(
    request_type: Any, response_type: Any, call: Callable[[Any], Any]
) -> UnaryMethod:
    """A method whose request and response are the official client's proto-plus messages."""
    return UnaryMethod(
        request_type.deserialize, response_type.serialize, call, request_type, response_type
    )


def empty_method(request_type: Any, call: Callable[[Any], None]) -> UnaryMethod:
    """A method answering ``google.protobuf.Empty`` (Delete RPCs)."""

    def respond(request: Any) -> empty_pb2.Empty:
        call(request)
        return empty_pb2.Empty()

    return UnaryMethod(
        request_type.deserialize,
        empty_pb2.Empty.SerializeToString,
        respond,
        request_type,
        empty_pb2.Empty,
    )


def protobuf_method(
    request_type: type[Message], response_type: type[Message], call: Callable[[Any], Any]
) -> UnaryMethod:
    """A method whose request and response are plain protobuf messages (not proto-plus)."""
    return UnaryMethod(
        request_type.FromString, response_type.SerializeToString, call, request_type, response_type
    )


def test_iam_permissions_method(
    call: Callable[[iam_policy_pb2.TestIamPermissionsRequest], Any],
) -> UnaryMethod:
    """``TestIamPermissions``, whose messages are ``google.iam.v1``'s (protobuf, not proto-plus)."""
    return protobuf_method(
        iam_policy_pb2.TestIamPermissionsRequest, iam_policy_pb2.TestIamPermissionsResponse, call
    )


def unimplemented(service: str, method: str) -> UnaryMethod:
    """A method the emulator knows but does not emulate: UNIMPLEMENTED with a clear message."""

    def refuse(_request: Any) -> Any:
        raise api_exceptions.MethodNotImplemented(
            f"{service}/{method} is not implemented by the emulator."
        )

    return UnaryMethod(deserialize=None, serialize=None, call=refuse)


def generic_handler(table: ServiceTable) -> grpc.GenericRpcHandler:
    """The grpc handler serving ``table``; engine exceptions become their exact status code."""
    handlers = {
        method: grpc.unary_unary_rpc_method_handler(
            _handle(table.name, method, spec.call),
            request_deserializer=spec.deserialize,
            response_serializer=spec.serialize,
        )
        for method, spec in table.methods.items()
    }
    return grpc.method_handlers_generic_handler(table.name, handlers)


def status_of(error: api_exceptions.GoogleAPICallError) -> grpc.StatusCode:
    """The gRPC status code the official client maps back to ``error``'s class."""
    code = error.grpc_status_code
    if isinstance(code, grpc.StatusCode):
        return code
    return grpc.StatusCode.UNKNOWN


def status_details(
    error: api_exceptions.GoogleAPICallError,
) -> tuple[tuple[str, bytes], ...]:
    """The trailing metadata carrying ``error``'s protobuf details (none without details).

    Its status repeats the code and message the call ends with, as the clients require.
    """
    details = [detail for detail in error.details if isinstance(detail, Message)]
    if not details:
        return ()
    status = status_pb2.Status(code=status_of(error).value[0], message=error.message)
    for detail in details:
        status.details.add().Pack(detail)
    return ((STATUS_DETAILS_KEY, status.SerializeToString()),)


def _handle(service: str, method: str, call: Callable[[Any], Any]) -> Callable[[Any, Any], Any]:
    def handle(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return call(request)
        except api_exceptions.GoogleAPICallError as error:
            if trailer := status_details(error):
                context.set_trailing_metadata(trailer)
            context.abort(status_of(error), error.message)
        except Exception as error:
            logger.exception("%s/%s failed unexpectedly.", service, method)
            context.abort(grpc.StatusCode.INTERNAL, f"Emulator error: {error}")

    return handle


class PortInUse(OSError):
    """The port asked for cannot be bound."""


def build_grpc_server(
    tables: Iterable[ServiceTable], host: str, port: int, *, max_workers: int = DEFAULT_MAX_WORKERS
) -> tuple[grpc.Server, int]:
    """A gRPC server (not started) serving ``tables`` on ``host:port``; returns it and the port.

    ``port=0`` picks a free port. SO_REUSEPORT is off, so a port another process listens on
    is refused (PortInUse) instead of being shared silently.
    """
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="emulator-grpc"),
        options=[("grpc.so_reuseport", 0)],
    )
    server.add_generic_rpc_handlers(tuple(generic_handler(table) for table in tables))
    try:
        bound = server.add_insecure_port(f"{bracketed(host)}:{port}")
    except RuntimeError:
        bound = 0
    if bound == 0:
        server.stop(None)
        raise PortInUse(f"Cannot listen for gRPC on {host}:{port}: the port is in use.")
    return server, bound


def bracketed(host: str) -> str:
    """``host`` as it appears before ``:port`` (an IPv6 address in brackets)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
