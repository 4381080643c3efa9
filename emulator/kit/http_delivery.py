"""Delivering attempts as real HTTP requests, as Cloud Tasks and Cloud Scheduler do.

The request is sent with ``http.client`` (what ``urllib.request`` uses underneath) because
``urllib`` title-cases header names ("X-Cloudtasks-Queuename"), and Cloud Tasks keeps the caller's
casing (T22). Redirects are not followed: a 302 is the attempt's response status, not success
(T18). The timeout is the task's dispatch deadline (T11); connection errors and timeouts are "no
response".

Connections are kept alive and reused per destination (scheme, host, port), as a client of a
busy app would: a delivery costs no TCP (or TLS) handshake once one has gone there. A kept
connection the app closed while it sat idle is found out when it is used, and the delivery is
sent once more on a new one.
"""

from __future__ import annotations

import http.client
import logging
import ssl
import threading
import time
from collections.abc import Mapping
from datetime import timedelta
from urllib.parse import urlsplit

from emulator.kit.delivery import Delivery, DeliveryResult

logger = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 1_000_000
"""At most this much of a response body is read (and discarded); Cloud Tasks ignores bodies."""
MAX_IDLE_PER_DESTINATION = 16
"""Idle connections kept per destination; more are closed once their response is read."""
IDLE_SECONDS = 20.0
"""An idle connection older than this is closed instead of reused (servers drop idle ones)."""
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)
"""What sending on a kept connection the server has closed meanwhile raises."""

_Destination = tuple[str, str, int | None]


class _ConnectionPool:
    """Idle keep-alive connections per destination, shared by the delivery threads."""

    def __init__(self, ssl_context: ssl.SSLContext) -> None:
        self._ssl_context = ssl_context
        self._idle: dict[_Destination, list[tuple[http.client.HTTPConnection, float]]] = {}
        self._lock = threading.Lock()

    def take(self, where: _Destination, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        """A connection to `where` with `timeout`, and whether it was kept from before."""
        now = time.monotonic()
        with self._lock:
            idle = self._idle.get(where, [])
            while idle:
                connection, since = idle.pop()
                if now - since < IDLE_SECONDS and connection.sock is not None:
                    connection.timeout = timeout
                    connection.sock.settimeout(timeout)
                    return connection, True
                connection.close()
        return self._new(where, timeout), False

    def _new(self, where: _Destination, timeout: float) -> http.client.HTTPConnection:
        scheme, host, port = where
        if scheme == "https":
            return http.client.HTTPSConnection(
                host, port, timeout=timeout, context=self._ssl_context
            )
        return http.client.HTTPConnection(host, port, timeout=timeout)

    def give_back(self, where: _Destination, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(where, [])
            if len(idle) < MAX_IDLE_PER_DESTINATION:
                idle.append((connection, time.monotonic()))
                return
        connection.close()


def parse_route(text: str) -> tuple[str, str]:
    """``FROM=TO``, two absolute http(s) URL prefixes; ValueError saying what is wrong."""
    source, sep, target = text.partition("=")
    if not sep:
        raise ValueError(f"a route is FROM=TO (two URL prefixes), not {text!r}")
    for url in (source, target):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r} in route {text!r} is not an absolute http(s) URL")
    return source, target


class HttpDispatcher:
    """A ``Dispatcher`` that sends each delivery over the network and reports what came back.

    ``routes`` maps URL prefixes to others: a delivery whose URL starts with a key is sent to
    the value instead, with the rest of its URL (the longest key wins). Only where the request
    goes changes: its headers and ID token still name the task's own URL, as a DNS override
    would leave them. ``tasks_dev`` uses it to bring a project's production ``base_url`` to
    its local runserver.
    """

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        routes: Mapping[str, str] | None = None,
    ) -> None:
        self._pool = _ConnectionPool(ssl_context or ssl.create_default_context())
        self._routes = sorted((routes or {}).items(), key=lambda item: -len(item[0]))

    def destination(self, url: str) -> str:
        """Where a delivery to ``url`` is sent."""
        for source, target in self._routes:
            if url.startswith(source):
                return target + url[len(source) :]
        return url

    def __call__(self, delivery: Delivery) -> DeliveryResult:
        parts = urlsplit(self.destination(delivery.url))
        where = (parts.scheme, parts.hostname or "", parts.port)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        body = (
            delivery.body
            if delivery.body or delivery.http_method in {"POST", "PUT", "PATCH"}
            else None
        )
        started = time.monotonic()
        while True:
            connection, kept = self._pool.take(where, delivery.deadline.total_seconds())
            stale = _STALE if kept else ()
            try:
                connection.request(delivery.http_method, path, body=body, headers=delivery.headers)
                response = connection.getresponse()
                response.read(MAX_RESPONSE_BYTES)
            except stale as error:
                connection.close()  # closed by the server while idle: once more, on a new one
                logger.debug("Kept connection to %s was closed: %s", parts.netloc, error)
                continue
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                logger.info("No response from %s for %s: %s", delivery.url, delivery.source, error)
                return DeliveryResult(status=None, elapsed=_since(started))
            self._keep_or_close(where, connection, response)
            return DeliveryResult(
                status=response.status, headers=dict(response.getheaders()), elapsed=_since(started)
            )

    def _keep_or_close(
        self,
        where: _Destination,
        connection: http.client.HTTPConnection,
        response: http.client.HTTPResponse,
    ) -> None:
        """Keep `connection` for the next delivery if the server allows it and the response
        was read to its end; else close it."""
        if response.will_close or not response.isclosed():
            connection.close()
        else:
            self._pool.give_back(where, connection)


def _since(started: float) -> timedelta:
    return timedelta(seconds=time.monotonic() - started)
