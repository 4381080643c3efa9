"""USE_TZ = False: the in-process emulator's aware clock meets a database of naive local times."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from tasks_google import schedule_task
from tasks_google.framework import TaskResultStatus
from tasks_google.models import ScheduledTask, ScheduleFire, TaskExecution
from tasks_google.testing import emulated
from tests.tasks_google import tasks

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def naive_datetimes(settings):
    settings.USE_TZ = False


def test_enqueue_runs_and_records_naive_local_times(tasks_emulator):
    result = tasks.calculate_meaning_of_life.enqueue()
    tasks_emulator.run_until_idle()

    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL and result.return_value == 42
    row = TaskExecution.objects.get(pk=result.id)
    for moment in (row.enqueued_at, row.started_at, row.finished_at):
        assert timezone.is_naive(moment)
        # Local time, as timezone.now() gives it under USE_TZ = False.
        assert abs(moment - timezone.now()) < timedelta(minutes=1)
    assert tasks_emulator.now() == row.finished_at


def test_a_retry_waits_its_backoff_on_the_virtual_clock(tasks_emulator):
    tasks_emulator.configure_queue(max_attempts=3, min_backoff=10, max_backoff=100)
    result = tasks.fails_until_attempt.enqueue(succeed_on=3)
    tasks_emulator.run_until_idle()

    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL and result.return_value == 3
    row = TaskExecution.objects.get(pk=result.id)
    assert len(row.errors) == 2
    # Backoffs of 10 s then 20 s separate the three attempts.
    assert row.finished_at - row.started_at >= timedelta(seconds=30)


def test_run_after_is_reached_by_advancing_the_clock(tasks_emulator):
    run_after = timezone.now() + timedelta(minutes=5)  # naive local time
    result = tasks.calculate_meaning_of_life.using(run_after=run_after).enqueue()
    [pending] = tasks_emulator.pending()
    assert pending.schedule_time == TaskExecution.objects.get(pk=result.id).run_after

    tasks_emulator.advance(minutes=4)
    result.refresh()
    assert result.status == TaskResultStatus.READY

    tasks_emulator.advance(minutes=1)
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL


def test_an_aware_run_after_is_stored_as_local_time(tasks_emulator):
    run_after = datetime.now(UTC) + timedelta(minutes=5)
    result = tasks.calculate_meaning_of_life.using(run_after=run_after).enqueue()

    row = TaskExecution.objects.get(pk=result.id)
    assert row.run_after == timezone.make_naive(run_after)
    tasks_emulator.advance(minutes=5)
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL


def test_a_schedule_fires_with_its_slot_in_local_time():
    start = timezone.make_naive(datetime(2026, 1, 5, 7, 58, tzinfo=UTC))
    with emulated(start=start) as cloud:  # a naive start is local time too
        schedule_task("morning", tasks.echo, "0 9 * * 1-5", time_zone="Europe/Paris", args=[1])
        cloud.advance(minutes=3)  # 09:00 in Paris is 08:00 UTC in January
        cloud.run_until_idle()

        [fire] = ScheduleFire.objects.all()
        assert fire.schedule_time == timezone.make_naive(datetime(2026, 1, 5, 8, 0, tzinfo=UTC))
        assert ScheduledTask.objects.get(name="morning").last_fired_slot == fire.schedule_time
        result = tasks.echo.get_result(fire.execution_id)
        assert result.status == TaskResultStatus.SUCCESSFUL
