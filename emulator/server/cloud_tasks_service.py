"""``google.cloud.tasks.v2.CloudTasks`` over gRPC: each RPC maps to one engine method."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.cloud import tasks_v2
from google.protobuf import empty_pb2

from emulator.cloud_tasks import CloudTasksEngine
from emulator.server.grpc_api import ServiceTable, UnaryMethod, unimplemented

SERVICE = "google.cloud.tasks.v2.CloudTasks"
UNIMPLEMENTED_RPCS = (
    "GetIamPolicy",
    "SetIamPolicy",
    "TestIamPermissions",
    "BatchCreateTasks",
    "BatchDeleteTasks",
    "GetCmekConfig",
    "UpdateCmekConfig",
)


def _message(request_type: Any, response_type: Any, call: Callable[[Any], Any]) -> UnaryMethod:
    return UnaryMethod(request_type.deserialize, response_type.serialize, call)


def _empty(request_type: Any, call: Callable[[Any], None]) -> UnaryMethod:
    def respond(request: Any) -> empty_pb2.Empty:
        call(request)
        return empty_pb2.Empty()

    return UnaryMethod(request_type.deserialize, empty_pb2.Empty.SerializeToString, respond)


def cloud_tasks_service(engine: CloudTasksEngine) -> ServiceTable:
    """The CloudTasks service table for ``engine`` (IAM, batch and CMEK RPCs: UNIMPLEMENTED)."""
    methods = {
        "ListQueues": _message(
            tasks_v2.ListQueuesRequest, tasks_v2.ListQueuesResponse, engine.list_queues
        ),
        "GetQueue": _message(tasks_v2.GetQueueRequest, tasks_v2.Queue, engine.get_queue),
        "CreateQueue": _message(tasks_v2.CreateQueueRequest, tasks_v2.Queue, engine.create_queue),
        "UpdateQueue": _message(tasks_v2.UpdateQueueRequest, tasks_v2.Queue, engine.update_queue),
        "DeleteQueue": _empty(tasks_v2.DeleteQueueRequest, engine.delete_queue),
        "PurgeQueue": _message(tasks_v2.PurgeQueueRequest, tasks_v2.Queue, engine.purge_queue),
        "PauseQueue": _message(tasks_v2.PauseQueueRequest, tasks_v2.Queue, engine.pause_queue),
        "ResumeQueue": _message(tasks_v2.ResumeQueueRequest, tasks_v2.Queue, engine.resume_queue),
        "ListTasks": _message(
            tasks_v2.ListTasksRequest, tasks_v2.ListTasksResponse, engine.list_tasks
        ),
        "GetTask": _message(tasks_v2.GetTaskRequest, tasks_v2.Task, engine.get_task),
        "CreateTask": _message(tasks_v2.CreateTaskRequest, tasks_v2.Task, engine.create_task),
        "DeleteTask": _empty(tasks_v2.DeleteTaskRequest, engine.delete_task),
        "RunTask": _message(tasks_v2.RunTaskRequest, tasks_v2.Task, engine.run_task),
    }
    methods.update({name: unimplemented(SERVICE, name) for name in UNIMPLEMENTED_RPCS})
    return ServiceTable(SERVICE, methods)
