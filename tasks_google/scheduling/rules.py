"""What a schedule must be for Cloud Scheduler to accept it and for its task to run.

One set of rules, read by the system checks of schedules declared in code, by `schedule_tasks`'
plan, by `schedule_task()` and the admin form, and by the `schedule/` endpoint. Cron follows what
Cloud Scheduler (and the emulator) accept: 5 fields of `*`, numbers, ranges, steps, lists and
month / day names, no `L`, `W`, `#`, `?` or `H`, and at least one calendar day that matches;
the `@hourly`-style shorthands are expanded here, before anything reaches Cloud Scheduler. An
interval (a `timedelta`, as `run_every` or `@periodic` take) becomes the cron that fires at that
interval, when cron can express it exactly (`interval_cron`).
"""

import inspect
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from django.core.exceptions import ValidationError
from django.utils.module_loading import import_string

from tasks_google.config.options import Problem
from tasks_google.config.scheduler_jobs import (
    ATTEMPT_DEADLINE_RANGE,
    MAX_DESCRIPTION_LENGTH,
    MAX_RETRY_COUNT,
    PERIODIC_RUNNER_PATH,
    execution_task_name,
    seconds,
)
from tasks_google.executions import TaskNotFound, load_task
from tasks_google.scheduling.declarations import PeriodicTask

#: Shorthands expanded here, so Cloud Scheduler always receives 5-field cron.
CRON_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
SCHEDULE_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,200}$")
#: Whole seconds, as the E103 message prints them.
_DEADLINE_RANGE = tuple(int(seconds(bound)) for bound in ATTEMPT_DEADLINE_RANGE)

#: System check ids of schedules (docs/configuration.md lists them).
BAD_CRON = "tasks_google.E101"
BAD_TIME_ZONE = "tasks_google.E102"
OUT_OF_LIMITS = "tasks_google.E103"
TASK_NOT_FOUND = "tasks_google.E104"
ARGUMENTS_REJECTED = "tasks_google.E105"
#: A warning: the module's own import error is what to fix, and shows wherever it is used.
IMPORT_FAILED = "tasks_google.W101"

_CRON_HINT = (
    "5 fields: minute hour day-of-month month day-of-week (e.g. '0 9 * * 1-5'), or one of "
    + ", ".join(CRON_MACROS)
    + "."
)
_TIME_ZONE_HINT = "A tz database name, e.g. 'Europe/Paris' or 'UTC'."

#: The intervals cron fires at exactly: minutes that divide an hour, hours that divide a day,
#: and one day (a step that does not divide its field leaves a short gap where the field wraps).
INTERVAL_MINUTES = tuple(n for n in range(1, 60) if 60 % n == 0)
INTERVAL_HOURS = tuple(n for n in range(1, 24) if 24 % n == 0)
_MINUTE, _HOUR, _DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


def _listed(numbers: tuple[int, ...]) -> str:
    return ", ".join(map(str, numbers[:-1])) + f" or {numbers[-1]}"


_INTERVALS_TEXT = (
    f"every {_listed(INTERVAL_MINUTES)} minutes, every {_listed(INTERVAL_HOURS)} hours, "
    "or every day"
)


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


@dataclass(frozen=True)
class _CronField:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    first_name_value: int = 0


_CRON_FIELDS = (
    _CronField("minute", 0, 59),
    _CronField("hour", 0, 23),
    _CronField("day-of-month", 1, 31),
    _CronField("month", 1, 12, _MONTHS, 1),
    _CronField("day-of-week", 0, 7, _DAYS),
)
_CRON_ITEM = re.compile(r"(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/([0-9]+))?")
_UNSUPPORTED = "L, W, #, ? and H are not supported"


def normalize_cron(expression: str | timedelta) -> str:
    """The 5-field cron Cloud Scheduler receives for `expression` (shorthands expanded, an
    interval turned into cron by `interval_cron`).

    Raises ValidationError saying what is wrong when Cloud Scheduler would refuse it.
    """
    if isinstance(expression, timedelta):
        return interval_cron(expression)
    cron = CRON_MACROS.get(expression.strip().lower(), expression.strip())
    fields = cron.lower().split()
    if len(fields) != 5:
        raise ValidationError(
            f"{expression!r} is not a 5-field cron expression (minute hour day-of-month month "
            "day-of-week) nor one of " + ", ".join(CRON_MACROS) + "."
        )
    try:
        _, _, days, months, week_days = (
            _field_values(value, spec) for value, spec in zip(fields, _CRON_FIELDS, strict=True)
        )
    except ValueError as problem:
        raise ValidationError(f"{expression!r}: {problem}.") from None
    if not croniter.is_valid(cron):
        raise ValidationError(f"{expression!r} is not a valid cron expression.")
    # Vixie cron: with both day fields restricted, a day matching either one fires.
    either = not fields[2].startswith("*") and not fields[4].startswith("*")
    if not any(_fires_on(day, days, months, week_days, either) for day in _leap_year()):
        raise ValidationError(f"{expression!r} never fires: no calendar day matches it.")
    return cron


def interval_cron(every: timedelta, what: str = "the interval") -> str:
    """The cron that fires every `every`: `*/N * * * *`, `0 */N * * *` or `0 0 * * *`.

    Raises ValidationError, starting with `what` and listing the intervals cron can express,
    for any other interval (7 minutes, 90 minutes, 5 hours, 2 days, seconds, zero or negative).
    Hour and day intervals follow the schedule's time zone, as its cron does.
    """
    for unit, allowed, cron in (
        (_MINUTE, INTERVAL_MINUTES, "*/{n} * * * *"),
        (_HOUR, INTERVAL_HOURS, "0 */{n} * * *"),
        (_DAY, (1,), "0 0 * * *"),
    ):
        count, rest = divmod(every, unit)
        if not rest and count in allowed:
            return cron.format(n=count).replace("*/1 ", "* ")  # every 1: `*`
    raise ValidationError(
        f"{what} is {_duration_text(every)}, which Cloud Scheduler's cron cannot express "
        f"exactly: it can fire {_INTERVALS_TEXT}. Give one of those, or write a cron string "
        "instead."
    )


def _duration_text(every: timedelta) -> str:
    """`every` in its largest whole unit: '7 minutes', '5 hours', '2 days', '30 seconds'."""
    for unit, name in ((_DAY, "day"), (_HOUR, "hour"), (_MINUTE, "minute")):
        count, rest = divmod(every, unit)
        if every and not rest:
            return f"{count} {name}{'' if abs(count) == 1 else 's'}"
    return f"{every.total_seconds():g} seconds"


def stored_cron(schedule: str | timedelta, what: str = "the interval") -> str:
    """The cron a row stores for `schedule`: a cron string as written, an interval as its cron
    (ValidationError starting with `what` if cron cannot express it)."""
    return interval_cron(schedule, what) if isinstance(schedule, timedelta) else schedule


def _field_values(value: str, field: _CronField) -> set[int]:
    """The values one cron field selects; ValueError naming the field if it is not accepted."""
    chosen: set[int] = set()
    for item in value.split(","):
        match = _CRON_ITEM.fullmatch(item)
        if match is None:
            raise ValueError(
                f"the {field.name} field {value!r} is not accepted (use *, numbers, ranges a-b, "
                f"steps /n and lists a,b; {_UNSUPPORTED})"
            )
        span, step = match.group(1), int(match.group(2) or 1)
        if span == "*":
            low, high = field.low, field.high
        elif "-" in span:
            low, high = (_field_value(token, field) for token in span.split("-"))
            if low > high:
                raise ValueError(f"the {field.name} range {span!r} starts after it ends")
        else:
            low = _field_value(span, field)
            high = field.high if match.group(2) else low
        if step < 1:
            raise ValueError(f"the {field.name} step in {item!r} must be at least 1")
        chosen.update(range(low, high + 1, step))
    # 7 is Sunday too.
    return {v % 7 for v in chosen} if field.name == "day-of-week" else chosen


def _field_value(token: str, field: _CronField) -> int:
    if token.isdigit():
        number = int(token)
    elif token in field.names:
        number = field.names.index(token) + field.first_name_value
    else:
        names = f" or {field.names[0].upper()}-{field.names[-1].upper()}" if field.names else ""
        raise ValueError(
            f"the {field.name} value {token.upper()!r} is not {field.low}-{field.high}{names} "
            f"({_UNSUPPORTED})"
        )
    if not field.low <= number <= field.high:
        raise ValueError(
            f"the {field.name} value {number} is not between {field.low} and {field.high}"
        )
    return number


def _fires_on(
    day: date, days: set[int], months: set[int], week_days: set[int], either: bool
) -> bool:
    if day.month not in months:
        return False
    in_month, in_week = day.day in days, (day.weekday() + 1) % 7 in week_days
    return in_month or in_week if either else in_month and in_week


def _leap_year() -> Iterator[date]:
    day = date(2024, 1, 1)
    while day.year == 2024:
        yield day
        day += timedelta(days=1)


def time_zone(name: str) -> ZoneInfo:
    """The zone of a schedule's `time_zone`; ValidationError if Cloud Scheduler would refuse it.

    Empty means UTC, and 'utc' in any case is UTC (Google's documentation spells it 'utc').
    """
    if not name or name.lower() == "utc":
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValidationError(
            f"{name!r} is not a time zone of the tz database (e.g. 'UTC', 'Europe/Paris')."
        ) from None


def validate_time_zone(name: str) -> str:
    """`name`, if Cloud Scheduler accepts it as a time zone; else ValidationError."""
    time_zone(name)
    return name


#: {field: (accepts(value), what is allowed)}: Cloud Scheduler's limits on a job's fields.
LIMITS: dict[str, tuple[Any, str]] = {
    "name": (
        lambda v: bool(SCHEDULE_NAME_RE.match(v)),
        "1 to 200 letters, digits, '-' or '_' (it is part of the Cloud Scheduler job id)",
    ),
    "description": (
        lambda v: len(v) <= MAX_DESCRIPTION_LENGTH,
        f"at most {MAX_DESCRIPTION_LENGTH} characters",
    ),
    "retry_count": (lambda v: 0 <= v <= MAX_RETRY_COUNT, f"0 to {MAX_RETRY_COUNT}"),
    "attempt_deadline_seconds": (
        lambda v: _DEADLINE_RANGE[0] <= v <= _DEADLINE_RANGE[1],
        f"{_DEADLINE_RANGE[0]} to {_DEADLINE_RANGE[1]} seconds",
    ),
    "min_backoff_seconds": (lambda v: v >= 0, "0 or more seconds"),
    "max_backoff_seconds": (lambda v: v >= 0, "0 or more seconds"),
    "max_doublings": (lambda v: v >= 0, "0 or more"),
    "max_retry_duration_seconds": (lambda v: v >= 0, "0 or more seconds (0: no limit)"),
}


def limit_problems(values: Mapping[str, Any]) -> dict[str, str]:
    """{field: message} for the `values` outside Cloud Scheduler's limits (fields not given are
    not checked)."""
    found = {
        field: f"{field} must be {allowed}, not {values[field]!r}."
        for field, (accepts, allowed) in LIMITS.items()
        if field in values and not accepts(values[field])
    }
    low, high = values.get("min_backoff_seconds"), values.get("max_backoff_seconds")
    if not found and low is not None and high is not None and low > high:
        found["max_backoff_seconds"] = (
            f"max_backoff_seconds ({high}) must not be below min_backoff_seconds ({low})."
        )
    return found


_TASK_HINT = (
    "Point the schedule at a @task function (or a PeriodicTask subclass) that an installed "
    "app's module defines at module level, or delete the schedule."
)
_ARGUMENTS_HINT = "Make the schedule's args / kwargs match the task's parameters."


def task_problem(task_path: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Problem | None:
    """Why a fire could not run the task at `task_path` with `args` / `kwargs`; None if it can.

    For a `PeriodicTask` (run by `run_periodic_task`, whose first argument is the class path)
    the class and its `run()` are checked.
    """
    try:
        name, signature, leading, own_args = _call_of(task_path, args)
    except TaskNotFound as exc:
        return Problem(TASK_NOT_FOUND, str(exc), _TASK_HINT)
    try:
        signature.bind(*leading, *own_args, **kwargs)
    except TypeError as exc:
        shown = f"args={list(own_args)!r}, kwargs={dict(kwargs)!r}"
        return Problem(
            ARGUMENTS_REJECTED, f"{name}() does not accept {shown}: {exc}.", _ARGUMENTS_HINT
        )
    return None


def _call_of(
    task_path: str, args: Sequence[Any]
) -> tuple[str, inspect.Signature, tuple[None, ...], Sequence[Any]]:
    """What a fire calls: its name and signature, the placeholders for what the runtime passes
    first (a task's context, `run()`'s self), and the schedule's own positional arguments."""
    if task_path != PERIODIC_RUNNER_PATH:
        task = load_task(task_path)
        context = (None,) if task.takes_context else ()
        return task.name, inspect.signature(task.func), context, args
    class_path = args[0] if args else None
    try:
        cls = import_string(class_path) if isinstance(class_path, str) else None
    except ImportError as exc:
        raise TaskNotFound(f"PeriodicTask {class_path!r} cannot be imported: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, PeriodicTask)):
        raise TaskNotFound(f"{class_path!r} is not a PeriodicTask subclass.")
    return f"{cls.__name__}.run", inspect.signature(cls.run), (None,), args[1:]


class ScheduleFields(Protocol):
    """What the rules read of a schedule: a `ScheduledTask` row or a code declaration."""

    name: str
    task_path: str
    args: Sequence[Any]
    kwargs: Mapping[str, Any]
    cron: str | timedelta  # an interval only in a code declaration, before it is stored
    time_zone: str
    description: str
    retry_count: int
    min_backoff_seconds: float
    max_backoff_seconds: float
    max_doublings: int
    attempt_deadline_seconds: float


def _cron_problem(schedule: ScheduleFields) -> Problem | None:
    """Why Cloud Scheduler would refuse the schedule's cron, or cron cannot express its
    interval (naming the `PeriodicTask` class whose `run_every` it is)."""
    what = "the interval"
    if schedule.task_path == PERIODIC_RUNNER_PATH:
        what = f"{execution_task_name(schedule.task_path, schedule.args)}.run_every"
    try:
        if isinstance(schedule.cron, timedelta):
            interval_cron(schedule.cron, what)
        else:
            normalize_cron(schedule.cron)
    except ValidationError as exc:
        label = "" if isinstance(schedule.cron, timedelta) else "cron "
        return Problem(BAD_CRON, f"{label}{exc.messages[0]}", _CRON_HINT)
    return None


def schedule_problems(schedule: ScheduleFields, where: str) -> list[Problem]:
    """Every reason Cloud Scheduler would refuse `schedule` or its fires could not run its task;
    each message names the schedule and `where` it is defined."""
    cron_problem = _cron_problem(schedule)
    found: list[Problem] = [cron_problem] if cron_problem is not None else []
    try:
        time_zone(schedule.time_zone)
    except ValidationError as exc:
        found.append(Problem(BAD_TIME_ZONE, exc.messages[0], _TIME_ZONE_HINT))
    values = {field: getattr(schedule, field) for field in LIMITS if hasattr(schedule, field)}
    found += [Problem(OUT_OF_LIMITS, message) for message in limit_problems(values).values()]
    problem = task_problem(schedule.task_path, schedule.args, schedule.kwargs)
    if problem is not None:
        found.append(problem)
    prefix = f"Schedule {schedule.name!r} ({where})"
    return [Problem(p.id, f"{prefix}: {p.msg}", p.hint) for p in found]
