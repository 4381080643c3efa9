"""One cloud read two ways gives one state: the dashboard's in-process source and its HTTP
control API source, and every state answer of the control API and the view it serves."""

import json
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta

import pytest
from google.cloud import tasks_v2

from emulator import FaultRule, HttpStatus, LocalCloud, VirtualClock, views
from emulator.server.control_api import ControlApiServer
from emulator.server.rest_api import RestApi
from tests.emulator import run_jobs_support, scheduler_support
from tests.emulator.conftest import PARENT, START, URL, RecordingDispatcher
from tui.emulator_sources import HttpEmulatorSource, InProcessEmulatorSource

QUEUE = f"{PARENT}/queues/jobs"
PROJECT, LOCATION = PARENT.split("/")[1::2]


@dataclass
class Target:
    """What the control API serves (`ControlTarget`): `cloud` in `PARENT`, no REST methods."""

    cloud: LocalCloud
    project: str = PROJECT
    location: str = LOCATION
    version: str = "test"
    services: tuple[str, ...] = ("cloud_tasks", "scheduler", "run_jobs")
    rest_api: RestApi = field(default_factory=lambda: RestApi([]))


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    """A cloud with a queue of two tasks (one retried after a 503), a Scheduler job, a Run job
    with a finished execution, and a fault rule."""
    cloud = LocalCloud(
        VirtualClock(START),
        RecordingDispatcher(503, 200),
        default_job_command=run_jobs_support.python("pass"),
    )
    tasks = cloud.cloud_tasks
    tasks.create_queue(tasks_v2.CreateQueueRequest(parent=PARENT, queue=tasks_v2.Queue(name=QUEUE)))
    for task_id, delay in (("soon", 0), ("later", 3600)):
        task = tasks_v2.Task(
            name=f"{QUEUE}/tasks/{task_id}",
            http_request=tasks_v2.HttpRequest(url=URL, headers={"X-Mine": "1"}, body=b"abc"),
            schedule_time=START + timedelta(seconds=delay),
        )
        tasks.create_task(tasks_v2.CreateTaskRequest(parent=QUEUE, task=task))
    cloud.advance()  # "soon" gets a 503 and waits for its retry
    scheduler_support.create_job(cloud.scheduler, "report", "0 9 * * 1")
    job = run_jobs_support.create_job(cloud.run_jobs, "nightly", [], task_count=2)
    execution, _ = run_jobs_support.run_job(cloud.run_jobs, job)
    cloud.run_jobs.wait_for_execution(execution, timeout=30)
    cloud.faults.add(FaultRule(operation="dispatch", queue="jobs", effect=HttpStatus(500), count=2))
    yield cloud
    cloud.close()


@pytest.fixture
def control_url(cloud: LocalCloud) -> Iterator[str]:
    server = ControlApiServer(("127.0.0.1", 0), Target(cloud))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def test_the_in_process_and_the_http_sources_read_the_same_state(cloud, control_url):
    in_process = InProcessEmulatorSource(cloud).read()
    over_http = HttpEmulatorSource(control_url).read()

    assert in_process.error is None and over_http.error is None
    assert over_http == replace(in_process, where=control_url)
    assert in_process.clock == START
    (queue,) = in_process.queues
    assert (queue.queue_id, queue.depth) == ("jobs", 2)
    assert [job.job_id for job in in_process.scheduler_jobs] == ["report"]
    (run_job,) = in_process.run_jobs
    (execution,) = run_job.executions
    assert (execution.status, len(execution.tasks)) == ("SUCCEEDED", 2)
    (fault,) = in_process.faults
    assert fault.effect == "http_status(status=500)"


def test_each_state_answer_of_the_control_api_is_its_view(cloud, control_url):
    job = f"{PARENT}/jobs/nightly"
    answers = {
        "/v1/queues": {"queues": views.queues(cloud)},
        "/v1/tasks?queue=jobs": {"tasks": views.tasks(cloud, QUEUE)},
        "/v1/scheduler/jobs": {"jobs": views.scheduler_jobs(cloud)},
        "/v1/run/jobs": {"jobs": views.run_jobs(cloud)},
        "/v1/run/executions?job=nightly": {"executions": views.executions(cloud, job)},
        "/v1/faults": {"faults": views.faults(cloud)},
        "/v1/faults/f1": views.fault(cloud, "f1"),
        "/v1/deliveries?limit=5": {"deliveries": views.deliveries(cloud, 5)},
    }

    for path, view in answers.items():
        assert get(control_url + path) == view, path
    assert get(control_url + "/health")["time"] == views.clock(cloud) == "2025-01-06T09:00:00.000Z"
    (soon, later) = answers["/v1/tasks?queue=jobs"]["tasks"]
    assert [a["status"] for a in soon["attempts"]] == [503]
    assert (later["task_id"], later["attempts"]) == ("later", [])
    assert [d["response_status"] for d in answers["/v1/deliveries?limit=5"]["deliveries"]] == [503]
