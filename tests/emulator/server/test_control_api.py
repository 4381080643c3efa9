"""The HTTP control API of the emulator server (in process, on free ports, no real deliveries)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from google.auth import jwt
from google.cloud import tasks_v2

from emulator.cloud_tasks.queue_specs import parse_queue_spec
from emulator.server import start_server
from tests.emulator.conftest import URL, RecordingDispatcher

PARENT = "projects/demo-project/locations/us-central1"
QUEUE = f"{PARENT}/queues/jobs"


@pytest.fixture
def dispatcher():
    return RecordingDispatcher(200)


@pytest.fixture
def server(dispatcher):
    with start_server(dispatcher=dispatcher, queues=[parse_queue_spec("jobs:max_attempts=3")]) as s:
        yield s


def call(server, method: str, path: str, body: object = None) -> tuple[int, dict]:
    data = (
        None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    )
    request = urllib.request.Request(server.url + path, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def wait_until(check, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def add_task(server, task_id: str, **fields) -> None:
    http = tasks_v2.HttpRequest(url=URL, headers={"X-Mine": "1"}, body=b"abc")
    if "oidc_token" in fields:
        http.oidc_token = fields.pop("oidc_token")
    server.cloud.cloud_tasks.create_task(
        tasks_v2.CreateTaskRequest(
            parent=QUEUE,
            task=tasks_v2.Task(name=f"{QUEUE}/tasks/{task_id}", http_request=http, **fields),
        )
    )


def test_health(server):
    status, body = call(server, "GET", "/health")

    assert status == 200
    assert body["status"] == "ok"
    assert {"cloud_tasks", "scheduler", "run_jobs"} <= set(body["services"])
    assert body["version"]
    assert body["time"].endswith("Z")


def test_queues_show_settings_depth_and_next_dispatch(server):
    add_task(server, "later", schedule_time=server.cloud.now() + timedelta(hours=1))

    status, body = call(server, "GET", "/v1/queues")

    (queue,) = body["queues"]
    assert status == 200
    assert queue["name"] == QUEUE
    assert queue["state"] == "RUNNING"
    assert queue["retry_config"]["max_attempts"] == 3
    assert queue["retry_config"]["min_backoff"] == 0.1
    assert queue["rate_limits"]["max_dispatches_per_second"] == 500
    assert (queue["depth"], queue["in_flight"]) == (1, 0)
    assert queue["next_dispatch_time"].endswith("Z")


def test_tasks_show_attempts_and_the_next_request(server, dispatcher):
    dispatcher.script(503, 200)
    add_task(
        server,
        "flaky",
        oidc_token=tasks_v2.OidcToken(service_account_email="sa@demo.iam"),
        retry_config=tasks_v2.RetryConfig(min_backoff=timedelta(hours=1)),
        schedule_time=server.cloud.now() + timedelta(hours=1),
    )
    server.cloud.cloud_tasks.run_task(tasks_v2.RunTaskRequest(name=f"{QUEUE}/tasks/flaky"))
    wait_until(lambda: len(server.cloud.deliveries) == 1)  # RunTask delivers in the background

    status, body = call(server, "GET", "/v1/tasks?queue=" + QUEUE)

    (task,) = body["tasks"]
    assert status == 200
    assert (task["task_id"], task["dispatch_count"], task["response_count"]) == ("flaky", 1, 1)
    assert [a["status"] for a in task["attempts"]] == [503]
    request = task["next_request"]
    assert (request["url"], request["method"], request["body_bytes"]) == (URL, "POST", 3)
    assert request["headers"]["X-CloudTasks-TaskRetryCount"] == "1"
    assert request["headers"]["X-CloudTasks-TaskPreviousResponse"] == "503"
    assert request["headers"]["X-Mine"] == "1"
    assert request["headers"]["Authorization"].startswith("Bearer <")
    assert request["oidc"] == {"service_account_email": "sa@demo.iam", "audience": URL}
    assert call(server, "GET", "/v1/tasks?queue=jobs")[1] == body  # a short id works too


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/v1/tasks", 400, "Missing ?queue="),
        ("/v1/tasks?queue=nope", 404, "Queue does not exist"),
        ("/v1/tasks?queue=projects/x", 400, "Queue name must be formatted"),
        ("/v1/nothing", 404, "No such endpoint"),
        ("/v1/faults/f999", 404, "No fault rule"),
        ("/v1/deliveries?limit=0", 400, "positive integer"),
    ],
)
def test_bad_requests_get_a_json_error(server, path, status, message):
    code, body = call(server, "GET", path)

    assert code == status
    assert body["error"]["code"] == status
    assert message in body["error"]["message"]


def test_wrong_method_is_405_with_allow(server):
    request = urllib.request.Request(server.url + "/health", method="DELETE")
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=5)

    assert raised.value.code == 405
    assert raised.value.headers["Allow"] == "GET"


def test_fault_crud(server):
    rule = {
        "operation": "dispatch",
        "queue": "jobs",
        "effect": {"type": "http_status", "status": 503},
    }

    status, created = call(server, "POST", "/v1/faults", rule)
    assert status == 201
    assert created["id"] and created["enabled"] and created["fired"] == 0
    assert created["effect"] == {"type": "http_status", "status": 503, "headers": {}}
    fault_path = "/v1/faults/" + created["id"]

    status, patched = call(server, "PATCH", fault_path, {"enabled": False})
    assert (status, patched["enabled"]) == (200, False)
    assert server.cloud.faults.get(created["id"]).rule.enabled is False
    assert call(server, "GET", "/v1/faults")[1]["faults"] == [patched]

    assert call(server, "DELETE", fault_path)[0] == 200
    assert call(server, "GET", "/v1/faults")[1] == {"faults": []}
    call(server, "POST", "/v1/faults", rule)
    assert call(server, "DELETE", "/v1/faults")[1] == {"faults": []}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "JSON request body is required"),
        (
            {"operation": "dispatch", "effect": {"type": "rpc_error", "code": "UNAVAILABLE"}},
            "needs an HttpStatus",
        ),
        ({"operation": "Launch", "effect": {"type": "timeout"}}, "not an operation"),
    ],
)
def test_invalid_faults_are_400(server, body, message):
    status, answer = call(server, "POST", "/v1/faults", body)

    assert status == 400
    assert message in answer["error"]["message"]


def test_patch_fault_accepts_only_enabled(server):
    _, created = call(
        server, "POST", "/v1/faults", {"operation": "dispatch", "effect": {"type": "timeout"}}
    )

    status, body = call(server, "PATCH", "/v1/faults/" + created["id"], {"count": 3})

    assert status == 400
    assert '{"enabled": true|false}' in body["error"]["message"]


def test_reset_clears_state_and_faults(server):
    add_task(server, "t")
    call(server, "POST", "/v1/faults", {"operation": "dispatch", "effect": {"type": "timeout"}})

    assert call(server, "POST", "/reset")[0] == 200

    assert call(server, "GET", "/v1/queues")[1] == {"queues": []}
    assert call(server, "GET", "/v1/faults")[1] == {"faults": []}


def test_export_and_import(server):
    add_task(server, "t", schedule_time=server.cloud.now() + timedelta(hours=1))
    _, exported = call(server, "GET", "/v1/export")
    call(server, "POST", "/reset")

    assert call(server, "POST", "/v1/import", exported)[0] == 200

    assert call(server, "GET", "/v1/tasks?queue=jobs")[1]["tasks"][0]["task_id"] == "t"
    assert call(server, "POST", "/v1/import", {"format": "other"})[0] == 400


def test_deliveries_history(server):
    add_task(server, "t")
    wait_until(lambda: len(server.cloud.deliveries) == 1)

    _, body = call(server, "GET", "/v1/deliveries?limit=5")

    assert [(d["task_id"], d["response_status"]) for d in body["deliveries"]] == [("t", 200)]


def test_t23_oidc_endpoints_serve_the_issuer_keys(server):
    _, config = call(server, "GET", "/.well-known/openid-configuration")
    _, jwks = call(server, "GET", "/oauth2/v3/certs")
    _, pem = call(server, "GET", "/oauth2/v1/certs")

    assert config["issuer"] == server.url == server.cloud.oidc.issuer
    assert config["jwks_uri"] == server.url + "/oauth2/v3/certs"
    assert [k["kid"] for k in jwks["keys"]] == list(pem)
    token = server.cloud.oidc.mint("sa@demo.iam", "aud")
    assert jwt.decode(token, certs=pem, audience="aud")["iss"] == server.url
