"""Retries: attempts, backoff, give-up, deadlines, outcomes (T1-T7, T10, T11, T13, T14)."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from google.api_core.exceptions import InvalidArgument, NotFound
from google.cloud import tasks_v2

from emulator import DeliveryResult
from emulator.cloud_tasks import retry
from emulator.kit.retry import backoff
from tests.emulator.conftest import PARENT, QUEUE, START

S = timedelta(seconds=1)


def gaps(dispatcher) -> list[float]:
    """Seconds between consecutive deliveries' dispatch times (read from the ETA header)."""
    etas = [float(d.headers["X-CloudTasks-TaskETA"]) for d in dispatcher.deliveries]
    return [round(b - a, 6) for a, b in itertools.pairwise(etas)]


def test_t4_backoff_doubles_then_linear():
    """Google's documented example: min 10 s, max 300 s, max_doublings 3."""
    delays = [backoff(k, 10 * S, 300 * S, 3) for k in range(1, 9)]
    assert [d.total_seconds() for d in delays] == [10, 20, 40, 80, 160, 240, 300, 300]


def test_t4_backoff_zero_doublings_grows_linearly_and_huge_attempts_stay_capped():
    assert [backoff(k, 5 * S, 60 * S, 0).total_seconds() for k in range(1, 5)] == [5, 10, 15, 20]
    assert backoff(10_000, 0.1 * S, 3600 * S, 16) == 3600 * S


def test_t4_engine_retries_follow_googles_example(cloud, make_queue, add_task, dispatcher):
    make_queue(min_backoff=10 * S, max_backoff=300 * S, max_doublings=3, max_attempts=-1)
    dispatcher.script(500)
    add_task("example")

    cloud.advance(seconds=10 + 20 + 40 + 80 + 160 + 240 + 300 + 300)

    assert gaps(dispatcher) == [10, 20, 40, 80, 160, 240, 300, 300]


def test_t4_next_attempt_is_measured_from_the_failure(engine, make_queue, add_task, dispatcher):
    make_queue(min_backoff=10 * S, max_backoff=10 * S)
    dispatcher.script(DeliveryResult(500, elapsed=30 * S))
    task = add_task("slow")

    engine.dispatch_due()

    after = engine.get_task(tasks_v2.GetTaskRequest(name=task.name))
    assert after.schedule_time == START + 30 * S + 10 * S
    assert after.last_attempt.response_time == START + 30 * S


def test_t1_max_attempts_counts_the_first_attempt(cloud, make_queue, add_task, dispatcher):
    make_queue(max_attempts=1)
    dispatcher.script(500)
    add_task("once")

    cloud.run_until_idle()

    assert len(dispatcher.deliveries) == 1


def test_t1_max_attempts_below_minus_one_is_rejected(make_queue):
    with pytest.raises(InvalidArgument) as error:
        make_queue(max_attempts=-2)
    assert error.value.message == "RetryConfig.maxAttempts must be greater or equal to -1."


def test_t2_task_is_deleted_after_max_attempts(cloud, engine, make_queue, add_task, dispatcher):
    make_queue(max_attempts=3, min_backoff=S, max_backoff=S)
    dispatcher.script(503)
    task = add_task("doomed")

    cloud.advance(days=1)

    assert len(dispatcher.deliveries) == 3
    with pytest.raises(NotFound):
        engine.get_task(tasks_v2.GetTaskRequest(name=task.name))


def test_t2_both_attempts_and_retry_duration_must_be_reached(
    cloud, make_queue, add_task, dispatcher
):
    make_queue(max_attempts=2, max_retry_duration=60 * S, min_backoff=10 * S, max_backoff=10 * S)
    dispatcher.script(500)
    add_task("patient")

    cloud.run_until_idle()

    # Two attempts are reached after 10 s, but retries go on until 60 s have passed.
    assert [d.headers["X-CloudTasks-TaskRetryCount"] for d in dispatcher.deliveries] == [
        str(n) for n in range(7)
    ]
    assert gaps(dispatcher) == [10] * 6


def test_t2_unlimited_retries_stop_at_31_days_retention(cloud, make_queue, add_task, dispatcher):
    make_queue(max_attempts=-1, min_backoff=timedelta(days=1), max_backoff=timedelta(days=1))
    dispatcher.script(500)
    add_task("forever")

    cloud.run_until_idle(horizon=timedelta(days=60))

    assert len(dispatcher.deliveries) == 32  # day 0 .. day 31
    assert cloud.cloud_tasks.next_due_time() is None


def test_t3_durations_are_stored_as_sent(engine, make_queue):
    make_queue(min_backoff=timedelta(milliseconds=250), max_backoff=timedelta(seconds=1.5))

    stored = engine.get_queue(tasks_v2.GetQueueRequest(name=QUEUE)).retry_config

    assert stored.min_backoff == timedelta(milliseconds=250)
    assert stored.max_backoff == timedelta(seconds=1.5)


def test_t3_default_first_retry_comes_after_a_tenth_of_a_second(
    engine, queue, add_task, dispatcher
):
    dispatcher.script(500)
    task = add_task("quick")

    engine.dispatch_due()

    after = engine.get_task(tasks_v2.GetTaskRequest(name=task.name))
    assert after.schedule_time == START + timedelta(milliseconds=100)


def test_t5_queue_defaults(engine):
    created = engine.create_queue(
        tasks_v2.CreateQueueRequest(parent=PARENT, queue=tasks_v2.Queue(name=QUEUE))
    )

    assert created.retry_config == tasks_v2.RetryConfig(
        max_attempts=100,
        min_backoff=timedelta(seconds=0.1),
        max_backoff=timedelta(seconds=3600),
        max_doublings=16,
        max_retry_duration=timedelta(0),
    )
    assert created.rate_limits == tasks_v2.RateLimits(
        max_dispatches_per_second=500, max_concurrent_dispatches=1000, max_burst_size=100
    )
    assert created.state == tasks_v2.Queue.State.RUNNING
    assert created.retry_config.max_attempts == retry.DEFAULT_MAX_ATTEMPTS


@pytest.mark.parametrize(
    ("retry_config", "rate_limits", "message"),
    [
        (
            {"min_backoff": 20 * S, "max_backoff": 10 * S},
            {},
            "RetryConfig.minBackoff must be less than or equal to RetryConfig.maxBackoff.",
        ),
        ({"min_backoff": -S}, {}, "RetryConfig.minBackoff cannot be negative."),
        ({"max_doublings": -1}, {}, "RetryConfig.maxDoublings cannot be negative."),
        (
            {},
            {"max_dispatches_per_second": -1},
            "RateLimits.maxDispatchesPerSecond cannot be negative.",
        ),
        (
            {},
            {"max_dispatches_per_second": 501},
            "RateLimits.maxDispatchesPerSecond must be less than or equal to 500.",
        ),
        (
            {},
            {"max_concurrent_dispatches": 5001},
            "RateLimits.maxConcurrentDispatches must be less than or equal to 5000.",
        ),
    ],
)
def test_t6_invalid_queue_settings_are_rejected_with_googles_message(
    engine, retry_config, rate_limits, message
):
    queue = tasks_v2.Queue(
        name=QUEUE,
        retry_config=tasks_v2.RetryConfig(**retry_config),
        rate_limits=tasks_v2.RateLimits(**rate_limits),
    )

    with pytest.raises(InvalidArgument) as error:
        engine.create_queue(tasks_v2.CreateQueueRequest(parent=PARENT, queue=queue))

    assert error.value.message == message
    assert engine.list_queues(tasks_v2.ListQueuesRequest(parent=PARENT)).queues == []


def test_t7_task_retry_config_overrides_the_queues(cloud, engine, make_queue, add_task, dispatcher):
    make_queue(max_attempts=100, min_backoff=S, max_backoff=S)
    dispatcher.script(500)
    add_task("fragile", retry_config=tasks_v2.RetryConfig(max_attempts=2))
    add_task("sturdy")

    cloud.advance(seconds=10)

    per_task = [d.task_id for d in dispatcher.deliveries]
    assert per_task.count("fragile") == 2
    assert per_task.count("sturdy") == 11


def test_t7_invalid_task_retry_config_is_rejected(queue, add_task):
    with pytest.raises(InvalidArgument, match="maxAttempts"):
        add_task(retry_config=tasks_v2.RetryConfig(max_attempts=-3))


@pytest.mark.parametrize("status", [429, 503])
def test_t10_retry_after_is_a_lower_bound_on_429_and_503(
    engine, queue, add_task, dispatcher, status
):
    dispatcher.script(DeliveryResult(status, headers={"retry-after": "120"}))
    task = add_task("busy")

    engine.dispatch_due()

    after = engine.get_task(tasks_v2.GetTaskRequest(name=task.name))
    assert after.schedule_time == START + 120 * S


def test_t10_backoff_wins_when_longer_and_other_statuses_ignore_retry_after(
    engine, make_queue, add_task, dispatcher
):
    make_queue(min_backoff=300 * S, max_backoff=300 * S)
    dispatcher.script(
        DeliveryResult(503, headers={"Retry-After": "5"}),
        DeliveryResult(500, headers={"Retry-After": "900"}),
    )
    first = add_task("a")
    second = add_task("b")

    engine.dispatch_due()

    for task in (first, second):
        after = engine.get_task(tasks_v2.GetTaskRequest(name=task.name))
        assert after.schedule_time == START + 300 * S


def test_t11_default_deadline_is_ten_minutes(engine, queue, add_task, dispatcher):
    task = add_task()
    engine.dispatch_due()

    assert task.dispatch_deadline == timedelta(minutes=10)
    assert dispatcher.deliveries[0].deadline == timedelta(minutes=10)


@pytest.mark.parametrize("deadline", [timedelta(seconds=14), timedelta(minutes=30, seconds=1)])
def test_t11_deadline_outside_15s_to_30min_is_rejected(queue, add_task, deadline):
    with pytest.raises(InvalidArgument) as error:
        add_task(dispatch_deadline=deadline)
    assert error.value.message == "Task.dispatchDeadline must be between [15s, 30m]."


def test_t11_timeout_is_a_failed_attempt_reported_as_504(
    clock, engine, make_queue, add_task, dispatcher
):
    make_queue(min_backoff=10 * S, max_backoff=10 * S)
    dispatcher.script(DeliveryResult(200, elapsed=timedelta(seconds=16)), 200)
    task = add_task("slow", dispatch_deadline=timedelta(seconds=15))

    engine.dispatch_due()
    after = engine.get_task(tasks_v2.GetTaskRequest(name=task.name))
    assert after.response_count == 0
    assert after.schedule_time == START + 15 * S + 10 * S

    clock.advance(25 * S)
    engine.dispatch_due()
    assert dispatcher.header("X-CloudTasks-TaskPreviousResponse") == "504"


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_t13_any_2xx_deletes_the_task(engine, queue, add_task, dispatcher, status):
    dispatcher.script(status)
    task = add_task("done")

    engine.dispatch_due()

    with pytest.raises(NotFound):
        engine.get_task(tasks_v2.GetTaskRequest(name=task.name))


@pytest.mark.parametrize("status", [None, 302, 400, 404, 410, 500])
def test_t13_t14_every_other_outcome_is_retried(engine, queue, add_task, dispatcher, status):
    dispatcher.script(status)
    task = add_task("again")

    engine.dispatch_due()

    after = engine.get_task(tasks_v2.GetTaskRequest(name=task.name))
    assert after.dispatch_count == 1
    assert after.schedule_time > START
