"""Delivering attempts as real HTTP requests, as Cloud Tasks and Cloud Scheduler do.

The request is sent with ``http.client`` (what ``urllib.request`` uses underneath) because
``urllib`` title-cases header names ("X-Cloudtasks-Queuename"), and Cloud Tasks keeps the caller's
casing (T22). Redirects are not followed: a 302 is the attempt's response status, not success
(T18). The timeout is the task's dispatch deadline (T11); connection errors and timeouts are "no
response".
"""

from __future__ import annotations

import http.client
import logging
import ssl
import time
from collections.abc import Mapping
from datetime import timedelta
from urllib.parse import urlsplit

from emulator.delivery import Delivery, DeliveryResult

logger = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 1_000_000
"""At most this much of a response body is read (and discarded); Cloud Tasks ignores bodies."""


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
        self._ssl_context = ssl_context or ssl.create_default_context()
        self._routes = sorted((routes or {}).items(), key=lambda item: -len(item[0]))

    def destination(self, url: str) -> str:
        """Where a delivery to ``url`` is sent."""
        for source, target in self._routes:
            if url.startswith(source):
                return target + url[len(source) :]
        return url

    def __call__(self, delivery: Delivery) -> DeliveryResult:
        parts = urlsplit(self.destination(delivery.url))
        timeout = delivery.deadline.total_seconds()
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        body = (
            delivery.body
            if delivery.body or delivery.http_method in {"POST", "PUT", "PATCH"}
            else None
        )
        started = time.monotonic()
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                parts.hostname or "", parts.port, timeout=timeout, context=self._ssl_context
            )
        else:
            connection = http.client.HTTPConnection(
                parts.hostname or "", parts.port, timeout=timeout
            )
        try:
            connection.request(delivery.http_method, path, body=body, headers=delivery.headers)
            response = connection.getresponse()
            response.read(MAX_RESPONSE_BYTES)
            return DeliveryResult(
                status=response.status,
                headers=dict(response.getheaders()),
                elapsed=_since(started),
            )
        except (OSError, http.client.HTTPException) as error:
            logger.info("No response from %s for %s: %s", delivery.url, delivery.source, error)
            return DeliveryResult(status=None, elapsed=_since(started))
        finally:
            connection.close()


def _since(started: float) -> timedelta:
    return timedelta(seconds=time.monotonic() - started)
