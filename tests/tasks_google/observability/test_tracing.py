"""One trace per execution: the enqueue's span, and each attempt's span continuing it (retries
are siblings), the trace travelling with the Cloud Task; nothing changes without OpenTelemetry."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from google.cloud import tasks_v2

from tasks_google.framework import TaskResultStatus, task_backends
from tasks_google.models import TaskExecution
from tasks_google.observability.tracing import ENQUEUE_SPAN, EXECUTE_SPAN
from tests.tasks_google import tasks

pytestmark = pytest.mark.django_db(transaction=True)

REPO = Path(__file__).resolve().parents[3]


def named(spans, name):
    return [span for span in spans.get_finished_spans() if span.name == name]


def traceparent_of(span) -> str:
    context = span.context
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def test_an_enqueue_and_its_attempt_are_spans_of_one_trace(tasks_emulator, spans):
    result = tasks.echo.enqueue(42)
    tasks_emulator.run_until_idle()

    [enqueue] = named(spans, ENQUEUE_SPAN)
    [execute] = named(spans, EXECUTE_SPAN)
    assert execute.context.trace_id == enqueue.context.trace_id
    assert execute.parent.span_id == enqueue.context.span_id
    assert enqueue.attributes["tasks_google.execution_id"] == result.id
    assert enqueue.attributes["tasks_google.task_path"] == tasks.echo.module_path
    assert dict(execute.attributes) == {
        "tasks_google.execution_id": result.id,
        "tasks_google.task_path": tasks.echo.module_path,
        "tasks_google.queue": "default",
        "tasks_google.backend": "default",
        "tasks_google.attempt": 1,
        "tasks_google.outcome": "succeeded",
    }
    assert TaskExecution.objects.get(pk=result.id).trace_parent == traceparent_of(enqueue)


def test_the_attempts_of_a_retried_execution_are_sibling_spans(tasks_emulator, spans):
    result = tasks.fails_until_attempt.enqueue(succeed_on=2)
    tasks_emulator.run_until_idle()

    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    [enqueue] = named(spans, ENQUEUE_SPAN)
    attempts = named(spans, EXECUTE_SPAN)
    assert [
        (s.attributes["tasks_google.attempt"], s.attributes["tasks_google.outcome"])
        for s in attempts
    ] == [
        (1, "retry"),
        (2, "succeeded"),
    ]
    assert {s.context.trace_id for s in attempts} == {enqueue.context.trace_id}
    assert {s.parent.span_id for s in attempts} == {enqueue.context.span_id}
    assert not attempts[0].status.is_ok and attempts[1].status.is_ok


def test_the_cloud_task_carries_the_traceparent_and_a_recreated_one_too(tasks_emulator, spans):
    result = tasks.echo.enqueue(1)

    [enqueue] = named(spans, ENQUEUE_SPAN)
    row = TaskExecution.objects.get(pk=result.id)
    cloud_task = tasks_emulator.cloud.cloud_tasks.get_task(
        tasks_v2.GetTaskRequest(name=row.remote_name, response_view=tasks_v2.Task.View.FULL)
    )
    assert cloud_task.http_request.headers["traceparent"] == traceparent_of(enqueue)
    # reconcile_tasks rebuilds the Cloud Task from the row: the trace survives.
    spec = task_backends["default"].cloud_task_spec(row)
    assert spec.headers["traceparent"] == traceparent_of(enqueue)


def test_a_delivery_carrying_a_traceparent_continues_that_trace(tasks_emulator, spans):
    from tests.tasks_google.deliveries import post_execute

    result = tasks.echo.enqueue(1)
    received = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    response = post_execute(result.id, headers={"traceparent": received})

    assert response.status_code == 200
    [execute] = named(spans, EXECUTE_SPAN)
    assert f"{execute.context.trace_id:032x}" == "0af7651916cd43dd8448eb211c80319c"
    assert f"{execute.parent.span_id:016x}" == "b7ad6b7169203331"


def test_without_a_tracer_provider_nothing_is_stored(tasks_emulator):
    result = tasks.echo.enqueue(1)
    tasks_emulator.run_until_idle()

    row = TaskExecution.objects.get(pk=result.id)
    assert (row.status, row.trace_parent, row.trace_state) == ("SUCCESSFUL", "", "")


WITHOUT_OPENTELEMETRY = """
import json, logging, sys
sys.modules["opentelemetry"] = None  # as if it were not installed: every import of it fails
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from tasks_google.observability import cloud_logging, tracing
from tasks_google.testing import emulated
from tests.tasks_google import tasks

lines = []
handler = logging.Handler()
handler.emit = lambda record: lines.append(json.loads(handler.format(record)))
handler.setFormatter(cloud_logging.CloudLoggingFormatter(project="demo-project"))
logging.getLogger("tests.tasks_google.tasks").addHandler(handler)
with emulated() as cloud:
    result = tasks.logs_a_line.enqueue("hello")
    cloud.run_until_idle()
result.refresh()
print(json.dumps({
    "status": result.status,
    "api": tracing._api(),
    "imported": sorted(m for m in sys.modules if m.startswith("opentelemetry.")),
    "line": lines[0],
}))
"""


def test_without_opentelemetry_enqueue_and_execution_work_unchanged(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    env["TASKS_GOOGLE_TEST_DB_NAME"] = str(tmp_path / "db.sqlite3")
    env.pop("TASKS_GOOGLE_TEST_POSTGRES", None)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(WITHOUT_OPENTELEMETRY)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    import json

    report = json.loads(done.stdout.splitlines()[-1])
    assert report["status"] == "SUCCESSFUL"
    assert report["api"] is None and report["imported"] == []
    line = report["line"]
    assert (line["severity"], line["message"]) == ("WARNING", "hello")
    assert "logging.googleapis.com/trace" not in line
    assert line["tasks_google.execution_id"]


def test_the_tracing_and_logging_modules_import_no_opentelemetry():
    script = (
        "import sys\n"
        "import tasks_google.observability.cloud_logging, tasks_google.observability.tracing\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
