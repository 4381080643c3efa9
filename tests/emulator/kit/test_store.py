"""Stores (memory and SQLite) and the engine's state surviving a restart on a data directory."""

from __future__ import annotations

from datetime import timedelta

import pytest
from google.api_core.exceptions import AlreadyExists, FailedPrecondition, NotFound
from google.cloud import tasks_v2

from emulator import FaultRule, LocalCloud, MemoryStore, SqliteStore, Timeout, VirtualClock
from emulator.kit.store import (
    DataDirectory,
    DataDirInUse,
    Delete,
    DeleteKind,
    DeletePrefix,
    Put,
    Record,
)
from tests.emulator.conftest import PARENT, QUEUE, START, URL, RecordingDispatcher


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    store = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "s.sqlite3")
    yield store
    store.close()


def put(kind: str, key: str, expires=None, **value) -> Put:
    return Put(Record(kind, key, value, expires))


def test_put_replace_and_delete_records(store):
    store.write(put("a", "k1", n=1), put("a", "k2", n=2), put("b", "k1", n=3))
    store.write(put("a", "k1", n=10), Delete("a", "k2"), Delete("a", "missing"))

    assert {k: r.value for k, r in store.records("a").items()} == {"k1": {"n": 10}}
    assert store.records("b")["k1"].value == {"n": 3}


def test_a_record_given_as_a_function_is_read_and_exported_as_its_value(store):
    live = {"state": "created"}
    store.write(Put(Record("task", "t1", lambda: dict(live))))
    live["state"] = "dispatched"  # the engine writes again after every change anyway
    store.write(Put(Record("task", "t1", lambda: dict(live))))

    assert store.records("task")["t1"].value == {"state": "dispatched"}
    [exported] = store.export()["records"]
    assert exported["value"] == {"state": "dispatched"}


def test_delete_prefix_and_kind(store):
    store.write(
        put("t", "q1/tasks/a"), put("t", "q1/tasks/b"), put("t", "q10/tasks/a"), put("u", "x")
    )
    store.write(DeletePrefix("t", "q1/tasks/"))
    assert sorted(store.records("t")) == ["q10/tasks/a"]
    store.write(DeleteKind("t"))
    assert store.records("t") == {}
    assert list(store.records("u")) == ["x"]


def test_prune_drops_expired_records_only(store):
    store.write(
        put("tomb", "old", expires=START),
        put("tomb", "new", expires=START + timedelta(hours=1)),
        put("tomb", "forever"),
    )

    assert store.prune(START) == 1
    assert sorted(store.records("tomb")) == ["forever", "new"]


def test_export_import_round_trip_and_reset(store):
    store.write(put("a", "k", expires=START, x=[1, "y"]), put("b", "k2"))
    exported = store.export()

    store.reset()
    assert store.records("a") == {}
    store.import_state(exported)

    assert store.export() == exported
    assert store.records("a")["k"].expires == START


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Not an emulator export"),
        ({"format": "tasks-google-emulator/1"}, "'records' list"),
        ({"format": "tasks-google-emulator/1", "records": [{"kind": "a"}]}, r"records\[0\]"),
        (
            {
                "format": "tasks-google-emulator/1",
                "records": [{"kind": "a", "key": "k", "value": {}, "expires": "2025-01-01T00:00"}],
            },
            "UTC offset",
        ),
    ],
)
def test_import_refuses_malformed_exports(store, data, message):
    store.write(put("a", "kept"))

    with pytest.raises(ValueError, match=message):
        store.import_state(data)
    assert list(store.records("a")) == ["kept"]


def test_sqlite_store_survives_reopening(tmp_path):
    first = SqliteStore(tmp_path / "s.sqlite3")
    first.write(put("a", "k", n=1))
    first.close()
    first.write(put("a", "ignored"))  # after close: ignored, not an error

    second = SqliteStore(tmp_path / "s.sqlite3")
    assert second.records("a")["k"].value == {"n": 1}
    assert "ignored" not in second.records("a")
    assert second.persistent
    second.close()


def test_a_data_directory_is_held_by_one_process_at_a_time(tmp_path):
    held = DataDirectory(tmp_path / "data")
    try:
        with pytest.raises(DataDirInUse, match="in use by another emulator"):
            DataDirectory(tmp_path / "data")
    finally:
        held.close()
    DataDirectory(tmp_path / "data").close()  # released


# ------------------------------------------------------------------ engine persistence


def open_cloud(path, clock=None, dispatcher=None) -> LocalCloud:
    return LocalCloud(
        clock or VirtualClock(START), dispatcher or RecordingDispatcher(), store=SqliteStore(path)
    )


def create_task(cloud: LocalCloud, task_id: str, **fields) -> tasks_v2.Task:
    task = tasks_v2.Task(
        name=f"{QUEUE}/tasks/{task_id}",
        http_request=tasks_v2.HttpRequest(url=URL, body=b"payload", headers={"X-Mine": "1"}),
        **fields,
    )
    return cloud.cloud_tasks.create_task(
        tasks_v2.CreateTaskRequest(parent=QUEUE, task=task, response_view=tasks_v2.Task.View.FULL)
    )


def get_task(cloud: LocalCloud, task_id: str) -> tasks_v2.Task:
    return cloud.cloud_tasks.get_task(
        tasks_v2.GetTaskRequest(name=f"{QUEUE}/tasks/{task_id}", response_view="FULL")
    )


def test_queues_tasks_counters_and_tombstones_survive_a_restart(tmp_path):
    path = tmp_path / "state.sqlite3"
    clock = VirtualClock(START)
    dispatcher = RecordingDispatcher(500)
    cloud = open_cloud(path, clock, dispatcher)
    queue = tasks_v2.Queue(
        name=QUEUE,
        retry_config=tasks_v2.RetryConfig(max_attempts=5, min_backoff=timedelta(seconds=0.25)),
        rate_limits=tasks_v2.RateLimits(max_dispatches_per_second=7),
    )
    cloud.cloud_tasks.create_queue(tasks_v2.CreateQueueRequest(parent=PARENT, queue=queue))
    cloud.cloud_tasks.pause_queue(tasks_v2.PauseQueueRequest(name=QUEUE))
    cloud.cloud_tasks.resume_queue(tasks_v2.ResumeQueueRequest(name=QUEUE))
    create_task(cloud, "failing", retry_config=tasks_v2.RetryConfig(max_attempts=9))
    create_task(cloud, "later", schedule_time=START + timedelta(days=2))
    create_task(cloud, "done")
    dispatcher.script(500, 200)
    cloud.advance()  # "done" succeeds, "failing" fails once
    before = {t: get_task(cloud, t) for t in ("failing", "later")}
    queue_before = cloud.cloud_tasks.get_queue(tasks_v2.GetQueueRequest(name=QUEUE))
    cloud.close()

    restarted = open_cloud(path, clock)

    assert restarted.cloud_tasks.get_queue(tasks_v2.GetQueueRequest(name=QUEUE)) == queue_before
    assert {t: get_task(restarted, t) for t in ("failing", "later")} == before
    assert before["failing"].dispatch_count == 1
    with pytest.raises(NotFound, match="existed recently"):
        get_task(restarted, "done")
    with pytest.raises(AlreadyExists):
        create_task(restarted, "done")  # T26 across restarts
    restarted.close()


def test_an_attempt_in_flight_at_a_crash_is_redelivered_after_restart(tmp_path):
    path = tmp_path / "state.sqlite3"
    clock = VirtualClock(START)
    cloud = open_cloud(path, clock)
    cloud.cloud_tasks.create_queue(
        tasks_v2.CreateQueueRequest(parent=PARENT, queue=tasks_v2.Queue(name=QUEUE))
    )
    create_task(cloud, "in-flight")
    cloud.cloud_tasks.claim_due(1)  # dispatched; the process "dies" before the response
    cloud.store.close()

    dispatcher = RecordingDispatcher(200)
    restarted = open_cloud(path, clock, dispatcher)
    restarted.run_until_idle()

    assert [d.task_id for d in dispatcher.deliveries] == ["in-flight"]
    assert dispatcher.header("X-CloudTasks-TaskRetryCount") == "1"
    assert dispatcher.header("X-CloudTasks-TaskPreviousResponse") == "504"
    restarted.close()


def test_deleted_queue_and_its_tasks_stay_deleted_after_restart(tmp_path):
    path = tmp_path / "state.sqlite3"
    cloud = open_cloud(path)
    cloud.cloud_tasks.create_queue(
        tasks_v2.CreateQueueRequest(parent=PARENT, queue=tasks_v2.Queue(name=QUEUE))
    )
    create_task(cloud, "t")
    cloud.cloud_tasks.delete_queue(tasks_v2.DeleteQueueRequest(name=QUEUE))
    cloud.close()

    restarted = open_cloud(path)

    kinds = {r["kind"] for r in restarted.export_state()["records"]}
    assert kinds == {"meta", "cloudtasks.queue_tombstone"}
    with pytest.raises(FailedPrecondition, match="existed too recently"):
        restarted.cloud_tasks.create_queue(
            tasks_v2.CreateQueueRequest(parent=PARENT, queue=tasks_v2.Queue(name=QUEUE))
        )
    restarted.close()


def test_the_oidc_key_is_persisted_with_the_data(tmp_path):
    path = tmp_path / "state.sqlite3"
    first = open_cloud(path)
    key_id = first.oidc.key_id
    first.close()

    second = open_cloud(path)

    assert second.oidc.key_id == key_id
    assert second.store.records("meta")  # the key is a record, so export carries it
    second.close()


def test_local_cloud_reset_export_and_import(cloud, queue, add_task):
    add_task("a")
    exported = cloud.export_state()
    cloud.faults.add(FaultRule(operation="dispatch", effect=Timeout()))

    cloud.reset()

    assert cloud.faults.list() == []
    with pytest.raises(NotFound):
        cloud.cloud_tasks.get_queue(tasks_v2.GetQueueRequest(name=QUEUE))
    cloud.import_state(exported)
    assert cloud.cloud_tasks.get_task(
        tasks_v2.GetTaskRequest(name=f"{QUEUE}/tasks/a")
    ).name.endswith("/a")
    assert cloud.run_until_idle() == 1
