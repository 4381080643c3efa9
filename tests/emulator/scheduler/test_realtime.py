"""Cloud Scheduler on the wall clock: the real-time driver sleeps until a slot and fires it."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from google.cloud import scheduler_v1

from emulator import Delivery, DeliveryResult, SchedulerEngine
from emulator.kit.realtime import RealTimeDriver
from tests.emulator.scheduler_support import create_job, job_name


class ShiftedClock:
    """The wall clock shifted so that the next minute starts ``lead`` seconds from now."""

    def __init__(self, lead: float) -> None:
        now = datetime.now(UTC)
        target = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        self._shift = target - timedelta(seconds=lead) - now

    def now(self) -> datetime:
        return datetime.now(UTC) + self._shift


class Recorder:
    def __init__(self, clock: ShiftedClock) -> None:
        self.clock = clock
        self.seen: list[tuple[Delivery, datetime]] = []
        self.arrived = threading.Event()

    def __call__(self, delivery: Delivery) -> DeliveryResult:
        self.seen.append((delivery, self.clock.now()))
        self.arrived.set()
        return DeliveryResult(200)


def test_the_driver_fires_a_slot_when_it_falls_due():
    clock = ShiftedClock(lead=1.0)
    recorder = Recorder(clock)
    engine = SchedulerEngine(clock, recorder)
    slot = create_job(engine).schedule_time
    assert slot - clock.now() < timedelta(seconds=1)
    driver = RealTimeDriver(clock, [engine], max_parallel=2)
    driver.start()
    try:
        assert recorder.arrived.wait(10), "the slot was not fired"
        (delivery, at), *_ = recorder.seen
        assert delivery.headers["X-CloudScheduler-ScheduleTime"] == (
            slot.strftime("%Y-%m-%dT%H:%M:%S") + "Z"
        )
        assert slot <= at < slot + timedelta(seconds=2)  # not early, not polled late
    finally:
        driver.stop(grace=2)


def test_run_job_returns_before_its_delivery_on_the_server_path():
    clock = ShiftedClock(lead=30)
    release = threading.Event()
    started = threading.Event()

    def slow(delivery: Delivery) -> DeliveryResult:
        started.set()
        release.wait(5)
        return DeliveryResult(200)

    engine = SchedulerEngine(clock, slow)
    driver = RealTimeDriver(clock, [engine], max_parallel=2)
    driver.start()
    try:
        create_job(engine, schedule="0 0 1 1 *")
        began = time.monotonic()
        job = engine.run_job(scheduler_v1.RunJobRequest(name=job_name()))

        assert time.monotonic() - began < 1.0
        assert "last_attempt_time" in job
        assert started.wait(5)
    finally:
        release.set()
        driver.stop(grace=2)
