"""Cloud Run resource names: what parses, and the exact INVALID_ARGUMENT messages otherwise."""

import pytest
from google.api_core.exceptions import InvalidArgument

from emulator.kit.names import JobName
from emulator.run_jobs.names import (
    JOB_ID_MESSAGE,
    ExecutionName,
    check_job_id,
    location_of,
    parse_execution_name,
    parse_job_name,
    parse_location,
    parse_operation_name,
    parse_task_name,
)
from emulator.scheduler.names import parse_job_name as parse_scheduler_job_name

JOB = "projects/p/locations/us-central1/jobs/nightly"


def test_well_formed_names_parse_into_their_parts():
    job = JobName("p", "us-central1", "nightly")
    assert parse_job_name(JOB) == job
    assert parse_execution_name(f"{JOB}/executions/nightly-ab12c") == ExecutionName(
        job, "nightly-ab12c"
    )
    assert parse_task_name(f"{JOB}/executions/e/tasks/e-task0") == (
        ExecutionName(job, "e"),
        "e-task0",
    )
    assert location_of("projects/p/locations/l").parent == "projects/p/locations/l"
    assert parse_operation_name("projects/p/locations/l/operations/o") == (
        "projects/p/locations/l/operations/o"
    )


def test_cloud_run_and_cloud_scheduler_share_one_job_name():
    assert parse_job_name(JOB) == parse_scheduler_job_name(JOB)


@pytest.mark.parametrize(
    ("parse", "value", "message"),
    [
        (
            parse_location,
            "projects/p",
            "Invalid parent 'projects/p': expected projects/<PROJECT>/locations/<LOCATION>.",
        ),
        (
            parse_job_name,
            "projects/p/locations/l/queues/q",
            "Invalid job name 'projects/p/locations/l/queues/q': expected "
            "projects/<PROJECT>/locations/<LOCATION>/jobs/<JOB>.",
        ),
        (
            parse_job_name,
            "projects/p/locations/l/jobs/Nightly",
            f"Invalid job id 'Nightly'. {JOB_ID_MESSAGE}",
        ),
        (check_job_id, "nightly-", f"Invalid job id 'nightly-'. {JOB_ID_MESSAGE}"),
        (
            parse_execution_name,
            f"{JOB}/executions/",
            f"Invalid execution name '{JOB}/executions/': expected "
            "projects/<PROJECT>/locations/<LOCATION>/jobs/<JOB>/executions/<EXECUTION>.",
        ),
        (
            parse_task_name,
            f"{JOB}/executions//tasks/t",
            f"Invalid task name '{JOB}/executions//tasks/t': expected projects/<PROJECT>/"
            "locations/<LOCATION>/jobs/<JOB>/executions/<EXECUTION>/tasks/<TASK>.",
        ),
        (
            parse_operation_name,
            "projects/p/locations/l/operations/",
            "Invalid operation name 'projects/p/locations/l/operations/': expected "
            "projects/<PROJECT>/locations/<LOCATION>/operations/<OPERATION>.",
        ),
    ],
)
def test_malformed_names_are_refused_with_cloud_runs_message(parse, value, message):
    with pytest.raises(InvalidArgument) as raised:
        parse(value)
    assert raised.value.message == message


def test_an_execution_name_takes_the_job_id_as_written():
    """Only a job's own name has its id checked; the names below it are matched by shape."""
    name = parse_execution_name("projects/p/locations/l/jobs/Not_An_Id/executions/e")
    assert name.job.job_id == "Not_An_Id"
