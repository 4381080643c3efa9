"""What the emulator hands to a dispatcher, what it gets back, and what it remembers; and how a
delivery is sent under a dispatch fault (shared by the Cloud Tasks and Cloud Scheduler engines).

Also what the two services share about an HTTP target: the limit on its headers (T22) and how an
attempt's HTTP status reads as a ``google.rpc.Status``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from http import HTTPStatus

from google.rpc import code_pb2, status_pb2

from emulator.kit.faults import Duplicate, Effect, HttpStatus, Latency, Timeout

logger = logging.getLogger(__name__)

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
"""The HTTP methods a request may carry a body with (Cloud Tasks and Cloud Scheduler alike)."""
MAX_HEADERS_BYTES = 80 * 1024
"""Header names and values of an HTTP target must take fewer bytes than this (T22)."""

_HTTP_TO_RPC = {
    400: code_pb2.INVALID_ARGUMENT,
    401: code_pb2.UNAUTHENTICATED,
    403: code_pb2.PERMISSION_DENIED,
    404: code_pb2.NOT_FOUND,
    409: code_pb2.ALREADY_EXISTS,
    429: code_pb2.RESOURCE_EXHAUSTED,
    499: code_pb2.CANCELLED,
    500: code_pb2.INTERNAL,
    501: code_pb2.UNIMPLEMENTED,
    503: code_pb2.UNAVAILABLE,
    504: code_pb2.DEADLINE_EXCEEDED,
}


@dataclass(frozen=True)
class Delivery:
    """One HTTP request the emulator wants delivered (one attempt of a task or of a job).

    A Cloud Tasks attempt has ``queue_id`` and ``task_id``; a Cloud Scheduler attempt has
    ``job_id`` (and empty queue and task ids).
    """

    url: str
    http_method: str
    headers: dict[str, str]
    body: bytes
    deadline: timedelta
    queue_id: str
    task_id: str
    job_id: str = ""

    @property
    def source(self) -> str:
        """What the request is for, in words (for logs)."""
        if self.job_id:
            return f"Cloud Scheduler job {self.job_id}"
        return f"task {self.task_id} of queue {self.queue_id}"


@dataclass(frozen=True)
class DeliveryResult:
    """The outcome of a delivery.

    ``status`` is the HTTP status, or None when no response arrived (connection error, timeout).
    ``elapsed`` is how long the request took; more than the delivery's deadline is a timeout.
    """

    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    elapsed: timedelta = timedelta(0)


Dispatcher = Callable[[Delivery], DeliveryResult]
"""Delivers a request and reports the result. If it raises, the attempt counts as no response."""

IdTokenMinter = Callable[[str, str], str]
"""(service_account_email, audience) -> signed ID token (JWT)."""

DeliveryExecutor = Callable[[Callable[[], None]], None]
"""Runs a delivery (a no-argument callable) later, on another thread."""


@dataclass(frozen=True)
class DeliveryRecord:
    """History entry for one attempt: where, when, and how it ended (None = no response)."""

    queue_id: str
    task_id: str
    dispatch_time: datetime
    response_status: int | None
    retry_count: int
    duplicate: bool = False  # a second copy of the attempt sent by a Duplicate fault (T12)
    fault: str | None = None  # the dispatch fault applied to the attempt, if any


def with_id_token(
    delivery: Delivery, oidc: tuple[str, str] | None, minter: IdTokenMinter | None
) -> Delivery:
    """``delivery`` with an ``Authorization: Bearer`` header carrying a token minted for ``oidc``
    (service account, audience); unchanged when there is no OIDC token or no minter."""
    if oidc is None or minter is None:
        return delivery
    token = minter(*oidc)
    return replace(delivery, headers={**delivery.headers, "Authorization": f"Bearer {token}"})


@dataclass(frozen=True)
class AttemptSender:
    """How an engine sends its attempts: through its dispatcher, with ID tokens from its minter,
    on the wall clock or in virtual time (``real_time``), logging failures on its logger."""

    dispatcher: Dispatcher
    id_token_minter: IdTokenMinter | None
    real_time: bool
    log: logging.Logger

    def send(
        self, delivery: Delivery, oidc: tuple[str, str] | None, effect: Effect | None
    ) -> tuple[DeliveryResult, DeliveryResult | None]:
        """Mint the attempt's ID token (see ``with_id_token``) and ``send`` it under ``effect``.

        If minting or the dispatcher raises, the error is logged and the attempt counts as no
        response, with no duplicate.
        """
        try:
            delivery = with_id_token(delivery, oidc, self.id_token_minter)
            return send(self.dispatcher, delivery, effect, real_time=self.real_time)
        except Exception:
            self.log.exception(
                "Dispatching %s failed; counting it as no response.", delivery.source
            )
            return DeliveryResult(status=None), None


def deliver_now_or_later(executor: DeliveryExecutor | None, deliver: Callable[[], None]) -> None:
    """Hand ``deliver`` to ``executor`` to run in the background, or without one call it now."""
    if executor is not None:
        executor(deliver)
    else:
        deliver()


def response_outcome(
    result: DeliveryResult, dispatch_time: datetime, deadline: timedelta
) -> tuple[int | None, datetime]:
    """An attempt's status and response time: a response after ``deadline`` is a timeout (no
    status, answered at the deadline)."""
    if result.elapsed > deadline:
        return None, dispatch_time + deadline
    return result.status, dispatch_time + max(result.elapsed, timedelta(0))


def response_status(http_status: int | None) -> status_pb2.Status:
    """An attempt's HTTP outcome as a google.rpc.Status (no response = DEADLINE_EXCEEDED)."""
    if http_status is None:
        return status_pb2.Status(code=code_pb2.DEADLINE_EXCEEDED, message="Deadline exceeded")
    if 200 <= http_status <= 299:
        code = code_pb2.OK
    else:
        code = _HTTP_TO_RPC.get(http_status, code_pb2.UNKNOWN)
    try:
        phrase = HTTPStatus(http_status).phrase
    except ValueError:
        phrase = f"HTTP {http_status}"
    return status_pb2.Status(code=code, message=phrase)


def headers_size(headers: Mapping[str, str]) -> int:
    """Bytes taken by header names and values (what ``MAX_HEADERS_BYTES`` bounds, T22)."""
    return sum(len(name.encode()) + len(value.encode()) for name, value in headers.items())


def call_dispatcher(dispatcher: Dispatcher, delivery: Delivery) -> DeliveryResult:
    """``dispatcher(delivery)``, with an exception logged and counted as no response."""
    try:
        return dispatcher(delivery)
    except Exception:
        logger.exception("Dispatching %s failed; counting it as no response.", delivery.source)
        return DeliveryResult(status=None)


def send(
    dispatcher: Dispatcher, delivery: Delivery, effect: Effect | None, *, real_time: bool
) -> tuple[DeliveryResult, DeliveryResult | None]:
    """Deliver under a dispatch fault; return the result and a duplicate's result, if any.

    ``HttpStatus`` and ``Timeout`` answer without calling the dispatcher. ``Latency`` sleeps
    only on the wall clock (``real_time``) but always adds to the elapsed time. ``Duplicate``
    sends twice: concurrently on the wall clock, back to back in virtual time.
    """
    match effect:
        case HttpStatus(status=status, headers=headers):
            return DeliveryResult(status=status, headers=dict(headers)), None
        case Timeout():
            return DeliveryResult(status=None, elapsed=delivery.deadline), None
        case Latency(seconds=seconds):
            if real_time:
                time.sleep(seconds)
            result = call_dispatcher(dispatcher, delivery)
            return replace(result, elapsed=result.elapsed + timedelta(seconds=seconds)), None
        case Duplicate():
            return _send_twice(dispatcher, delivery, real_time=real_time)
        case _:
            return dispatcher(delivery), None


def _send_twice(
    dispatcher: Dispatcher, delivery: Delivery, *, real_time: bool
) -> tuple[DeliveryResult, DeliveryResult]:
    if not real_time:
        return call_dispatcher(dispatcher, delivery), call_dispatcher(dispatcher, delivery)
    results: list[DeliveryResult] = []
    twin = threading.Thread(
        target=lambda: results.append(call_dispatcher(dispatcher, delivery)),
        name=f"duplicate-{delivery.job_id or delivery.task_id}",
        daemon=True,
    )
    twin.start()
    original = call_dispatcher(dispatcher, delivery)
    twin.join()
    return original, results[0]
