"""Job schedules (S1) and their fire times in a time zone, on wall-clock time (S2).

Two notations are accepted:

- 5-field unix-cron ``minute hour day-of-month month day-of-week``: ``*``, values, ranges
  (``1-5``), steps (``*/15``, ``0-30/10``, ``5/20`` = ``5-59/20``), lists (``1,15``), month names
  ``JAN``-``DEC`` and day names ``SUN``-``SAT`` (any case), ``0`` and ``7`` both Sunday. As in
  Vixie cron, when both day fields are restricted (neither starts with ``*``) a day matching
  either one fires. ``L``, ``W``, ``#``, ``?``, ``H``, six-field cron and ``@daily``-style macros
  are refused.
- The App Engine ("English") subset: ``every N minutes|hours [from HH:MM to HH:MM |
  synchronized]`` (slots at ``from`` + k*N within the day, ``from`` defaulting to 00:00, so
  ``every 5 minutes`` fires at :00, :05, ...), ``every day HH:MM`` and
  ``every monday[,wednesday...] HH:MM`` (full or three-letter day names).

A schedule is a set of minutes of the local day and a rule for which days match. Fire times
are computed on the local wall clock, then mapped to UTC: a local time skipped by a
spring-forward fires once, at the first instant after the jump; a local time repeated by a
fall-back fires once, at its first occurrence. Errors are ``ScheduleError`` (a ValueError)
with a message naming the problem.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIME_ZONE = "UTC"
MINUTES_PER_DAY = 24 * 60
SEARCH_DAYS = 366 * 8 + 2
"""How far ahead (or back) a fire time is looked for; covers Feb 29 across a skipped leap year."""

_MAX_OFFSET_CHANGE = timedelta(hours=3)
"""More than any tz database offset change (DST shifts are at most 2 h), so a window widened by
it never misses a local time whose UTC instant is near the one searched from."""

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_FULL_DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
_ALL_DAYS = frozenset(range(7))
_ALL_MONTHS = frozenset(range(1, 13))
_ALL_MONTH_DAYS = frozenset(range(1, 32))

_CRON_ITEM = re.compile(r"(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/([0-9]+))?")
_CLOCK_TIME = r"([0-9]{1,2}):([0-9]{2})"
_INTERVAL = re.compile(
    r"every ([0-9]+) (minutes?|mins?|hours?|hrs?)"
    rf"(?: (synchronized)| from {_CLOCK_TIME} to {_CLOCK_TIME})?"
)
_DAILY = re.compile(rf"every ([a-z,]+) {_CLOCK_TIME}")


class ScheduleError(ValueError):
    """A schedule or time zone the emulator does not accept; the message says why."""


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    names_start: int = 0


_CRON_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, _MONTHS, 1),
    _Field("day-of-week", 0, 7, _DAYS, 0),
)


@dataclass(frozen=True)
class Schedule:
    """When a job fires: minutes of the local day, on the days that match."""

    text: str
    minutes: tuple[int, ...]  # minutes after local midnight, ascending
    months: frozenset[int] = _ALL_MONTHS
    month_days: frozenset[int] = _ALL_MONTH_DAYS
    week_days: frozenset[int] = _ALL_DAYS  # 0 = Sunday
    either_day: bool = False  # both day fields restricted: a day matching either one fires

    def matches_day(self, day: date) -> bool:
        """True if ``day`` (a local date) has fire times."""
        if day.month not in self.months:
            return False
        in_month = day.day in self.month_days
        in_week = (day.weekday() + 1) % 7 in self.week_days
        return in_month or in_week if self.either_day else in_month and in_week

    def next_after(self, after: datetime, tz: ZoneInfo) -> datetime | None:
        """The first fire time (UTC) strictly after ``after``, or None if there is none."""
        start = _wall(after, tz) - _MAX_OFFSET_CHANGE
        for local in self._local_times(start, forward=True):
            instant = wall_to_utc(local, tz)
            if instant > after:
                return instant
        return None

    def latest_at_or_before(self, moment: datetime, tz: ZoneInfo) -> datetime | None:
        """The last fire time (UTC) at or before ``moment``, or None if there is none."""
        start = _wall(moment, tz) + _MAX_OFFSET_CHANGE
        for local in self._local_times(start, forward=False):
            instant = wall_to_utc(local, tz)
            if instant <= moment:
                return instant
        return None

    def upcoming(self, after: datetime, tz: ZoneInfo, count: int) -> list[datetime]:
        """The next ``count`` fire times (UTC) after ``after``, fewer if the schedule runs out."""
        times: list[datetime] = []
        while len(times) < count and (after := self.next_after(after, tz)) is not None:
            times.append(after)
        return times

    def _local_times(self, start: datetime, *, forward: bool) -> Iterator[datetime]:
        """Local fire times from ``start`` (inclusive) on, in order, within ``SEARCH_DAYS``."""
        step = timedelta(days=1 if forward else -1)
        day = start.date()
        start_minute = start.hour * 60 + start.minute
        for offset in range(SEARCH_DAYS):
            if self.matches_day(day):
                if offset == 0 and forward:
                    minutes = self.minutes[bisect.bisect_left(self.minutes, start_minute) :]
                elif offset == 0:
                    minutes = self.minutes[: bisect.bisect_right(self.minutes, start_minute)][::-1]
                else:
                    minutes = self.minutes if forward else self.minutes[::-1]
                midnight = datetime.combine(day, time())
                for minute in minutes:
                    yield midnight + timedelta(minutes=minute)
            day += step


def wall_to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant of the naive local time ``local`` in ``tz`` (S2).

    A repeated local time maps to its first occurrence; a skipped one to the instant the clocks
    jumped (the first instant after the gap).
    """
    first = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if _wall(first, tz) == local:
        return first
    # In a gap, fold=1 reads the time with the offset after the jump (an instant before it)
    # and fold=0 with the offset before the jump (an instant after it).
    before = int(local.replace(tzinfo=tz, fold=1).timestamp())
    after = int(first.timestamp())
    while after - before > 1:
        middle = (before + after) // 2
        if _wall(datetime.fromtimestamp(middle, UTC), tz) < local:
            before = middle
        else:
            after = middle
    return datetime.fromtimestamp(after, UTC)


def parse_time_zone(name: str) -> ZoneInfo:
    """A tz database zone; empty means UTC, and ``utc`` is accepted in any case (S2)."""
    if not name or name.lower() == "utc":
        return ZoneInfo(DEFAULT_TIME_ZONE)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ScheduleError(
            f"{name!r} is not a tz database time zone (e.g. 'Europe/Paris', 'UTC')."
        ) from None


def parse_schedule(text: str) -> Schedule:
    """Parse a unix-cron or App Engine schedule (S1); ScheduleError if not accepted."""
    normalized = " ".join(text.lower().split())
    if not normalized:
        raise ScheduleError("The schedule is empty.")
    if normalized.startswith("@"):
        raise ScheduleError(
            f"{text.strip()!r}: macros such as @daily are not part of the Cloud Scheduler API; "
            "send the 5-field cron they stand for (e.g. '0 0 * * *')."
        )
    if normalized.startswith("every "):
        return _parse_english(text.strip(), normalized)
    return _parse_cron(text.strip(), normalized)


# ------------------------------------------------------------------------------ unix-cron


def _parse_cron(text: str, normalized: str) -> Schedule:
    fields = normalized.split(" ")
    if len(fields) != 5:
        raise ScheduleError(
            f"{text!r} has {len(fields)} field(s); unix-cron needs 5: "
            "minute hour day-of-month month day-of-week."
        )
    minutes, hours, month_days, months, week_days = (
        _parse_field(value, spec) for value, spec in zip(fields, _CRON_FIELDS, strict=True)
    )
    week_days = frozenset(day % 7 for day in week_days)  # 7 is Sunday too
    schedule = Schedule(
        text=text,
        minutes=tuple(sorted(hour * 60 + minute for hour in hours for minute in minutes)),
        months=frozenset(months),
        month_days=frozenset(month_days),
        week_days=week_days,
        either_day=not fields[2].startswith("*") and not fields[4].startswith("*"),
    )
    if not any(schedule.matches_day(date(2024, month, day)) for month, day in _leap_year()):
        raise ScheduleError(f"{text!r} never fires (no calendar day matches it).")
    return schedule


def _parse_field(value: str, field: _Field) -> set[int]:
    chosen: set[int] = set()
    for item in value.split(","):
        match = _CRON_ITEM.fullmatch(item)
        if match is None:
            raise ScheduleError(
                f"Invalid {field.name} field {value!r}: use *, numbers, ranges (a-b), steps (/n) "
                "and lists (a,b); W, #, ? and H are not supported."
            )
        span, step_text = match.groups()
        if span == "*":
            low, high = field.low, field.high
        elif "-" in span:
            first, last = span.split("-")
            low, high = _cron_value(first, field), _cron_value(last, field)
            if low > high:
                raise ScheduleError(
                    f"Invalid {field.name} range {span!r}: the start is after the end."
                )
        else:
            low = _cron_value(span, field)
            high = field.high if step_text is not None else low
        step = int(step_text) if step_text is not None else 1
        if step < 1:
            raise ScheduleError(f"Invalid {field.name} step in {item!r}: it must be at least 1.")
        chosen.update(range(low, high + 1, step))
    return chosen


def _cron_value(token: str, field: _Field) -> int:
    if token.isdigit():
        number = int(token)
    elif token in field.names:
        number = field.names.index(token) + field.names_start
    elif "l" in token:
        raise ScheduleError(f"Invalid {field.name} value {token.upper()!r}: 'L' is not supported.")
    else:
        hint = ""
        if field.names:
            hint = f" or a name ({field.names[0].upper()}-{field.names[-1].upper()})"
        raise ScheduleError(
            f"Invalid {field.name} value {token.upper()!r}: use a number "
            f"{field.low}-{field.high}{hint}; W, #, ? and H are not supported."
        )
    if not field.low <= number <= field.high:
        raise ScheduleError(
            f"Invalid {field.name} value {number}: it must be between {field.low} and {field.high}."
        )
    return number


def _leap_year() -> Iterator[tuple[int, int]]:
    for month in range(1, 13):
        for day in range(1, 32):
            try:
                date(2024, month, day)
            except ValueError:
                continue
            yield month, day


# ------------------------------------------------------------------------ App Engine style

_ENGLISH_HELP = (
    "the emulator accepts 'every N minutes|hours [from HH:MM to HH:MM | synchronized]', "
    "'every day HH:MM' and 'every monday[,tuesday...] HH:MM'"
)


def _parse_english(text: str, normalized: str) -> Schedule:
    if match := _INTERVAL.fullmatch(normalized):
        count, unit, synchronized, *window = match.groups()
        return _interval(text, int(count), unit.startswith(("h",)), bool(synchronized), window)
    if match := _DAILY.fullmatch(normalized):
        days_text, hour, minute = match.groups()
        minute_of_day = _clock_minute(text, hour, minute)
        if days_text == "day":
            return Schedule(text=text, minutes=(minute_of_day,))
        return Schedule(text=text, minutes=(minute_of_day,), week_days=_week_days(text, days_text))
    raise ScheduleError(f"{text!r} is not a supported English schedule: {_ENGLISH_HELP}.")


def _interval(
    text: str, count: int, hours: bool, synchronized: bool, window: list[str | None]
) -> Schedule:
    every = count * 60 if hours else count
    if not 1 <= every <= MINUTES_PER_DAY:
        raise ScheduleError(f"{text!r}: the interval must be between 1 minute and 24 hours.")
    if synchronized and MINUTES_PER_DAY % every:
        raise ScheduleError(f"{text!r}: a synchronized interval must divide 24 hours evenly.")
    first, last = 0, MINUTES_PER_DAY - 1
    if window[0] is not None:
        first = _clock_minute(text, window[0], window[1])
        last = _clock_minute(text, window[2], window[3])
        if first > last:
            raise ScheduleError(
                f"{text!r}: the 'from' time must not be after the 'to' time (windows that "
                "cross midnight are not supported)."
            )
    return Schedule(text=text, minutes=tuple(range(first, last + 1, every)))


def _clock_minute(text: str, hour: str | None, minute: str | None) -> int:
    assert hour is not None and minute is not None
    if not (0 <= int(hour) <= 23 and 0 <= int(minute) <= 59):
        raise ScheduleError(f"{text!r}: {hour}:{minute} is not a time of day (00:00-23:59).")
    return int(hour) * 60 + int(minute)


def _week_days(text: str, days_text: str) -> frozenset[int]:
    days = set()
    for name in days_text.split(","):
        if name in _FULL_DAYS:
            days.add(_FULL_DAYS.index(name))
        elif name in _DAYS:
            days.add(_DAYS.index(name))
        else:
            raise ScheduleError(f"{text!r}: {name!r} is not a day of the week; {_ENGLISH_HELP}.")
    return frozenset(days)


def _wall(moment: datetime, tz: ZoneInfo) -> datetime:
    """The naive local wall-clock time of ``moment`` in ``tz``."""
    return moment.astimezone(tz).replace(tzinfo=None)
