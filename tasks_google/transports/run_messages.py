"""Cloud Run Jobs messages for a JobRunSpec, shared by the gcp and in-process transports."""

from google.cloud import run_v2
from google.protobuf import duration_pb2

from tasks_google.transports import MAX_RETRIES_ENV, ExecutionEnd, JobRunSpec


def run_job_request(spec: JobRunSpec, max_retries: int | None = None) -> run_v2.RunJobRequest:
    """RunJob with the execution id, and the job's `max_retries` if known, as env overrides
    (env merges with the job's own)."""
    env = spec.env
    if max_retries is not None:
        env[MAX_RETRIES_ENV] = str(max_retries)
    overrides = run_v2.RunJobRequest.Overrides(
        container_overrides=[
            run_v2.RunJobRequest.Overrides.ContainerOverride(
                env=[run_v2.EnvVar(name=k, value=v) for k, v in env.items()]
            )
        ]
    )
    if spec.timeout is not None:
        timeout = duration_pb2.Duration()
        timeout.FromTimedelta(spec.timeout)
        overrides.timeout = timeout
    return run_v2.RunJobRequest(name=spec.job_path, overrides=overrides)


def create_job_request(spec: JobRunSpec) -> run_v2.CreateJobRequest:
    """CreateJob for a missing job in the emulator: one task running the backend's command."""
    parent, job_id = spec.job_path.rsplit("/jobs/", 1)
    container = run_v2.Container(
        image="tasks-google/emulated", command=list(spec.command), working_dir=spec.working_dir
    )
    return run_v2.CreateJobRequest(
        parent=parent,
        job_id=job_id,
        job=run_v2.Job(
            template=run_v2.ExecutionTemplate(
                task_count=1, template=run_v2.TaskTemplate(containers=[container])
            )
        ),
    )


def execution_end(execution: run_v2.Execution) -> ExecutionEnd | None:
    """How an execution (GetExecution's answer) ended; None while it runs."""
    if not execution.completion_time:
        return None
    if execution.failed_count:
        outcome = "FAILED"
    elif execution.cancelled_count:
        outcome = "CANCELLED"
    else:
        outcome = "SUCCEEDED"
    messages = [c.message for c in execution.conditions if c.type_ == "Completed" and c.message]
    messages += [c.message for c in execution.conditions if c.message]
    return ExecutionEnd(outcome, messages[0] if messages else "")
