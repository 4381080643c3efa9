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
