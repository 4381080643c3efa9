"""An execution of a PeriodicTask is shown under its class, not under the runner that runs it."""

import io
import re

import pytest
from django.core.management import call_command

from tasks_google import run_schedule
from tasks_google.config.scheduler_jobs import PERIODIC_RUNNER_PATH
from tasks_google.models import TaskExecution
from tasks_google.scheduling import declarations
from tests.tasks_google import tasks

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/tasks_google/taskexecution/"
CLASS = "tests.tasks_google.periodic_classes.CleanupSessions"


def field(page: str, name: str) -> str:
    """The text of the read-only field `name` of an admin change page."""
    block = re.search(
        rf'<div class="form-row field-{name}">.*?<div class="readonly">(.*?)</div>', page, re.S
    )
    assert block is not None, name
    return block.group(1)


def test_the_runner_is_the_task_that_runs_periodic_tasks():
    from tasks_google.periodic_runner import run_periodic_task

    assert run_periodic_task.module_path == PERIODIC_RUNNER_PATH


def test_admin_shows_a_periodic_task_execution_under_its_class(
    admin_client, tasks_emulator, monkeypatch
):
    from tests.tasks_google.periodic_classes import CleanupSessions

    monkeypatch.setattr(declarations, "_declared", {})
    declarations.declare_class(CleanupSessions)
    call_command("schedule_tasks", stdout=io.StringIO())
    run_schedule("CleanupSessions")
    other = tasks.noop_task.enqueue()
    tasks_emulator.run_until_idle()
    periodic = TaskExecution.objects.exclude(pk=other.id).get()
    # Stored as what runs it (the class, then the fire); shown as what it is.
    assert (periodic.task_path, periodic.args[0]) == (PERIODIC_RUNNER_PATH, CLASS)
    assert periodic.args[1]["job_name"] == "CleanupSessions"
    assert periodic.task_name == CLASS
    assert TaskExecution.objects.get(pk=other.id).task_name == "tests.tasks_google.tasks.noop_task"

    page = admin_client.get(CHANGELIST).content.decode()
    shown = re.findall(r'<td class="field-task_name">(.*?)</td>', page)
    assert sorted(shown) == [CLASS, "tests.tasks_google.tasks.noop_task"]
    detail = admin_client.get(f"{CHANGELIST}{periodic.pk}/change/").content.decode()
    assert field(detail, "task_name") == CLASS
    assert field(detail, "task_path") == PERIODIC_RUNNER_PATH
