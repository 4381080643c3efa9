"""Driving Cloud Tasks through LocalCloud: stepping time, idling, re-entrancy, failures."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest
from google.cloud import tasks_v2

from emulator import LocalCloud, VirtualClock, WallClock
from tests.emulator.conftest import PARENT, QUEUE, START, URL, RecordingDispatcher


def test_advance_steps_through_each_due_time_in_order(clock, cloud, queue, add_task, dispatcher):
    add_task("ten", schedule_time=START + timedelta(seconds=10))
    add_task("five", schedule_time=START + timedelta(seconds=5))
    add_task("far", schedule_time=START + timedelta(minutes=5))
    seen: list[tuple[str, object]] = []
    dispatcher.on_delivery = lambda d: seen.append((d.task_id, clock.now()))

    delivered = cloud.advance(seconds=30)

    assert delivered == 2
    assert seen == [("five", START + timedelta(seconds=5)), ("ten", START + timedelta(seconds=10))]
    assert clock.now() == START + timedelta(seconds=30)


def test_advance_with_minutes_hours_days_and_zero(clock, cloud, queue, add_task):
    add_task("now")

    assert cloud.advance() == 1
    assert clock.now() == START
    cloud.advance(1, minutes=2, hours=3, days=4)
    assert clock.now() == START + timedelta(days=4, hours=3, minutes=2, seconds=1)


def test_run_until_idle_jumps_to_due_times_and_stops_beyond_the_horizon(
    clock, cloud, queue, add_task, dispatcher
):
    add_task("soon", schedule_time=START + timedelta(hours=2))
    add_task("too-far", schedule_time=START + timedelta(days=10))

    delivered = cloud.run_until_idle(horizon=timedelta(days=1))

    assert delivered == 1
    assert clock.now() == START + timedelta(hours=2)
    assert cloud.cloud_tasks.next_due_time() == START + timedelta(days=10)


def test_run_until_idle_raises_past_max_deliveries(cloud, make_queue, add_task, dispatcher):
    make_queue(max_attempts=-1, min_backoff=timedelta(0), max_backoff=timedelta(0))
    dispatcher.script(500)
    add_task("spin")

    with pytest.raises(RuntimeError, match="max_deliveries=50"):
        cloud.run_until_idle(max_deliveries=50)
    assert len(dispatcher.deliveries) == 50


def test_deliveries_history_records_each_attempt(cloud, queue, add_task, dispatcher):
    dispatcher.script(500, 200)
    add_task("twice")

    cloud.run_until_idle()

    assert [
        (r.queue_id, r.task_id, r.response_status, r.retry_count) for r in cloud.deliveries
    ] == [
        ("jobs", "twice", 500, 0),
        ("jobs", "twice", 200, 1),
    ]
    assert cloud.deliveries[0].dispatch_time == START


def test_before_step_runs_before_each_search_and_can_add_work(clock):
    dispatcher = RecordingDispatcher(200)
    pending = ["flushed-0", "flushed-1"]
    calls: list[int] = []

    def flush() -> None:
        calls.append(len(pending))
        if pending:
            task = tasks_v2.Task(
                name=f"{QUEUE}/tasks/{pending.pop(0)}", http_request=tasks_v2.HttpRequest(url=URL)
            )
            cloud.cloud_tasks.create_task(tasks_v2.CreateTaskRequest(parent=QUEUE, task=task))

    cloud = LocalCloud(clock, dispatcher, before_step=flush)
    cloud.cloud_tasks.create_queue(
        tasks_v2.CreateQueueRequest(parent=PARENT, queue=tasks_v2.Queue(name=QUEUE))
    )

    assert cloud.run_until_idle() == 2
    assert [d.task_id for d in dispatcher.deliveries] == ["flushed-0", "flushed-1"]
    assert calls == [2, 1, 0]


def test_handler_can_enqueue_from_inside_a_delivery(cloud, engine, queue, add_task, dispatcher):
    def chain(delivery) -> None:
        if delivery.task_id == "parent":
            task = tasks_v2.Task(
                name=f"{QUEUE}/tasks/child", http_request=tasks_v2.HttpRequest(url=URL)
            )
            engine.create_task(tasks_v2.CreateTaskRequest(parent=QUEUE, task=task))

    dispatcher.on_delivery = chain
    add_task("parent")

    cloud.run_until_idle()

    assert [d.task_id for d in dispatcher.deliveries] == ["parent", "child"]


def test_engine_lock_is_not_held_while_dispatching(cloud, engine, queue, add_task, dispatcher):
    finished = threading.Event()

    def call_from_another_thread(_delivery) -> None:
        thread = threading.Thread(
            target=lambda: (engine.get_queue(tasks_v2.GetQueueRequest(name=QUEUE)), finished.set())
        )
        thread.start()
        thread.join(timeout=5)

    dispatcher.on_delivery = call_from_another_thread
    add_task("t")

    cloud.run_until_idle()

    assert finished.is_set()


def test_dispatcher_that_raises_counts_as_no_response(cloud, queue, add_task, caplog):
    answers = iter([RuntimeError("connection refused")])

    def dispatcher(delivery):
        error = next(answers, None)
        if error is not None:
            raise error
        return RecordingDispatcher(200)(delivery)

    local = LocalCloud(cloud.clock, dispatcher)
    local.cloud_tasks.create_queue(
        tasks_v2.CreateQueueRequest(
            parent=QUEUE.rsplit("/queues/", 1)[0], queue=tasks_v2.Queue(name=QUEUE)
        )
    )
    local.cloud_tasks.create_task(
        tasks_v2.CreateTaskRequest(
            parent=QUEUE, task=tasks_v2.Task(http_request=tasks_v2.HttpRequest(url=URL))
        )
    )

    with caplog.at_level(logging.ERROR, logger="emulator"):
        local.run_until_idle()

    assert [r.response_status for r in local.deliveries] == [None, 200]
    assert "connection refused" in caplog.text


def test_time_control_needs_a_virtual_clock():
    cloud = LocalCloud(WallClock(), RecordingDispatcher())

    with pytest.raises(TypeError, match="VirtualClock"):
        cloud.advance(seconds=1)


def test_wall_following_clock_catches_up_before_stepping():
    cloud = LocalCloud(VirtualClock(), RecordingDispatcher())
    wall = datetime.now(UTC)

    cloud.advance(seconds=60)

    assert cloud.now() >= wall + timedelta(seconds=60)


def test_former_engine_names_still_answer_with_a_deprecation_warning(cloud):
    with pytest.warns(DeprecationWarning, match="LocalCloud.tasks is now LocalCloud.cloud_tasks"):
        assert cloud.tasks is cloud.cloud_tasks
    with pytest.warns(DeprecationWarning, match="LocalCloud.run is now LocalCloud.run_jobs"):
        assert cloud.run is cloud.run_jobs
    with pytest.warns(DeprecationWarning, match="emulator.SchedulerEngine"):
        from emulator import CloudSchedulerEngine
    assert CloudSchedulerEngine is type(cloud.scheduler)
