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
from datetime import timedelta
from urllib.parse import urlsplit

from emulator.delivery import Delivery, DeliveryResult

logger = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 1_000_000
"""At most this much of a response body is read (and discarded); Cloud Tasks ignores bodies."""


class HttpDispatcher:
    """A ``Dispatcher`` that sends each delivery over the network and reports what came back."""

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl_context = ssl_context or ssl.create_default_context()

    def __call__(self, delivery: Delivery) -> DeliveryResult:
        parts = urlsplit(delivery.url)
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
