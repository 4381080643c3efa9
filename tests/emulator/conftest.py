"""Fixtures for engine tests: a frozen virtual clock, a scripted recording dispatcher, a queue."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from google.cloud import tasks_v2

from emulator import Delivery, DeliveryResult, LocalCloud, VirtualClock
from emulator.cloud_tasks import CloudTasksEngine

START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
PARENT = "projects/demo/locations/local"
QUEUE = f"{PARENT}/queues/jobs"
URL = "https://app.example.com/tasks/run"


class RecordingDispatcher:
    """Records each delivery and answers with the next scripted result; the last one repeats.

    A script entry is an HTTP status, None (no response) or a full DeliveryResult.
    ``on_delivery`` runs inside the dispatch, before answering (to call back into the engine).
    """

    def __init__(self, *script: int | DeliveryResult | None) -> None:
        self.deliveries: list[Delivery] = []
        self.on_delivery: Callable[[Delivery], None] | None = None
        self.script(*(script or (200,)))

    def script(self, *results: int | DeliveryResult | None) -> None:
        """Replace the answers still to come."""
        self._results = [r if isinstance(r, DeliveryResult) else DeliveryResult(r) for r in results]

    def __call__(self, delivery: Delivery) -> DeliveryResult:
        self.deliveries.append(delivery)
        if self.on_delivery is not None:
            self.on_delivery(delivery)
        return self._results.pop(0) if len(self._results) > 1 else self._results[0]

    def header(self, name: str, index: int = -1) -> str | None:
        """A header of the ``index``-th delivery."""
        return self.deliveries[index].headers.get(name)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def dispatcher() -> RecordingDispatcher:
    return RecordingDispatcher(200)


@pytest.fixture
def cloud(clock: VirtualClock, dispatcher: RecordingDispatcher) -> LocalCloud:
    return LocalCloud(clock, dispatcher)


@pytest.fixture
def engine(cloud: LocalCloud) -> CloudTasksEngine:
    return cloud.cloud_tasks


@pytest.fixture
def make_queue(engine: CloudTasksEngine) -> Callable[..., tasks_v2.Queue]:
    """Create a queue (default name QUEUE) with the given RetryConfig fields."""

    def make(name: str = QUEUE, **retry: object) -> tasks_v2.Queue:
        queue = tasks_v2.Queue(name=name)
        if retry:
            queue.retry_config = tasks_v2.RetryConfig(**retry)
        parent = name.rsplit("/queues/", 1)[0]
        return engine.create_queue(tasks_v2.CreateQueueRequest(parent=parent, queue=queue))

    return make


@pytest.fixture
def queue(make_queue: Callable[..., tasks_v2.Queue]) -> str:
    return make_queue().name


@pytest.fixture
def add_task(engine: CloudTasksEngine) -> Callable[..., tasks_v2.Task]:
    """Create an HTTP task in QUEUE; ``task_id`` names it, other keywords go to the Task."""

    def add(
        task_id: str | None = None,
        *,
        parent: str = QUEUE,
        url: str = URL,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        http_method: tasks_v2.HttpMethod = tasks_v2.HttpMethod.POST,
        view: tasks_v2.Task.View = tasks_v2.Task.View.BASIC,
        **task_fields: object,
    ) -> tasks_v2.Task:
        http = tasks_v2.HttpRequest(
            url=url, body=body, headers=headers or {}, http_method=http_method
        )
        if "oidc_token" in task_fields:
            http.oidc_token = task_fields.pop("oidc_token")
        task = tasks_v2.Task(http_request=http, **task_fields)
        if task_id is not None:
            task.name = f"{parent}/tasks/{task_id}"
        request = tasks_v2.CreateTaskRequest(parent=parent, task=task, response_view=view)
        return engine.create_task(request)

    return add
