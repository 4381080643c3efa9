"""CloudTransport keeps the same promises over the in-process engines and over gRPC."""

import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from google.api_core import exceptions as api_exceptions
from google.cloud import tasks_v2
from google.protobuf import field_mask_pb2

from emulator import LocalCloud
from emulator.server.emulator_server import start_server
from tasks_google import transports
from tasks_google.config.targets import Target, TargetKind
from tasks_google.testing import emulated
from tasks_google.transports import (
    CloudTaskSpec,
    JobRunSpec,
    RetryPolicy,
    SchedulerJobSpec,
    cloud,
    get_transport,
)

PARENT = "projects/demo-project/locations/us-central1"


@dataclass
class Side:
    """A transport, and the emulator behind it (reached without the transport)."""

    transport: cloud.CloudTransport
    cloud: LocalCloud

    def name(self, collection: str) -> str:
        return f"{PARENT}/{collection}/t-{uuid.uuid4().hex[:12]}"


def target(kind: TargetKind, emulator_host: str | None = None) -> Target:
    return Target(kind, "demo-project", "us-central1", emulator_host=emulator_host)


@pytest.fixture(scope="module")
def server():
    with start_server() as running:
        yield running


@pytest.fixture(params=["in-process", "grpc"])
def side(request, monkeypatch):
    """Each channel in turn: the in-process engines, or gRPC to the module's emulator server."""
    if request.param == "in-process":
        with emulated() as emulator:
            yield Side(get_transport("default", target(TargetKind.IN_PROCESS)), emulator.cloud)
        return
    server = request.getfixturevalue("server")
    monkeypatch.setattr(transports, "_shared", {})  # a fresh transport, none left behind
    transport = get_transport("default", target(TargetKind.EMULATOR, server.grpc_target))
    yield Side(transport, server.cloud)


def task_spec(queue: str, task_id: str = "only") -> CloudTaskSpec:
    # Due tomorrow: nothing is delivered while the test looks at it.
    later = datetime.now(UTC) + timedelta(days=1)
    return CloudTaskSpec(queue, task_id, "http://127.0.0.1:9/unused", b"{}", schedule_time=later)


def queue_tasks(side: Side, queue: str) -> list[str]:
    page = side.cloud.cloud_tasks.list_tasks(tasks_v2.ListTasksRequest(parent=queue))
    return [task.name for task in page.tasks]


def test_creating_a_task_that_exists_counts_as_done(side):
    queue = side.name("queues")
    first = side.transport.create_task(task_spec(queue))
    assert side.transport.create_task(task_spec(queue)) == first == f"{queue}/tasks/only"
    assert queue_tasks(side, queue) == [first]


def test_deleting_a_task_that_is_gone_counts_as_done(side):
    queue = side.name("queues")
    name = side.transport.create_task(task_spec(queue))
    side.transport.delete_task(name)
    side.transport.delete_task(name)
    assert not side.transport.task_exists(name)
    assert queue_tasks(side, queue) == []


def test_retry_policy_creates_a_missing_emulator_queue(side):
    queue = side.name("queues")
    policy = side.transport.retry_policy(queue)
    assert policy == RetryPolicy(max_attempts=100, max_retry_duration=timedelta(0))
    assert queue in [q.name for q in side.transport.list_queues(PARENT)]


def test_retry_policy_is_read_again_once_its_ttl_has_passed(side, monkeypatch):
    queue = side.name("queues")
    side.transport.retry_policy(queue)
    config = tasks_v2.RetryConfig(max_attempts=3, max_retry_duration=timedelta(minutes=5))
    side.cloud.cloud_tasks.update_queue(
        tasks_v2.UpdateQueueRequest(
            queue=tasks_v2.Queue(name=queue, retry_config=config),
            update_mask=field_mask_pb2.FieldMask(paths=["retry_config"]),
        )
    )
    assert side.transport.retry_policy(queue).max_attempts == 100
    monkeypatch.setattr(cloud, "RETRY_POLICY_TTL_SECONDS", 0.0)
    assert side.transport.retry_policy(queue) == RetryPolicy(3, timedelta(minutes=5))


def test_pause_resume_and_purge_return_the_queue_state(side):
    queue = side.name("queues")
    name = side.transport.create_task(task_spec(queue))
    assert side.transport.pause_queue(queue) == "PAUSED"
    assert side.transport.get_queue_state(queue) == "PAUSED"
    assert side.transport.resume_queue(queue) == "RUNNING"
    assert side.transport.get_queue_state(queue) == "RUNNING"
    assert side.transport.purge_queue(queue) == "RUNNING"
    assert not side.transport.task_exists(name)


def test_queues_are_created_with_settings_and_updated_in_the_given_keys_only(side):
    queue = side.name("queues")
    created = side.transport.create_queue(queue, {"max_attempts": 4, "min_backoff": 0.5})
    assert created.retry_config.max_attempts == 4
    assert created.retry_config.min_backoff == timedelta(seconds=0.5)
    with pytest.raises(api_exceptions.AlreadyExists):
        side.transport.create_queue(queue, {})
    updated = side.transport.update_queue(queue, {"max_dispatches_per_second": 3})
    assert updated.rate_limits.max_dispatches_per_second == 3
    assert updated.retry_config.max_attempts == 4  # not in the update: kept
    assert side.transport.get_queue(queue).rate_limits.max_dispatches_per_second == 3
    assert side.transport.retry_policy(queue).max_attempts == 4


def scheduler_spec(name: str, schedule: str, *, enabled: bool) -> SchedulerJobSpec:
    return SchedulerJobSpec(
        name, schedule, "UTC", "http://127.0.0.1:9/schedule/", b"{}", enabled=enabled
    )


def scheduler_jobs(side: Side, name: str) -> list:
    return [job for job in side.transport.list_scheduler_jobs(PARENT) if job.name == name]


def test_scheduler_jobs_are_upserted_and_paused_to_match(side):
    name = side.name("jobs")
    assert side.transport.upsert_scheduler_job(scheduler_spec(name, "0 3 1 1 *", enabled=False))
    [job] = scheduler_jobs(side, name)
    assert (job.schedule, job.state.name) == ("0 3 1 1 *", "PAUSED")

    assert side.transport.upsert_scheduler_job(scheduler_spec(name, "0 4 1 1 *", enabled=True))
    [job] = scheduler_jobs(side, name)
    assert (job.schedule, job.state.name) == ("0 4 1 1 *", "ENABLED")

    side.transport.upsert_scheduler_job(scheduler_spec(name, "0 4 1 1 *", enabled=False))
    [job] = scheduler_jobs(side, name)
    assert job.state.name == "PAUSED"


def test_deleting_a_scheduler_job_that_is_gone_counts_as_done(side):
    name = side.name("jobs")
    side.transport.upsert_scheduler_job(scheduler_spec(name, "0 3 1 1 *", enabled=True))
    side.transport.delete_scheduler_job(name)
    side.transport.delete_scheduler_job(name)
    assert scheduler_jobs(side, name) == []


def test_run_job_creates_a_missing_emulator_job_and_passes_its_max_retries(side):
    job = side.name("jobs")
    check = "import os; assert os.environ['TASKS_GOOGLE_MAX_RETRIES'] == '3'"
    spec = JobRunSpec(job, "e1", command=(sys.executable, "-c", check))
    execution = side.transport.run_job(spec)
    assert execution.startswith(f"{job}/executions/")
    assert job in [j.name for j in side.transport.list_run_jobs(PARENT)]
    assert side.transport.job_max_retries(job) == 3
    side.cloud.run_jobs.wait_for_execution(execution, timeout=30)
    assert side.transport.execution_end(execution).outcome == "SUCCEEDED"
