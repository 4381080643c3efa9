"""Where Cloud Tasks and Cloud Scheduler POST: `execute_url` and `schedule_url`, by default
under `base_url`, or anywhere else a deployment routes to tasks_google.urls."""

import pytest
from django.urls import include, path
from google.cloud import scheduler_v1, tasks_v2

from tasks_google import schedule_task
from tasks_google.framework import TaskResultStatus
from tests.settings import TASKS
from tests.tasks_google import tasks

pytestmark = pytest.mark.django_db

QUEUE = "projects/demo-project/locations/us-central1/queues/default"

#: A deployment that serves the endpoints on another path than base_url's (ROOT_URLCONF below).
urlpatterns = [path("worker/hooks/", include("tasks_google.urls"))]


def with_options(settings, **options) -> None:
    merged = {**TASKS["default"]["OPTIONS"], **options}
    settings.TASKS = {**TASKS, "default": {**TASKS["default"], "OPTIONS": merged}}


def cloud_task(tasks_emulator) -> tasks_v2.Task:
    [pending] = tasks_emulator.pending()
    return tasks_emulator.cloud.cloud_tasks.get_task(
        tasks_v2.GetTaskRequest(name=f"{QUEUE}/tasks/{pending.name}")
    )


def test_executions_are_posted_to_execute_url_under_base_url_by_default(tasks_emulator):
    tasks.calculate_meaning_of_life.enqueue()
    task = cloud_task(tasks_emulator)
    assert task.http_request.url == "http://app.test/tasks/execute/"
    assert task.http_request.oidc_token.audience == "http://app.test"


def test_executions_are_posted_to_execute_url_and_the_audience_stays(settings, tasks_emulator):
    with_options(settings, execute_url="http://worker.test/worker/hooks/execute/")
    settings.ROOT_URLCONF = __name__
    result = tasks.calculate_meaning_of_life.enqueue()
    task = cloud_task(tasks_emulator)
    assert task.http_request.url == "http://worker.test/worker/hooks/execute/"
    # The ID token is still minted for base_url's origin, which execute/ verifies.
    assert task.http_request.oidc_token.audience == "http://app.test"

    tasks_emulator.run_until_idle()

    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL and result.return_value == 42


def test_scheduler_jobs_post_to_schedule_url(settings, tasks_emulator):
    with_options(settings, schedule_url="https://cron.example/fire/")
    row = schedule_task("nightly", tasks.noop_task, "@daily")
    job = tasks_emulator.cloud.scheduler.get_job(
        scheduler_v1.GetJobRequest(name=row.remote_job_name)
    )
    assert job.http_target.uri == "https://cron.example/fire/"
    assert job.http_target.oidc_token.audience == "http://app.test"
