"""CloudLoggingFormatter: one JSON object per line, filed by Cloud Logging under the trace of
the attempt that wrote it, with the execution id."""

import json
import logging
import sys

import pytest

from tasks_google import CloudLoggingFormatter
from tasks_google.observability.tracing import EXECUTE_SPAN
from tests.tasks_google import tasks
from tests.tasks_google.deliveries import post_execute

TASK_LOGGER = "tests.tasks_google.tasks"


@pytest.fixture
def lines():
    """The JSON objects the task module's logger writes, formatted for project demo-project."""
    written: list[dict] = []
    handler = logging.Handler()
    handler.setFormatter(CloudLoggingFormatter(project="demo-project"))
    handler.emit = lambda record: written.append(json.loads(handler.format(record)))
    logger = logging.getLogger(TASK_LOGGER)
    logger.addHandler(handler)
    yield written
    logger.removeHandler(handler)


@pytest.mark.parametrize(
    ("level", "severity"),
    [
        (logging.DEBUG, "DEBUG"),
        (logging.INFO, "INFO"),
        (logging.WARNING, "WARNING"),
        (logging.ERROR, "ERROR"),
        (logging.CRITICAL, "CRITICAL"),
        (logging.INFO + 5, "INFO"),
        (5, "DEFAULT"),
    ],
)
def test_python_levels_become_cloud_logging_severities(level, severity):
    record = logging.LogRecord("app", level, __file__, 1, "m %s", ("x",), None)
    line = json.loads(CloudLoggingFormatter().format(record))
    assert (line["severity"], line["message"], line["logger"]) == (severity, "m x", "app")


def test_a_line_outside_an_attempt_carries_no_trace_nor_execution(monkeypatch):
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "from-env")
    try:
        raise KeyError("boom")
    except KeyError:
        record = logging.LogRecord("app", logging.ERROR, __file__, 1, "oops", (), sys.exc_info())
    line = json.loads(CloudLoggingFormatter().format(record))
    assert line["message"].startswith("oops\nTraceback (most recent call last):")
    assert "KeyError: 'boom'" in line["message"]
    assert set(line) == {"severity", "message", "time", "logger"}


@pytest.mark.django_db(transaction=True)
def test_lines_inside_a_traced_attempt_carry_its_trace_span_and_execution(
    tasks_emulator, spans, lines
):
    result = tasks.logs_a_line.enqueue("hello")
    tasks_emulator.run_until_idle()

    [execute] = [span for span in spans.get_finished_spans() if span.name == EXECUTE_SPAN]
    warning, error = lines
    assert warning["severity"] == "WARNING" and warning["message"] == "hello"
    assert warning["tasks_google.execution_id"] == result.id
    trace = f"projects/demo-project/traces/{execute.context.trace_id:032x}"
    assert warning["logging.googleapis.com/trace"] == trace
    assert warning["logging.googleapis.com/spanId"] == f"{execute.context.span_id:016x}"
    assert error["severity"] == "ERROR"
    assert error["message"].startswith("hello failed\nTraceback")
    assert "ValueError: caught on purpose" in error["message"]
    assert error["logging.googleapis.com/trace"] == trace


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("X-Cloud-Trace-Context", "4bf92f3577b34da6a3ce929d0e0e4736/2;o=1"),
        ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000002-01"),
    ],
)
def test_without_opentelemetry_spans_lines_carry_the_trace_of_the_delivery(
    tasks_emulator, lines, header, value
):
    result = tasks.logs_a_line.enqueue("hello")
    assert post_execute(result.id, headers={header: value}).status_code == 200

    warning = lines[0]
    assert warning["logging.googleapis.com/trace"] == (
        "projects/demo-project/traces/4bf92f3577b34da6a3ce929d0e0e4736"
    )
    assert warning["logging.googleapis.com/spanId"] == "0000000000000002"
    assert warning["tasks_google.execution_id"] == result.id
