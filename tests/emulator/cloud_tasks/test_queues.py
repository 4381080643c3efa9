"""Queue RPCs: create/update/get/list/delete, pause/resume, purge (T33-T36)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from google.api_core.exceptions import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from google.cloud import tasks_v2
from google.protobuf import field_mask_pb2

from emulator import LocalCloud
from tests.emulator.conftest import PARENT, QUEUE, START, RecordingDispatcher

QUEUE_MISSING = (
    "Queue does not exist. If you just created the queue, wait at least a minute for the queue "
    "to initialize."
)


def update(engine, queue: tasks_v2.Queue, *paths: str) -> tasks_v2.Queue:
    request = tasks_v2.UpdateQueueRequest(queue=queue)
    if paths:
        request.update_mask = field_mask_pb2.FieldMask(paths=list(paths))
    return engine.update_queue(request)


def get_queue(engine, name: str = QUEUE) -> tasks_v2.Queue:
    return engine.get_queue(tasks_v2.GetQueueRequest(name=name))


# --- T33: states ----------------------------------------------------------------------------


def test_t33_paused_queue_accepts_tasks_but_does_not_dispatch(cloud, queue, add_task, dispatcher):
    paused = cloud.cloud_tasks.pause_queue(tasks_v2.PauseQueueRequest(name=QUEUE))
    add_task("waiting")

    assert paused.state == tasks_v2.Queue.State.PAUSED
    assert cloud.run_until_idle() == 0
    assert cloud.cloud_tasks.next_due_time() is None
    assert dispatcher.deliveries == []

    resumed = cloud.cloud_tasks.resume_queue(tasks_v2.ResumeQueueRequest(name=QUEUE))

    assert resumed.state == tasks_v2.Queue.State.RUNNING
    assert cloud.run_until_idle() == 1


def test_t33_pausing_one_queue_leaves_others_running(cloud, make_queue, add_task, dispatcher):
    make_queue()
    other = make_queue(f"{PARENT}/queues/other").name
    cloud.cloud_tasks.pause_queue(tasks_v2.PauseQueueRequest(name=QUEUE))
    add_task("held")
    add_task("free", parent=other)

    cloud.run_until_idle()

    assert [d.task_id for d in dispatcher.deliveries] == ["free"]


def test_t33_disabled_queue_accepts_tasks_but_does_not_dispatch(cloud, queue, add_task):
    disabled = cloud.cloud_tasks.disable_queue(QUEUE)
    add_task("waiting")

    assert disabled.state == tasks_v2.Queue.State.DISABLED
    assert cloud.run_until_idle() == 0
    cloud.cloud_tasks.resume_queue(tasks_v2.ResumeQueueRequest(name=QUEUE))
    assert cloud.run_until_idle() == 1


# --- T34: purge -----------------------------------------------------------------------------


def test_t34_purge_deletes_existing_tasks_and_sets_purge_time(
    clock, cloud, queue, add_task, dispatcher
):
    add_task("old-1")
    add_task("old-2", schedule_time=START + timedelta(hours=1))
    clock.advance(timedelta(seconds=3))

    purged = cloud.cloud_tasks.purge_queue(tasks_v2.PurgeQueueRequest(name=QUEUE))
    add_task("new")
    cloud.run_until_idle()

    assert purged.purge_time == START + timedelta(seconds=3)
    assert [d.task_id for d in dispatcher.deliveries] == ["new"]
    with pytest.raises(NotFound):
        cloud.cloud_tasks.get_task(tasks_v2.GetTaskRequest(name=f"{QUEUE}/tasks/old-1"))


# --- T35: delete ----------------------------------------------------------------------------


def test_t35_delete_queue_removes_its_tasks(engine, queue, add_task, dispatcher):
    task = add_task("orphan")

    engine.delete_queue(tasks_v2.DeleteQueueRequest(name=QUEUE))
    engine.dispatch_due()

    assert dispatcher.deliveries == []
    with pytest.raises(NotFound):
        engine.get_task(tasks_v2.GetTaskRequest(name=task.name))
    with pytest.raises(NotFound) as error:
        get_queue(engine)
    assert error.value.message == QUEUE_MISSING


def test_t35_recreating_a_deleted_queue_too_soon_is_failed_precondition(clock, engine, make_queue):
    make_queue()
    engine.delete_queue(tasks_v2.DeleteQueueRequest(name=QUEUE))

    for attempt in (
        make_queue,
        lambda: update(engine, tasks_v2.Queue(name=QUEUE)),
    ):
        with pytest.raises(FailedPrecondition) as error:
            attempt()
        assert error.value.message == (
            "The queue cannot be created because a queue with this name existed too recently."
        )

    clock.advance(timedelta(days=3))
    assert make_queue().name == QUEUE


def test_t35_queue_tombstone_ttl_is_configurable(clock):
    cloud = LocalCloud(clock, RecordingDispatcher(), queue_tombstone_ttl=timedelta(minutes=1))
    create = tasks_v2.CreateQueueRequest(parent=PARENT, queue=tasks_v2.Queue(name=QUEUE))
    cloud.cloud_tasks.create_queue(create)
    cloud.cloud_tasks.delete_queue(tasks_v2.DeleteQueueRequest(name=QUEUE))

    clock.advance(timedelta(minutes=1))

    assert cloud.cloud_tasks.create_queue(create).name == QUEUE


def test_t35_deleting_a_missing_queue_is_not_found(engine):
    with pytest.raises(NotFound) as error:
        engine.delete_queue(tasks_v2.DeleteQueueRequest(name=QUEUE))
    assert error.value.message == "Requested entity was not found."


# --- T36: create vs update ------------------------------------------------------------------


def test_t36_create_queue_on_existing_name_is_already_exists(make_queue):
    make_queue()
    with pytest.raises(AlreadyExists) as error:
        make_queue()
    assert error.value.message == "Queue already exists"


def test_t36_update_queue_creates_a_missing_queue(engine):
    created = update(
        engine,
        tasks_v2.Queue(name=QUEUE, retry_config=tasks_v2.RetryConfig(max_attempts=5)),
    )

    assert created.retry_config.max_attempts == 5
    assert created.retry_config.max_doublings == 16
    assert get_queue(engine).state == tasks_v2.Queue.State.RUNNING


def test_t36_update_mask_changes_only_the_listed_fields(engine, make_queue):
    make_queue(max_attempts=5, min_backoff=timedelta(seconds=2))
    change = tasks_v2.Queue(
        name=QUEUE,
        retry_config=tasks_v2.RetryConfig(max_attempts=9, min_backoff=timedelta(seconds=7)),
        rate_limits=tasks_v2.RateLimits(max_dispatches_per_second=3),
    )

    updated = update(engine, change, "retry_config.max_attempts")

    assert updated.retry_config.max_attempts == 9
    assert updated.retry_config.min_backoff == timedelta(seconds=2)
    assert updated.rate_limits.max_dispatches_per_second == 500


def test_t36_empty_update_mask_replaces_all_settings(engine, make_queue):
    make_queue(max_attempts=5, min_backoff=timedelta(seconds=2))

    updated = update(
        engine,
        tasks_v2.Queue(name=QUEUE, rate_limits=tasks_v2.RateLimits(max_dispatches_per_second=3)),
    )

    assert updated.rate_limits.max_dispatches_per_second == 3
    assert updated.retry_config.max_attempts == 100
    assert updated.retry_config.min_backoff == timedelta(seconds=0.1)


def test_t36_update_cannot_change_state_and_validates(engine, make_queue):
    make_queue()
    engine.pause_queue(tasks_v2.PauseQueueRequest(name=QUEUE))

    updated = update(
        engine, tasks_v2.Queue(name=QUEUE, state=tasks_v2.Queue.State.RUNNING), "state"
    )
    assert updated.state == tasks_v2.Queue.State.PAUSED

    with pytest.raises(InvalidArgument, match="minBackoff"):
        update(
            engine,
            tasks_v2.Queue(
                name=QUEUE, retry_config=tasks_v2.RetryConfig(min_backoff=-timedelta(1))
            ),
            "retry_config.min_backoff",
        )
    with pytest.raises(InvalidArgument, match="update_mask"):
        update(engine, tasks_v2.Queue(name=QUEUE), "no_such_field")


def test_update_keeps_tasks_and_new_retry_settings_apply_to_them(
    clock, engine, make_queue, add_task, dispatcher
):
    make_queue(min_backoff=timedelta(seconds=1), max_backoff=timedelta(seconds=1))
    dispatcher.script(500)
    task = add_task("kept")
    update(
        engine,
        tasks_v2.Queue(
            name=QUEUE,
            retry_config=tasks_v2.RetryConfig(
                min_backoff=timedelta(seconds=60), max_backoff=timedelta(seconds=60)
            ),
        ),
        "retry_config",
    )

    engine.dispatch_due()

    after = engine.get_task(tasks_v2.GetTaskRequest(name=task.name))
    assert after.schedule_time == START + timedelta(seconds=60)


# --- get / list -----------------------------------------------------------------------------


def test_get_missing_queue_is_not_found_with_googles_message(engine):
    with pytest.raises(NotFound) as error:
        get_queue(engine)
    assert error.value.message == QUEUE_MISSING


def test_create_queue_name_must_be_under_parent(engine):
    name = "projects/demo/locations/elsewhere/queues/jobs"
    with pytest.raises(InvalidArgument) as error:
        engine.create_queue(
            tasks_v2.CreateQueueRequest(parent=PARENT, queue=tasks_v2.Queue(name=name))
        )
    assert error.value.message == f"{name} must begin with {PARENT}."


def test_list_queues_by_location_with_paging_and_state_filter(engine, make_queue):
    for queue_id in ("c", "a", "b"):
        make_queue(f"{PARENT}/queues/{queue_id}")
    make_queue("projects/demo/locations/far/queues/z")
    engine.pause_queue(tasks_v2.PauseQueueRequest(name=f"{PARENT}/queues/b"))

    first = engine.list_queues(tasks_v2.ListQueuesRequest(parent=PARENT, page_size=2))
    rest = engine.list_queues(
        tasks_v2.ListQueuesRequest(parent=PARENT, page_size=2, page_token=first.next_page_token)
    )
    paused = engine.list_queues(tasks_v2.ListQueuesRequest(parent=PARENT, filter="state: PAUSED"))

    assert [q.name.rsplit("/", 1)[1] for q in first.queues] == ["a", "b"]
    assert [q.name.rsplit("/", 1)[1] for q in rest.queues] == ["c"]
    assert rest.next_page_token == ""
    assert [q.name.rsplit("/", 1)[1] for q in paused.queues] == ["b"]
