"""The production adapter end to end: official client -> emulator server -> real HTTP -> Django."""

import socket
import time
import traceback
from datetime import timedelta

import pytest
from django.core.management import call_command
from google.api_core.exceptions import ServiceUnavailable
from google.cloud import tasks_v2

from emulator.kit.faults import INJECTED_FAULT_MARKER, Duplicate, FaultRule, RpcError
from emulator.server.emulator_server import start_server
from tasks_google import (
    QueueDoesNotExist,
    TaskCancelledError,
    pause_queue,
    purge_queue,
    queue_state,
    resume_queue,
)
from tasks_google.exceptions import EmulatorUnavailableError
from tasks_google.framework import TaskResultStatus, task_backends
from tasks_google.models import TaskExecution
from tasks_google.transports import CloudTaskSpec, gcp
from tests.settings import SERVICE_ACCOUNT
from tests.tasks_google import tasks

pytestmark = pytest.mark.django_db(transaction=True)

PARENT = "projects/demo-project/locations/us-central1"


@pytest.fixture
def emulator():
    with start_server() as server:
        yield server


def gcp_settings(base_url: str, emulator_host: str, emulator_url: str | None = None) -> dict:
    options = {
        "project_id": "demo-project",
        "location": "us-central1",
        "base_url": base_url,
        "oidc_service_account": SERVICE_ACCOUNT,
        "transport": "gcp",
        "emulator_host": emulator_host,
    }
    if emulator_url:
        options["emulator_url"] = emulator_url
    return {
        "default": {
            "BACKEND": "tasks_google.backends.CloudTasksBackend",
            "QUEUES": ["default", "emails", "slow"],
            "OPTIONS": options,
        }
    }


@pytest.fixture
def backend(settings, live_server, emulator):
    settings.TASKS = gcp_settings(f"{live_server.url}/tasks/", emulator.grpc_target, emulator.url)
    return task_backends["default"]


def wait_for(result, statuses=(TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED), timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        result.refresh()
        if result.status in statuses:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{result.id} still {result.status} after {timeout}s")
        time.sleep(0.05)


def deliveries(emulator, count: int, timeout: float = 10) -> list:
    """The emulator's delivery records once `count` have settled (a delivery is recorded after
    its HTTP response arrives, a moment after the task's outcome is in the database)."""
    deadline = time.monotonic() + timeout
    while len(emulator.cloud.deliveries) < count:
        assert time.monotonic() < deadline, emulator.cloud.deliveries
        time.sleep(0.02)
    return emulator.cloud.deliveries


def test_enqueue_is_delivered_over_http_with_a_verified_token(backend, emulator):
    result = tasks.calculate_meaning_of_life.enqueue()
    wait_for(result)
    assert result.status == TaskResultStatus.SUCCESSFUL, result.errors
    assert result.return_value == 42
    row = TaskExecution.objects.get(pk=result.id)
    assert row.remote_name == f"{PARENT}/queues/default/tasks/{result.id}"
    [delivery] = deliveries(emulator, 1)
    assert delivery.response_status == 200


def test_missing_queue_is_created_in_emulator_mode(backend, emulator):
    result = tasks.send_email.enqueue("ada@example.com")
    wait_for(result)
    assert result.status == TaskResultStatus.SUCCESSFUL
    queue = emulator.cloud.cloud_tasks.get_queue(
        tasks_v2.GetQueueRequest(name=f"{PARENT}/queues/emails")
    )
    assert queue.retry_config.max_attempts == 100  # Cloud Tasks' default


def test_the_queue_retry_config_decides_the_last_attempt(backend, emulator):
    emulator.cloud.cloud_tasks.create_queue(
        tasks_v2.CreateQueueRequest(
            parent=PARENT,
            queue=tasks_v2.Queue(
                name=f"{PARENT}/queues/default",
                retry_config=tasks_v2.RetryConfig(
                    max_attempts=3,
                    min_backoff=timedelta(milliseconds=100),
                    max_backoff=timedelta(milliseconds=200),
                ),
            ),
        )
    )
    result = tasks.always_fails.enqueue()
    wait_for(result)
    assert result.status == TaskResultStatus.FAILED
    assert result.attempts == 3 and len(result.errors) == 3
    # The last failure was acknowledged, so the emulator dropped the task.
    statuses = [d.response_status for d in deliveries(emulator, 3)]
    assert statuses == [500, 500, 200]


def test_duplicate_delivery_runs_the_body_once(backend, emulator):
    emulator.cloud.faults.add(FaultRule(operation="dispatch", count=1, effect=Duplicate()))
    result = tasks.sleeps.enqueue(0.5)
    wait_for(result, statuses=(TaskResultStatus.SUCCESSFUL,))
    time.sleep(0.3)  # let the duplicate finish too
    result.refresh()
    assert result.attempts == 1
    assert result.return_value == "slept"


def test_repeated_create_is_harmless(backend):
    spec = CloudTaskSpec(
        queue_path=f"{PARENT}/queues/default",
        task_id="a" * 32,
        url="http://127.0.0.1:9/unused",
        body=b"{}",
        schedule_time=None,
    )
    transport = backend.transport
    first = transport.create_task(spec)
    assert transport.create_task(spec) == first


def test_failed_create_is_recovered_by_the_reconciler(backend, emulator):
    emulator.cloud.faults.add(
        FaultRule(operation="CreateTask", count=1, effect=RpcError(code="INTERNAL"))
    )
    result = tasks.calculate_meaning_of_life.enqueue()
    row = TaskExecution.objects.get(pk=result.id)
    assert row.status == TaskResultStatus.READY and row.remote_name == ""
    call_command("reconcile_tasks", "--older-than", "0")
    wait_for(result)
    assert result.status == TaskResultStatus.SUCCESSFUL
    # A second run finds nothing to do.
    call_command("reconcile_tasks", "--older-than", "0")
    assert len(deliveries(emulator, 1)) == 1


def test_unreachable_emulator_is_a_clear_error_not_a_hang(settings, live_server):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    host = f"127.0.0.1:{port}"
    settings.TASKS = gcp_settings(f"{live_server.url}/tasks/", host)
    spec = CloudTaskSpec(
        queue_path=f"{PARENT}/queues/default", task_id="b" * 32, url="http://x.test/", body=b""
    )
    started = time.monotonic()
    with pytest.raises(EmulatorUnavailableError) as raised:
        task_backends["default"].transport.create_task(spec)
    assert time.monotonic() - started < 10
    message = str(raised.value)
    assert f"The emulator at {host} does not answer" in message
    assert "Start it with `python manage.py tasks_dev`" in message
    assert "`python manage.py tasks_emulator`" in message
    assert "just dev" not in message


def test_an_injected_unavailable_is_google_s_error_saying_it_was_injected(
    backend, emulator, caplog
):
    emulator.cloud.faults.add(
        FaultRule(operation="CreateTask", count=2, effect=RpcError("UNAVAILABLE", "try later"))
    )
    spec = CloudTaskSpec(
        queue_path=f"{PARENT}/queues/default", task_id="c" * 32, url="http://x.test/", body=b""
    )
    with pytest.raises(ServiceUnavailable) as raised:
        backend.transport.create_task(spec)
    assert not isinstance(raised.value, EmulatorUnavailableError)
    assert str(raised.value) == (
        f"503 Injected fault: try later (a fault rule of the emulator at {emulator.grpc_target})"
    )

    result = tasks.calculate_meaning_of_life.enqueue()  # its CreateTask meets the second fault

    [record] = [r for r in caplog.records if result.id in r.getMessage()]
    logged = record.getMessage() + "".join(traceback.format_exception(*record.exc_info))
    assert "Injected fault: try later" in logged
    assert "does not answer" not in logged


def test_the_marker_of_injected_faults_is_the_emulator_s():
    assert gcp.INJECTED_FAULT_MARKER == INJECTED_FAULT_MARKER


def test_a_schedule_fires_over_http_and_enqueues_once(backend, emulator):
    from google.cloud import scheduler_v1

    from tasks_google import schedule_task
    from tasks_google.models import ScheduleFire

    row = schedule_task("answer", tasks.calculate_meaning_of_life, "0 3 * * *")
    # Created through the official Cloud Scheduler client in the emulator server.
    job = emulator.cloud.scheduler.get_job(scheduler_v1.GetJobRequest(name=row.remote_job_name))
    assert job.http_target.uri.endswith("/tasks/schedule/")
    backend.transport.run_scheduler_job(row.remote_job_name)
    deadline = time.monotonic() + 20
    while not ScheduleFire.objects.filter(execution__isnull=False).exists():
        assert time.monotonic() < deadline, "the fire never reached schedule/"
        time.sleep(0.05)
    fire = ScheduleFire.objects.get()
    result = tasks.calculate_meaning_of_life.get_result(fire.execution_id)
    wait_for(result)
    assert result.return_value == 42


def test_queues_are_paused_resumed_and_purged_through_the_official_client(backend, emulator):
    path = f"{PARENT}/queues/default"
    emulator.cloud.cloud_tasks.create_queue(
        tasks_v2.CreateQueueRequest(parent=PARENT, queue=tasks_v2.Queue(name=path))
    )
    assert pause_queue().state == "PAUSED"
    assert queue_state().state == "PAUSED"
    server_queue = emulator.cloud.cloud_tasks.get_queue(tasks_v2.GetQueueRequest(name=path))
    assert server_queue.state == tasks_v2.Queue.State.PAUSED
    waiting = tasks.calculate_meaning_of_life.enqueue()  # committed: its Cloud Task exists
    listed = emulator.cloud.cloud_tasks.list_tasks(tasks_v2.ListTasksRequest(parent=path))
    assert [t.name for t in listed.tasks] == [f"{path}/tasks/{waiting.id}"]

    outcome = purge_queue()
    assert (outcome.queue, outcome.state, outcome.cancelled_executions) == (path, "PAUSED", 1)
    assert not emulator.cloud.cloud_tasks.list_tasks(tasks_v2.ListTasksRequest(parent=path)).tasks
    waiting.refresh()
    assert waiting.status == TaskResultStatus.FAILED
    assert waiting.errors[-1].exception_class is TaskCancelledError

    assert resume_queue().state == "RUNNING"
    assert queue_state().state == "RUNNING"
    later = tasks.calculate_meaning_of_life.enqueue()
    wait_for(later)
    assert later.status == TaskResultStatus.SUCCESSFUL and later.return_value == 42
    with pytest.raises(QueueDoesNotExist, match=f"{PARENT}/queues/emails"):
        pause_queue("emails")


def test_the_reconciler_finishes_an_execution_whose_cloud_task_vanished(backend, emulator):
    """GetTask through the official client says the task is gone; nothing would run it again."""
    queue = tasks_v2.Queue(name=f"{PARENT}/queues/default")
    emulator.cloud.cloud_tasks.create_queue(tasks_v2.CreateQueueRequest(parent=PARENT, queue=queue))
    pause_queue("default")
    result = tasks.calculate_meaning_of_life.enqueue()
    kept = tasks.calculate_meaning_of_life.enqueue()
    name = TaskExecution.objects.get(pk=result.id).remote_name
    emulator.cloud.cloud_tasks.delete_task(
        tasks_v2.DeleteTaskRequest(name=name)
    )  # as in the Console
    call_command("reconcile_tasks", "--stale-after", "0")
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert "AbandonedExecutionError" in result.errors[-1].exception_class_path
    resume_queue("default")
    assert wait_for(kept).status == TaskResultStatus.SUCCESSFUL  # its task was there: left alone
