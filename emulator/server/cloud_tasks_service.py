"""``google.cloud.tasks.v2.CloudTasks`` over gRPC: each RPC maps to one engine method."""

from __future__ import annotations

from google.cloud import tasks_v2

from emulator.cloud_tasks import CloudTasksEngine
from emulator.server.grpc_api import (
    ServiceTable,
    empty_method,
    message_method,
    test_iam_permissions_method,
    unimplemented,
)

SERVICE = "google.cloud.tasks.v2.CloudTasks"
UNIMPLEMENTED_RPCS = (
    "GetIamPolicy",
    "SetIamPolicy",
    "BatchCreateTasks",
    "BatchDeleteTasks",
    "GetCmekConfig",
    "UpdateCmekConfig",
)


def cloud_tasks_service(engine: CloudTasksEngine) -> ServiceTable:
    """The CloudTasks service table for ``engine`` (the IAM policy, batch and CMEK RPCs:
    UNIMPLEMENTED)."""
    methods = {
        "ListQueues": message_method(
            tasks_v2.ListQueuesRequest, tasks_v2.ListQueuesResponse, engine.list_queues
        ),
        "GetQueue": message_method(tasks_v2.GetQueueRequest, tasks_v2.Queue, engine.get_queue),
        "CreateQueue": message_method(
            tasks_v2.CreateQueueRequest, tasks_v2.Queue, engine.create_queue
        ),
        "UpdateQueue": message_method(
            tasks_v2.UpdateQueueRequest, tasks_v2.Queue, engine.update_queue
        ),
        "DeleteQueue": empty_method(tasks_v2.DeleteQueueRequest, engine.delete_queue),
        "PurgeQueue": message_method(
            tasks_v2.PurgeQueueRequest, tasks_v2.Queue, engine.purge_queue
        ),
        "PauseQueue": message_method(
            tasks_v2.PauseQueueRequest, tasks_v2.Queue, engine.pause_queue
        ),
        "ResumeQueue": message_method(
            tasks_v2.ResumeQueueRequest, tasks_v2.Queue, engine.resume_queue
        ),
        "ListTasks": message_method(
            tasks_v2.ListTasksRequest, tasks_v2.ListTasksResponse, engine.list_tasks
        ),
        "GetTask": message_method(tasks_v2.GetTaskRequest, tasks_v2.Task, engine.get_task),
        "CreateTask": message_method(tasks_v2.CreateTaskRequest, tasks_v2.Task, engine.create_task),
        "DeleteTask": empty_method(tasks_v2.DeleteTaskRequest, engine.delete_task),
        "RunTask": message_method(tasks_v2.RunTaskRequest, tasks_v2.Task, engine.run_task),
        "TestIamPermissions": test_iam_permissions_method(engine.test_iam_permissions),
    }
    methods.update({name: unimplemented(SERVICE, name) for name in UNIMPLEMENTED_RPCS})
    return ServiceTable(SERVICE, methods)
