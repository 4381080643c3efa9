"""What a new user tests in the first hour, written from the README and docs/testing.md."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.tasks import TaskResultStatus
from django.tasks.exceptions import InvalidTask
from django.utils import timezone

from myapp.tasks import (
    charge_card,
    flaky,
    import_catalogue,
    rebuild_catalogue,
    remember,
    send_welcome_email,
)
from tasks_google import TaskExecution, cancel_task

pytestmark = pytest.mark.django_db


def test_a_flaky_task_is_retried_until_it_works(tasks_emulator):
    tasks_emulator.configure_queue(max_attempts=5, min_backoff=1)
    result = flaky.enqueue(works_on=3)
    tasks_emulator.run_until_idle()
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 3
    assert result.attempts == 3
    assert [e.exception_class for e in result.errors] == [ConnectionError, ConnectionError]


def test_retries_stop_at_max_attempts(tasks_emulator):
    tasks_emulator.configure_queue(max_attempts=2, min_backoff=1)
    result = flaky.enqueue(works_on=10)
    tasks_emulator.run_until_idle()
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert result.attempts == 2


def test_a_permanent_error_is_not_retried(tasks_emulator):
    result = charge_card.enqueue(order_id=7)
    tasks_emulator.run_until_idle()
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert result.attempts == 1
    assert "declined" in result.errors[0].traceback


def test_run_after_waits_for_the_virtual_clock(tasks_emulator):
    later = remember.using(run_after=timezone.now() + timedelta(minutes=10))
    result = later.enqueue("deferred")
    tasks_emulator.advance(minutes=9)
    result.refresh()
    assert result.status == TaskResultStatus.READY
    tasks_emulator.advance(minutes=1)
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL


def test_a_cancelled_task_never_runs(tasks_emulator):
    cache.delete("cancelled-one")
    result = remember.enqueue("cancelled-one")
    outcome = cancel_task(result)
    tasks_emulator.run_until_idle()
    result.refresh()
    assert outcome.state == "cancelled"
    assert result.status == TaskResultStatus.FAILED
    assert cache.get("cancelled-one") is None


def test_periodic_schedules_fire_when_the_clock_passes_their_slots(tasks_emulator):
    call_command("schedule_tasks", verbosity=0)
    tasks_emulator.advance(hours=24)
    runs = TaskExecution.objects.filter(status=TaskResultStatus.SUCCESSFUL)
    assert runs.filter(task_path="myapp.tasks.sync_stock").count() >= 95  # every 15 minutes
    nightly = [e for e in runs if e.args and e.args[0] == "myapp.tasks.NightlyCleanup"]
    assert len(nightly) == 1


def test_an_unknown_queue_is_refused_with_the_allowed_ones():
    with pytest.raises(InvalidTask, match="allows 'default', 'emails'"):
        send_welcome_email.using(queue_name="sms")


@pytest.mark.django_db(transaction=True)
def test_a_run_jobs_task_runs_in_its_own_process_and_reports_progress(tasks_emulator):
    result = rebuild_catalogue.enqueue(items=3)
    tasks_emulator.run_until_idle()
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL, result.errors
    assert result.return_value == {"rebuilt": 3}
    execution = TaskExecution.objects.get(pk=result.id)
    assert (execution.progress_done, execution.progress_total) == (3, 3)


@pytest.mark.django_db(transaction=True)
def test_a_run_jobs_task_that_always_fails_ends_failed_after_its_retries(tasks_emulator):
    tasks_emulator.configure_job("batch", backend="jobs", max_retries=1)
    result = import_catalogue.enqueue("ftp://nowhere")
    tasks_emulator.run_until_idle()
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert result.attempts == 2
    assert result.errors[-1].exception_class is ValueError
