"""Wall and virtual clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from emulator import VirtualClock, WallClock

START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def test_wall_clock_is_aware_utc():
    now = WallClock().now()

    assert now.tzinfo is UTC
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)


def test_virtual_clock_with_start_is_frozen():
    clock = VirtualClock(START)

    clock.catch_up()

    assert clock.now() == START
    assert not clock.follows_wall


def test_virtual_clock_converts_start_to_utc_and_rejects_naive_times():
    paris = timezone(timedelta(hours=1))
    assert VirtualClock(datetime(2025, 1, 6, 10, 0, tzinfo=paris)).now() == START
    assert VirtualClock(datetime(2025, 1, 6, 10, 0, tzinfo=paris)).now().tzinfo == UTC

    with pytest.raises(ValueError, match="timezone-aware"):
        VirtualClock(datetime(2025, 1, 6, 9, 0))


def test_set_and_advance_move_forward_only():
    clock = VirtualClock(START)

    clock.set(START + timedelta(hours=1))
    clock.advance(timedelta(minutes=30))
    assert clock.now() == START + timedelta(hours=1, minutes=30)

    with pytest.raises(ValueError, match="backwards"):
        clock.set(START)
    with pytest.raises(ValueError):
        clock.advance(timedelta(seconds=-1))


def test_move_to_never_goes_backwards():
    clock = VirtualClock(START)

    clock.move_to(START + timedelta(seconds=5))
    clock.move_to(START)

    assert clock.now() == START + timedelta(seconds=5)


def test_clock_without_start_catches_up_with_the_wall_but_never_goes_back():
    clock = VirtualClock()
    assert clock.follows_wall
    started = clock.now()
    assert clock.now() == started  # stands still between moves

    wall = datetime.now(UTC)
    clock.catch_up()
    assert clock.now() >= wall

    ahead = datetime.now(UTC) + timedelta(days=1)
    clock.set(ahead)
    clock.catch_up()
    assert clock.now() == ahead
