"""The dashboard lists an execution of a PeriodicTask under its class, not under its runner."""

import re

from textual.pilot import Pilot

from tasks_google.periodic_runner import run_periodic_task
from tests.tui.conftest import drive, screen_lines, screen_text, until
from tui.app import TasksDashboard

CLASS = "tests.tasks_google.periodic_classes.CleanupSessions"


def ready_lines(pilot: Pilot) -> list[str]:
    return [line for line in screen_lines(pilot) if line.startswith("… READY")]


def test_a_periodic_task_execution_is_listed_and_detailed_under_its_class(
    transactional_db, tasks_emulator
):
    result = run_periodic_task.enqueue(CLASS, older_than_days=30)
    app = TasksDashboard(poll_interval=0.05)

    async def scenario(pilot: Pilot) -> None:
        await until(pilot, lambda: len(ready_lines(pilot)) == 1)
        [line] = ready_lines(pilot)
        assert "periodic_classes.CleanupSessions" in line
        assert "run_periodic_task" not in line
        await until(pilot, lambda: result.id in screen_text(pilot))
        # The detail pane fills in on its own read, after the list.
        await until(pilot, lambda: re.search(rf"Task +{re.escape(CLASS)}", screen_text(pilot)))

    drive(app, scenario)
