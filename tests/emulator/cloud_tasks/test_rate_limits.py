"""T8: the token bucket and max_concurrent_dispatches, in virtual time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from google.cloud import tasks_v2
from google.protobuf import field_mask_pb2

from emulator.cloud_tasks.rate import TokenBucket, token_interval
from tests.emulator.conftest import PARENT, QUEUE, START


def make_rate_queue(engine, *, rate: float = 0, concurrency: int = 0) -> None:
    queue = tasks_v2.Queue(
        name=QUEUE,
        rate_limits=tasks_v2.RateLimits(
            max_dispatches_per_second=rate, max_concurrent_dispatches=concurrency
        ),
    )
    engine.create_queue(tasks_v2.CreateQueueRequest(parent=PARENT, queue=queue))


def dispatch_times(cloud) -> list[timedelta]:
    return [r.dispatch_time - START for r in cloud.deliveries]


def test_t8_bucket_starts_full_then_refills_one_token_per_interval():
    bucket = TokenBucket(max_dispatches_per_second=2, burst=3)

    assert [bucket.try_take(START) for _ in range(4)] == [True, True, True, False]
    assert bucket.available_at() == START + timedelta(seconds=0.5)
    assert not bucket.try_take(START + timedelta(seconds=0.499999))
    assert bucket.try_take(START + timedelta(seconds=0.5))
    assert bucket.tokens(START + timedelta(seconds=10)) == 3.0


def test_t8_token_interval_rounds_up_so_the_rate_is_never_exceeded():
    assert token_interval(500) == timedelta(milliseconds=2)
    assert token_interval(3) == timedelta(microseconds=333_334)
    with pytest.raises(ValueError, match="positive"):
        token_interval(0)


def test_t8_reconfigure_keeps_the_tokens_held():
    bucket = TokenBucket(max_dispatches_per_second=1, burst=10)
    for _ in range(8):
        bucket.try_take(START)

    bucket.reconfigure(max_dispatches_per_second=100, burst=10, now=START)

    assert bucket.tokens(START) == pytest.approx(2.0)
    assert bucket.available_at() is None or bucket.available_at() <= START


def test_t8_burst_of_max_burst_size_then_max_dispatches_per_second(cloud, engine, add_task):
    make_rate_queue(engine, rate=1)
    for i in range(103):
        add_task(f"t{i:03d}")

    assert cloud.run_until_idle() == 103

    times = dispatch_times(cloud)
    assert times[:100] == [timedelta(0)] * 100  # max_burst_size is 100 (T5)
    assert times[100:] == [timedelta(seconds=1), timedelta(seconds=2), timedelta(seconds=3)]


def test_t8_every_dispatch_takes_a_token_retries_included(cloud, engine, add_task, dispatcher):
    make_rate_queue(engine, rate=1)
    for i in range(99):
        add_task(f"ok{i:02d}")
    dispatcher.script(*([200] * 99), 500, 200)
    add_task("zz-flaky", schedule_time=START + timedelta(microseconds=1))

    cloud.run_until_idle()

    flaky = [r for r in cloud.deliveries if r.task_id == "zz-flaky"]
    # The first attempt takes the 100th token; the retry, due 0.1 s later, waits for a refill.
    assert [r.dispatch_time - START for r in flaky] == [
        timedelta(microseconds=1),
        timedelta(seconds=1),
    ]


def test_t8_default_rate_spreads_a_large_burst_over_2ms_steps(cloud, queue, add_task):
    for i in range(103):
        add_task(f"t{i:03d}")

    cloud.run_until_idle()

    assert dispatch_times(cloud)[99:] == [timedelta(milliseconds=ms) for ms in (0, 2, 4, 6)]


def test_t8_next_due_time_waits_for_the_next_token(cloud, engine, add_task):
    make_rate_queue(engine, rate=4)
    for i in range(101):
        add_task(f"t{i:03d}")

    assert engine.dispatch_due() == 100
    assert engine.next_due_time() == START + timedelta(seconds=0.25)
    assert engine.dispatch_due() == 0  # nothing can go before the token is there


def test_t8_max_concurrent_dispatches_caps_claimed_attempts(engine, add_task):
    make_rate_queue(engine, concurrency=2)
    for i in range(5):
        add_task(f"t{i}")

    first = engine.claim_due(10)
    assert len(first) == 2
    assert engine.claim_due(10) == []
    assert engine.next_due_time() is None  # blocked until an attempt ends

    engine.deliver(first[0])

    assert engine.next_due_time() == START
    assert len(engine.claim_due(10)) == 1


def test_t8_update_queue_changes_the_rate_of_a_running_queue(cloud, engine, add_task):
    make_rate_queue(engine, rate=1)
    for i in range(102):
        add_task(f"t{i:03d}")
    engine.dispatch_due()

    engine.update_queue(
        tasks_v2.UpdateQueueRequest(
            queue=tasks_v2.Queue(
                name=QUEUE, rate_limits=tasks_v2.RateLimits(max_dispatches_per_second=10)
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["rate_limits.max_dispatches_per_second"]),
        )
    )
    cloud.run_until_idle()

    assert dispatch_times(cloud)[100:] == [timedelta(seconds=0.1), timedelta(seconds=0.2)]


def test_t8_t9_run_task_ignores_rate_limits_and_takes_no_token(cloud, engine, add_task):
    make_rate_queue(engine, rate=1)
    for i in range(100):
        add_task(f"t{i:03d}")
    engine.dispatch_due()
    held = add_task("forced")

    engine.run_task(tasks_v2.RunTaskRequest(name=held.name))

    assert cloud.deliveries[-1].task_id == "forced"
    assert cloud.deliveries[-1].dispatch_time == START
    assert engine.next_due_time() is None  # no task left; the bucket was not touched
