"""A project whose app `reports` declares two schedules Cloud Scheduler would refuse."""

import os
from pathlib import Path

REPORTS_TASKS = """
from tasks_google.framework import task

from tasks_google import PeriodicTask, periodic


@periodic("0 9 L * *", name="month-end")
@task
def month_end_report(): ...


class NightlyCleanup(PeriodicTask):
    run_every = "@daily"

    @classmethod
    def schedule_time_zone(cls):
        return "Europe/Pariss"

    def run(self): ...
"""
MONTH_END_PROBLEM = (
    "Schedule 'month-end' (declared in reports.tasks): cron '0 9 L * *': the day-of-month value "
    "'L' is not 1-31 (L, W, #, ? and H are not supported)."
)
NIGHTLY_PROBLEM = (
    "Schedule 'NightlyCleanup' (declared in reports.tasks): 'Europe/Pariss' is not a time zone "
    "of the tz database (e.g. 'UTC', 'Europe/Paris')."
)


def project_environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of `python -m django ...` in that project (test settings + `reports`)."""
    app = tmp_path / "reports"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "tasks.py").write_text(REPORTS_TASKS)
    (tmp_path / "with_reports.py").write_text(
        "from tests.settings import *\nINSTALLED_APPS = [*INSTALLED_APPS, 'reports']\n"
    )
    repo = Path(__file__).resolve().parents[2]
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "with_reports",
        "PYTHONPATH": f"{tmp_path}:{repo}",
        **extra,
    }
