import pytest
from django.tasks import task_backends

from tests.settings import SERVICE_ACCOUNT

#: Every backend the django.tasks conformance suite runs against, by id.
CONFORMANCE_BACKENDS = {
    "cloud_tasks": {
        "BACKEND": "tasks_google.backends.CloudTasksBackend",
        "QUEUES": ["default", "emails", "slow"],
        "OPTIONS": {
            "project_id": "demo-project",
            "location": "us-central1",
            "base_url": "http://app.test/tasks/",
            "queue_aliases": {"slow": "slow-lane"},
            "oidc_service_account": SERVICE_ACCOUNT,
        },
    },
}


@pytest.fixture(params=sorted(CONFORMANCE_BACKENDS))
def backend(request, settings):
    """Each of our backends in turn, as the default backend."""
    settings.TASKS = {"default": CONFORMANCE_BACKENDS[request.param]}
    return task_backends["default"]


@pytest.fixture(autouse=True)
def _forget_leases_taken_by_hand():
    """Tests that take leases directly leave no entry for the at-exit lease expiry."""
    from tasks_google import leases

    yield
    leases._held.clear()
