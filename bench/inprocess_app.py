"""The in-process benchmark's URLs (the task endpoints) and its trivial task."""

from django.urls import include, path

from tasks_google.framework import task

urlpatterns = [path("tasks/", include("tasks_google.urls"))]


@task
def ping(n: int) -> int:
    """The smallest task: what the benchmark measures the machinery with."""
    return n
