"""Google's REST surface on the emulator server's HTTP port: JSON in Google's camelCase mapping at
Google's paths, answered by the engines the gRPC services call (in process, no real deliveries)."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from google.api_core import exceptions as api_exceptions
from google.cloud import scheduler_v1, tasks_v2
from google.rpc import error_details_pb2

from emulator import FaultRule, RpcError
from emulator.server import start_server
from emulator.server.rest_api import error_response
from tests.emulator.conftest import URL, RecordingDispatcher

from .test_control_api import wait_until

PARENT = "projects/demo-project/locations/us-central1"
QUEUE = f"{PARENT}/queues/q1"
JOB = f"{PARENT}/jobs/j1"


@pytest.fixture
def dispatcher():
    return RecordingDispatcher(200)


@pytest.fixture
def server(dispatcher):
    with start_server(dispatcher=dispatcher) as s:
        yield s


def rest(server, verb: str, path: str, body: object = None) -> tuple[int, dict]:
    """``verb`` ``path`` (after the port) with a JSON body; the status and the JSON answer."""
    data = (
        None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    )
    request = urllib.request.Request(
        server.url + path, data=data, method=verb, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def create_queue(server, queue_id: str = "q1", **fields: object) -> dict:
    status, queue = rest(
        server, "POST", f"/v2/{PARENT}/queues", {"name": f"{PARENT}/queues/{queue_id}", **fields}
    )
    assert status == 200, queue
    return queue


def engine_queue(server, name: str = QUEUE) -> tasks_v2.Queue:
    return server.cloud.cloud_tasks.get_queue(tasks_v2.GetQueueRequest(name=name))


def test_queue_create_get_list_patch_pause_resume_delete(server):
    created = create_queue(server, retryConfig={"maxAttempts": 5, "minBackoff": "1s"})
    create_queue(server, "q2")

    assert created["retryConfig"]["maxAttempts"] == 5 and created["state"] == "RUNNING"
    held = engine_queue(server).retry_config
    assert held.max_attempts == 5 and held.min_backoff.total_seconds() == 1
    assert rest(server, "GET", f"/v2/{QUEUE}") == (200, created)
    status, first = rest(server, "GET", f"/v2/{PARENT}/queues?pageSize=1&alt=json")
    assert status == 200 and len(first["queues"]) == 1
    _, second = rest(
        server, "GET", f"/v2/{PARENT}/queues?pageSize=1&pageToken={first['nextPageToken']}"
    )
    names = {first["queues"][0]["name"], second["queues"][0]["name"]}
    assert names == {QUEUE, f"{PARENT}/queues/q2"}

    status, patched = rest(
        server,
        "PATCH",
        f"/v2/{QUEUE}?updateMask=retryConfig.maxAttempts",
        {"retryConfig": {"maxAttempts": 7, "minBackoff": "9s"}},
    )
    assert status == 200 and patched["retryConfig"]["maxAttempts"] == 7
    held = engine_queue(server).retry_config
    assert held.max_attempts == 7 and held.min_backoff.total_seconds() == 1  # not in the mask

    assert rest(server, "POST", f"/v2/{QUEUE}:pause", {})[1]["state"] == "PAUSED"
    assert engine_queue(server).state == tasks_v2.Queue.State.PAUSED
    assert rest(server, "POST", f"/v2/{QUEUE}:resume")[1]["state"] == "RUNNING"
    assert engine_queue(server).state == tasks_v2.Queue.State.RUNNING
    assert rest(server, "DELETE", f"/v2/{QUEUE}") == (200, {})
    assert rest(server, "GET", f"/v2/{QUEUE}")[0] == 404


def test_tasks_create_list_get_run_delete_and_purge(server, dispatcher):
    create_queue(server)
    later = (datetime.now(UTC) + timedelta(days=10)).isoformat().replace("+00:00", "Z")
    body = {"task": {"httpRequest": {"url": URL, "body": "aGk="}, "scheduleTime": later}}
    status, task = rest(server, "POST", f"/v2/{QUEUE}/tasks", {**body, "responseView": "FULL"})
    assert status == 200 and task["view"] == "FULL" and task["httpRequest"]["body"] == "aGk="
    _, basic = rest(server, "POST", f"/v2/{QUEUE}/tasks", body)
    assert basic["view"] == "BASIC" and "body" not in basic["httpRequest"]

    _, listed = rest(server, "GET", f"/v2/{QUEUE}/tasks?responseView=FULL&pageSize=10")
    assert {t["name"] for t in listed["tasks"]} == {task["name"], basic["name"]}
    assert all(t["httpRequest"]["body"] == "aGk=" for t in listed["tasks"])
    assert rest(server, "GET", f"/v2/{task['name']}?responseView=FULL") == (200, task)

    status, ran = rest(server, "POST", f"/v2/{task['name']}:run", {})
    assert status == 200 and ran["name"] == task["name"]
    wait_until(lambda: len(dispatcher.deliveries) == 1)
    assert dispatcher.deliveries[0].body == b"hi"
    wait_until(lambda: rest(server, "GET", f"/v2/{task['name']}")[0] == 404)  # done: gone

    assert rest(server, "DELETE", f"/v2/{basic['name']}") == (200, {})
    assert rest(server, "GET", f"/v2/{basic['name']}")[0] == 404
    rest(server, "POST", f"/v2/{QUEUE}/tasks", body)
    assert rest(server, "POST", f"/v2/{QUEUE}:purge")[0] == 200
    wait_until(lambda: rest(server, "GET", f"/v2/{QUEUE}/tasks")[1] == {})


def test_iam_methods_answer_as_the_grpc_service_does(server):
    create_queue(server)
    asked = ["cloudtasks.tasks.create", "cloudtasks.queues.get"]

    status, answer = rest(server, "POST", f"/v2/{QUEUE}:testIamPermissions", {"permissions": asked})
    assert (status, answer) == (200, {"permissions": asked})
    status, error = rest(server, "POST", f"/v2/{QUEUE}:getIamPolicy", {})
    assert status == 501 and error["error"]["status"] == "UNIMPLEMENTED"


def test_errors_are_googles_json_error_bodies_with_its_http_status(server):
    create_queue(server)

    status, body = rest(server, "GET", f"/v2/{PARENT}/queues/missing")
    assert status == 404
    assert body["error"]["code"] == 404 and body["error"]["status"] == "NOT_FOUND"
    assert body["error"]["message"]
    status, body = rest(server, "POST", f"/v2/{PARENT}/queues", {"name": QUEUE})
    assert (status, body["error"]["status"]) == (409, "ALREADY_EXISTS")
    status, body = rest(server, "POST", f"/v2/{PARENT}/queues", b"{not json")
    assert (status, body["error"]["status"]) == (400, "INVALID_ARGUMENT")
    status, body = rest(server, "POST", f"/v2/{PARENT}/queues", {"name": QUEUE, "colour": "red"})
    assert (status, body["error"]["status"]) == (400, "INVALID_ARGUMENT")
    assert "colour" in body["error"]["message"]
    status, body = rest(server, "GET", f"/v2/{PARENT}/queues?pageSize=ten")
    assert (status, body["error"]["status"]) == (400, "INVALID_ARGUMENT")
    status, body = rest(server, "GET", f"/v2/{PARENT}/queues?colour=red")
    assert status == 400 and "colour" in body["error"]["message"]
    status, body = rest(server, "PUT", f"/v2/{QUEUE}")
    assert (status, body["error"]["status"]) == (404, "NOT_FOUND")
    assert "GET" in body["error"]["message"]
    assert rest(server, "GET", f"/v2/{PARENT}/widgets")[0] == 404


def test_rpc_faults_apply_to_rest_calls_with_the_status_of_their_code(server):
    create_queue(server)
    server.faults.add(FaultRule(operation="GetQueue", effect=RpcError("FAILED_PRECONDITION")))
    server.faults.add(FaultRule(operation="ListQueues", effect=RpcError("PERMISSION_DENIED")))

    status, body = rest(server, "GET", f"/v2/{QUEUE}")
    assert (status, body["error"]["status"]) == (400, "FAILED_PRECONDITION")
    assert "Injected fault" in body["error"]["message"]
    status, body = rest(server, "GET", f"/v2/{PARENT}/queues")
    assert (status, body["error"]["status"]) == (403, "PERMISSION_DENIED")


def test_error_body_carries_the_details_of_the_exception():
    help_link = error_details_pb2.Help(
        links=[error_details_pb2.Help.Link(description="Docs", url="https://example.com/d")]
    )
    error = api_exceptions.PermissionDenied("Denied.", details=[help_link, "a plain string"])

    assert error_response(error) == (
        403,
        {
            "error": {
                "code": 403,
                "message": "Denied.",
                "status": "PERMISSION_DENIED",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.Help",
                        "links": [{"description": "Docs", "url": "https://example.com/d"}],
                    }
                ],
            }
        },
    )


def test_scheduler_jobs_create_get_list_pause_resume_run_delete(server, dispatcher):
    job = {"name": JOB, "schedule": "0 3 * * *", "httpTarget": {"uri": URL, "httpMethod": "PUT"}}
    status, created = rest(server, "POST", f"/v1/{PARENT}/jobs", job)
    assert status == 200 and created["state"] == "ENABLED" and created["schedule"] == "0 3 * * *"
    held = server.cloud.scheduler.get_job(scheduler_v1.GetJobRequest(name=JOB))
    assert held.http_target.http_method == scheduler_v1.HttpMethod.PUT
    assert rest(server, "GET", f"/v1/{JOB}") == (200, created)
    assert rest(server, "GET", f"/v1/{PARENT}/jobs")[1]["jobs"] == [created]

    status, patched = rest(
        server, "PATCH", f"/v1/{JOB}?updateMask=schedule", {"schedule": "0 4 * * *"}
    )
    assert status == 200 and patched["schedule"] == "0 4 * * *"
    assert rest(server, "POST", f"/v1/{JOB}:pause", {})[1]["state"] == "PAUSED"
    assert rest(server, "POST", f"/v1/{JOB}:resume", {})[1]["state"] == "ENABLED"
    assert rest(server, "POST", f"/v1/{JOB}:run", {})[0] == 200
    wait_until(lambda: len(dispatcher.deliveries) == 1)
    assert dispatcher.deliveries[0].http_method == "PUT"

    assert rest(server, "DELETE", f"/v1/{JOB}") == (200, {})
    status, body = rest(server, "GET", f"/v1/{JOB}")
    assert (status, body["error"]["status"]) == (404, "NOT_FOUND")


def test_control_api_routes_are_unchanged_next_to_rest(server):
    create_queue(server)

    status, queues = rest(server, "GET", "/v1/queues")
    assert status == 200 and [q["name"] for q in queues["queues"]] == [QUEUE]
    assert rest(server, "GET", "/v1/nothing") == (
        404,
        {"error": {"code": 404, "message": "No such endpoint: /v1/nothing."}},
    )


def test_run_jobs_create_run_and_read_executions_and_tasks():
    command = [sys.executable, "-c", "pass"]
    with start_server(dispatcher=RecordingDispatcher(), default_job_command=command) as server:
        job = {"template": {"taskCount": 2, "template": {"containers": [{"image": "app"}]}}}
        status, operation = rest(server, "POST", f"/v2/{PARENT}/jobs?jobId=nightly", job)
        assert status == 200 and operation["done"] is True
        assert operation["response"]["@type"] == "type.googleapis.com/google.cloud.run.v2.Job"
        assert rest(server, "GET", f"/v2/{operation['name']}") == (200, operation)
        status, held = rest(server, "GET", f"/v2/{PARENT}/jobs/nightly")
        assert status == 200 and held["template"]["taskCount"] == 2
        assert [j["name"] for j in rest(server, "GET", f"/v2/{PARENT}/jobs")[1]["jobs"]] == [
            f"{PARENT}/jobs/nightly"
        ]

        status, run = rest(server, "POST", f"/v2/{PARENT}/jobs/nightly:run", {})
        assert status == 200
        execution = run["metadata"]["name"]
        server.cloud.run_jobs.wait_for_execution(execution, timeout=10)
        status, done = rest(server, "GET", f"/v2/{execution}")
        assert status == 200 and done["succeededCount"] == 2
        listed = rest(server, "GET", f"/v2/{PARENT}/jobs/nightly/executions")[1]["executions"]
        assert [e["name"] for e in listed] == [execution]
        tasks = rest(server, "GET", f"/v2/{execution}/tasks")[1]["tasks"]
        assert sorted(t.get("index", 0) for t in tasks) == [0, 1]
        assert rest(server, "GET", f"/v2/{tasks[0]['name']}")[1]["name"] == tasks[0]["name"]


def test_t37_an_invalid_queue_name_over_rest_carries_googles_help_link(server):
    status, answer = rest(server, "POST", f"/v2/{PARENT}/queues", {"name": f"{PARENT}/queues/b_d!"})

    assert status == 400 and answer["error"]["status"] == "INVALID_ARGUMENT"
    [help_detail] = answer["error"]["details"]
    assert help_detail["@type"] == "type.googleapis.com/google.rpc.Help"
    assert help_detail["links"][0]["description"] == "Definition of queue name"
