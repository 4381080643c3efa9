"""Job templates: validation, Cloud Run's defaults (R2-R4) and RunJob overrides (R7).

A job's ``template`` (an ExecutionTemplate) is validated and completed with the defaults when the
job is created or updated, so GetJob shows what will run. Each RunJob resolves it, with the
request's overrides, into the ``ExecutionPlan`` its execution runs: the task template with the
container's final args and env, the task count and the parallelism.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from google.api_core.exceptions import InvalidArgument, MethodNotImplemented
from google.cloud import run_v2

DEFAULT_TASK_COUNT = 1
MAX_TASK_COUNT = 10_000
DEFAULT_MAX_RETRIES = 3
MAX_MAX_RETRIES = 10
DEFAULT_TIMEOUT = timedelta(seconds=600)
MAX_TIMEOUT = timedelta(hours=168)


@dataclass(frozen=True)
class ExecutionPlan:
    """What one execution runs: the resolved task template, task count and parallelism."""

    template: run_v2.TaskTemplate
    task_count: int
    parallelism: int  # the tasks run at once: 1..task_count

    @property
    def container(self) -> run_v2.Container:
        """The task's (single) container."""
        return self.template.containers[0]

    @property
    def max_retries(self) -> int:
        """Retries per task after its first attempt (R3)."""
        return self.template.max_retries

    @property
    def timeout(self) -> timedelta:
        """The limit on each attempt (R4)."""
        return self.template.timeout


def complete_job_template(
    template: run_v2.ExecutionTemplate, *, default_command: Sequence[str] | None
) -> run_v2.ExecutionTemplate:
    """``template`` validated and with Cloud Run's defaults filled in (R2-R4).

    INVALID_ARGUMENT names the field and the allowed values. A container without ``command``
    is accepted only when a default command is configured (it stands for the image's entrypoint).
    """
    completed = run_v2.ExecutionTemplate(template)
    if completed.task_count == 0:
        completed.task_count = DEFAULT_TASK_COUNT
    _check_task_count(completed.task_count, "template.task_count")
    if completed.parallelism < 0:
        raise InvalidArgument(
            f"template.parallelism must not be negative (0 = as many as possible), got "
            f"{completed.parallelism}."
        )
    task = completed.template
    if "max_retries" not in task:
        task.max_retries = DEFAULT_MAX_RETRIES
    if not 0 <= task.max_retries <= MAX_MAX_RETRIES:
        raise InvalidArgument(
            f"template.template.max_retries must be between 0 and {MAX_MAX_RETRIES}, got "
            f"{task.max_retries}."
        )
    if "timeout" not in task or task.timeout == timedelta(0):
        task.timeout = DEFAULT_TIMEOUT
    _check_timeout(task.timeout, "template.template.timeout")
    _check_container(task.containers, default_command)
    completed.template = task
    return completed


def plan_execution(
    template: run_v2.ExecutionTemplate,
    overrides: run_v2.RunJobRequest.Overrides | None,
    *,
    default_command: Sequence[str] | None,
    default_workdir: str | None,
) -> ExecutionPlan:
    """Resolve a (completed) job template and RunJob's overrides into an execution plan (R7).

    Container args are replaced (or cleared with ``clear_args``), env vars are merged by name,
    ``task_count`` and ``timeout`` replace the job's. A container without a command gets the
    default command, one without a working directory the default working directory.
    """
    task = run_v2.TaskTemplate(template.template)
    container = run_v2.Container(task.containers[0])
    task_count = template.task_count
    if overrides is not None:
        for override in overrides.container_overrides:
            if override.name and override.name != container.name:
                raise InvalidArgument(
                    f"overrides.container_overrides: no container named {override.name!r} "
                    f"(the job's container is {container.name or 'unnamed'!r})."
                )
            if override.clear_args:
                container.args = []
            elif override.args:
                container.args = list(override.args)
            container.env = _merge_env(container.env, override.env)
        if overrides.task_count:
            _check_task_count(overrides.task_count, "overrides.task_count")
            task_count = overrides.task_count
        if "timeout" in overrides:
            _check_timeout(overrides.timeout, "overrides.timeout")
            task.timeout = overrides.timeout
    if not container.command:
        if not default_command:
            raise InvalidArgument(_NO_COMMAND)
        container.command = list(default_command)
    if not container.working_dir and default_workdir:
        container.working_dir = default_workdir
    task.containers = [container]
    parallelism = template.parallelism or task_count
    return ExecutionPlan(task, task_count, min(parallelism, task_count))


_NO_COMMAND = (
    "template.template.containers[0].command is required by the emulator, which has no image to "
    "take an entrypoint from: set it, or start the emulator with a default job command "
    "(--job-command / default_job_command)."
)


def _check_task_count(value: int, field: str) -> None:
    if not 1 <= value <= MAX_TASK_COUNT:
        raise InvalidArgument(f"{field} must be between 1 and {MAX_TASK_COUNT}, got {value}.")


def _check_timeout(value: timedelta, field: str) -> None:
    if not timedelta(0) < value <= MAX_TIMEOUT:
        raise InvalidArgument(
            f"{field} must be more than 0s and at most {int(MAX_TIMEOUT.total_seconds())}s "
            f"(168 hours), got {value.total_seconds():g}s."
        )


def _check_container(
    containers: Sequence[run_v2.Container], default_command: Sequence[str] | None
) -> None:
    if len(containers) != 1:
        if not containers:
            raise InvalidArgument("template.template.containers: a job needs one container.")
        raise MethodNotImplemented(
            f"template.template.containers: the emulator runs one container per task, got "
            f"{len(containers)}."
        )
    container = containers[0]
    if not container.command and not default_command:
        raise InvalidArgument(_NO_COMMAND)
    for env in container.env:
        if "value_source" in env:
            raise MethodNotImplemented(
                f"Environment variable {env.name!r}: values from secrets are not supported by "
                "the emulator; give a plain value."
            )


def _merge_env(
    base: Sequence[run_v2.EnvVar], overrides: Sequence[run_v2.EnvVar]
) -> list[run_v2.EnvVar]:
    merged = {env.name: run_v2.EnvVar(env) for env in base}
    for env in overrides:
        if "value_source" in env:
            raise MethodNotImplemented(
                f"overrides: environment variable {env.name!r} from a secret is not supported by "
                "the emulator; give a plain value."
            )
        merged[env.name] = run_v2.EnvVar(name=env.name, value=env.value)
    return list(merged.values())
