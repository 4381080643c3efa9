"""The wall-clock driver: wakes on new work, delivers in parallel, honours T8, stops cleanly."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from google.cloud import tasks_v2

from emulator import CloudTasksEngine, DeliveryResult, WallClock
from emulator.kit.realtime import RealTimeDriver
from tests.emulator.conftest import PARENT, QUEUE, URL


class SlowDispatcher:
    """Answers 200 after ``delay`` seconds; tracks how many requests are in flight at once."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.task_ids: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()

    def __call__(self, delivery):
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        time.sleep(self.delay)
        with self._lock:
            self.in_flight -= 1
            self.task_ids.append(delivery.task_id)
        return DeliveryResult(200)


def wait_until(check, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


@pytest.fixture
def running():
    started: list[RealTimeDriver] = []

    def start(dispatcher, *, max_parallel: int = 8, **queue_fields):
        engine = CloudTasksEngine(WallClock(), dispatcher)
        engine.create_queue(
            tasks_v2.CreateQueueRequest(
                parent=PARENT, queue=tasks_v2.Queue(name=QUEUE, **queue_fields)
            )
        )
        driver = RealTimeDriver(WallClock(), [engine], max_parallel=max_parallel)
        driver.start()
        started.append(driver)
        return engine, driver

    yield start
    for driver in started:
        driver.stop(grace=2)


def add(engine, task_id: str, **fields) -> None:
    task = tasks_v2.Task(
        name=f"{QUEUE}/tasks/{task_id}", http_request=tasks_v2.HttpRequest(url=URL), **fields
    )
    engine.create_task(tasks_v2.CreateTaskRequest(parent=QUEUE, task=task))


def test_a_created_task_wakes_the_driver_and_is_delivered(running):
    dispatcher = SlowDispatcher()
    engine, _ = running(dispatcher)

    add(engine, "now")

    wait_until(lambda: dispatcher.task_ids == ["now"])


def test_a_scheduled_task_is_delivered_when_due_not_before(running):
    dispatcher = SlowDispatcher()
    engine, _ = running(dispatcher)
    due = datetime.now(UTC) + timedelta(seconds=0.3)

    add(engine, "later", schedule_time=due)

    wait_until(lambda: dispatcher.task_ids == ["later"])
    assert engine.deliveries[0].dispatch_time >= due


def test_deliveries_run_in_parallel_up_to_max_parallel(running):
    dispatcher = SlowDispatcher(delay=0.1)
    engine, _ = running(dispatcher, max_parallel=4)

    for i in range(12):
        add(engine, f"t{i}")

    wait_until(lambda: len(dispatcher.task_ids) == 12)
    assert 1 < dispatcher.max_in_flight <= 4


def test_t8_max_concurrent_dispatches_holds_in_real_time(running):
    dispatcher = SlowDispatcher(delay=0.1)
    engine, _ = running(
        dispatcher,
        max_parallel=8,
        rate_limits=tasks_v2.RateLimits(max_concurrent_dispatches=2),
    )

    for i in range(8):
        add(engine, f"t{i}")

    wait_until(lambda: len(dispatcher.task_ids) == 8)
    assert dispatcher.max_in_flight <= 2


def test_t9_run_task_returns_before_the_delivery_ends(running):
    release = threading.Event()

    def dispatcher(delivery):
        release.wait(5)
        return DeliveryResult(200)

    engine, _ = running(dispatcher)
    engine.pause_queue(tasks_v2.PauseQueueRequest(name=QUEUE))
    add(engine, "forced")

    started = time.monotonic()
    task = engine.run_task(tasks_v2.RunTaskRequest(name=f"{QUEUE}/tasks/forced"))

    assert time.monotonic() - started < 1
    assert task.dispatch_count == 1
    release.set()
    wait_until(lambda: len(engine.deliveries) == 1)


def test_stop_waits_for_deliveries_in_flight_within_the_grace():
    dispatcher = SlowDispatcher(delay=0.2)
    engine = CloudTasksEngine(WallClock(), dispatcher)
    engine.create_queue(
        tasks_v2.CreateQueueRequest(parent=PARENT, queue=tasks_v2.Queue(name=QUEUE))
    )
    driver = RealTimeDriver(WallClock(), [engine], max_parallel=2)
    driver.start()
    add(engine, "slow")
    wait_until(lambda: driver.outstanding == 1)

    driver.stop(grace=5)

    assert dispatcher.task_ids == ["slow"]
    assert driver.outstanding == 0


def test_max_parallel_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        RealTimeDriver(WallClock(), [], max_parallel=0)
