"""Official client → emulator server → real HTTP requests to a local app (T4, T12-T23), with
faults steered over the control API."""

from __future__ import annotations

import itertools
import json
import urllib.request
from datetime import timedelta

import pytest
from google.api_core import exceptions
from google.auth.transport.requests import Request
from google.cloud import tasks_v2
from google.oauth2 import id_token

from tests.emulator import server_fixtures
from tests.emulator.emulator_process import tasks_client
from tests.emulator.http_target import RecordingTarget

PARENT = "projects/demo-project/locations/us-central1"
QUEUE = f"{PARENT}/queues/jobs"
ACCOUNT = "tasks@demo-project.iam.gserviceaccount.com"


app = server_fixtures.app  # pytest fixtures shared with other emulator server tests
server = server_fixtures.server


@pytest.fixture
def client(server):
    with tasks_client(server.grpc_target) as client:
        client.create_queue(
            parent=PARENT,
            queue=tasks_v2.Queue(
                name=QUEUE,
                retry_config=tasks_v2.RetryConfig(
                    max_attempts=5,
                    min_backoff=timedelta(seconds=0.2),
                    max_backoff=timedelta(seconds=1),
                ),
            ),
        )
        yield client


def control(server, method: str, path: str, body: object = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(server.url + path, data=data, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def create(client, app: RecordingTarget, task_id: str, path: str = "/task", **http) -> None:
    client.create_task(
        parent=QUEUE,
        task=tasks_v2.Task(
            name=f"{QUEUE}/tasks/{task_id}",
            http_request=tasks_v2.HttpRequest(url=app.url(path), **http),
        ),
    )


def test_t15_to_t23_headers_body_and_a_token_that_verifies(server, client, app):
    create(
        client,
        app,
        "welcome-email",
        body=b'{"user": 42}',
        headers={"Content-Type": "application/json", "X-Custom-Casing": "kept"},
        oidc_token=tasks_v2.OidcToken(service_account_email=ACCOUNT),
    )

    (request,) = app.wait_for(1)

    assert (request.method, request.path, request.body) == ("POST", "/task", b'{"user": 42}')
    assert request.header("X-CloudTasks-QueueName") == "jobs"
    assert request.header("X-CloudTasks-TaskName") == "welcome-email"
    assert request.header("X-CloudTasks-TaskRetryCount") == "0"
    assert request.header("X-CloudTasks-TaskExecutionCount") == "0"
    assert float(request.header("X-CloudTasks-TaskETA")) > 0
    assert request.header("User-Agent") == "Google-Cloud-Tasks"
    assert request.header("Content-Type") == "application/json"
    assert (
        "X-Custom-Casing" in request.header_names
        and "X-CloudTasks-TaskName" in request.header_names
    )
    scheme, _, token = request.header("Authorization").partition(" ")
    claims = id_token.verify_token(
        token, Request(), audience=app.url("/task"), certs_url=server.url + "/oauth2/v1/certs"
    )
    assert scheme == "Bearer"
    assert (claims["iss"], claims["email"], claims["email_verified"]) == (server.url, ACCOUNT, True)


def test_t4_t13_t14_t17_t20_retries_with_backoff_in_real_time(client, app):
    app.script("/flaky", 500, 404, 200)

    create(client, app, "flaky", path="/flaky")

    requests = app.wait_for(3)
    assert [r.header("X-CloudTasks-TaskRetryCount") for r in requests] == ["0", "1", "2"]
    assert [r.header("X-CloudTasks-TaskExecutionCount") for r in requests] == ["0", "0", "1"]
    assert [r.header("X-CloudTasks-TaskPreviousResponse") for r in requests] == [None, "500", "404"]
    gaps = [b.received_at - a.received_at for a, b in itertools.pairwise(requests)]
    # 0.2 s, then doubled (lower bounds only), counted from each dispatch: a receipt delayed
    # more than the next one (a busy machine) shortens the gap between receipts a little.
    latency = 0.03
    assert gaps[0] >= 0.2 - latency and gaps[1] >= 0.4 - latency


def test_http_status_fault_over_the_control_api(server, client, app):
    fault = control(
        server,
        "POST",
        "/v1/faults",
        {
            "operation": "dispatch",
            "queue": "jobs",
            "count": 1,
            "effect": {"type": "http_status", "status": 503},
        },
    )

    create(client, app, "faulted")

    (request,) = app.wait_for(1)
    assert request.header("X-CloudTasks-TaskRetryCount") == "1"
    assert request.header("X-CloudTasks-TaskPreviousResponse") == "503"
    assert control(server, "GET", "/v1/faults/" + fault["id"])["fired"] == 1


def test_t12_duplicate_fault_delivers_the_same_attempt_twice(server, client, app):
    control(
        server,
        "POST",
        "/v1/faults",
        {"operation": "dispatch", "count": 1, "effect": {"type": "duplicate"}},
    )

    create(client, app, "twice")

    first, second = app.wait_for(2)
    assert (
        first.header("X-CloudTasks-TaskName") == second.header("X-CloudTasks-TaskName") == "twice"
    )
    assert (
        first.header("X-CloudTasks-TaskRetryCount")
        == second.header("X-CloudTasks-TaskRetryCount")
        == "0"
    )


def test_rpc_fault_over_the_control_api_reaches_the_client(server, client, app):
    control(
        server,
        "POST",
        "/v1/faults",
        {
            "operation": "CreateTask",
            "count": 1,
            "effect": {"type": "rpc_error", "code": "RESOURCE_EXHAUSTED", "message": "quota"},
        },
    )

    with pytest.raises(exceptions.ResourceExhausted, match="quota"):
        create(client, app, "refused")
    create(client, app, "accepted")
    assert app.wait_for(1)[0].header("X-CloudTasks-TaskName") == "accepted"


def test_state_endpoints_follow_the_deliveries(server, client, app):
    app.script("/slow", 500)
    create(client, app, "stuck", path="/slow")
    app.wait_for(1)

    tasks = control(server, "GET", "/v1/tasks?queue=" + QUEUE)["tasks"]
    (queue,) = control(server, "GET", "/v1/queues")["queues"]

    assert tasks[0]["task_id"] == "stuck" and tasks[0]["dispatch_count"] >= 1
    assert queue["depth"] == 1
