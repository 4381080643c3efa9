"""django.tasks backends running tasks on Google Cloud."""

from tasks_google.backends.cloud_tasks import CloudTasksBackend
from tasks_google.backends.run_jobs import CloudRunJobsBackend

__all__ = ["CloudRunJobsBackend", "CloudTasksBackend"]
