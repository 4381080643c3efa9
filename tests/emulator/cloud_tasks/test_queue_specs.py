"""``--queue QUEUE_ID[:key=value,...]``: parsing and applying at start (T36 upsert)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from google.cloud import tasks_v2

from emulator.cloud_tasks.queue_specs import QueueSpec, apply_queue_spec, parse_queue_spec
from tests.emulator.conftest import PARENT, QUEUE


def test_parse_id_and_settings():
    spec = parse_queue_spec(
        "default:max_attempts=5, min_backoff=0.5,max_backoff=10,max_dispatches_per_second=2.5"
    )

    assert spec == QueueSpec(
        "default",
        {
            "max_attempts": 5,
            "min_backoff": 0.5,
            "max_backoff": 10.0,
            "max_dispatches_per_second": 2.5,
        },
    )
    assert parse_queue_spec("emails") == QueueSpec("emails", {})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bad_id", "invalid queue id"),
        ("", "invalid queue id"),
        ("q:colour=red", "key one of max_attempts"),
        ("q:max_attempts", "key=value"),
        ("q:max_attempts=lots", "not an integer"),
        ("q:min_backoff=soon", r"not a number \(seconds\)"),
    ],
)
def test_bad_specs_are_refused_with_a_clear_message(text, message):
    with pytest.raises(ValueError, match=message):
        parse_queue_spec(text)


def test_apply_creates_with_the_settings_given_and_defaults_elsewhere(engine):
    queue = apply_queue_spec(
        engine,
        PARENT,
        parse_queue_spec("jobs:max_attempts=5,min_backoff=1,max_concurrent_dispatches=3"),
    )

    assert queue.name == QUEUE
    assert queue.retry_config.max_attempts == 5
    assert queue.retry_config.min_backoff == timedelta(seconds=1)
    assert queue.retry_config.max_backoff == timedelta(hours=1)
    assert queue.rate_limits.max_concurrent_dispatches == 3


def test_apply_updates_only_the_named_settings(engine, make_queue):
    make_queue(max_attempts=9, max_doublings=3)

    queue = apply_queue_spec(engine, PARENT, parse_queue_spec("jobs:max_attempts=2"))

    assert (queue.retry_config.max_attempts, queue.retry_config.max_doublings) == (2, 3)


def test_apply_without_settings_keeps_an_existing_queue(engine, make_queue):
    make_queue(max_attempts=9)

    queue = apply_queue_spec(engine, PARENT, QueueSpec("jobs"))

    assert queue.retry_config.max_attempts == 9
    assert (
        apply_queue_spec(engine, PARENT, QueueSpec("fresh")).state == tasks_v2.Queue.State.RUNNING
    )


def test_t6_apply_reports_googles_validation_message(engine):
    with pytest.raises(ValueError, match="minBackoff must be less than or equal"):
        apply_queue_spec(engine, PARENT, parse_queue_spec("jobs:min_backoff=10,max_backoff=1"))
