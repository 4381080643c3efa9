"""report_progress: a running task's reports are stored on its execution, throttled."""

import pytest

from tasks_google.models import TaskExecution
from tests.tasks_google import tasks


@pytest.mark.django_db
def test_progress_is_stored_and_throttled(tasks_emulator):
    result = tasks.reports_progress.enqueue(steps=50)
    tasks_emulator.run_until_idle()
    row = TaskExecution.objects.get(pk=result.id)
    # Throttled in the loop; the final report is always written.
    assert (row.progress_done, row.progress_total, row.progress_message) == (50, 50, "step 50")
    assert row.progress_at is not None
