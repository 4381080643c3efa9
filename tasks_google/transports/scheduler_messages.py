"""Cloud Scheduler messages for a SchedulerJobSpec, shared by the gcp and in-process transports."""

from datetime import timedelta

from google.cloud import scheduler_v1
from google.protobuf import duration_pb2, field_mask_pb2

from tasks_google.transports import SchedulerJobSpec

#: The fields tasks_google owns on a Cloud Scheduler job (what an update replaces).
MANAGED_FIELDS = (
    "description",
    "schedule",
    "time_zone",
    "http_target",
    "retry_config",
    "attempt_deadline",
)


def _duration(length: timedelta) -> duration_pb2.Duration:
    duration = duration_pb2.Duration()
    duration.FromTimedelta(length)
    return duration


def job_message(spec: SchedulerJobSpec) -> scheduler_v1.Job:
    """An HTTP job POSTing `{"schedule": name}` to the schedule endpoint."""
    target = scheduler_v1.HttpTarget(
        uri=spec.uri,
        http_method=scheduler_v1.HttpMethod.POST,
        headers={**spec.headers, "Content-Type": "application/json"},
        body=spec.body,
    )
    if spec.oidc_service_account:
        target.oidc_token = scheduler_v1.OidcToken(
            service_account_email=spec.oidc_service_account, audience=spec.oidc_audience or ""
        )
    return scheduler_v1.Job(
        name=spec.name,
        description=spec.description,
        schedule=spec.schedule,
        time_zone=spec.time_zone,
        http_target=target,
        retry_config=scheduler_v1.RetryConfig(
            retry_count=spec.retry_count,
            min_backoff_duration=_duration(spec.min_backoff),
            max_backoff_duration=_duration(spec.max_backoff),
            max_doublings=spec.max_doublings,
            max_retry_duration=_duration(spec.max_retry_duration),
        ),
        attempt_deadline=_duration(spec.attempt_deadline),
    )


def update_request(spec: SchedulerJobSpec) -> scheduler_v1.UpdateJobRequest:
    return scheduler_v1.UpdateJobRequest(
        job=job_message(spec), update_mask=field_mask_pb2.FieldMask(paths=list(MANAGED_FIELDS))
    )
