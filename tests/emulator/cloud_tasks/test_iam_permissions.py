"""TestIamPermissions on queues and jobs: what a caller granted every role is told, what a
``DenyPermissions`` fault rule takes away, in process and through the official clients over gRPC
against ``python -m emulator``."""

from __future__ import annotations

import sys

import pytest
from google.api_core.exceptions import NotFound, PermissionDenied
from google.cloud import run_v2, tasks_v2
from google.cloud.run_v2.services.jobs.transports import JobsGrpcTransport
from google.iam.v1 import iam_policy_pb2

from emulator import DenyPermissions, FaultRule, LocalCloud, RpcError, WallClock
from emulator.kit.faults import rule_from_json, rule_to_json
from tests.emulator.channels import emulator_channel
from tests.emulator.conftest import PARENT, QUEUE, RecordingDispatcher
from tests.emulator.emulator_process import EmulatorProcess, tasks_client
from tests.emulator.run_jobs_support import create_job, python

ENQUEUER = ["cloudtasks.tasks.create", "cloudtasks.tasks.get", "cloudtasks.tasks.delete"]
JOB_RUNNER = ["run.jobs.run", "run.jobs.runWithOverrides", "run.executions.cancel"]


def ask(engine, resource: str, permissions: list[str]) -> list[str]:
    request = iam_policy_pb2.TestIamPermissionsRequest(resource=resource, permissions=permissions)
    return list(engine.test_iam_permissions(request).permissions)


@pytest.fixture
def queue(cloud: LocalCloud) -> str:
    cloud.cloud_tasks.create_queue(
        tasks_v2.CreateQueueRequest(parent=PARENT, queue=tasks_v2.Queue(name=QUEUE))
    )
    return QUEUE


@pytest.fixture
def run_cloud():
    cloud = LocalCloud(WallClock(), RecordingDispatcher())
    yield cloud
    cloud.close()


def test_queue_answers_the_permissions_it_can_grant_in_the_order_asked(cloud, queue):
    asked = ["cloudtasks.tasks.delete", "run.jobs.run", "cloudtasks.tasks.create", "nope.x.y"]
    assert ask(cloud.cloud_tasks, queue, asked) == [
        "cloudtasks.tasks.delete",
        "cloudtasks.tasks.create",
    ]


def test_queue_that_does_not_exist_is_not_found(cloud):
    with pytest.raises(NotFound):
        ask(cloud.cloud_tasks, f"{PARENT}/queues/missing", ENQUEUER)


def test_deny_permissions_rule_takes_the_named_permissions_away_on_its_queue(cloud, queue):
    other = f"{PARENT}/queues/other"
    cloud.cloud_tasks.create_queue(
        tasks_v2.CreateQueueRequest(parent=PARENT, queue=tasks_v2.Queue(name=other))
    )
    cloud.faults.add(
        FaultRule(
            operation="TestIamPermissions",
            queue="jobs",
            effect=DenyPermissions(["cloudtasks.tasks.create"]),
        )
    )
    assert ask(cloud.cloud_tasks, queue, ENQUEUER) == [
        "cloudtasks.tasks.get",
        "cloudtasks.tasks.delete",
    ]
    assert ask(cloud.cloud_tasks, other, ENQUEUER) == ENQUEUER


def test_deny_permissions_without_a_list_denies_every_permission(cloud, queue):
    cloud.faults.add(FaultRule(operation="TestIamPermissions", effect=DenyPermissions()))
    assert ask(cloud.cloud_tasks, queue, ENQUEUER) == []


def test_rpc_error_rule_fails_test_iam_permissions(cloud, queue):
    cloud.faults.add(
        FaultRule(operation="TestIamPermissions", effect=RpcError("PERMISSION_DENIED"))
    )
    with pytest.raises(PermissionDenied):
        ask(cloud.cloud_tasks, queue, ENQUEUER)


def test_job_answers_the_permissions_it_can_grant_and_a_rule_denies(run_cloud):
    job = create_job(run_cloud.run_jobs, "reports", python("pass"))
    asked = [*JOB_RUNNER, "cloudtasks.tasks.create"]
    assert ask(run_cloud.run_jobs, job, asked) == JOB_RUNNER
    run_cloud.faults.add(
        FaultRule(
            service="run_jobs",
            operation="TestIamPermissions",
            job="reports",
            effect=DenyPermissions(["run.jobs.runWithOverrides"]),
        )
    )
    assert ask(run_cloud.run_jobs, job, asked) == ["run.jobs.run", "run.executions.cancel"]


def test_job_that_does_not_exist_is_not_found(run_cloud):
    with pytest.raises(NotFound):
        ask(run_cloud.run_jobs, f"{PARENT}/jobs/missing", JOB_RUNNER)


def test_deny_permissions_round_trips_through_json_and_is_refused_elsewhere():
    rule = FaultRule(
        operation="TestIamPermissions", queue="jobs", effect=DenyPermissions(["a.b.c"])
    )
    data = rule_to_json(rule)
    assert data["effect"] == {"type": "deny_permissions", "permissions": ["a.b.c"]}
    assert rule_from_json(data) == rule
    with pytest.raises(ValueError, match="needs an RpcError"):
        FaultRule(operation="CreateTask", effect=DenyPermissions())
    with pytest.raises(ValueError, match="must be permission names"):
        FaultRule(operation="TestIamPermissions", effect=DenyPermissions([""]))


def test_server_answers_test_iam_permissions_through_the_official_clients(tmp_path):
    emulator = EmulatorProcess(
        "--port",
        "0",
        "--project",
        "demo-project",
        "--queue",
        "default",
        "--job-command",
        f"{sys.executable} -c pass",
        "--job",
        "reports",
        log_path=tmp_path / "emulator.log",
    )
    parent = "projects/demo-project/locations/us-central1"
    try:
        with tasks_client(emulator.grpc_target) as client:
            granted = client.test_iam_permissions(
                resource=f"{parent}/queues/default", permissions=[*ENQUEUER, "run.jobs.run"]
            )
            assert list(granted.permissions) == ENQUEUER
            with pytest.raises(NotFound):
                client.test_iam_permissions(
                    resource=f"{parent}/queues/missing", permissions=ENQUEUER
                )
        channel = emulator_channel(emulator.grpc_target)
        try:
            jobs = run_v2.JobsClient(transport=JobsGrpcTransport(channel=channel))
            request = iam_policy_pb2.TestIamPermissionsRequest(
                resource=f"{parent}/jobs/reports", permissions=JOB_RUNNER
            )
            assert list(jobs.test_iam_permissions(request=request).permissions) == JOB_RUNNER
        finally:
            channel.close()
    finally:
        emulator.stop()
