"""django.tasks backends running tasks on Google Cloud."""

from tasks_google.backends.cloud_tasks import CloudTasksBackend

__all__ = ["CloudTasksBackend"]
