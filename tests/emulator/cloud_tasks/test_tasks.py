"""Task RPCs: names, de-duplication, limits, output fields, views, listing, RunTask (T9, T24+)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from google.api_core.exceptions import AlreadyExists, InvalidArgument, NotFound
from google.cloud import tasks_v2
from google.protobuf import timestamp_pb2
from google.rpc import code_pb2

from emulator import LocalCloud
from tests.emulator.conftest import PARENT, QUEUE, START, RecordingDispatcher

GONE = (
    "The task no longer exists, though a task with this name existed recently. The task either "
    "successfully completed or was deleted."
)


def get(engine, name: str, view=tasks_v2.Task.View.BASIC) -> tasks_v2.Task:
    return engine.get_task(tasks_v2.GetTaskRequest(name=name, response_view=view))


# --- T24 / T25: names -----------------------------------------------------------------------


def test_t24_invalid_task_id_is_rejected_with_googles_message(queue, add_task):
    with pytest.raises(InvalidArgument) as error:
        add_task("not a valid id")
    assert error.value.message == (
        'Task ID "not a valid id" can contain only letters ([A-Za-z]), numbers ([0-9]), '
        "hyphens (-), or underscores (_). Task ID must between 1 and 500 characters."
    )


def test_t24_task_ids_up_to_500_chars_with_underscores_are_accepted(queue, add_task):
    assert add_task("a_B-9" * 100).name.endswith("a_B-9" * 100)
    with pytest.raises(InvalidArgument):
        add_task("x" * 501)


def test_t24_task_named_for_another_queue_is_rejected(make_queue, queue, add_task):
    other = make_queue(f"{PARENT}/queues/other").name

    with pytest.raises(InvalidArgument) as error:
        add_task(parent=QUEUE, name=f"{other}/tasks/t1")

    assert error.value.message == (
        f"The queue name from request ('{QUEUE}') must be the same as the queue name in the "
        f"named task ('{other}')."
    )


@pytest.mark.parametrize("queue_id", ["has_underscore", "x" * 101, "", "bad/slash"])
def test_t24_invalid_queue_ids_are_rejected(engine, queue_id):
    name = f"{PARENT}/queues/{queue_id}"
    with pytest.raises(InvalidArgument) as error:
        engine.create_queue(
            tasks_v2.CreateQueueRequest(parent=PARENT, queue=tasks_v2.Queue(name=name))
        )
    assert error.value.message == (
        'Queue name must be formatted: "projects/<PROJECT_ID>/locations/<LOCATION_ID>'
        '/queues/<QUEUE_ID>".'
    )


def test_t25_unnamed_tasks_get_unique_long_digit_ids(queue, add_task):
    ids = {add_task().name.rsplit("/", 1)[1] for _ in range(50)}

    assert len(ids) == 50
    assert all(task_id.isdigit() and len(task_id) >= 18 for task_id in ids)


# --- T26: de-duplication --------------------------------------------------------------------


def test_t26_name_of_a_live_task_is_already_exists(queue, add_task):
    add_task("order-42")

    with pytest.raises(AlreadyExists) as error:
        add_task("order-42")
    assert error.value.message == "Requested entity already exists"


def test_t26_name_of_a_recently_finished_task_is_reserved_for_an_hour(
    clock, engine, queue, add_task
):
    add_task("order-42")
    engine.dispatch_due()

    clock.advance(timedelta(minutes=59))
    with pytest.raises(AlreadyExists):
        add_task("order-42")

    clock.advance(timedelta(minutes=1))
    assert add_task("order-42").name.endswith("/order-42")


def test_t26_deleted_task_name_is_reserved_and_ttl_is_configurable(clock):
    cloud = LocalCloud(clock, RecordingDispatcher(200), task_tombstone_ttl=timedelta(seconds=5))
    engine = cloud.cloud_tasks
    engine.create_queue(
        tasks_v2.CreateQueueRequest(parent=PARENT, queue=tasks_v2.Queue(name=QUEUE))
    )
    task = tasks_v2.Task(
        name=f"{QUEUE}/tasks/t", http_request=tasks_v2.HttpRequest(url="http://h/")
    )
    engine.create_task(tasks_v2.CreateTaskRequest(parent=QUEUE, task=task))
    engine.delete_task(tasks_v2.DeleteTaskRequest(name=task.name))

    with pytest.raises(AlreadyExists):
        engine.create_task(tasks_v2.CreateTaskRequest(parent=QUEUE, task=task))
    clock.advance(timedelta(seconds=5))
    engine.create_task(tasks_v2.CreateTaskRequest(parent=QUEUE, task=task))


# --- T27 / T28: schedule time and size limits -----------------------------------------------


def test_t27_unset_or_past_schedule_time_means_now(queue, add_task):
    assert add_task().schedule_time == START
    assert add_task(schedule_time=START - timedelta(hours=3)).schedule_time == START


def test_schedule_time_is_truncated_to_the_microsecond(engine, queue, add_task):
    later = timestamp_pb2.Timestamp()
    later.FromDatetime(START + timedelta(hours=1))
    later.nanos = 123_456_789

    created = add_task("t1", schedule_time=later)

    expected = START + timedelta(hours=1, microseconds=123_456)
    for task in (created, get(engine, f"{QUEUE}/tasks/t1")):
        assert tasks_v2.Task.pb(task).schedule_time.nanos == 123_456_000
        assert task.schedule_time == expected


def test_tasks_with_equal_and_different_requests_each_keep_their_own(engine, queue, add_task):
    headers = {"Content-Type": "application/json"}
    add_task("a", headers=headers, body=b"1", oidc_token=tasks_v2.OidcToken(audience="x"))
    add_task("b", headers=dict(headers), body=b"2", oidc_token=tasks_v2.OidcToken(audience="x"))
    add_task("c", headers={"X-Other": "1"}, body=b"3", oidc_token=tasks_v2.OidcToken(audience="y"))

    seen = {}
    for task_id in "abc":
        task = get(engine, f"{QUEUE}/tasks/{task_id}", tasks_v2.Task.View.FULL)
        http = task.http_request
        seen[task_id] = (dict(http.headers), http.body, http.oidc_token.audience)
    assert seen == {
        "a": ({"Content-Type": "application/json", "User-Agent": "Google-Cloud-Tasks"}, b"1", "x"),
        "b": ({"Content-Type": "application/json", "User-Agent": "Google-Cloud-Tasks"}, b"2", "x"),
        "c": ({"X-Other": "1", "User-Agent": "Google-Cloud-Tasks"}, b"3", "y"),
    }


def test_t27_schedule_time_at_most_30_days_ahead(queue, add_task):
    assert add_task(schedule_time=START + timedelta(days=30)).schedule_time == START + timedelta(
        days=30
    )

    with pytest.raises(InvalidArgument) as error:
        add_task(schedule_time=START + timedelta(days=30, seconds=1))
    assert error.value.message == (
        "The Task.scheduleTime, 2025-02-05T01:00:01-08:00, is too far in the future. "
        "Schedule time must be no more than 720h in the future."
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "HttpRequest.url is required."),
        ("ftp://files.example.com/x", "HttpTarget.url must start with 'http://' or 'https://'."),
        ("https://example.com/" + "a" * 2064, "at most 2083"),
    ],
)
def test_t28_url_must_be_http_and_at_most_2083_chars(queue, add_task, url, message):
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        add_task(url=url)


def test_t28_url_of_exactly_2083_chars_is_accepted(queue, add_task):
    url = "https://example.com/" + "a" * 2063
    assert len(url) == 2083
    assert add_task(url=url).http_request.url == url


def test_t28_body_only_for_post_put_patch_and_post_is_default(engine, queue, add_task, dispatcher):
    with pytest.raises(InvalidArgument, match="POST, PUT and PATCH"):
        add_task(body=b"x", http_method=tasks_v2.HttpMethod.GET)
    for method in (tasks_v2.HttpMethod.PUT, tasks_v2.HttpMethod.PATCH):
        add_task(body=b"x", http_method=method)

    task = add_task(http_method=tasks_v2.HttpMethod.HTTP_METHOD_UNSPECIFIED)

    assert task.http_request.http_method == tasks_v2.HttpMethod.POST
    engine.dispatch_due()
    assert [d.http_method for d in dispatcher.deliveries] == ["PUT", "PATCH", "POST"]


def test_t28_task_over_1mb_is_rejected(queue, add_task):
    add_task(body=b"x" * 990_000)

    with pytest.raises(InvalidArgument) as error:
        add_task(body=b"x" * 1_000_001)
    assert error.value.message == "Task size too large"


# --- T29 / T30: output fields and views -----------------------------------------------------


def test_t29_create_time_is_whole_seconds(clock, queue, add_task):
    clock.advance(timedelta(milliseconds=700))

    task = add_task()

    assert task.create_time == START
    assert task.schedule_time == START + timedelta(milliseconds=700)
    assert task.dispatch_count == 0
    assert "first_attempt" not in task
    assert "last_attempt" not in task


def test_t29_attempt_fields_after_a_failed_and_a_timed_out_attempt(
    clock, engine, make_queue, add_task, dispatcher
):
    make_queue(min_backoff=timedelta(seconds=10), max_backoff=timedelta(seconds=10))
    dispatcher.script(404, None)
    task = add_task("t")

    engine.dispatch_due()
    after = get(engine, task.name)
    assert after.dispatch_count == 1
    assert after.response_count == 1
    assert after.first_attempt == tasks_v2.Attempt(dispatch_time=START)
    assert after.last_attempt.schedule_time == START
    assert after.last_attempt.dispatch_time == START
    assert after.last_attempt.response_time == START
    assert after.last_attempt.response_status.code == code_pb2.NOT_FOUND

    clock.advance(timedelta(seconds=10))
    engine.dispatch_due()
    after = get(engine, task.name)
    assert after.dispatch_count == 2
    assert after.response_count == 1
    assert after.first_attempt.dispatch_time == START
    assert after.last_attempt.dispatch_time == START + timedelta(seconds=10)
    assert after.last_attempt.response_status.code == code_pb2.DEADLINE_EXCEEDED


def test_t30_basic_view_omits_the_body_and_full_view_includes_it(engine, queue, add_task):
    created = add_task("payload", body=b'{"user": 7}', headers={"Content-Type": "application/json"})

    basic = get(engine, created.name)
    full = get(engine, created.name, tasks_v2.Task.View.FULL)

    assert created.view == tasks_v2.Task.View.BASIC
    assert basic.http_request.body == b""
    assert basic.http_request.headers["Content-Type"] == "application/json"
    assert full.view == tasks_v2.Task.View.FULL
    assert full.http_request.body == b'{"user": 7}'
    assert add_task(body=b"x", view=tasks_v2.Task.View.FULL).http_request.body == b"x"


# --- T31: not found messages ----------------------------------------------------------------


def test_t31_finished_task_is_not_found_with_existed_recently_message(engine, queue, add_task):
    task = add_task("done")
    engine.dispatch_due()

    with pytest.raises(NotFound) as error:
        get(engine, task.name)
    assert error.value.message == GONE


def test_t31_task_given_up_is_gone_too(cloud, make_queue, add_task, dispatcher):
    make_queue(max_attempts=1)
    dispatcher.script(500)
    task = add_task("gave-up")
    cloud.run_until_idle()

    with pytest.raises(NotFound) as error:
        get(cloud.cloud_tasks, task.name)
    assert error.value.message == GONE


def test_t31_never_existing_task_is_requested_entity_not_found(engine, queue):
    for call, request in [
        (engine.get_task, tasks_v2.GetTaskRequest(name=f"{QUEUE}/tasks/nope")),
        (engine.delete_task, tasks_v2.DeleteTaskRequest(name=f"{QUEUE}/tasks/nope")),
        (engine.run_task, tasks_v2.RunTaskRequest(name=f"{QUEUE}/tasks/nope")),
    ]:
        with pytest.raises(NotFound) as error:
            call(request)
        assert error.value.message == "Requested entity was not found."


def test_create_task_in_missing_queue_is_not_found(engine, add_task):
    with pytest.raises(NotFound) as error:
        add_task()
    assert error.value.message.startswith("Queue does not exist.")


# --- T32: listing ---------------------------------------------------------------------------


def test_t32_list_tasks_pages_of_at_most_1000(engine, queue, add_task):
    created = {add_task(f"t{n:04d}").name for n in range(2500)}

    seen: list[str] = []
    sizes: list[int] = []
    token = ""
    while True:
        page = engine.list_tasks(
            tasks_v2.ListTasksRequest(parent=QUEUE, page_size=5000, page_token=token)
        )
        sizes.append(len(page.tasks))
        seen += [t.name for t in page.tasks]
        token = page.next_page_token
        if not token:
            break

    assert sizes == [1000, 1000, 500]
    assert len(seen) == len(set(seen)) == 2500
    assert set(seen) == created


def test_t32_small_pages_and_views(engine, queue, add_task):
    for n in range(3):
        add_task(f"t{n}", body=b"secret")

    first = engine.list_tasks(tasks_v2.ListTasksRequest(parent=QUEUE, page_size=2))
    rest = engine.list_tasks(
        tasks_v2.ListTasksRequest(
            parent=QUEUE,
            page_size=2,
            page_token=first.next_page_token,
            response_view=tasks_v2.Task.View.FULL,
        )
    )

    assert [t.name.rsplit("/", 1)[1] for t in first.tasks] == ["t0", "t1"]
    assert first.tasks[0].http_request.body == b""
    assert [t.name.rsplit("/", 1)[1] for t in rest.tasks] == ["t2"]
    assert rest.tasks[0].http_request.body == b"secret"
    assert rest.next_page_token == ""


# --- T9: RunTask ----------------------------------------------------------------------------


def test_t9_run_task_dispatches_now_even_in_a_paused_queue(engine, queue, add_task, dispatcher):
    engine.pause_queue(tasks_v2.PauseQueueRequest(name=QUEUE))
    task = add_task("later", schedule_time=START + timedelta(days=2))

    returned = engine.run_task(tasks_v2.RunTaskRequest(name=task.name))

    assert len(dispatcher.deliveries) == 1
    assert returned.dispatch_count == 1
    assert returned.last_attempt.dispatch_time == START
    with pytest.raises(NotFound) as error:
        engine.run_task(tasks_v2.RunTaskRequest(name=task.name))
    assert error.value.message == GONE


def test_t9_failed_run_task_reschedules_at_run_time_plus_backoff(
    clock, engine, make_queue, add_task, dispatcher
):
    make_queue(min_backoff=timedelta(seconds=30), max_backoff=timedelta(seconds=30))
    dispatcher.script(500)
    task = add_task("later", schedule_time=START + timedelta(days=2))
    clock.advance(timedelta(minutes=5))

    engine.run_task(tasks_v2.RunTaskRequest(name=task.name))

    after = get(engine, task.name)
    assert after.schedule_time == START + timedelta(minutes=5, seconds=30)
    assert after.dispatch_count == 1


def test_delete_task_removes_it_before_delivery(engine, queue, add_task, dispatcher):
    task = add_task("cancel-me")

    engine.delete_task(tasks_v2.DeleteTaskRequest(name=task.name))
    engine.dispatch_due()

    assert dispatcher.deliveries == []
    with pytest.raises(NotFound) as error:
        get(engine, task.name)
    assert error.value.message == GONE
