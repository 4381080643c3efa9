"""Pausing, resuming and purging Cloud Tasks queues, on the in-process emulator."""

from datetime import timedelta

import pytest

from tasks_google import (
    QueueDoesNotExist,
    TaskCancelledError,
    find_queue,
    pause_queue,
    purge_queue,
    queue_state,
    resume_queue,
)
from tasks_google.framework import (
    InvalidTaskBackend,
    TaskResultStatus,
    task_backends,
    task_finished,
)
from tasks_google.models import TaskExecution
from tests.settings import TASKS
from tests.tasks_google import tasks

pytestmark = pytest.mark.django_db

QUEUES = "projects/demo-project/locations/us-central1/queues"


def assert_purged(result):
    result.refresh()
    row = TaskExecution.objects.get(pk=result.id)
    assert result.status == TaskResultStatus.FAILED
    assert row.cancelled_at is not None
    assert result.errors[-1].exception_class is TaskCancelledError
    assert f"the Cloud Tasks queue {QUEUES}/default was purged" in result.errors[-1].traceback


def test_a_paused_queue_keeps_its_tasks_until_it_is_resumed(tasks_emulator):
    tasks_emulator.configure_queue()
    paused = pause_queue()
    assert (paused.queue, paused.state) == (f"{QUEUES}/default", "PAUSED")
    assert "none is delivered until resume_queue()" in paused.message
    assert queue_state().state == "PAUSED"

    result = tasks.calculate_meaning_of_life.enqueue()
    assert tasks_emulator.run_until_idle() == 0
    result.refresh()
    assert result.status == TaskResultStatus.READY
    assert [t.name for t in tasks_emulator.pending()] == [result.id]

    resumed = resume_queue()
    assert resumed.state == "RUNNING" and resumed.message.startswith("Resumed.")
    assert tasks_emulator.run_until_idle() == 1
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL and result.return_value == 42


def test_pausing_and_resuming_twice_is_harmless(tasks_emulator):
    tasks_emulator.configure_queue("emails")
    assert pause_queue("emails").state == pause_queue("emails").state == "PAUSED"
    assert resume_queue("emails").state == resume_queue("emails").state == "RUNNING"


def test_queue_aliases_decide_the_queue(tasks_emulator):
    tasks_emulator.configure_queue("slow")
    tasks_emulator.configure_queue("default")
    outcome = pause_queue("slow")
    assert outcome.queue == f"{QUEUES}/slow-lane"
    assert queue_state("slow").state == "PAUSED"
    assert queue_state("default", backend="default").state == "RUNNING"


def test_a_disabled_queue_is_reported_and_can_be_resumed(tasks_emulator):
    tasks_emulator.configure_queue()
    tasks_emulator.cloud.cloud_tasks.disable_queue(f"{QUEUES}/default")
    assert queue_state().state == "DISABLED"
    assert resume_queue().state == "RUNNING"


def test_purge_cancels_the_waiting_executions_and_later_ones_run(tasks_emulator):
    tasks_emulator.configure_queue(min_backoff=3600)
    retrying = tasks.fails_until_attempt.enqueue(succeed_on=2)
    tasks_emulator.advance(0)  # its first attempt fails; the retry waits an hour
    retrying.refresh()
    assert retrying.status == TaskResultStatus.READY and len(retrying.errors) == 1
    waiting = tasks.noop_task.enqueue()
    later_start = tasks.calculate_meaning_of_life.using(
        run_after=tasks_emulator.now() + timedelta(hours=2)
    ).enqueue()
    other_queue = tasks.send_email.enqueue("ada@example.com")
    assert len(tasks_emulator.pending()) == 3

    finished = set()

    def on_finished(sender, task_result, **kwargs):
        finished.add(task_result.id)

    task_finished.connect(on_finished)
    try:
        outcome = purge_queue()
    finally:
        task_finished.disconnect(on_finished)

    assert outcome.cancelled_executions == 3
    assert finished == {waiting.id, later_start.id, retrying.id}
    assert outcome.queue == f"{QUEUES}/default" and outcome.state == "RUNNING"
    assert "3 waiting executions were recorded cancelled" in outcome.message
    assert tasks_emulator.pending() == []
    for result in (waiting, later_start, retrying):
        assert_purged(result)

    after = tasks.calculate_meaning_of_life.enqueue()
    tasks_emulator.run_until_idle()
    for result, value in ((after, 42), (other_queue, "sent to ada@example.com")):
        result.refresh()
        assert result.status == TaskResultStatus.SUCCESSFUL and result.return_value == value
    later_start.refresh()
    assert later_start.status == TaskResultStatus.FAILED


def test_purge_cancels_executions_whose_task_waits_for_the_commit(tasks_emulator):
    tasks_emulator.configure_queue()
    # Inside the test's transaction: the Cloud Task would be created on commit, after the purge.
    result = tasks.noop_task.enqueue()
    outcome = purge_queue()
    assert outcome.cancelled_executions == 1
    assert "1 waiting execution was recorded cancelled" in outcome.message
    assert_purged(result)
    # Created on "commit", then deleted: nothing is ever delivered.
    assert tasks_emulator.pending() == []
    assert tasks_emulator.run_until_idle() == 0


def test_purge_leaves_a_running_execution_to_record_its_own_outcome(tasks_emulator):
    tasks_emulator.configure_queue()
    purger = tasks.purges_its_queue.enqueue()
    waiting = tasks.noop_task.enqueue()
    # `purger` runs first (it was created first) and purges while it is RUNNING.
    tasks_emulator.run_until_idle()
    purger.refresh()
    assert purger.status == TaskResultStatus.SUCCESSFUL
    assert purger.return_value == 1
    assert_purged(waiting)


def test_purging_an_empty_queue_says_so(tasks_emulator):
    tasks_emulator.configure_queue("emails")
    outcome = purge_queue("emails")
    assert outcome.cancelled_executions == 0
    assert outcome.message == (
        f"Purged {QUEUES}/emails: its tasks are deleted and no waiting execution was recorded "
        "cancelled (running ones finish on their own). The queue is RUNNING."
    )


def test_a_queue_that_does_not_exist_is_a_clear_error_and_nothing_is_recorded(tasks_emulator):
    result = tasks.send_email.enqueue("ada@example.com")
    for call in (queue_state, pause_queue, resume_queue, purge_queue):
        with pytest.raises(QueueDoesNotExist, match=f"queue {QUEUES}/emails .* does not exist"):
            call("emails")
    result.refresh()
    assert result.status == TaskResultStatus.READY


def test_an_unknown_backend_is_refused(tasks_emulator):
    with pytest.raises(
        InvalidTaskBackend,
        match=r"^backend='nope' is not in settings.TASKS. Cloud Tasks backends: 'default'.$",
    ):
        pause_queue(backend="nope")


def test_a_run_jobs_backend_has_no_queues(tasks_emulator):
    with pytest.raises(InvalidTaskBackend) as raised:
        purge_queue("batch", backend="jobs")
    message = str(raised.value)
    assert message.startswith("backend='jobs' is a CloudRunJobsBackend, which has no queues")
    assert "cancel_task()" in message and "Cloud Tasks backends: 'default'." in message


def test_a_queue_name_outside_queues_is_refused(tasks_emulator):
    with pytest.raises(
        ValueError,
        match=r"queue_name='nope' is not a queue of TASKS\['default'\]; "
        r"its QUEUES: 'default', 'emails', 'slow'.",
    ):
        resume_queue("nope")


def test_without_queues_any_valid_queue_id_is_accepted(tasks_emulator, settings):
    settings.TASKS = {"default": {**TASKS["default"], "QUEUES": []}}
    tasks_emulator.configure_queue("reports")
    assert pause_queue("reports").queue == f"{QUEUES}/reports"
    with pytest.raises(ValueError, match="queue id 'no spaces', which is not valid"):
        pause_queue("no spaces")


def test_find_queue_maps_a_resource_name_back_to_backend_and_queue_name(settings):
    config = task_backends["default"].config
    for name in ("default", "emails", "slow"):
        assert find_queue(config.queue_path(name)) == ("default", name)
    assert find_queue(f"{QUEUES}/slow") is None  # 'slow' is aliased to slow-lane
    assert find_queue("projects/other-project/locations/us-central1/queues/default") is None
    assert find_queue("projects/demo-project/locations/us-central1/jobs/batch") is None

    settings.TASKS = {
        "default": {
            **TASKS["default"],
            "QUEUES": [],
            "OPTIONS": {**TASKS["default"]["OPTIONS"], "queue_aliases": {"b": "a", "c": "a"}},
        }
    }
    assert find_queue(f"{QUEUES}/reports") == ("default", "reports")
    assert find_queue(f"{QUEUES}/a") == ("default", "a")
    assert find_queue(f"{QUEUES}/b") is None
