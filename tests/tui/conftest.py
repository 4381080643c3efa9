"""Helpers for driving the dashboard with Textual's Pilot against the test database."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from textual.app import App
from textual.pilot import Pilot

from tasks_google import TaskExecution

#: Terminal size of every dashboard test: wide enough for every column.
SIZE = (150, 40)


def drive(
    app: App, scenario: Callable[[Pilot], Awaitable[None]], size: tuple[int, int] = SIZE
) -> None:
    """Run `app` headless in a terminal of `size` while `scenario(pilot)` plays against it."""

    async def run() -> None:
        async with app.run_test(size=size) as pilot:
            await scenario(pilot)

    asyncio.run(run())


def screen_lines(pilot: Pilot) -> list[str]:
    """What the terminal shows now, line by line (the composited screen, not widget data)."""
    return [strip.text for strip in pilot.app.screen._compositor.render_strips()]


def screen_text(pilot: Pilot) -> str:
    return "\n".join(screen_lines(pilot))


async def until(pilot: Pilot, predicate: Callable[[], bool], timeout: float = 10) -> None:
    """Let the app run until `predicate()` holds (polls run in threads), or fail."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; the screen shows:\n{screen_text(pilot)}")
        await pilot.pause(0.02)


async def until_polled(pilot: Pilot, timeout: float = 10) -> None:
    """Wait for a poll that started after now to be applied."""
    polls = pilot.app.executions_view.polls
    pilot.app.executions_view.poll_now()
    await until(pilot, lambda: pilot.app.executions_view.polls > polls, timeout)
    await pilot.pause()


@pytest.fixture
def make_execution(transactional_db) -> Callable[..., TaskExecution]:
    """Create TaskExecution rows directly (committed: the app reads them on its own thread)."""
    counter = iter(range(1_000_000))

    def make(**fields) -> TaskExecution:
        number = next(counter)
        fields.setdefault("task_path", "tests.tasks_google.tasks.noop_task")
        fields.setdefault("backend", "default")
        fields.setdefault("queue", "default")
        fields.setdefault("enqueued_at", timezone.now() - timedelta(seconds=1000 - number))
        return TaskExecution.objects.create(**fields)

    return make
