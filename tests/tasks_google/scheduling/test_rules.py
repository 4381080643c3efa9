"""The schedule rules follow what Cloud Scheduler (the emulator) accepts: one verdict per cron."""

import pytest
from django.core.exceptions import ValidationError

from emulator.scheduler import ScheduleError, parse_schedule, parse_time_zone
from tasks_google.scheduling.rules import CRON_MACROS, normalize_cron, time_zone

CRONS = [
    "0 9 * * 1-5",
    "*/15 * * * *",
    "0,30 9-17 * * MON-FRI",
    "0 0 * jan,feb *",
    "5/20 * * * *",
    "0 12 * * mon/2",
    "0 0 * * sun-sat",
    "0 0 * * 0-7",
    "0 0 * * 7",
    "0 0 1-31/2 * *",
    "0 0 29 2 *",
    "0 0 31 2 1",  # both day fields: Mondays in February fire
    "*/100 * * * *",
    "61 * * * *",
    "0 24 * * *",
    "0 0 0 * *",
    "0 0 * 13 *",
    "0 0 * * 8",
    "0-70 * * * *",
    "*/0 * * * *",
    "1-0 * * * *",
    "0 0 * * fri-mon",
    "0 0 31 2 *",
    "0 0 30 2 *",
    "0 0 * * 1#2",
    "0 0 ? * *",
    "H * * * *",
    "R * * * *",
    "0 0 1W * *",
    "0 0 L * *",
    "0 0 * * 5L",
    "0 0 * foo *",
    "* * * * * *",
    "* * * *",
    "",
]


def emulator_accepts(cron: str) -> bool:
    try:
        parse_schedule(cron)
    except ScheduleError:
        return False
    return True


def rules_accept(cron: str) -> bool:
    try:
        normalize_cron(cron)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("cron", CRONS)
def test_a_cron_is_accepted_exactly_when_cloud_scheduler_accepts_it(cron):
    assert rules_accept(cron) == emulator_accepts(cron)


@pytest.mark.parametrize("macro", sorted(CRON_MACROS))
def test_shorthands_become_a_cron_cloud_scheduler_accepts(macro):
    assert emulator_accepts(normalize_cron(macro))


@pytest.mark.parametrize(
    "name", ["UTC", "utc", "", "Europe/Paris", "Asia/Tokyo", "Mars/Olympus", "Europe", "../etc"]
)
def test_a_time_zone_is_accepted_exactly_when_cloud_scheduler_accepts_it(name):
    try:
        parse_time_zone(name)
        expected = True
    except ScheduleError:
        expected = False
    try:
        time_zone(name)
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted == expected
