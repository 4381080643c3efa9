"""What a handler receives: Cloud Tasks request headers and OIDC (T15-T23)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from google.api_core.exceptions import InvalidArgument
from google.cloud import tasks_v2

from emulator import LocalCloud
from emulator.cloud_tasks import CloudTasksEngine
from tests.emulator.conftest import PARENT, QUEUE, START, URL, RecordingDispatcher


def test_t15_to_t19_first_attempt_headers(engine, queue, add_task, dispatcher):
    add_task("welcome-email")

    engine.dispatch_due()

    headers = dispatcher.deliveries[0].headers
    assert headers["X-CloudTasks-QueueName"] == "jobs"
    assert headers["X-CloudTasks-TaskName"] == "welcome-email"
    assert headers["X-CloudTasks-TaskRetryCount"] == "0"
    assert headers["X-CloudTasks-TaskExecutionCount"] == "0"
    assert headers["X-CloudTasks-TaskETA"] == f"{START.timestamp():.6f}"
    assert "X-CloudTasks-TaskPreviousResponse" not in headers
    assert "X-CloudTasks-TaskRetryReason" not in headers


def test_t16_unnamed_task_gets_its_generated_id_in_the_header(engine, queue, add_task, dispatcher):
    task = add_task()

    engine.dispatch_due()

    assert task.name.endswith("/tasks/" + dispatcher.header("X-CloudTasks-TaskName"))


def test_t17_t18_t20_t21_counts_and_previous_response_on_retries(
    cloud, queue, add_task, dispatcher
):
    """Observed on Google: 503, 404, 429, 500, 302 give execution counts 0, 1, 2, 2, 3."""
    dispatcher.script(503, 404, 429, 500, 302, 200)
    add_task("flaky")

    cloud.run_until_idle()

    def column(name: str) -> list[str | None]:
        return [d.headers.get(name) for d in dispatcher.deliveries]

    assert column("X-CloudTasks-TaskRetryCount") == ["0", "1", "2", "3", "4", "5"]
    assert column("X-CloudTasks-TaskExecutionCount") == ["0", "0", "1", "2", "2", "3"]
    assert column("X-CloudTasks-TaskPreviousResponse") == [None, "503", "404", "429", "500", "302"]
    assert column("X-CloudTasks-TaskRetryReason") == [None, "", "", "", "", ""]


def test_t18_timeouts_do_not_count_as_executions(cloud, queue, add_task, dispatcher):
    dispatcher.script(None, 200)
    add_task("lost")

    cloud.run_until_idle()

    assert dispatcher.header("X-CloudTasks-TaskExecutionCount") == "0"
    assert dispatcher.header("X-CloudTasks-TaskPreviousResponse") == "504"


def test_t19_eta_is_the_schedule_time_with_microseconds(clock, engine, queue, add_task, dispatcher):
    eta = START + timedelta(seconds=90, microseconds=250_000)
    add_task("later", schedule_time=eta)

    clock.set(eta)
    engine.dispatch_due()

    assert dispatcher.header("X-CloudTasks-TaskETA") == f"{int(eta.timestamp())}.250000"


def test_t22_user_agent_no_default_content_type_and_caller_casing_kept(
    engine, queue, add_task, dispatcher
):
    task = add_task(headers={"X-Mixed-Case": "preserve-me", "user-agent": "mine"})

    engine.dispatch_due()

    headers = dispatcher.deliveries[0].headers
    assert headers["User-Agent"] == "Google-Cloud-Tasks"
    assert headers["X-Mixed-Case"] == "preserve-me"
    assert "user-agent" not in headers
    assert not any(name.lower() == "content-type" for name in headers)
    assert dict(task.http_request.headers) == {
        "X-Mixed-Case": "preserve-me",
        "User-Agent": "Google-Cloud-Tasks",
    }


def test_t22_caller_content_type_is_delivered(engine, queue, add_task, dispatcher):
    add_task(headers={"content-type": "application/json"}, body=b"{}")

    engine.dispatch_due()

    assert dispatcher.header("content-type") == "application/json"
    assert dispatcher.deliveries[0].body == b"{}"


def test_t22_headers_of_80kb_or_more_are_rejected(queue, add_task):
    with pytest.raises(InvalidArgument, match="80KB"):
        add_task(headers={"X-Big": "x" * (80 * 1024)})


def test_t23_oidc_token_becomes_a_bearer_header_with_url_audience(clock):
    dispatcher = RecordingDispatcher(200)
    minted: list[tuple[str, str]] = []

    def minter(email: str, audience: str) -> str:
        minted.append((email, audience))
        return f"token-{len(minted)}"

    cloud = LocalCloud(clock, dispatcher, id_token_minter=minter)
    cloud.cloud_tasks.create_queue(
        tasks_v2.CreateQueueRequest(parent=PARENT, queue=tasks_v2.Queue(name=QUEUE))
    )
    for audience in ("", "https://audience.example.com"):
        http = tasks_v2.HttpRequest(
            url=URL,
            oidc_token=tasks_v2.OidcToken(service_account_email="sa@demo.iam", audience=audience),
        )
        cloud.cloud_tasks.create_task(
            tasks_v2.CreateTaskRequest(parent=QUEUE, task=tasks_v2.Task(http_request=http))
        )

    cloud.run_until_idle()

    assert sorted(minted) == [("sa@demo.iam", URL), ("sa@demo.iam", "https://audience.example.com")]
    assert sorted(d.headers["Authorization"] for d in dispatcher.deliveries) == [
        "Bearer token-1",
        "Bearer token-2",
    ]


def test_t23_an_engine_without_a_minter_sends_no_authorization_header(clock):
    dispatcher = RecordingDispatcher(200)
    engine = CloudTasksEngine(clock, dispatcher)
    engine.create_queue(
        tasks_v2.CreateQueueRequest(parent=PARENT, queue=tasks_v2.Queue(name=QUEUE))
    )
    http = tasks_v2.HttpRequest(
        url=URL, oidc_token=tasks_v2.OidcToken(service_account_email="sa@demo.iam")
    )
    engine.create_task(
        tasks_v2.CreateTaskRequest(parent=QUEUE, task=tasks_v2.Task(http_request=http))
    )

    engine.dispatch_due()

    assert "Authorization" not in dispatcher.deliveries[0].headers
