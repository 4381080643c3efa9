"""`manage.py tasks_doctor`: one line per check, a hint under each failure, exit 1 on failure."""

from io import StringIO

from django.core.management import call_command
from django.core.management.base import CommandError

from tests.settings import TASKS


def doctor() -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command("tasks_doctor", stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def test_all_checks_pass_with_one_ok_line_each(tasks_emulator):
    for queue in TASKS["default"]["QUEUES"]:
        tasks_emulator.configure_queue(queue)
    tasks_emulator.configure_job("batch", backend="jobs")

    output, error = doctor()

    assert error is None
    lines = output.splitlines()
    assert lines[-1] == "All 14 checks passed."
    assert all(line.startswith("[ok] ") for line in lines[:-1])
    assert len(lines) == 15


def test_a_missing_job_is_a_failed_line_with_its_hint_and_exit_status_1(tasks_emulator):
    for queue in TASKS["default"]["QUEUES"]:
        tasks_emulator.configure_queue(queue)

    output, error = doctor()

    assert error is not None and error.returncode == 1
    assert str(error) == "1 of 13 checks failed."
    lines = output.splitlines()
    [failed] = [i for i, line in enumerate(lines) if line.startswith("[!!] ")]
    assert "jobs/batch does not exist" in lines[failed]
    assert lines[failed + 1].startswith("     Create it first")


def test_invalid_options_are_reported_first_and_fail(settings, tasks_emulator):
    options = {**TASKS["default"]["OPTIONS"], "base_url": "ftp://nowhere"}
    settings.TASKS = {"default": {**TASKS["default"], "OPTIONS": options}}

    output, error = doctor()

    assert error is not None
    assert output.splitlines()[0].startswith("[!!] TASKS['default']['OPTIONS']['base_url']")
