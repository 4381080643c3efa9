"""What the emulator hands to a dispatcher, what it gets back, and what it remembers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Delivery:
    """One HTTP request the emulator wants delivered (one attempt of a task)."""

    url: str
    http_method: str
    headers: dict[str, str]
    body: bytes
    deadline: timedelta
    queue_id: str
    task_id: str


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
