"""The unmodified official Cloud Tasks client against the emulator server over gRPC."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from google.api_core import exceptions
from google.cloud import tasks_v2
from google.protobuf import field_mask_pb2

from emulator import DeliveryResult
from emulator.server import start_server
from tests.emulator.emulator_process import tasks_client

PARENT = "projects/demo-project/locations/us-central1"
QUEUE = f"{PARENT}/queues/jobs"
URL = "http://127.0.0.1:9/never-called"


@pytest.fixture
def delivered():
    return []


@pytest.fixture
def server(delivered):
    def dispatcher(delivery):
        delivered.append(delivery)
        return DeliveryResult(200)

    with start_server(dispatcher=dispatcher) as server:
        yield server


@pytest.fixture
def client(server):
    with tasks_client(server.grpc_target) as client:
        yield client


def wait_until(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)
    return value


def later(hours: float = 1) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)


def test_queue_rpcs(client):
    created = client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=QUEUE))
    assert created.state == tasks_v2.Queue.State.RUNNING
    assert created.retry_config.max_attempts == 100  # T5

    updated = client.update_queue(
        queue=tasks_v2.Queue(name=QUEUE, retry_config=tasks_v2.RetryConfig(max_attempts=5)),
        update_mask=field_mask_pb2.FieldMask(paths=["retry_config.max_attempts"]),
    )
    assert updated.retry_config.max_attempts == 5
    assert client.get_queue(name=QUEUE) == updated
    assert client.pause_queue(name=QUEUE).state == tasks_v2.Queue.State.PAUSED
    assert client.resume_queue(name=QUEUE).state == tasks_v2.Queue.State.RUNNING
    assert [q.name for q in client.list_queues(parent=PARENT)] == [QUEUE]
    assert client.purge_queue(name=QUEUE).purge_time
    client.delete_queue(name=QUEUE)
    assert list(client.list_queues(parent=PARENT)) == []


def test_task_rpcs(client, delivered):
    client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=QUEUE))
    task = client.create_task(
        parent=QUEUE,
        task=tasks_v2.Task(
            name=f"{QUEUE}/tasks/named",
            http_request=tasks_v2.HttpRequest(url=URL, body=b"payload"),
            schedule_time=later(),
        ),
    )
    assert task.name == f"{QUEUE}/tasks/named"
    assert task.http_request.body == b""  # BASIC view (T30)

    full = client.get_task(request={"name": task.name, "response_view": "FULL"})
    assert full.http_request.body == b"payload"
    unnamed = client.create_task(
        parent=QUEUE,
        task=tasks_v2.Task(http_request=tasks_v2.HttpRequest(url=URL), schedule_time=later()),
    )
    assert unnamed.name.rsplit("/", 1)[1].isdigit()  # T25
    assert sorted(t.name for t in client.list_tasks(parent=QUEUE)) == sorted(
        [task.name, unnamed.name]
    )

    ran = client.run_task(name=task.name)  # T9
    assert ran.dispatch_count == 1
    client.delete_task(name=unnamed.name)
    wait_until(lambda: not list(client.list_tasks(parent=QUEUE)))  # RunTask succeeded
    assert [d.task_id for d in delivered] == ["named"]


def test_list_tasks_pages(client):
    client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=QUEUE))
    for i in range(5):
        client.create_task(
            parent=QUEUE,
            task=tasks_v2.Task(
                name=f"{QUEUE}/tasks/t{i}",
                http_request=tasks_v2.HttpRequest(url=URL),
                schedule_time=later(),
            ),
        )

    pager = client.list_tasks(request={"parent": QUEUE, "page_size": 2})

    assert [len(page.tasks) for page in pager.pages] == [2, 2, 1]  # T32


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda c: c.get_queue(name=QUEUE), exceptions.NotFound, "Queue does not exist"),
        (
            lambda c: c.create_queue(
                parent=PARENT, queue=tasks_v2.Queue(name=f"{PARENT}/queues/a_b")
            ),
            exceptions.InvalidArgument,
            "Queue name must be formatted",
        ),
        (
            lambda c: c.get_task(name=f"{PARENT}/queues/jobs/tasks/none"),
            exceptions.NotFound,
            "Requested entity was not found.",
        ),
        (
            lambda c: c.get_iam_policy(resource=QUEUE),
            exceptions.MethodNotImplemented,
            "GetIamPolicy is not implemented",
        ),
    ],
)
def test_errors_arrive_with_their_exact_code_and_message(client, call, error, message):
    with pytest.raises(error, match=message):
        call(client)


def test_t26_t36_duplicate_names_are_already_exists(client):
    client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=QUEUE))
    task = tasks_v2.Task(
        name=f"{QUEUE}/tasks/once",
        http_request=tasks_v2.HttpRequest(url=URL),
        schedule_time=later(),
    )
    client.create_task(parent=QUEUE, task=task)

    with pytest.raises(exceptions.AlreadyExists, match="Queue already exists"):
        client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=QUEUE))
    with pytest.raises(exceptions.AlreadyExists):
        client.create_task(parent=QUEUE, task=task)


def test_t31_a_delivered_task_is_gone_with_googles_message(client, delivered):
    client.create_queue(parent=PARENT, queue=tasks_v2.Queue(name=QUEUE))
    task = client.create_task(
        parent=QUEUE, task=tasks_v2.Task(http_request=tasks_v2.HttpRequest(url=URL))
    )

    def gone() -> exceptions.NotFound | None:
        try:
            client.get_task(name=task.name)
        except exceptions.NotFound as error:
            return error
        return None

    assert "existed recently" in wait_until(gone).message
    assert len(delivered) == 1
