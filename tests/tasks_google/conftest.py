import pytest

from tasks_google.framework import task_backends
from tests.settings import TASKS

#: Every backend the django.tasks conformance suite runs against, by id.
CONFORMANCE_BACKENDS = {
    # As a user configures it: the default gcp transport (the emulator takes over under test).
    "cloud_tasks": {
        **TASKS["default"],
        "OPTIONS": {k: v for k, v in TASKS["default"]["OPTIONS"].items() if k != "transport"},
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
    from tasks_google.execution import leases

    yield
    leases._held.clear()
