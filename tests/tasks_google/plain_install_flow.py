"""The documented test flow, run by `test_dependencies` with Django's own test runner in a fresh
interpreter where only a plain install's distributions can be imported: both backends under
`emulated()`."""

from django.test import TransactionTestCase

from tasks_google.framework import TaskResultStatus
from tasks_google.testing import emulated
from tests.tasks_google import tasks


class PlainInstallFlow(TransactionTestCase):
    def test_cloud_tasks_and_run_jobs_under_the_in_process_emulator(self) -> None:
        with emulated() as cloud:
            quick = tasks.calculate_meaning_of_life.enqueue()
            batch = tasks.batch_job.enqueue(items=1)
            cloud.run_until_idle()
        quick.refresh()
        batch.refresh()
        self.assertEqual(quick.status, TaskResultStatus.SUCCESSFUL, quick.errors)
        self.assertEqual(batch.status, TaskResultStatus.SUCCESSFUL, batch.errors)
