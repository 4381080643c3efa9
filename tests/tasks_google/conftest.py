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


@pytest.fixture
def spans():
    """The spans finished during the test, recorded in memory by an OpenTelemetry SDK installed
    for this test alone (before and after it, no tracer provider is installed)."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.util._once import Once

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    try:
        yield exporter
    finally:
        provider.shutdown()
        # The API accepts one provider per process; undo it, so that other tests run untraced.
        trace._TRACER_PROVIDER = None
        trace._TRACER_PROVIDER_SET_ONCE = Once()
