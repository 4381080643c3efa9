"""The store records the three services write, pinned by a golden export: a store written by an
earlier version (a SQLite file, an ``export_state()`` dict) loads unchanged, and the engines write
exactly the same JSON.

The state is built on a ``VirtualClock`` with fixed names; only what Cloud Run draws at random
(uids, the execution id's suffix, process ids) is replaced by fixed stand-ins before comparing.
Regenerate the golden (only on purpose, when the record format changes) with
``REGENERATE_GOLDEN=1 uv run pytest tests/emulator/kit/test_records.py``.
"""

from __future__ import annotations

import json
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from google.cloud import scheduler_v1, tasks_v2

from emulator import LocalCloud, SqliteStore, VirtualClock
from emulator.cloud import OIDC_KEY_KIND
from emulator.cloud_tasks import model as cloud_tasks_model
from emulator.cloud_tasks.model import QUEUE_KIND as CLOUD_TASKS_QUEUE
from emulator.cloud_tasks.model import TASK_KIND as CLOUD_TASKS_TASK
from emulator.run_jobs import model as run_jobs_model
from emulator.scheduler import model as scheduler_model
from tests.emulator.conftest import PARENT, QUEUE, START, URL, RecordingDispatcher
from tests.emulator.run_jobs_support import KILL_GRACE, run_job
from tests.emulator.run_jobs_support import create_job as create_run_job
from tests.emulator.scheduler_support import create_job as create_scheduler_job

GOLDEN = Path(__file__).with_name("golden_state.json")
ACCOUNT = "tasks@demo.iam.gserviceaccount.com"
# Task 0 fails its first attempt with exit code 3; every other attempt succeeds. (A shell
# command, not this interpreter's path, so the golden holds the same command everywhere.)
FIRST_TRY_FAILS = [
    "sh",
    "-c",
    'test "$CLOUD_RUN_TASK_INDEX$CLOUD_RUN_TASK_ATTEMPT" = 00 && exit 3; exit 0',
]
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def dispatcher() -> RecordingDispatcher:
    return RecordingDispatcher(200)


@pytest.fixture
def cloud(dispatcher):
    cloud = LocalCloud(VirtualClock(START), dispatcher, job_kill_grace=KILL_GRACE)
    yield cloud
    cloud.close()


def build_cloud_tasks(cloud: LocalCloud) -> None:
    """A queue with retries and four tasks (one deleted: a tombstone), a purged paused queue."""
    engine = cloud.cloud_tasks
    queue = tasks_v2.Queue(
        name=QUEUE,
        retry_config=tasks_v2.RetryConfig(
            max_attempts=5, min_backoff=timedelta(seconds=10), max_backoff=timedelta(seconds=60)
        ),
        rate_limits=tasks_v2.RateLimits(max_concurrent_dispatches=4),
    )
    engine.create_queue(tasks_v2.CreateQueueRequest(parent=PARENT, queue=queue))
    paused = f"{PARENT}/queues/paused"
    engine.create_queue(tasks_v2.CreateQueueRequest(parent=PARENT, queue={"name": paused}))
    engine.purge_queue(tasks_v2.PurgeQueueRequest(name=paused))
    engine.pause_queue(tasks_v2.PauseQueueRequest(name=paused))

    def task(task_id: str, *, delay: float = 0, **http: Any) -> None:
        request = tasks_v2.HttpRequest(url=URL, **http)
        created = tasks_v2.Task(name=f"{QUEUE}/tasks/{task_id}", http_request=request)
        created.schedule_time = START + timedelta(seconds=delay)
        engine.create_task(tasks_v2.CreateTaskRequest(parent=QUEUE, task=created))

    task(
        "answered",
        body=b'{"n": 1}',
        headers={"Content-Type": "application/json", "X-Extra": "yes"},
        oidc_token=tasks_v2.OidcToken(service_account_email=ACCOUNT, audience="https://app"),
    )
    task("silent", delay=1, http_method=tasks_v2.HttpMethod.PUT)
    task("later", delay=3600)
    task("deleted", delay=7200)
    engine.delete_task(tasks_v2.DeleteTaskRequest(name=f"{QUEUE}/tasks/deleted"))


def build_scheduler(cloud: LocalCloud) -> None:
    """A job with retries (its 09:01 run will fail) and a paused job."""
    engine = cloud.scheduler
    retry = {"retry_count": 3, "min_backoff_duration": timedelta(seconds=30)}
    create_scheduler_job(engine, "report", "* * * * *", retry=retry, body=b"hello")
    create_scheduler_job(engine, "nightly", "0 2 * * *", time_zone="Europe/Berlin")
    engine.pause_job(scheduler_v1.PauseJobRequest(name=f"{PARENT}/jobs/nightly"))


def build_run_jobs(cloud: LocalCloud) -> None:
    """A job of two tasks whose execution finished: task 0 failed once, then succeeded."""
    engine = cloud.run_jobs
    job = create_run_job(engine, "batch", FIRST_TRY_FAILS, task_count=2, max_retries=1)
    execution, _ = run_job(engine, job)
    engine.wait_for_execution(execution, timeout=15)


def build_state(cloud: LocalCloud, dispatcher: RecordingDispatcher) -> dict[str, Any]:
    """The export of the three services' state at 09:01:00, normalised.

    The answers are 503, no response, then 500: the tasks wait for their next retry with three
    attempts each and the scheduler's 09:01 run waits for its retry at 09:01:30. The export is
    taken while a RunJob of the paused job is being delivered (a run in flight).
    """
    build_run_jobs(cloud)
    build_cloud_tasks(cloud)
    build_scheduler(cloud)
    dispatcher.script(503, None, 500)
    cloud.advance(seconds=60)
    exports: list[dict[str, Any]] = []
    dispatcher.on_delivery = lambda _delivery: exports.append(cloud.export_state())
    cloud.scheduler.run_job(scheduler_v1.RunJobRequest(name=f"{PARENT}/jobs/nightly"))
    [state] = exports
    return normalised(state)


def json_text(value: Any) -> str:
    """``value`` as JSON text, its keys in the order written: comparing texts also compares the
    order of the keys in each record."""
    return json.dumps(value, indent=1)


def normalised(state: dict[str, Any]) -> dict[str, Any]:
    """``state`` with Cloud Run's random values replaced by stand-ins, in order of appearance,
    and task headers in name order (a protobuf map, whose order varies from run to run)."""
    for record in state["records"]:
        if record["kind"] == CLOUD_TASKS_TASK:
            record["value"]["headers"] = dict(sorted(record["value"]["headers"].items()))
    text = json_text(state)
    for number, uid in enumerate(dict.fromkeys(UUID.findall(text))):
        text = text.replace(uid, f"00000000-0000-4000-8000-{number:012d}")
    text = re.sub(r"batch-[a-z0-9]{5}\b", "batch-fixed", text)
    text = re.sub(r'"pid": \d+', '"pid": 4242', text)
    text = re.sub(r'"pid_create_time": [0-9.e+]+', '"pid_create_time": 1736150400.5', text)
    return json.loads(text)


def test_the_engines_write_the_records_of_the_golden_export(cloud, dispatcher):
    state = build_state(cloud, dispatcher)

    if os.environ.get("REGENERATE_GOLDEN"):
        GOLDEN.write_text(json_text(state) + "\n")
    assert json_text(state) == json_text(golden())


def golden() -> dict[str, Any]:
    return json.loads(GOLDEN.read_text())


def by_name(state: dict[str, Any]) -> str:
    """The records of ``state`` as JSON text, sorted by kind and key (the order a SQLite store
    exports them in), without the OIDC signing key a persistent store adds (random per store)."""
    assert state["format"] == golden()["format"]
    records = state["records"]
    named = {f"{r['kind']} {r['key']}": r for r in records if r["kind"] != OIDC_KEY_KIND}
    return json_text(dict(sorted(named.items())))


def test_the_golden_export_imports_and_exports_unchanged(cloud):
    cloud.import_state(golden())

    assert json_text(cloud.export_state()) == json_text(golden())


def test_a_sqlite_store_holding_the_golden_records_loads_and_exports_them_unchanged(tmp_path):
    path = tmp_path / "emulator.sqlite3"
    first = LocalCloud(VirtualClock(START), RecordingDispatcher(), store=SqliteStore(path))
    first.import_state(golden())
    first.close()

    restarted = LocalCloud(VirtualClock(START), RecordingDispatcher(), store=SqliteStore(path))
    try:
        assert by_name(restarted.export_state()) == by_name(golden())
    finally:
        restarted.close()


@pytest.mark.parametrize(
    ("kind", "model"),
    [
        (CLOUD_TASKS_QUEUE, cloud_tasks_model.QueueState),
        (CLOUD_TASKS_TASK, cloud_tasks_model.TaskState),
        (scheduler_model.JOB_KIND, scheduler_model.JobState),
        (run_jobs_model.JOB_KIND, run_jobs_model.JobState),
        (run_jobs_model.TASK_KIND, run_jobs_model.TaskState),
    ],
)
def test_each_golden_record_reads_back_into_its_model_and_writes_the_same_json(kind, model):
    values = [r["value"] for r in golden()["records"] if r["kind"] == kind]

    assert values
    for value in values:
        resource = model.from_record(value)
        written = resource.put().record.value if kind == run_jobs_model.JOB_KIND else None
        assert json_text(written or resource.to_record()) == json_text(value)


def test_each_golden_execution_reads_back_with_its_tasks_and_writes_the_same_json():
    records = golden()["records"]
    tasks = [
        run_jobs_model.TaskState.from_record(r["value"])
        for r in records
        if r["kind"] == run_jobs_model.TASK_KIND
    ]
    [value] = [r["value"] for r in records if r["kind"] == run_jobs_model.EXECUTION_KIND]

    written = run_jobs_model.ExecutionState.from_record(value, tasks).to_record()
    assert json_text(written) == json_text(value)
