"""Cloud Run Jobs over gRPC: ``google.cloud.run.v2.Jobs``, ``Executions``, ``Tasks`` and the
``google.longrunning.Operations`` their long-running RPCs are polled through (R8).

Each RPC maps to one ``RunJobsEngine`` method. Long-running RPCs answer a raw
``google.longrunning.Operation``, which the official client wraps so ``operation.result()``
polls GetOperation on the same channel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.cloud import run_v2
from google.longrunning import operations_pb2

from emulator.run_jobs import RunJobsEngine
from emulator.server.grpc_api import (
    ServiceTable,
    UnaryMethod,
    message_method,
    protobuf_method,
    test_iam_permissions_method,
    unimplemented,
)

JOBS_SERVICE = "google.cloud.run.v2.Jobs"
EXECUTIONS_SERVICE = "google.cloud.run.v2.Executions"
TASKS_SERVICE = "google.cloud.run.v2.Tasks"
OPERATIONS_SERVICE = "google.longrunning.Operations"
UNIMPLEMENTED_JOBS_RPCS = ("GetIamPolicy", "SetIamPolicy")
UNIMPLEMENTED_OPERATIONS_RPCS = (
    "ListOperations",
    "DeleteOperation",
    "CancelOperation",
    "WaitOperation",
)


def _long_running(request_type: Any, call: Callable[[Any], Any]) -> UnaryMethod:
    """An RPC with a proto-plus request answering a raw ``google.longrunning.Operation``."""
    return UnaryMethod(
        request_type.deserialize,
        operations_pb2.Operation.SerializeToString,
        call,
        request_type,
        operations_pb2.Operation,
    )


def run_jobs_services(engine: RunJobsEngine) -> list[ServiceTable]:
    """The Jobs, Executions, Tasks and Operations service tables for ``engine`` (the IAM policy
    RPCs and the Operations RPCs other than GetOperation answer UNIMPLEMENTED)."""
    jobs = {
        "CreateJob": _long_running(run_v2.CreateJobRequest, engine.create_job),
        "GetJob": message_method(run_v2.GetJobRequest, run_v2.Job, engine.get_job),
        "ListJobs": message_method(
            run_v2.ListJobsRequest, run_v2.ListJobsResponse, engine.list_jobs
        ),
        "UpdateJob": _long_running(run_v2.UpdateJobRequest, engine.update_job),
        "DeleteJob": _long_running(run_v2.DeleteJobRequest, engine.delete_job),
        "RunJob": _long_running(run_v2.RunJobRequest, engine.run_job),
        "TestIamPermissions": test_iam_permissions_method(engine.test_iam_permissions),
    }
    jobs.update({name: unimplemented(JOBS_SERVICE, name) for name in UNIMPLEMENTED_JOBS_RPCS})
    executions = {
        "GetExecution": message_method(
            run_v2.GetExecutionRequest, run_v2.Execution, engine.get_execution
        ),
        "ListExecutions": message_method(
            run_v2.ListExecutionsRequest, run_v2.ListExecutionsResponse, engine.list_executions
        ),
        "DeleteExecution": _long_running(run_v2.DeleteExecutionRequest, engine.delete_execution),
        "CancelExecution": _long_running(run_v2.CancelExecutionRequest, engine.cancel_execution),
    }
    tasks = {
        "GetTask": message_method(run_v2.GetTaskRequest, run_v2.Task, engine.get_task),
        "ListTasks": message_method(
            run_v2.ListTasksRequest, run_v2.ListTasksResponse, engine.list_tasks
        ),
    }
    operations = {
        "GetOperation": protobuf_method(
            operations_pb2.GetOperationRequest, operations_pb2.Operation, engine.get_operation
        )
    }
    operations.update(
        {name: unimplemented(OPERATIONS_SERVICE, name) for name in UNIMPLEMENTED_OPERATIONS_RPCS}
    )
    return [
        ServiceTable(JOBS_SERVICE, jobs),
        ServiceTable(EXECUTIONS_SERVICE, executions),
        ServiceTable(TASKS_SERVICE, tasks),
        ServiceTable(OPERATIONS_SERVICE, operations),
    ]
