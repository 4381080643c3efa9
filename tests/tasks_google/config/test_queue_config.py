"""OPTIONS["queue_config"]: each rule's system check, naming the backend, the queue and the key."""

import pytest

from emulator.cloud_tasks import retry
from emulator.cloud_tasks.queue_specs import SPEC_KEYS
from tasks_google.backends import CloudRunJobsBackend, CloudTasksBackend
from tasks_google.config import queue_config

VALID = {
    "project_id": "my-project",
    "location": "us-central1",
    "base_url": "https://a.test/t/",
    "oidc_service_account": "invoker@my-project.iam.gserviceaccount.com",
}
WHERE = "TASKS['main']['OPTIONS']['queue_config']"


def errors(config, queues=("default", "emails"), **options):
    params = {"QUEUES": list(queues), "OPTIONS": {**VALID, **options, "queue_config": config}}
    return [(m.id, m.msg, m.hint) for m in CloudTasksBackend("main", params).check()]


def test_valid_settings_are_kept_as_given():
    config = {"emails": {"max_attempts": -1, "min_backoff": 0.5, "max_dispatches_per_second": 2}}
    assert errors(config) == []
    backend = CloudTasksBackend(
        "main", {"QUEUES": ["emails"], "OPTIONS": {**VALID, "queue_config": config}}
    )
    assert backend.config.queue_config == config


def test_default_is_no_queue_config():
    assert CloudTasksBackend("main", {"OPTIONS": VALID}).config.queue_config == {}


def test_e023_not_a_mapping_of_queues_to_dicts():
    [(check_id, msg, hint)] = errors({"emails": 5})
    assert check_id == "tasks_google.E023"
    assert msg == f"{WHERE} must map queue names (str) to dicts of Cloud Tasks queue settings."
    assert "max_attempts" in hint


def test_e023_a_queue_not_in_queues_names_the_allowed_ones():
    [(check_id, msg, hint)] = errors({"email": {"max_attempts": 3}})
    assert check_id == "tasks_google.E023"
    assert msg == f"{WHERE}['email'] names a queue that is not in the backend's QUEUES."
    assert hint == "Allowed queues: 'default', 'emails'."


def test_e023_aliases_of_one_queue_id_must_agree():
    config = {"default": {"max_attempts": 3}, "emails": {"max_attempts": 4}}
    [(check_id, msg, _)] = errors(config, queue_aliases={"emails": "default"})
    assert check_id == "tasks_google.E023"
    assert "'default' and 'emails'" in msg and "'default'" in msg
    assert (
        errors({**config, "emails": {"max_attempts": 3}}, queue_aliases={"emails": "default"}) == []
    )


def test_e024_an_unknown_key_lists_the_allowed_ones():
    [(check_id, msg, hint)] = errors({"emails": {"max_retries": 3}})
    assert check_id == "tasks_google.E024"
    assert msg == f"{WHERE}['emails'] has an unknown key 'max_retries'."
    assert hint == "Allowed keys: " + ", ".join(SPEC_KEYS) + "."


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("max_attempts", 2.0, "a whole number"),
        ("max_attempts", True, "a whole number"),
        ("max_concurrent_dispatches", "10", "a whole number"),
        ("min_backoff", "1s", "a number of seconds"),
        ("max_retry_duration", float("inf"), "a number of seconds"),
        ("max_dispatches_per_second", None, "a number"),
    ],
)
def test_e025_wrong_type(key, value, words):
    [(check_id, msg, _)] = errors({"emails": {key: value}})
    assert check_id == "tasks_google.E025"
    assert msg == f"{WHERE}['emails'][{key!r}] = {value!r} must be {words}."


@pytest.mark.parametrize(
    ("key", "value", "rule"),
    [
        ("max_attempts", -2, "at least 1, or -1 for unlimited"),
        ("max_attempts", 0, "at least 1, or -1 for unlimited"),
        ("min_backoff", -0.1, "0 or more"),
        ("max_backoff", -1, "0 or more"),
        ("max_doublings", -1, "at least 1"),
        ("max_retry_duration", -5, "0 or more"),
        ("max_dispatches_per_second", 0, "above 0 and at most 500"),
        ("max_dispatches_per_second", 500.5, "above 0 and at most 500"),
        ("max_concurrent_dispatches", 5001, "from 1 to 5000"),
    ],
)
def test_e026_outside_google_bounds(key, value, rule):
    [(check_id, msg, _)] = errors({"emails": {key: value}})
    assert check_id == "tasks_google.E026"
    assert msg.startswith(f"{WHERE}['emails'][{key!r}] = {value!r} is outside what Cloud Tasks ")
    assert rule in msg


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("max_attempts", -1),
        ("max_dispatches_per_second", 500),
        ("max_concurrent_dispatches", 5000),
        ("min_backoff", 0),
        ("max_retry_duration", 0),
    ],
)
def test_the_bounds_themselves_are_allowed(key, value):
    assert errors({"emails": {key: value}}) == []


def test_e026_min_backoff_above_max_backoff():
    [(check_id, msg, hint)] = errors({"emails": {"min_backoff": 10, "max_backoff": 5}})
    assert check_id == "tasks_google.E026"
    assert (
        msg == f"{WHERE}['emails']['min_backoff'] (10) must not be greater than 'max_backoff' (5)."
    )
    assert "min_backoff" in hint
    assert errors({"emails": {"min_backoff": 5, "max_backoff": 5}}) == []


def test_a_run_jobs_backend_does_not_take_queue_config():
    options = {"project_id": "my-project", "location": "us-central1"}
    params = {"OPTIONS": {**options, "queue_config": {"default": {"max_attempts": 2}}}}
    [(check_id, msg)] = [(m.id, m.msg) for m in CloudRunJobsBackend("jobs", params).check()]
    assert (check_id, msg) == (
        "tasks_google.E001",
        "TASKS['jobs']['OPTIONS'] has an unknown key 'queue_config'.",
    )


def test_the_keys_and_bounds_are_those_the_emulator_applies():
    """tasks_google defines Google's bounds once for itself; the emulator has its own copy."""
    assert {key: s.path for key, s in queue_config.QUEUE_SETTINGS.items()} == {
        key: path for key, (path, _) in SPEC_KEYS.items()
    }
    assert queue_config.MAX_DISPATCHES_PER_SECOND == retry.MAX_DISPATCHES_PER_SECOND
    assert queue_config.MAX_CONCURRENT_DISPATCHES == retry.MAX_CONCURRENT_DISPATCHES
    assert queue_config.UNLIMITED_ATTEMPTS == retry.UNLIMITED_ATTEMPTS
