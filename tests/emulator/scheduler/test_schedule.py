"""Cloud Scheduler schedules: unix-cron and the App Engine style (S1), time zones and the two
DST transitions on the wall clock (S2), in pure functions and through a fired job."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from google.api_core.exceptions import InvalidArgument

from emulator import LocalCloud, VirtualClock
from emulator.scheduler import ScheduleError, parse_schedule, parse_time_zone
from tests.emulator.conftest import RecordingDispatcher
from tests.emulator.scheduler_support import create_job, schedule_times, track_times

MONDAY = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)  # a Monday


def fire_times(schedule: str, after: datetime = MONDAY, zone: str = "UTC", count: int = 3):
    return [
        t.isoformat()
        for t in parse_schedule(schedule).upcoming(after, parse_time_zone(zone), count)
    ]


# ----------------------------------------------------------------------------------- S1


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("*/15 * * * *", ["09:15", "09:30", "09:45"]),
        ("5,20-22 * * * *", ["09:05", "09:20", "09:21"]),
        ("0-30/10 10 * * *", ["10:00", "10:10", "10:20"]),
        ("50/5 9 * * *", ["09:50", "09:55", "09:50+1d"]),
        ("0 9 * * MON-FRI", ["09:00+1d", "09:00+2d", "09:00+3d"]),
        ("0 12 1 jan,Feb *", ["12:00+26d", "12:00+360d", "12:00+391d"]),
        ("0 0 13 * fri", ["00:00+4d", "00:00+7d", "00:00+11d"]),  # either day field (Vixie)
    ],
)
def test_s1_unix_cron_ranges_steps_lists_and_names(schedule, expected):
    def at(text: str) -> str:
        clock, _, days = text.partition("+")
        hour, minute = map(int, clock.split(":"))
        moment = MONDAY.replace(hour=hour, minute=minute) + timedelta(days=int(days[:-1] or 0))
        return moment.isoformat()

    assert fire_times(schedule) == [at(text) for text in expected]


def test_s1_seven_and_zero_are_both_sunday():
    assert fire_times("0 8 * * 7") == fire_times("0 8 * * 0") == fire_times("0 8 * * sun")
    assert fire_times("0 8 * * 7", count=1) == ["2025-01-12T08:00:00+00:00"]
    assert fire_times("0 8 * * 5-7") == [
        "2025-01-10T08:00:00+00:00",
        "2025-01-11T08:00:00+00:00",
        "2025-01-12T08:00:00+00:00",
    ]


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("0 0 L * *", "'L' is not supported"),
        ("0 0 * * 5L", "'L' is not supported"),
        ("0 0 15W * *", "W, #, ? and H are not supported"),
        ("0 0 * * 1#2", "W, #, ? and H are not supported"),
        ("0 0 ? * *", "W, #, ? and H are not supported"),
        ("0 0 * * * 2030", "has 6 field(s); unix-cron needs 5"),
        ("60 * * * *", "minute value 60: it must be between 0 and 59"),
        ("0 24 * * *", "hour value 24"),
        ("0 0 0 * *", "day-of-month value 0"),
        ("0 0 * 13 *", "month value 13"),
        ("0 0 * * 8", "day-of-week value 8"),
        ("0 0 * * moon", "'MOON': use a number 0-7 or a name (SUN-SAT)"),
        ("5-1 * * * *", "the start is after the end"),
        ("*/0 * * * *", "step in '*/0'"),
        ("0 0 31 2 *", "never fires"),
        ("@daily", "send the 5-field cron they stand for"),
        ("", "empty"),
    ],
)
def test_s1_unsupported_cron_is_refused_with_a_clear_message(schedule, message):
    with pytest.raises(ScheduleError, match=re.escape(message)):
        parse_schedule(schedule)


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("every 5 minutes", ["09:05", "09:10", "09:15"]),
        ("every 1 mins", ["09:01", "09:02", "09:03"]),
        ("every 2 hours", ["10:00", "12:00", "14:00"]),
        ("every 6 hours synchronized", ["12:00", "18:00", "00:00+1d"]),
        ("every 45 minutes from 10:00 to 11:30", ["10:00", "10:45", "11:30"]),
        ("every day 00:00", ["00:00+1d", "00:00+2d", "00:00+3d"]),
        ("Every Monday 09:00", ["09:00+7d", "09:00+14d", "09:00+21d"]),
        ("every tue,thursday 17:30", ["17:30+1d", "17:30+3d", "17:30+8d"]),
    ],
)
def test_s1_app_engine_style_schedules(schedule, expected):
    def at(text: str) -> str:
        clock, _, days = text.partition("+")
        hour, minute = map(int, clock.split(":"))
        moment = MONDAY.replace(hour=hour, minute=minute) + timedelta(days=int(days[:-1] or 0))
        return moment.isoformat()

    assert fire_times(schedule) == [at(text) for text in expected]


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("every 1st monday of month 09:00", "not a supported English schedule"),
        ("every 7 minutes synchronized", "must divide 24 hours evenly"),
        ("every 25 hours", "between 1 minute and 24 hours"),
        ("every 10 minutes from 22:00 to 02:00", "windows that cross midnight"),
        ("every monday 24:00", "not a time of day"),
        ("every funday 09:00", "'funday' is not a day of the week"),
    ],
)
def test_s1_unsupported_english_schedules_are_refused(schedule, message):
    with pytest.raises(ScheduleError, match=message):
        parse_schedule(schedule)


def test_s1_an_invalid_schedule_is_invalid_argument_with_googles_message(cloud):
    with pytest.raises(InvalidArgument) as raised:
        create_job(cloud.scheduler, schedule="0 0 L * *")

    assert raised.value.message.startswith("Schedule or time zone is invalid. ")
    assert "'L' is not supported" in raised.value.message


def test_s1_minute_granularity_and_firing_on_the_virtual_clock(clock, cloud, dispatcher):
    clock.advance(timedelta(seconds=30))
    times = track_times(dispatcher, clock)
    create_job(cloud.scheduler, schedule="*/15 * * * *")

    assert cloud.advance(hours=1) == 4
    assert times == [MONDAY + timedelta(minutes=m) for m in (15, 30, 45, 60)]
    assert schedule_times(dispatcher) == [
        "2025-01-06T09:15:00Z",
        "2025-01-06T09:30:00Z",
        "2025-01-06T09:45:00Z",
        "2025-01-06T10:00:00Z",
    ]


# ----------------------------------------------------------------------------------- S2


def test_s2_schedules_follow_the_wall_clock_of_the_time_zone():
    winter = datetime(2025, 1, 6, tzinfo=UTC)
    summer = datetime(2025, 7, 7, tzinfo=UTC)

    assert fire_times("0 9 * * *", winter, "Europe/Paris", 1) == ["2025-01-06T08:00:00+00:00"]
    assert fire_times("0 9 * * *", summer, "Europe/Paris", 1) == ["2025-07-07T07:00:00+00:00"]
    assert fire_times("0 9 * * *", winter, "America/New_York", 1) == ["2025-01-06T14:00:00+00:00"]


@pytest.mark.parametrize(
    ("zone", "day", "expected"),
    [
        # 02:30 does not exist: clocks jump 02:00 -> 03:00 (07:00Z / 01:00Z).
        ("America/New_York", datetime(2025, 3, 8, tzinfo=UTC), "2025-03-09T07:00:00+00:00"),
        ("Europe/Paris", datetime(2025, 3, 29, tzinfo=UTC), "2025-03-30T01:00:00+00:00"),
    ],
)
def test_s2_spring_forward_fires_once_after_the_jump(zone, day, expected):
    before, during, after = fire_times("30 2 * * *", day, zone)

    assert during == expected
    assert before < during < after
    assert datetime.fromisoformat(after) - datetime.fromisoformat(during) == timedelta(hours=23.5)


@pytest.mark.parametrize(
    ("zone", "day", "schedule", "expected"),
    [
        # 01:30 happens twice (EDT, then EST): the first one (05:30Z) fires, 06:30Z does not.
        ("America/New_York", datetime(2025, 11, 2, tzinfo=UTC), "30 1 * * *", "05:30"),
        # 02:30 happens twice (CEST, then CET): the first one (00:30Z) fires.
        ("Europe/Paris", datetime(2025, 10, 26, tzinfo=UTC), "30 2 * * *", "00:30"),
    ],
)
def test_s2_fall_back_fires_once_at_the_first_occurrence(zone, day, schedule, expected):
    first, second = fire_times(schedule, day, zone, 2)

    assert first == day.replace(hour=int(expected[:2]), minute=30).isoformat()
    assert datetime.fromisoformat(second) - datetime.fromisoformat(first) == timedelta(hours=25)


@pytest.mark.parametrize(
    ("start", "gap_or_repeat"),
    [
        # Spring forward: local 02:00-02:45 do not exist; they and 03:00 fire once, at 07:00Z.
        (datetime(2025, 3, 9, 6, 0, tzinfo=UTC), ["06:15", "06:30", "06:45", "07:00", "07:15"]),
        # Fall back: 01:00-01:45 repeat; only the first pass (05:xxZ) fires, then 02:00 EST.
        (datetime(2025, 11, 2, 5, 0, tzinfo=UTC), ["05:15", "05:30", "05:45", "07:00", "07:15"]),
    ],
)
def test_s2_quarter_hours_across_both_new_york_transitions(start, gap_or_repeat):
    clock = VirtualClock(start)
    dispatcher = RecordingDispatcher(200)
    cloud = LocalCloud(clock, dispatcher)
    create_job(cloud.scheduler, schedule="*/15 * * * *", time_zone="America/New_York")

    cloud.advance(hours=2, minutes=15)

    fired = [t[11:16] for t in schedule_times(dispatcher)]
    assert fired[:5] == gap_or_repeat
    assert len(fired) == len(set(fired))  # no slot fires twice


def test_s2_time_zone_default_and_invalid(cloud):
    assert create_job(cloud.scheduler, "a").time_zone == "Etc/UTC"
    assert create_job(cloud.scheduler, "b", time_zone="utc").time_zone == "utc"
    assert create_job(cloud.scheduler, "c", time_zone="Asia/Kolkata").time_zone == "Asia/Kolkata"
    with pytest.raises(InvalidArgument, match="'Asia/Mumbai' is not a tz database time zone"):
        create_job(cloud.scheduler, "d", time_zone="Asia/Mumbai")
    with pytest.raises(InvalidArgument, match="Schedule or time zone is invalid"):
        create_job(cloud.scheduler, "e", time_zone="../etc/passwd")


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # Spring forward on 30 March: 02:30 is skipped, fired at 03:00 CEST (01:00Z).
        (
            datetime(2025, 3, 28, 12, tzinfo=UTC),
            ["2025-03-29T01:30:00Z", "2025-03-30T01:00:00Z", "2025-03-31T00:30:00Z"],
        ),
        # Fall back on 26 October: 02:30 happens twice, fired the first time (CEST, 00:30Z).
        (
            datetime(2025, 10, 24, 12, tzinfo=UTC),
            ["2025-10-25T00:30:00Z", "2025-10-26T00:30:00Z", "2025-10-27T01:30:00Z"],
        ),
    ],
)
def test_s2_a_paris_job_fires_once_on_both_transition_nights(start, expected):
    dispatcher = RecordingDispatcher(200)
    cloud = LocalCloud(VirtualClock(start), dispatcher)
    create_job(cloud.scheduler, schedule="30 2 * * *", time_zone="Europe/Paris")

    cloud.advance(days=3)

    assert schedule_times(dispatcher) == expected
