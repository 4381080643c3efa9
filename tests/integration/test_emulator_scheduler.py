"""The unmodified official Cloud Scheduler client against the emulator server: job RPCs over
gRPC, real HTTP requests to a local app (S4, S8, S11), the control API and the CLI."""

from __future__ import annotations

import json
import select
import time
import urllib.request
from datetime import timedelta

import pytest
from google.api_core import exceptions
from google.auth.transport.requests import Request
from google.cloud import scheduler_v1
from google.oauth2 import id_token
from google.protobuf import field_mask_pb2

from tests.emulator import server_fixtures
from tests.emulator.emulator_process import EmulatorProcess
from tests.emulator.scheduler_support import scheduler_client

PARENT = "projects/demo-project/locations/us-central1"
ACCOUNT = "scheduler@demo-project.iam.gserviceaccount.com"
State = scheduler_v1.Job.State


app = server_fixtures.app  # pytest fixtures shared with other emulator server tests
server = server_fixtures.server


@pytest.fixture
def client(server):
    with scheduler_client(server.grpc_target) as client:
        yield client


def job(
    job_id: str, url: str, schedule: str = "0 9 * * 1", description: str = "", **target
) -> scheduler_v1.Job:
    return scheduler_v1.Job(
        name=f"{PARENT}/jobs/{job_id}",
        description=description,
        schedule=schedule,
        time_zone="Europe/Paris",
        http_target=scheduler_v1.HttpTarget(uri=url, **target),
    )


def control(server, path: str) -> dict:
    with urllib.request.urlopen(server.url + path, timeout=10) as response:
        return json.load(response)


def test_job_rpcs_through_the_official_client(client, app):
    created = client.create_job(parent=PARENT, job=job("weekly", app.url(), description="w"))
    assert created.state == State.ENABLED and created.schedule_time
    assert created.retry_config.min_backoff_duration == timedelta(seconds=5)  # S5
    assert created.attempt_deadline == timedelta(minutes=3)  # S7
    for job_id in ("a", "b", "c"):
        client.create_job(parent=PARENT, job=job(job_id, app.url()))

    pages = client.list_jobs(request={"parent": PARENT, "page_size": 3}).pages
    assert [len(page.jobs) for page in pages] == [3, 1]
    updated = client.update_job(
        job=scheduler_v1.Job(name=created.name, schedule="*/5 * * * *", description="ignored"),
        update_mask=field_mask_pb2.FieldMask(paths=["schedule"]),
    )
    assert (updated.schedule, updated.description) == ("*/5 * * * *", "w")
    assert client.get_job(name=created.name) == updated
    assert client.pause_job(name=created.name).state == State.PAUSED
    assert client.resume_job(name=created.name).state == State.ENABLED
    client.delete_job(name=created.name)
    assert len(list(client.list_jobs(parent=PARENT))) == 3


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda c, url: c.get_job(name=f"{PARENT}/jobs/none"), exceptions.NotFound, "Job not"),
        (
            lambda c, url: c.create_job(parent=PARENT, job=job("x", url, schedule="0 0 L * *")),
            exceptions.InvalidArgument,
            "Schedule or time zone is invalid.",
        ),
        (
            lambda c, url: c.create_job(parent=PARENT, job=job("a.b", url)),
            exceptions.InvalidArgument,
            'Job ID "a.b"',
        ),
        (
            lambda c, url: c.resume_job(name=f"{PARENT}/jobs/one"),
            exceptions.FailedPrecondition,
            "only PAUSED jobs can be resumed",
        ),
        (
            lambda c, url: c.create_job(parent=PARENT, job=job("one", url)),
            exceptions.AlreadyExists,
            f"Job {PARENT}/jobs/one already exists.",
        ),
    ],
)
def test_errors_arrive_with_their_exact_code_and_message(client, app, call, error, message):
    client.create_job(parent=PARENT, job=job("one", app.url()))

    with pytest.raises(error, match=message):
        call(client, app.url())


def test_s4_s8_s11_run_job_delivers_a_real_request_with_a_verifiable_token(server, client, app):
    client.create_job(
        parent=PARENT,
        job=job(
            "nightly-report",
            app.url("/cron"),
            body=b'{"full": true}',
            headers={"X-Custom-Casing": "kept"},
            oidc_token=scheduler_v1.OidcToken(service_account_email=ACCOUNT),
        ),
    )

    ran = client.run_job(name=f"{PARENT}/jobs/nightly-report")
    (request,) = app.wait_for(1)

    assert ran.last_attempt_time
    assert (request.method, request.path, request.body) == ("POST", "/cron", b'{"full": true}')
    assert request.header("User-Agent") == "Google-Cloud-Scheduler"
    assert request.header("X-CloudScheduler") == "true"
    assert request.header("X-CloudScheduler-JobName") == "nightly-report"
    assert request.header("X-CloudScheduler-ScheduleTime").endswith("Z")
    assert request.header("Content-Type") == "application/octet-stream"
    assert {"X-Custom-Casing", "X-CloudScheduler-JobName"} <= set(request.header_names)
    scheme, _, token = request.header("Authorization").partition(" ")
    claims = id_token.verify_token(
        token, Request(), audience=app.url("/cron"), certs_url=server.url + "/oauth2/v1/certs"
    )
    assert scheme == "Bearer" and claims["email"] == ACCOUNT and claims["iss"] == server.url


def test_control_api_lists_jobs_and_steers_scheduler_faults(server, client, app):
    name = f"{PARENT}/jobs/listed"
    client.create_job(parent=PARENT, job=job("listed", app.url()))
    fault = {
        "service": "scheduler",
        "operation": "dispatch",
        "job": "listed",
        "count": 1,
        "effect": {"type": "http_status", "status": 503},
    }
    request = urllib.request.Request(
        server.url + "/v1/faults", data=json.dumps(fault).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201

    client.run_job(name=name)
    deadline = time.monotonic() + 10
    while (described := control(server, "/v1/scheduler/jobs")["jobs"])[0]["status"] is None:
        assert time.monotonic() < deadline, "the attempt was not settled"
        time.sleep(0.02)

    (listed,) = described
    assert listed["name"] == name and listed["schedule"] == "0 9 * * 1"
    assert listed["time_zone"] == "Europe/Paris" and listed["state"] == "ENABLED"
    assert listed["next_fire_time"].endswith("Z") and listed["last_attempt_time"].endswith("Z")
    assert listed["last_response_status"] == 503 and listed["target"]["uri"] == app.url()
    assert app.requests == []  # the fault answered instead of the app
    assert "scheduler" in control(server, "/health")["services"]


def test_cli_prints_the_scheduler_host_after_the_other_lines(tmp_path):
    emulator = EmulatorProcess("--port", "0", log_path=tmp_path / "emulator.log")
    try:
        assert emulator.process.stdout is not None
        lines = []
        deadline = time.monotonic() + 10
        while not any(line.startswith("export CLOUD_SCHEDULER_EMULATOR_HOST=") for line in lines):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no scheduler line after {lines}"
            if select.select([emulator.process.stdout], [], [], remaining)[0]:
                lines.append(emulator.process.stdout.readline().decode().strip())

        target = lines[-1].partition("=")[2]
        assert target == emulator.grpc_target
        with scheduler_client(target) as client:
            assert list(client.list_jobs(parent=PARENT)) == []
    finally:
        assert emulator.stop() == 0
