"""Cloud Scheduler jobs across a restart on a data directory: no slot skipped, none fired twice,
slots missed while down collapse into one fire, an attempt lost in flight is sent again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from google.cloud import scheduler_v1

from emulator import LocalCloud, SqliteStore, VirtualClock, views
from tests.emulator.conftest import PARENT, START, RecordingDispatcher
from tests.emulator.scheduler_support import create_job, job_name, minutes, schedule_times


class Restartable:
    """A LocalCloud on a SQLite file that can be stopped and started again at a later time."""

    def __init__(self, path) -> None:
        self.path = path
        self.dispatcher = RecordingDispatcher(200)
        self.clock = VirtualClock(START)
        self.cloud = LocalCloud(self.clock, self.dispatcher, store=SqliteStore(path))

    def restart(self, *, down_for: timedelta = timedelta(0)) -> LocalCloud:
        """Stop without any clean-up, then start on the same file ``down_for`` later."""
        self.cloud.close()
        self.clock = VirtualClock(self.clock.now() + down_for)
        self.cloud = LocalCloud(self.clock, self.dispatcher, store=SqliteStore(self.path))
        return self.cloud


@pytest.fixture
def emulator(tmp_path):
    restartable = Restartable(tmp_path / "emulator.sqlite3")
    yield restartable
    restartable.cloud.close()


def test_a_restart_never_skips_a_slot_and_never_fires_one_twice(emulator):
    create_job(emulator.cloud.scheduler)
    emulator.cloud.advance(minutes=2, seconds=30)

    cloud = emulator.restart()
    cloud.advance(minutes=2)

    assert schedule_times(emulator.dispatcher) == [
        "2025-01-06T09:01:00Z",
        "2025-01-06T09:02:00Z",
        "2025-01-06T09:03:00Z",
        "2025-01-06T09:04:00Z",
    ]


def test_a_restart_exactly_on_a_fired_slot_does_not_fire_it_again(emulator):
    create_job(emulator.cloud.scheduler)
    emulator.cloud.advance(minutes=1)  # 09:01 fires; the clock stays at 09:01:00

    cloud = emulator.restart()
    cloud.advance()
    cloud.advance(minutes=1)

    assert schedule_times(emulator.dispatcher) == ["2025-01-06T09:01:00Z", "2025-01-06T09:02:00Z"]


def test_slots_missed_while_down_fire_once_with_the_latest_schedule_time(emulator):
    create_job(emulator.cloud.scheduler)
    emulator.cloud.advance(minutes=1)

    cloud = emulator.restart(down_for=minutes(9.5))  # 09:02 ... 09:10 passed while down
    cloud.advance(minutes=1)

    assert schedule_times(emulator.dispatcher) == [
        "2025-01-06T09:01:00Z",
        "2025-01-06T09:10:00Z",  # at restart, 09:10:30
        "2025-01-06T09:11:00Z",
    ]


def test_an_attempt_in_flight_at_the_crash_is_sent_again_after_the_restart(emulator):
    create_job(emulator.cloud.scheduler)
    emulator.clock.advance(minutes(1))
    (lost,) = emulator.cloud.scheduler.claim_due(10)  # dispatched, then the emulator dies
    assert lost.work.run.in_flight

    cloud = emulator.restart(down_for=timedelta(seconds=20))
    cloud.advance(seconds=30)

    assert schedule_times(emulator.dispatcher) == ["2025-01-06T09:01:00Z"]
    assert [r.retry_count for r in cloud.scheduler.fires] == [0]  # not counted as an attempt


def test_settings_state_and_retries_survive_a_restart(emulator):
    scheduler = emulator.cloud.scheduler
    create_job(
        scheduler,
        "kept",
        schedule="0 9 * * mon",
        time_zone="Europe/Paris",
        retry={"retry_count": 3, "min_backoff_duration": timedelta(seconds=30)},
        body=b"{}",
    )
    create_job(scheduler, "paused")
    scheduler.pause_job(scheduler_v1.PauseJobRequest(name=job_name("paused")))
    create_job(scheduler, "retrying", retry={"retry_count": 1})
    emulator.dispatcher.script(500, 200)
    emulator.cloud.advance(minutes=1)  # "retrying" failed; its retry is due at 09:01:05
    listed = scheduler.list_jobs(scheduler_v1.ListJobsRequest(parent=PARENT))
    before = {j.name: j for j in listed.jobs}

    cloud = emulator.restart()

    after = cloud.scheduler.list_jobs(scheduler_v1.ListJobsRequest(parent=PARENT))
    assert {j.name: j for j in after.jobs} == before
    cloud.advance(seconds=5)
    assert schedule_times(emulator.dispatcher) == ["2025-01-06T09:01:00Z"] * 2


def test_export_and_import_carry_the_jobs(emulator):
    create_job(emulator.cloud.scheduler)
    exported = emulator.cloud.export_state()
    emulator.cloud.reset()
    assert views.scheduler_jobs(emulator.cloud) == []

    emulator.cloud.import_state(exported)

    (job,) = views.scheduler_jobs(emulator.cloud)
    assert job["next_fire_time"] == "2025-01-06T09:01:00Z"
