"""Rich error details as recorded from the real Cloud Tasks (T37, T38): the same exception, with
the same ``details``, in process (LocalCloud) and through the official client over gRPC."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from google.api_core.exceptions import GoogleAPICallError, InvalidArgument, PermissionDenied
from google.cloud import tasks_v2
from google.rpc import error_details_pb2

from emulator import LocalCloud, VirtualClock
from emulator.server import start_server
from tests.emulator.conftest import START, RecordingDispatcher
from tests.emulator.emulator_process import tasks_client

PARENT = "projects/demo/locations/local"
QUEUE_NAME_MESSAGE = (
    'Queue name must be formatted: "projects/<PROJECT_ID>/locations/<LOCATION_ID>'
    '/queues/<QUEUE_ID>".'
)
TASK_ID_MESSAGE = (
    'Task ID "not a valid id" can contain only letters ([A-Za-z]), numbers ([0-9]), '
    "hyphens (-), or underscores (_). Task ID must between 1 and 500 characters."
)
DENIED_MESSAGE = "Permission denied on resource project not-a-valid-parent."

Call = Callable[[str, Any], Any]
"""Call an RPC by its snake_case name with a request, in process or over gRPC."""


@pytest.fixture(scope="module")
def grpc_target() -> Iterator[str]:
    with start_server(project="demo", location="local") as server:
        yield server.grpc_target


@pytest.fixture(params=["local_cloud", "grpc"])
def call(request: pytest.FixtureRequest) -> Iterator[Call]:
    if request.param == "local_cloud":
        engine = LocalCloud(VirtualClock(START), RecordingDispatcher()).cloud_tasks
        yield lambda rpc, message: getattr(engine, rpc)(message)
        return
    with tasks_client(request.getfixturevalue("grpc_target")) as client:
        yield lambda rpc, message: getattr(client, rpc)(request=message)


@pytest.fixture
def queue(call: Call, request: pytest.FixtureRequest) -> str:
    """A new queue, named after the test (the gRPC server is shared by the module's tests)."""
    queue_id = "".join(c if c.isalnum() else "-" for c in request.node.name)[:100].strip("-")
    name = f"{PARENT}/queues/{queue_id}"
    call("create_queue", tasks_v2.CreateQueueRequest(parent=PARENT, queue={"name": name}))
    return name


def refused(call: Call, rpc: str, message: Any) -> GoogleAPICallError:
    with pytest.raises(GoogleAPICallError) as error:
        call(rpc, message)
    return error.value


def help_detail(description: str, url: str) -> error_details_pb2.Help:
    return error_details_pb2.Help(
        links=[error_details_pb2.Help.Link(description=description, url=url)]
    )


QUEUE_NAME_HELP = help_detail(
    "Definition of queue name",
    "https://cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues"
    "#Queue.FIELDS.name",
)


# --- T37: Help with an invalid queue or task id -----------------------------------------------


def test_t37_invalid_queue_name_carries_a_help_link_to_the_queue_name_definition(call):
    error = refused(
        call,
        "create_queue",
        tasks_v2.CreateQueueRequest(
            parent=PARENT, queue=tasks_v2.Queue(name="not-a-valid-queue-name")
        ),
    )

    assert isinstance(error, InvalidArgument)
    assert error.message == QUEUE_NAME_MESSAGE
    assert error.details == [QUEUE_NAME_HELP]


def test_t37_invalid_queue_id_carries_the_same_help(call):
    error = refused(
        call,
        "create_queue",
        tasks_v2.CreateQueueRequest(
            parent=PARENT, queue=tasks_v2.Queue(name=f"{PARENT}/queues/has_underscore")
        ),
    )

    assert (type(error), error.message, error.details) == (
        InvalidArgument,
        QUEUE_NAME_MESSAGE,
        [QUEUE_NAME_HELP],
    )


def test_t37_invalid_task_id_carries_a_help_link_to_the_task_id_definition(call, queue):
    task = tasks_v2.Task(
        name=f"{queue}/tasks/not a valid id",
        http_request=tasks_v2.HttpRequest(url="https://app.example.com/run"),
    )

    error = refused(call, "create_task", tasks_v2.CreateTaskRequest(parent=queue, task=task))

    assert isinstance(error, InvalidArgument)
    assert error.message == TASK_ID_MESSAGE
    assert error.details == [
        help_detail(
            "Definition of task ID",
            "https://cloud.google.com/tasks/docs/reference/rest/v2/"
            "projects.locations.queues.tasks#Task.FIELDS.name",
        )
    ]


def test_t37_errors_google_gives_no_details_still_have_none(call, queue):
    error = refused(
        call, "create_queue", tasks_v2.CreateQueueRequest(parent=PARENT, queue={"name": queue})
    )

    assert (error.message, error.details) == ("Queue already exists", [])


# --- T38: a parent that is no resource name ---------------------------------------------------


def assert_denied_on_project_not_a_valid_parent(error: GoogleAPICallError) -> None:
    assert isinstance(error, PermissionDenied)
    assert error.message == DENIED_MESSAGE
    info = error_details_pb2.ErrorInfo(
        reason="CONSUMER_INVALID",
        domain="googleapis.com",
        metadata={
            "consumer": "projects/not-a-valid-parent",
            "containerInfo": "not-a-valid-parent",
            "service": "cloudtasks.googleapis.com",
        },
    )
    assert error.details == [
        info,
        error_details_pb2.LocalizedMessage(locale="en-US", message=DENIED_MESSAGE),
        help_detail("Google developers console", "https://console.developers.google.com"),
    ]
    assert (error.reason, error.domain, error.metadata) == (
        info.reason,
        info.domain,
        dict(info.metadata),
    )


def test_t38_create_queue_with_a_malformed_parent_is_permission_denied_on_it_as_a_project(call):
    error = refused(
        call,
        "create_queue",
        tasks_v2.CreateQueueRequest(
            parent="not-a-valid-parent", queue={"name": f"{PARENT}/queues/q"}
        ),
    )

    assert_denied_on_project_not_a_valid_parent(error)


def test_t38_list_queues_with_a_malformed_parent_is_permission_denied_the_same_way(call):
    error = refused(call, "list_queues", tasks_v2.ListQueuesRequest(parent="not-a-valid-parent"))

    assert_denied_on_project_not_a_valid_parent(error)


@pytest.mark.parametrize("parent", ["projects/demo", "projects/demo/locations/", "a/b"])
def test_t38_other_malformed_parents_stay_invalid_argument(call, parent):
    error = refused(call, "list_queues", tasks_v2.ListQueuesRequest(parent=parent))

    assert isinstance(error, InvalidArgument)
    assert (error.message, error.details) == ("Invalid resource field value in the request.", [])
