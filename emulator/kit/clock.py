"""Clocks every emulator timer reads: the wall clock, or a virtual one tests move by hand."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Source of the current time, always an aware UTC datetime."""

    def now(self) -> datetime: ...


class WallClock:
    """The real time."""

    def now(self) -> datetime:
        """Return the current wall-clock time in UTC."""
        return datetime.now(UTC)


class VirtualClock:
    """A clock that only moves when told to; nothing ever sleeps.

    Without ``start`` it begins at the wall-clock time and follows the wall clock: ``catch_up()``
    moves it forward to the wall time when the wall is ahead (never backwards). With an explicit
    ``start`` it is frozen and ``catch_up()`` does nothing. Between moves it stands still, so a
    step of work (``LocalCloud.advance``) sees one consistent time.
    """

    def __init__(self, start: datetime | None = None) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError(
                "VirtualClock start must be timezone-aware (e.g. datetime(..., tzinfo=UTC))."
            )
        self._follows_wall = start is None
        self._now = datetime.now(UTC) if start is None else start.astimezone(UTC)
        self._lock = threading.Lock()

    @property
    def follows_wall(self) -> bool:
        """True when the clock keeps up with the wall clock (it was created without ``start``)."""
        return self._follows_wall

    def now(self) -> datetime:
        """Return the virtual time."""
        with self._lock:
            return self._now

    def catch_up(self) -> None:
        """Move forward to the wall-clock time if it is ahead; a no-op for a frozen clock."""
        if not self._follows_wall:
            return
        with self._lock:
            wall = datetime.now(UTC)
            if wall > self._now:
                self._now = wall

    def set(self, t: datetime) -> None:
        """Move to ``t``; raise ValueError if ``t`` is earlier than the current time."""
        if t.tzinfo is None:
            raise ValueError("VirtualClock.set needs a timezone-aware datetime.")
        with self._lock:
            if t < self._now:
                raise ValueError(
                    f"VirtualClock cannot go backwards: {t.isoformat()} < {self._now.isoformat()}."
                )
            self._now = t.astimezone(UTC)

    def move_to(self, t: datetime) -> None:
        """Move forward to ``t`` if it is later than the current time; otherwise do nothing."""
        with self._lock:
            if t > self._now:
                self._now = t.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        """Move forward by ``delta`` (which must not be negative)."""
        if delta < timedelta(0):
            raise ValueError(f"VirtualClock.advance needs a non-negative delta, got {delta}.")
        with self._lock:
            self._now += delta
