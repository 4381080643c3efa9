"""The TaskExecution admin: read-only, filterable, tracebacks shown, cancel and re-enqueue."""

import pytest

from tasks_google import retry_task
from tasks_google.framework import TaskResultStatus
from tasks_google.models import TaskExecution
from tests.tasks_google import tasks

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/tasks_google/taskexecution/"


def test_changelist_filters_and_detail_shows_the_traceback(admin_client, tasks_emulator):
    tasks_emulator.configure_queue(max_attempts=1)
    failed = tasks.failing_task_value_error.enqueue()
    other = tasks.noop_task.enqueue()
    tasks_emulator.run_until_idle()

    page = admin_client.get(CHANGELIST, {"status__exact": "FAILED"}).content.decode()
    assert failed.id in page and "failing_task_value_error" in page
    assert other.id not in page

    detail = admin_client.get(f"{CHANGELIST}{failed.id}/change/").content.decode()
    assert "This task failed due to ValueError" in detail
    assert "builtins.ValueError" in detail
    assert 'name="_save"' not in detail  # read-only


def test_detail_lists_each_attempt(admin_client, tasks_emulator):
    result = tasks.fails_until_attempt.enqueue(succeed_on=2)
    tasks_emulator.run_until_idle()
    detail = admin_client.get(f"{CHANGELIST}{result.id}/change/").content.decode()
    row = TaskExecution.objects.get(pk=result.id)
    first, _ = row.attempts
    assert (
        f"<tr><td>#1</td><td>retry</td><td>{first['worker']}</td>"
        f"<td>{first['started_at']}</td><td>{first['finished_at']}</td>"
        "<td>builtins.RuntimeError</td></tr>"
    ) in detail
    assert "<td>#2</td><td>succeeded</td>" in detail


def test_admin_actions_cancel_and_reenqueue(admin_client, tasks_emulator):
    waiting = tasks.noop_task.enqueue()
    response = admin_client.post(
        CHANGELIST, {"action": "cancel_selected", "_selected_action": [waiting.id]}, follow=True
    )
    assert "Cancelled before it started" in response.content.decode()
    waiting.refresh()
    assert waiting.status == TaskResultStatus.FAILED

    response = admin_client.post(
        CHANGELIST, {"action": "reenqueue_selected", "_selected_action": [waiting.id]}, follow=True
    )
    assert "re-enqueued as" in response.content.decode()
    copy = TaskExecution.objects.exclude(pk=waiting.id).get()
    assert copy.task_path == "tests.tasks_google.tasks.noop_task"
    assert copy.status == TaskResultStatus.READY


def test_retry_task_copies_task_arguments_and_queue(tasks_emulator):
    original = tasks.send_email.enqueue("ada@example.com")
    copy = retry_task(original)
    assert copy.id != original.id
    assert copy.args == ["ada@example.com"] and copy.task.queue_name == "emails"
    tasks_emulator.run_until_idle()
    copy.refresh()
    assert copy.return_value == "sent to ada@example.com"
