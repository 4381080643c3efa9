"""Cloud Run Admin v2 over REST: updating and deleting jobs, cancelling and deleting executions,
each answered by Google's long-running Operation in its JSON mapping (camelCase fields, the
resource packed as ``@type`` + fields in ``metadata`` and ``response``)."""

from __future__ import annotations

import sys

import pytest
from google.cloud import run_v2

from emulator.server import start_server
from tests.emulator.conftest import RecordingDispatcher

from .test_control_api import wait_until
from .test_rest_api import PARENT, rest

JOB_TYPE = "type.googleapis.com/google.cloud.run.v2.Job"
EXECUTION_TYPE = "type.googleapis.com/google.cloud.run.v2.Execution"
JOB = f"{PARENT}/jobs/nightly"
SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


@pytest.fixture
def server():
    with start_server(
        dispatcher=RecordingDispatcher(), default_job_command=SLEEPER, job_kill_grace=0.5
    ) as s:
        yield s


def create_job(server, job_id: str = "nightly", task_count: int = 1) -> dict:
    job = {"template": {"taskCount": task_count, "template": {"containers": [{"image": "app"}]}}}
    status, operation = rest(server, "POST", f"/v2/{PARENT}/jobs?jobId={job_id}", job)
    assert status == 200 and operation["done"] is True, operation
    return operation["response"]


def start_execution(server) -> str:
    """Run the job; the name of its execution, once its task is running."""
    status, operation = rest(server, "POST", f"/v2/{JOB}:run", {})
    assert status == 200, operation
    name = operation["metadata"]["name"]
    wait_until(lambda: rest(server, "GET", f"/v2/{name}")[1].get("runningCount") == 1)
    return name


def final_operation(server, operation: dict) -> dict:
    """``operation`` polled through GetOperation until it is done."""
    wait_until(lambda: rest(server, "GET", f"/v2/{operation['name']}")[1].get("done"))
    return rest(server, "GET", f"/v2/{operation['name']}")[1]


def test_patch_replaces_the_job_and_answers_an_operation_with_the_new_generation(server):
    created = create_job(server)
    replacement = {
        "labels": {"team": "data"},
        "template": {"taskCount": 3, "template": {"containers": [{"image": "app:2"}]}},
    }

    status, operation = rest(server, "PATCH", f"/v2/{JOB}", replacement)

    assert status == 200 and operation["done"] is True
    assert operation["name"].startswith(f"{PARENT}/operations/")
    updated = operation["response"]
    assert updated["@type"] == JOB_TYPE and updated["name"] == JOB
    assert int(updated["generation"]) == int(created["generation"]) + 1
    assert updated["template"]["taskCount"] == 3 and updated["labels"] == {"team": "data"}
    assert rest(server, "GET", f"/v2/{operation['name']}") == (200, operation)
    held = server.cloud.run_jobs.get_job(run_v2.GetJobRequest(name=JOB))
    assert held.template.task_count == 3
    assert held.template.template.containers[0].image == "app:2"


def test_patch_takes_no_update_mask_and_creates_only_with_allow_missing(server):
    create_job(server)
    body = {"template": {"taskCount": 2, "template": {"containers": [{"image": "app"}]}}}

    # Run v2's UpdateJob replaces the job: like Google, a mask is an unknown query parameter.
    status, error = rest(server, "PATCH", f"/v2/{JOB}?updateMask=template.taskCount", body)
    assert (status, error["error"]["status"]) == (400, "INVALID_ARGUMENT")
    assert "updateMask" in error["error"]["message"]
    status, error = rest(server, "PATCH", f"/v2/{PARENT}/jobs/other", body)
    assert (status, error["error"]["status"]) == (404, "NOT_FOUND")
    status, operation = rest(server, "PATCH", f"/v2/{PARENT}/jobs/other?allowMissing=true", body)
    assert status == 200 and operation["response"]["name"] == f"{PARENT}/jobs/other"
    assert rest(server, "GET", f"/v2/{PARENT}/jobs/other")[1]["template"]["taskCount"] == 2


def test_delete_of_a_job_answers_its_operation_and_takes_its_executions(server):
    create_job(server)
    execution = start_execution(server)

    status, operation = rest(server, "DELETE", f"/v2/{JOB}")

    assert status == 200 and operation["done"] is True
    deleted = operation["response"]
    assert (deleted["@type"], deleted["name"]) == (JOB_TYPE, JOB) and deleted["deleteTime"]
    status, error = rest(server, "GET", f"/v2/{JOB}")
    assert (status, error["error"]["status"]) == (404, "NOT_FOUND")
    assert rest(server, "GET", f"/v2/{execution}")[0] == 404
    assert rest(server, "GET", f"/v2/{PARENT}/jobs")[1] == {}
    assert rest(server, "DELETE", f"/v2/{JOB}")[0] == 404


def test_cancel_of_a_running_execution_answers_an_operation_done_once_it_stopped(server):
    create_job(server)
    execution = start_execution(server)

    status, operation = rest(server, "POST", f"/v2/{execution}:cancel", {})

    assert status == 200 and operation["name"].startswith(f"{PARENT}/operations/")
    assert operation["metadata"]["@type"] == EXECUTION_TYPE
    assert operation["metadata"]["name"] == execution
    done = final_operation(server, operation)
    assert done["response"]["@type"] == EXECUTION_TYPE
    assert done["response"]["cancelledCount"] == 1 and done["response"]["completionTime"]
    cancelled = rest(server, "GET", f"/v2/{execution}")[1]
    assert cancelled["cancelledCount"] == 1 and "runningCount" not in cancelled
    status, error = rest(server, "POST", f"/v2/{execution}:cancel", {})
    assert (status, error["error"]["status"]) == (400, "FAILED_PRECONDITION")


def test_delete_of_an_execution_answers_its_operation_and_removes_it(server):
    create_job(server)
    execution = start_execution(server)

    status, operation = rest(server, "DELETE", f"/v2/{execution}")

    assert status == 200
    done = final_operation(server, operation)
    deleted = done["response"]
    assert (deleted["@type"], deleted["name"]) == (EXECUTION_TYPE, execution)
    assert deleted["deleteTime"]
    status, error = rest(server, "GET", f"/v2/{execution}")
    assert (status, error["error"]["status"]) == (404, "NOT_FOUND")
    assert rest(server, "GET", f"/v2/{JOB}/executions")[1] == {}
    assert rest(server, "GET", f"/v2/{execution}/tasks")[0] == 404
    assert rest(server, "DELETE", f"/v2/{execution}")[0] == 404
