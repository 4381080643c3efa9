"""`manage.py sync_queues`: the plan, --dry-run, applying, idempotence, the update mask, errors."""

import io
import socket
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from google.cloud import tasks_v2
from google.protobuf import field_mask_pb2

from tests.emulator.emulator_process import EmulatorProcess, tasks_client
from tests.settings import TASKS

LOCATION = "projects/demo-project/locations/us-central1"
EMAILS = f"{LOCATION}/queues/emails"
SLOW = f"{LOCATION}/queues/slow-lane"
CONFIG = {
    "emails": {"max_attempts": 5, "min_backoff": 1, "max_backoff": 60.5},
    # The Django queue 'slow' is the Cloud Tasks queue 'slow-lane' (queue_aliases).
    "slow": {"max_dispatches_per_second": 2, "max_concurrent_dispatches": 3},
}


def configure(settings, queue_config, **options) -> None:
    default = TASKS["default"]
    merged = {**default["OPTIONS"], "queue_config": queue_config, **options}
    settings.TASKS = {**TASKS, "default": {**default, "OPTIONS": merged}}


def run(*args) -> list[str]:
    out = io.StringIO()
    call_command("sync_queues", *args, stdout=out)
    return out.getvalue().splitlines()


def refused(*args) -> CommandError:
    with pytest.raises(CommandError) as error:
        run(*args)
    return error.value


def queues(tasks) -> dict[str, tasks_v2.Queue]:
    page = tasks.list_queues(tasks_v2.ListQueuesRequest(parent=LOCATION))
    return {queue.name: queue for queue in page.queues}


def test_dry_run_plans_the_creations_and_changes_nothing(settings, tasks_emulator):
    configure(settings, CONFIG)
    assert run("--dry-run") == [
        f"[+] {EMAILS}  max_attempts=5, min_backoff=1s, max_backoff=60.5s",
        f"[+] {SLOW}  max_dispatches_per_second=2, max_concurrent_dispatches=3",
        "2 change(s) planned; nothing applied (--dry-run).",
    ]
    assert queues(tasks_emulator.cloud.cloud_tasks) == {}


def test_apply_creates_the_queues_then_a_second_run_plans_only_unchanged(settings, tasks_emulator):
    configure(settings, CONFIG)
    assert run()[-1] == "2 change(s) applied."
    created = queues(tasks_emulator.cloud.cloud_tasks)
    assert created[EMAILS].retry_config.max_attempts == 5
    assert created[EMAILS].retry_config.min_backoff == timedelta(seconds=1)
    assert created[EMAILS].retry_config.max_backoff == timedelta(seconds=60.5)
    assert created[SLOW].rate_limits.max_dispatches_per_second == 2
    assert created[SLOW].rate_limits.max_concurrent_dispatches == 3
    assert run() == [f"[=] {EMAILS}", f"[=] {SLOW}", "0 change(s) applied."]


def test_a_queue_no_queue_config_names_is_listed_and_left_alone(settings, tasks_emulator):
    other = f"{LOCATION}/queues/made-by-hand"
    tasks = tasks_emulator.cloud.cloud_tasks
    tasks.create_queue(tasks_v2.CreateQueueRequest(parent=LOCATION, queue={"name": other}))
    configure(settings, {"emails": {"max_attempts": 5}})
    assert run() == [
        f"[+] {EMAILS}  max_attempts=5",
        f"[?] {other} (not in queue_config; left alone)",
        "1 change(s) applied.",
    ]
    assert set(queues(tasks)) == {EMAILS, other}


def test_update_shows_each_differing_key_and_changes_only_the_configured_ones(
    settings, tasks_emulator
):
    configure(settings, CONFIG)
    run()
    tasks = tasks_emulator.cloud.cloud_tasks
    # By hand: a configured key (max_attempts) and one no queue_config names (max_doublings).
    by_hand = tasks_v2.Queue(name=EMAILS, retry_config={"max_attempts": 9, "max_doublings": 3})
    mask = field_mask_pb2.FieldMask(
        paths=["retry_config.max_attempts", "retry_config.max_doublings"]
    )
    tasks.update_queue(tasks_v2.UpdateQueueRequest(queue=by_hand, update_mask=mask))
    configure(settings, {**CONFIG, "emails": {**CONFIG["emails"], "min_backoff": 2}})
    assert run("--dry-run")[:2] == [
        f"[~] {EMAILS}  max_attempts: 9 -> 5, min_backoff: 1s -> 2s",
        f"[=] {SLOW}",
    ]
    assert run()[-1] == "1 change(s) applied."
    config = queues(tasks)[EMAILS].retry_config
    assert (config.max_attempts, config.min_backoff) == (5, timedelta(seconds=2))
    assert config.max_doublings == 3  # not configured: left as it was set by hand
    assert run()[:2] == [f"[=] {EMAILS}", f"[=] {SLOW}"]


def test_settings_cloud_tasks_refuses_are_one_line_naming_the_queue(settings, tasks_emulator):
    # Valid on its own, but above the queue's default max_backoff (3600 s).
    configure(settings, {"emails": {"min_backoff": 7200}})
    error = refused()
    assert str(error) == (
        f"Cloud Tasks refused to create queue {EMAILS}: RetryConfig.minBackoff must be less than "
        "or equal to RetryConfig.maxBackoff. (0 change(s) applied before it, none after)."
    )
    assert error.returncode == 1
    assert queues(tasks_emulator.cloud.cloud_tasks) == {}


def test_invalid_queue_config_is_one_line_and_nothing_is_applied(settings, tasks_emulator):
    configure(settings, {"emails": {"max_attempts": 0}, "default": {"max_attempts": 3}})
    error = refused()
    assert "TASKS['default']['OPTIONS']['queue_config']['emails']['max_attempts'] = 0" in str(error)
    assert "\n" not in str(error)
    assert error.returncode == 1
    assert queues(tasks_emulator.cloud.cloud_tasks) == {}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_emulator_that_is_down_is_one_line(settings):
    host = f"127.0.0.1:{free_port()}"
    configure(settings, CONFIG, transport="gcp", emulator_host=host)
    error = refused()
    assert host in str(error) and "\n" not in str(error)
    assert error.returncode == 1


@pytest.fixture
def emulator_server(tmp_path):
    server = EmulatorProcess("--port", "0", "--http-port", "0", log_path=tmp_path / "emulator.log")
    yield server
    server.stop()


def test_against_the_emulator_server_over_grpc(settings, emulator_server):
    """The official client, over gRPC, to `python -m emulator` in a subprocess."""
    host = emulator_server.grpc_target
    configure(settings, CONFIG, transport="gcp", emulator_host=host)
    assert run()[-1] == "2 change(s) applied."
    assert run() == [f"[=] {EMAILS}", f"[=] {SLOW}", "0 change(s) applied."]
    with tasks_client(host) as client:
        queue = client.get_queue(name=EMAILS)
    assert queue.retry_config.max_attempts == 5
    assert queue.retry_config.max_backoff == timedelta(seconds=60.5)


def test_an_alias_that_cannot_be_built_does_not_stop_the_sync(settings, tasks_emulator):
    configure(settings, {"emails": {"max_attempts": 5}})
    settings.TASKS = {**settings.TASKS, "broken": {"BACKEND": "no.such.Backend"}}
    assert run() == [f"[+] {EMAILS}  max_attempts=5", "1 change(s) applied."]
