"""The emulator command line of `tasks_dev`: deliveries for production URLs reach runserver."""

from tasks_google.dev.emulator_command import emulator_argv
from tests.settings import TASKS

APP = "http://127.0.0.1:8000"


def routes(settings, **options) -> list[str]:
    merged = {**TASKS["default"]["OPTIONS"], "transport": "gcp", **options}
    settings.TASKS = {"default": {**TASKS["default"], "OPTIONS": merged}}
    argv = emulator_argv(port=8123, http_port=None, data_dir=None, app_url=APP)
    return [argv[i + 1] for i, arg in enumerate(argv) if arg == "--route"]


def test_a_production_base_url_is_routed_to_the_same_path_on_runserver(settings):
    assert routes(settings, base_url="https://app.example.com/tasks/") == [
        f"https://app.example.com/tasks/={APP}/tasks/"
    ]
    assert routes(settings, base_url=f"{APP}/tasks/") == []


def test_execute_and_schedule_urls_elsewhere_are_routed_too(settings):
    found = routes(
        settings,
        base_url="https://app.example.com/tasks/",
        execute_url="https://worker.example.com/hooks/execute/?via=tasks",
        schedule_url="https://app.example.com/tasks/schedule/",
    )
    # schedule_url is under base_url, whose route already covers it; a query stays with the URL.
    assert found == [
        f"https://app.example.com/tasks/={APP}/tasks/",
        f"https://worker.example.com/hooks/execute/={APP}/hooks/execute/",
    ]


def queue_specs(settings, queue_config, given=()) -> list[str]:
    merged = {**TASKS["default"]["OPTIONS"], "transport": "gcp", "queue_config": queue_config}
    settings.TASKS = {"default": {**TASKS["default"], "OPTIONS": merged}}
    argv = emulator_argv(port=8123, http_port=None, data_dir=None, queue_specs=given)
    return [argv[i + 1] for i, arg in enumerate(argv) if arg == "--queue"]


def test_each_queue_carries_its_queue_config_settings(settings):
    config = {"emails": {"max_attempts": 5, "min_backoff": 0.5}, "slow": {"max_doublings": 2}}
    assert queue_specs(settings, config) == [
        "default",
        "emails:max_attempts=5,min_backoff=0.5",
        "slow-lane:max_doublings=2",
    ]


def test_a_queue_given_on_the_command_line_wins(settings):
    config = {"emails": {"max_attempts": 5}}
    given = ["emails:max_attempts=9", "extra"]
    assert queue_specs(settings, config, given) == [
        "default",
        "emails:max_attempts=9",
        "slow-lane",
        "extra",
    ]


def test_the_emulator_parses_the_specs_it_is_given(settings):
    """The specs built from queue_config are ones `python -m emulator --queue` accepts."""
    from emulator.cloud_tasks.queue_specs import parse_queue_spec

    config = {"emails": {"max_attempts": -1, "max_backoff": 7.25, "max_dispatches_per_second": 2}}
    [_, emails, _] = queue_specs(settings, config)
    assert parse_queue_spec(emails).settings == config["emails"]
