"""The emulator's HTTP control API (JSON): health, reset, state for dashboards, faults, OIDC keys.

Every state answer is a view of ``emulator.views``, the same the dashboard reads in process.

Google's APIs are served over gRPC, and over REST on this port too (paths starting
``/v1/projects/`` or ``/v2/projects/``, answered by ``rest_api``); everything that is about the
emulator itself is here, plus the OIDC discovery document and signing keys, which live at the
issuer URL (this API's base URL). Bad input gets a 4xx answer
``{"error": {"code": ..., "message": ...}}`` naming the problem.
"""

from __future__ import annotations

import json
import logging
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from google.api_core.exceptions import GoogleAPICallError, NotFound

from emulator import views
from emulator.cloud import LocalCloud
from emulator.kit.faults import rule_from_json
from emulator.kit.oidc import CONFIGURATION_PATH, JWKS_PATH, PEM_CERTS_PATH
from emulator.server.rest_api import RestApi

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 10_000_000
_FAULT_PATH = re.compile(r"/v1/faults/([^/]+)")


class ControlTarget(Protocol):
    """What the control API controls (``EmulatorServer`` provides it)."""

    cloud: LocalCloud
    project: str
    location: str
    version: str
    services: tuple[str, ...]
    rest_api: RestApi


class ApiError(Exception):
    """A client error answered with ``status`` and a JSON message."""

    def __init__(self, status: HTTPStatus, message: str, allow: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.allow = allow


class ControlApiServer(ThreadingHTTPServer):
    """A threaded HTTP server answering the control API for ``target``.

    With ``listen=False`` it only binds its address (so the port is known and held) and accepts
    no connection until ``server_activate()``: a client that comes before the server can answer
    is refused at once, instead of waiting in the backlog, giving up, and being answered on a
    closed connection (a BrokenPipeError traceback on stderr).
    """

    daemon_threads = True
    request_queue_size = 64

    def __init__(
        self, address: tuple[str, int], target: ControlTarget | None = None, *, listen: bool = True
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler, bind_and_activate=False)
        try:
            self.server_bind()
            if listen:
                self.server_activate()
        except BaseException:
            self.server_close()
            raise
        self.target = target


class _Handler(BaseHTTPRequestHandler):
    server: ControlApiServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("control API: " + format, *args)

    # --------------------------------------------------------------------------- routing

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        query = parse_qs(url.query)
        try:
            body = self._read_body()
            target = self.server.target
            if target is None:
                raise ApiError(HTTPStatus.SERVICE_UNAVAILABLE, "The emulator is starting.")
            status, payload = self._route(target, method, path, query, body)
        except ApiError as error:
            self._send_error(error)
            return
        except Exception as error:
            logger.exception("Control API %s %s failed.", method, self.path)
            self._send_error(ApiError(HTTPStatus.INTERNAL_SERVER_ERROR, f"Emulator error: {error}"))
            return
        self._send_json(status, payload)

    def _route(
        self,
        target: ControlTarget,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: bytes,
    ) -> tuple[int, Any]:
        if target.rest_api.serves(path):
            return target.rest_api.handle(method, unquote(path), query, body)
        cloud = target.cloud
        routes: dict[str, dict[str, Callable[[], Any]]] = {
            "/health": {"GET": lambda: _health(target)},
            "/reset": {"POST": lambda: _reset(cloud)},
            "/v1/queues": {"GET": lambda: {"queues": views.queues(cloud)}},
            "/v1/scheduler/jobs": {"GET": lambda: {"jobs": views.scheduler_jobs(cloud)}},
            "/v1/tasks": {"GET": lambda: {"tasks": _of_named(target, query, _QUEUE, views.tasks)}},
            "/v1/deliveries": {"GET": lambda: {"deliveries": _deliveries(cloud, query)}},
            "/v1/run/jobs": {"GET": lambda: {"jobs": views.run_jobs(cloud)}},
            "/v1/run/executions": {
                "GET": lambda: {"executions": _of_named(target, query, _JOB, views.executions)}
            },
            "/v1/faults": {
                "GET": lambda: {"faults": views.faults(cloud)},
                "POST": lambda: _add_fault(cloud, body),
                "DELETE": lambda: _clear_faults(cloud),
            },
            "/v1/export": {"GET": cloud.export_state},
            "/v1/import": {"POST": lambda: _import(cloud, body)},
            CONFIGURATION_PATH: {"GET": cloud.oidc.openid_configuration},
            JWKS_PATH: {"GET": cloud.oidc.jwks},
            PEM_CERTS_PATH: {"GET": cloud.oidc.pem_certs},
        }
        if (match := _FAULT_PATH.fullmatch(path)) is not None:
            fault_id = match.group(1)
            routes[path] = {
                "GET": lambda: _fault(cloud, fault_id),
                "PATCH": lambda: _patch_fault(cloud, fault_id, body),
                "DELETE": lambda: _remove_fault(cloud, fault_id),
            }
        handlers = routes.get(path)
        if handlers is None:
            raise ApiError(HTTPStatus.NOT_FOUND, f"No such endpoint: {path}.")
        handler = handlers.get(method)
        if handler is None:
            allowed = ", ".join(sorted(handlers))
            raise ApiError(
                HTTPStatus.METHOD_NOT_ALLOWED, f"{path} supports {allowed}, not {method}.", allowed
            )
        result = handler()
        status = HTTPStatus.CREATED if method == "POST" and path == "/v1/faults" else HTTPStatus.OK
        return status, result

    # ---------------------------------------------------------------------------- I/O

    def _read_body(self) -> bytes:
        length_header = self.headers.get("Content-Length")
        if not length_header:
            return b""
        try:
            length = int(length_header)
        except ValueError:
            raise ApiError(HTTPStatus.BAD_REQUEST, "Content-Length must be a number.") from None
        if length > MAX_BODY_BYTES:
            raise ApiError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "The request body is too large.")
        return self.rfile.read(length)

    def _send_json(self, status: int, payload: Any, allow: str | None = None) -> None:
        data = json.dumps(payload, indent=2).encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        if allow:
            self.send_header("Allow", allow)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_error(self, error: ApiError) -> None:
        payload = {"error": {"code": int(error.status), "message": error.message}}
        self._send_json(error.status, payload, error.allow)


# ------------------------------------------------------------------------------- endpoints


def _health(target: ControlTarget) -> dict[str, Any]:
    return {
        "status": "ok",
        "version": target.version,
        "time": views.clock(target.cloud),
        "services": list(target.services),
    }


def _reset(cloud: LocalCloud) -> dict[str, Any]:
    cloud.reset()
    return {"status": "reset"}


@dataclass(frozen=True)
class _Named:
    """A resource a state answer is about, named by the query parameter ``param``."""

    param: str  # "queue"
    collection: str  # its part of a full name: "queues"
    short: str  # how a full name of it ends: "Q"


_QUEUE = _Named("queue", "queues", "Q")
_JOB = _Named("job", "jobs", "J")


def _of_named(
    target: ControlTarget,
    query: dict[str, list[str]],
    named: _Named,
    view: Callable[[LocalCloud, str], list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """``view`` of the resource ``?<param>=`` names: a full name, or an id of the emulator's
    default project and location. NOT_FOUND answers 404, another Google API error 400."""
    name = _single(query, named.param)
    if name is None:
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            f"Missing ?{named.param}=: give a full {named.param} name "
            f"(projects/P/locations/L/{named.collection}/{named.short}) or a {named.param} id of "
            "the emulator's default project and location.",
        )
    if "/" not in name:
        name = f"projects/{target.project}/locations/{target.location}/{named.collection}/{name}"
    try:
        return view(target.cloud, name)
    except NotFound as error:
        raise ApiError(HTTPStatus.NOT_FOUND, f"{name}: {error.message}") from None
    except GoogleAPICallError as error:
        raise ApiError(HTTPStatus.BAD_REQUEST, error.message) from None


def _deliveries(cloud: LocalCloud, query: dict[str, list[str]]) -> list[dict[str, Any]]:
    raw = _single(query, "limit") or "100"
    if not raw.isdigit() or int(raw) < 1:
        raise ApiError(HTTPStatus.BAD_REQUEST, f"limit must be a positive integer, got {raw!r}.")
    return views.deliveries(cloud, int(raw))


def _add_fault(cloud: LocalCloud, body: bytes) -> dict[str, Any]:
    try:
        rule = rule_from_json(_json(body))
    except ValueError as error:
        raise ApiError(HTTPStatus.BAD_REQUEST, str(error)) from None
    return views.fault(cloud, cloud.faults.add(rule))


def _fault(cloud: LocalCloud, fault_id: str) -> dict[str, Any]:
    try:
        return views.fault(cloud, fault_id)
    except KeyError:
        raise ApiError(HTTPStatus.NOT_FOUND, f"No fault rule with id {fault_id!r}.") from None


def _patch_fault(cloud: LocalCloud, fault_id: str, body: bytes) -> dict[str, Any]:
    _fault(cloud, fault_id)
    patch = _json(body)
    if not isinstance(patch, dict) or set(patch) != {"enabled"}:
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            'PATCH a fault with {"enabled": true|false}; other fields cannot change (delete the '
            "rule and add a new one).",
        )
    if not isinstance(patch["enabled"], bool):
        raise ApiError(HTTPStatus.BAD_REQUEST, "'enabled' must be true or false.")
    cloud.faults.set_enabled(fault_id, patch["enabled"])
    return views.fault(cloud, fault_id)


def _remove_fault(cloud: LocalCloud, fault_id: str) -> dict[str, Any]:
    _fault(cloud, fault_id)
    cloud.faults.remove(fault_id)
    return {"removed": fault_id}


def _clear_faults(cloud: LocalCloud) -> dict[str, Any]:
    cloud.faults.clear()
    return {"faults": []}


def _import(cloud: LocalCloud, body: bytes) -> dict[str, Any]:
    try:
        cloud.import_state(_json(body))
    except ValueError as error:
        raise ApiError(HTTPStatus.BAD_REQUEST, str(error)) from None
    return {"status": "imported"}


def _json(body: bytes) -> Any:
    if not body:
        raise ApiError(HTTPStatus.BAD_REQUEST, "A JSON request body is required.")
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ApiError(
            HTTPStatus.BAD_REQUEST, f"The request body is not valid JSON: {error}."
        ) from None


def _single(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None
