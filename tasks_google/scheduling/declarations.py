"""Schedules declared in code: the `@periodic` decorator and the `PeriodicTask` class.

Declarations are collected when their modules are imported; `manage.py schedule_tasks` imports
every installed app's `tasks` module, stores them as `ScheduledTask` rows and syncs Cloud
Scheduler. Every fire runs through django.tasks, as an ordinary execution. A schedule is a cron
string or an interval (`timedelta`), which the rules turn into cron.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from django.utils.datastructures import CaseInsensitiveMapping
from django.utils.module_loading import autodiscover_modules

from tasks_google.config.scheduler_jobs import (
    JOB_DEFAULTS,
    PERIODIC_RUNNER_PATH,
    execution_task_name,
    seconds,
)
from tasks_google.framework import Task

#: The modules of installed apps that declare schedules.
DECLARING_MODULES = ("tasks", "periodic")


@dataclass(frozen=True)
class DeclaredSchedule:
    """One schedule declared in code."""

    name: str
    task_path: str
    backend: str
    queue: str
    cron: str | timedelta
    time_zone: str = "UTC"
    args: Sequence[Any] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    retry_count: int = JOB_DEFAULTS.retry_count
    min_backoff_seconds: float = seconds(JOB_DEFAULTS.min_backoff)
    max_backoff_seconds: float = seconds(JOB_DEFAULTS.max_backoff)
    max_doublings: int = JOB_DEFAULTS.max_doublings
    attempt_deadline_seconds: float = seconds(JOB_DEFAULTS.attempt_deadline)
    headers: Mapping[str, str] = field(default_factory=dict)
    use_oidc: bool = True
    module: str = ""  # the module that declares it, named in error messages


_declared: dict[str, DeclaredSchedule] = {}


def declared_schedules() -> dict[str, DeclaredSchedule]:
    """Every schedule declared so far, by name."""
    return dict(_declared)


def discover_schedules() -> dict[str, DeclaredSchedule]:
    """Every schedule declared in installed apps' `tasks` and `periodic` modules, by name."""
    autodiscover_modules(*DECLARING_MODULES)
    return declared_schedules()


def declare(schedule: DeclaredSchedule) -> None:
    previous = _declared.get(schedule.name)
    before, now = (
        execution_task_name(s.task_path, s.args) for s in (previous or schedule, schedule)
    )
    if before != now:
        raise ValueError(
            f"Two schedules are named {schedule.name!r} ({before} and {now}); give one of them "
            "another name."
        )
    _declared[schedule.name] = schedule


def periodic(
    cron: str | timedelta,
    *,
    name: str | None = None,
    time_zone: str = "UTC",
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    description: str = "",
    retry_count: int = JOB_DEFAULTS.retry_count,
    attempt_deadline_seconds: float = seconds(JOB_DEFAULTS.attempt_deadline),
) -> Callable[[Task], Task]:
    """Run a `@task` on a schedule: put `@periodic("0 9 * * 1-5", time_zone=...)` above `@task`.

    `cron` is a cron string or an interval such as `timedelta(minutes=15)`.
    """

    def declare_task(task: Task) -> Task:
        if not isinstance(task, Task):
            raise TypeError(
                f"@periodic decorates a django.tasks.Task, not {task!r}: put it above @task."
            )
        declare(
            DeclaredSchedule(
                name=name or task.name.replace("_", "-"),
                task_path=task.module_path,
                backend=task.backend,
                queue=task.queue_name,
                cron=cron,
                time_zone=time_zone,
                args=tuple(args),
                kwargs=dict(kwargs or {}),
                description=description,
                retry_count=retry_count,
                attempt_deadline_seconds=attempt_deadline_seconds,
                module=task.func.__module__,
            )
        )
        return task

    return declare_task


@dataclass(frozen=True)
class Fire:
    """The Cloud Scheduler request that fired a `PeriodicTask`: `self.fire` in its `run()`."""

    #: The slot fired (`X-CloudScheduler-ScheduleTime`; for a run now, its time), aware.
    schedule_time: datetime
    #: The job's id (`X-CloudScheduler-JobName`).
    job_name: str
    #: The `X-CloudScheduler*` headers and the job's own (`schedule_headers()`), by lower-case
    #: name; lookups ignore case. Never `Authorization` nor hop-by-hop headers.
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "headers", CaseInsensitiveMapping(self.headers))

    def as_argument(self) -> dict[str, Any]:
        """The fire as the JSON the runner task receives."""
        return {
            "schedule_time": self.schedule_time.astimezone(UTC).isoformat(),
            "job_name": self.job_name,
            "headers": dict(self.headers),
        }

    @classmethod
    def from_argument(cls, value: Mapping[str, Any]) -> "Fire":
        """The fire back from `as_argument()`'s JSON."""
        return cls(
            datetime.fromisoformat(value["schedule_time"]), value["job_name"], value["headers"]
        )


class PeriodicTask:
    """A recurring job as a class: subclass it, set `run_every`, implement `run(**kwargs)`.

    The `schedule_*` class methods customise the Cloud Scheduler job; the payload of
    `schedule_body_payload()` is passed to `run()` as keyword arguments. In `run()`,
    `self.fire` is the `Fire` that started it (None when `run()` is called directly).
    """

    #: 5-field cron, an @hourly/@daily/@weekly/@monthly/@yearly shorthand, or an interval
    #: (`timedelta`) that cron expresses exactly (see `scheduling.rules.interval_cron`).
    run_every: ClassVar[str | timedelta] = ""
    schedule_use_oidc: ClassVar[bool] = True
    fire: Fire | None = None

    def run(self, **kwargs: Any) -> Any:
        raise TypeError(f"{type(self).__name__} must implement run(self, **kwargs).")

    @classmethod
    def schedule_name(cls) -> str:
        return cls.__name__

    @classmethod
    def schedule_description(cls) -> str:
        return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""

    @classmethod
    def schedule_time_zone(cls) -> str:
        return "UTC"

    @classmethod
    def schedule_headers(cls) -> dict[str, str]:
        return {}

    @classmethod
    def schedule_retries(cls) -> int:
        return JOB_DEFAULTS.retry_count

    @classmethod
    def schedule_min_backoff(cls) -> float:
        return seconds(JOB_DEFAULTS.min_backoff)

    @classmethod
    def schedule_max_backoff(cls) -> float:
        return seconds(JOB_DEFAULTS.max_backoff)

    @classmethod
    def schedule_max_doublings(cls) -> int:
        return JOB_DEFAULTS.max_doublings

    @classmethod
    def schedule_attempt_deadline(cls) -> float:
        return seconds(JOB_DEFAULTS.attempt_deadline)

    @classmethod
    def schedule_body_payload(cls) -> dict[str, Any]:
        return {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if isinstance(cls.run_every, timedelta) or cls.run_every:  # else an abstract base
            declare_class(cls)


def declare_class(cls: type[PeriodicTask]) -> None:
    """Declare the schedule of a `PeriodicTask` subclass (done when the class is defined)."""
    declare(
        DeclaredSchedule(
            name=cls.schedule_name(),
            task_path=PERIODIC_RUNNER_PATH,
            backend="",  # the schedules' host backend (see scheduling.host_backend)
            queue="default",
            cron=cls.run_every,
            time_zone=cls.schedule_time_zone(),
            args=(f"{cls.__module__}.{cls.__qualname__}",),
            kwargs=cls.schedule_body_payload(),
            description=cls.schedule_description(),
            retry_count=cls.schedule_retries(),
            min_backoff_seconds=cls.schedule_min_backoff(),
            max_backoff_seconds=cls.schedule_max_backoff(),
            max_doublings=cls.schedule_max_doublings(),
            attempt_deadline_seconds=cls.schedule_attempt_deadline(),
            headers=cls.schedule_headers(),
            use_oidc=cls.schedule_use_oidc,
            module=cls.__module__,
        )
    )
