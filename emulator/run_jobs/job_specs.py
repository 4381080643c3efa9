"""Jobs declared on the command line: ``JOB_ID[:key=value,...]`` (``--job``).

A declared job runs the emulator's default job command (``--job-command``). At start it is
created, or, on a data directory where it already exists, updated with only the keys given, so a
restart keeps the settings it was not told about.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from google.api_core.exceptions import GoogleAPICallError, NotFound
from google.cloud import run_v2

from emulator.kit.key_value_specs import SpecFormat
from emulator.run_jobs.engine import DEFAULT_JOB_CONTAINER, RunJobsEngine
from emulator.run_jobs.names import JOB_ID_MESSAGE, check_job_id

# key -> type of the value (timeout in seconds)
SPEC_KEYS: Mapping[str, type] = {
    "task_count": int,
    "parallelism": int,
    "max_retries": int,
    "timeout": float,
}
_FORMAT = SpecFormat(
    noun="job",
    check_id=check_job_id,
    id_rule=JOB_ID_MESSAGE,
    kinds=SPEC_KEYS,
    wording={int: "an integer", float: "a number of seconds"},
)


@dataclass(frozen=True)
class JobSpec:
    """A job id and the settings given for it (timeout in seconds)."""

    job_id: str
    settings: Mapping[str, int | float] = field(default_factory=dict)


def parse_job_spec(text: str) -> JobSpec:
    """Parse ``JOB_ID[:key=value,...]``; ValueError naming the problem and the allowed keys."""
    return JobSpec(*_FORMAT.parse(text))


def apply_job_spec(engine: RunJobsEngine, parent: str, spec: JobSpec) -> run_v2.Job:
    """Create the job with the default command, or update the settings the spec names.

    ValueError with Cloud Run's message if the settings are refused (or no default command is
    configured for a new job).
    """
    name = f"{parent}/jobs/{spec.job_id}"
    try:
        try:
            job = engine.get_job(run_v2.GetJobRequest(name=name))
        except NotFound:
            job = run_v2.Job(
                template=run_v2.ExecutionTemplate(
                    template=run_v2.TaskTemplate(
                        containers=[run_v2.Container(name=DEFAULT_JOB_CONTAINER)]
                    )
                )
            )
            _apply_settings(job.template, spec.settings)
            engine.create_job(run_v2.CreateJobRequest(parent=parent, job_id=spec.job_id, job=job))
        else:
            if not spec.settings:
                return job
            _apply_settings(job.template, spec.settings)
            engine.update_job(run_v2.UpdateJobRequest(job=job))
        return engine.get_job(run_v2.GetJobRequest(name=name))
    except GoogleAPICallError as error:
        raise ValueError(error.message) from None


def _apply_settings(
    template: run_v2.ExecutionTemplate, settings: Mapping[str, int | float]
) -> None:
    for key, value in settings.items():
        if key == "task_count":
            template.task_count = int(value)
        elif key == "parallelism":
            template.parallelism = int(value)
        elif key == "max_retries":
            template.template.max_retries = int(value)
        else:
            template.template.timeout = timedelta(seconds=value)
