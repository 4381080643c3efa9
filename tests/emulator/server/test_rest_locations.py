"""The Locations API: Cloud Tasks' (``/v2/projects/P/locations``) and Cloud Scheduler's
(``/v1/...``) over REST, and ``google.cloud.location.Locations`` over gRPC, answering with the
emulator's default location plus those of the project's queues and jobs."""

from __future__ import annotations

import pytest
from google.cloud import run_v2, scheduler_v1, tasks_v2
from google.cloud.location import locations_pb2

from emulator.server import start_server
from tests.emulator.conftest import RecordingDispatcher
from tests.emulator.emulator_process import tasks_client

from .test_rest_api import rest

PROJECT = "projects/demo-project"


@pytest.fixture
def server():
    with start_server(dispatcher=RecordingDispatcher()) as s:
        yield s


def location(location_id: str, project: str = PROJECT) -> dict:
    return {
        "name": f"{project}/locations/{location_id}",
        "locationId": location_id,
        "labels": {"cloud.googleapis.com/region": location_id},
    }


def add_resources(server) -> None:
    """A queue in europe-west1, a scheduler job in asia-east1 and a Cloud Run job in us-east1
    of demo-project, and a queue of another project in us-west1."""
    cloud = server.cloud
    for parent, queue in (
        (f"{PROJECT}/locations/europe-west1", "q"),
        ("projects/other/locations/us-west1", "q"),
    ):
        cloud.cloud_tasks.create_queue(
            tasks_v2.CreateQueueRequest(parent=parent, queue={"name": f"{parent}/queues/{queue}"})
        )
    job_parent = f"{PROJECT}/locations/asia-east1"
    cloud.scheduler.create_job(
        scheduler_v1.CreateJobRequest(
            parent=job_parent,
            job={
                "name": f"{job_parent}/jobs/j",
                "schedule": "0 3 * * *",
                "http_target": {"uri": "http://127.0.0.1:9/x"},
            },
        )
    )
    cloud.run_jobs.create_job(
        run_v2.CreateJobRequest(
            parent=f"{PROJECT}/locations/us-east1",
            job_id="nightly",
            job={"template": {"template": {"containers": [{"image": "app", "command": ["true"]}]}}},
        )
    )


def test_a_new_emulator_knows_its_default_location(server):
    for version in ("v2", "v1"):
        assert rest(server, "GET", f"/{version}/{PROJECT}/locations?alt=json") == (
            200,
            {"locations": [location("us-central1")]},
        )
        assert rest(server, "GET", f"/{version}/{PROJECT}/locations/us-central1") == (
            200,
            location("us-central1"),
        )


def test_locations_are_the_default_plus_those_of_the_projects_queues_and_jobs(server):
    add_resources(server)
    ids = ["asia-east1", "europe-west1", "us-central1", "us-east1"]

    for version in ("v2", "v1"):
        status, answer = rest(server, "GET", f"/{version}/{PROJECT}/locations")
        assert status == 200 and answer == {"locations": [location(i) for i in ids]}
        for location_id in ids:
            path = f"/{version}/{PROJECT}/locations/{location_id}"
            assert rest(server, "GET", path) == (200, location(location_id))
    other = rest(server, "GET", "/v2/projects/other/locations")[1]["locations"]
    assert other == [location(i, "projects/other") for i in ("us-central1", "us-west1")]


def test_locations_page_and_refuse_what_they_do_not_know(server):
    add_resources(server)

    status, first = rest(server, "GET", f"/v2/{PROJECT}/locations?pageSize=3")
    assert status == 200 and len(first["locations"]) == 3
    query = f"pageSize=3&pageToken={first['nextPageToken']}"
    _, second = rest(server, "GET", f"/v2/{PROJECT}/locations?{query}")
    assert second == {"locations": [location("us-east1")]}

    status, error = rest(server, "GET", f"/v2/{PROJECT}/locations/us-west1")
    assert (status, error["error"]["status"]) == (404, "NOT_FOUND")
    assert "us-west1" in error["error"]["message"]
    status, error = rest(server, "GET", f"/v1/{PROJECT}/locations?filter=labels.x%3Dy")
    assert (status, error["error"]["status"]) == (400, "INVALID_ARGUMENT")
    status, error = rest(server, "GET", "/v2/projects/b_d!/locations")
    assert (status, error["error"]["status"]) == (400, "INVALID_ARGUMENT")


def test_the_official_client_lists_and_gets_locations_over_grpc(server):
    add_resources(server)

    with tasks_client(server.grpc_target) as client:
        listed = client.list_locations(locations_pb2.ListLocationsRequest(name=PROJECT))
        got = client.get_location(
            locations_pb2.GetLocationRequest(name=f"{PROJECT}/locations/europe-west1")
        )
    assert [loc.location_id for loc in listed.locations] == [
        "asia-east1",
        "europe-west1",
        "us-central1",
        "us-east1",
    ]
    assert got.labels["cloud.googleapis.com/region"] == "europe-west1"
