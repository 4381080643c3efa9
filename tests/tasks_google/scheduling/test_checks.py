"""Checks of schedules declared in code: one error per problem, naming schedule and module."""

import subprocess
import sys

import pytest

VALID = {
    "project_id": "my-project",
    "location": "us-central1",
    "base_url": "https://a.test/t/",
    "oidc_service_account": "invoker@my-project.iam.gserviceaccount.com",
}


@pytest.fixture
def only_declared_here(monkeypatch):
    from tasks_google.scheduling import declarations

    monkeypatch.setattr(declarations, "_declared", {})
    return declarations


def schedule_check_errors() -> dict[str, tuple[str, str]]:
    """{check id: (message, hint)} of the schedule checks `manage.py check` runs."""
    from django.core.checks import run_checks

    return {m.id: (m.msg, m.hint) for m in run_checks(tags=["schedules"])}


def test_bad_schedules_declared_in_code_are_check_errors_naming_schedule_and_module(
    only_declared_here,
):
    from dataclasses import replace

    from tasks_google import PeriodicTask, periodic
    from tests.tasks_google import tasks
    from tests.tasks_google.periodic_classes import CleanupSessions

    periodic("61 * * * *", name="bad-cron")(tasks.noop_task)
    periodic("@daily", name="bad-zone", time_zone="Mars/Olympus")(tasks.noop_task)
    periodic("@daily", name="retries", retry_count=9)(tasks.noop_task)
    periodic("@daily", name="extra-args", args=[1])(tasks.calculate_meaning_of_life)
    periodic("@daily", name="fine")(tasks.noop_task)

    class NotImportable(PeriodicTask):  # defined in a function: fires could not import it
        run_every = "@daily"

        def run(self) -> None: ...

    only_declared_here.declare_class(CleanupSessions)
    cleanup = only_declared_here.declared_schedules()["CleanupSessions"]
    only_declared_here.declare(replace(cleanup, kwargs={"days": 30}))

    found = schedule_check_errors()
    assert sorted(found) == [f"tasks_google.E10{n}" for n in range(1, 6)]
    here, classes = "declared in tests.tasks_google.tasks", "tests.tasks_google.periodic_classes"
    assert found["tasks_google.E101"][0] == (
        f"Schedule 'bad-cron' ({here}): cron '61 * * * *': "
        "the minute value 61 is not between 0 and 59."
    )
    assert "minute hour day-of-month month day-of-week" in found["tasks_google.E101"][1]
    assert found["tasks_google.E102"][0].startswith(f"Schedule 'bad-zone' ({here}): 'Mars/")
    assert found["tasks_google.E103"][0] == (
        f"Schedule 'retries' ({here}): retry_count must be 0 to 5, not 9."
    )
    assert found["tasks_google.E104"][0].startswith(
        "Schedule 'NotImportable' (declared in tests.tasks_google.scheduling.test_checks): "
        "PeriodicTask 'tests.tasks_google.scheduling.test_checks."
        "test_bad_schedules_declared_in_code_are_check_errors"
    )
    assert "module level" in found["tasks_google.E104"][1]
    # Two E105s: only the last is kept by the dict; both are listed by the check.
    from django.core.checks import run_checks

    rejected = [m.msg for m in run_checks(tags=["schedules"]) if m.id == "tasks_google.E105"]
    assert sorted(rejected) == [
        f"Schedule 'CleanupSessions' (declared in {classes}): CleanupSessions.run() does not "
        "accept args=[], kwargs={'days': 30}: missing a required argument: 'older_than_days'.",
        f"Schedule 'extra-args' ({here}): calculate_meaning_of_life() does not accept "
        "args=[1], kwargs={}: too many positional arguments.",
    ]


def test_good_declarations_pass_the_check(only_declared_here):
    from tasks_google import periodic
    from tests.tasks_google import tasks
    from tests.tasks_google.periodic_classes import CleanupSessions

    periodic("0 9 * * MON-FRI", name="digest", time_zone="Europe/Paris")(tasks.noop_task)
    only_declared_here.declare_class(CleanupSessions)
    assert schedule_check_errors() == {}


def test_manage_check_reports_bad_schedules(tmp_path):
    from tests.tasks_google import bad_schedules_project as project

    proc = subprocess.run(
        [sys.executable, "-m", "django", "check"],
        env=project.project_environment(tmp_path),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert f"(tasks_google.E101) {project.MONTH_END_PROBLEM}" in proc.stderr
    assert f"(tasks_google.E102) {project.NIGHTLY_PROBLEM}" in proc.stderr


def test_a_module_that_cannot_be_imported_is_a_warning_and_the_checks_go_on(tmp_path):
    from tests.tasks_google import bad_schedules_project as project

    env = project.project_environment(tmp_path)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "__init__.py").write_text("")
    (tmp_path / "broken" / "tasks.py").write_text("raise RuntimeError('REPORTS_URL is not set')\n")
    (tmp_path / "with_broken.py").write_text(
        "from with_reports import *\nINSTALLED_APPS = [*INSTALLED_APPS, 'broken']\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "django", "check", "--tag", "schedules"],
        env={**env, "DJANGO_SETTINGS_MODULE": "with_broken"},
        capture_output=True,
        text=True,
    )
    assert "Traceback" not in proc.stderr
    assert (
        "(tasks_google.W101) broken.tasks cannot be imported, so its schedules were not checked: "
        "RuntimeError: REPORTS_URL is not set"
    ) in proc.stderr
    assert f"(tasks_google.E101) {project.MONTH_END_PROBLEM}" in proc.stderr
