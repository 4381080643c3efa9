"""The Cloud Tasks message for a CloudTaskSpec, shared by the gcp and in-process transports."""

from google.cloud import tasks_v2
from google.protobuf import duration_pb2, timestamp_pb2

from tasks_google.transports import CloudTaskSpec


def task_message(spec: CloudTaskSpec) -> tasks_v2.Task:
    """An HTTP POST task to the execute endpoint, named after the execution."""
    http_request = tasks_v2.HttpRequest(
        url=spec.url,
        http_method=tasks_v2.HttpMethod.POST,
        headers=spec.headers,
        body=spec.body,
    )
    if spec.oidc_service_account:
        http_request.oidc_token = tasks_v2.OidcToken(
            service_account_email=spec.oidc_service_account, audience=spec.oidc_audience or ""
        )
    task = tasks_v2.Task(name=spec.task_name, http_request=http_request)
    if spec.schedule_time is not None:
        stamp = timestamp_pb2.Timestamp()
        stamp.FromDatetime(spec.schedule_time)
        task.schedule_time = stamp
    if spec.dispatch_deadline is not None:
        deadline = duration_pb2.Duration()
        deadline.FromTimedelta(spec.dispatch_deadline)
        task.dispatch_deadline = deadline
    return task
