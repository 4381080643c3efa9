"""Intervals (`run_every = timedelta(...)`, `@periodic(timedelta(...))`): the cron each becomes,
and the refusal of those cron cannot express, wherever a bad cron is reported."""

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from google.cloud import scheduler_v1

from tasks_google import periodic, schedule_task
from tasks_google.framework import TaskResultStatus
from tasks_google.models import ScheduledTask, ScheduleFire, TaskExecution
from tasks_google.scheduling import declarations
from tasks_google.scheduling.rules import interval_cron
from tasks_google.testing import emulated
from tests.tasks_google import tasks

CLASS = "tests.tasks_google.periodic_classes.Heartbeat"
#: What every refusal lists, and suggests instead.
EXPRESSIBLE = (
    "which Cloud Scheduler's cron cannot express exactly: it can fire every 1, 2, 3, 4, 5, 6, "
    "10, 12, 15, 20 or 30 minutes, every 1, 2, 3, 4, 6, 8 or 12 hours, or every day. Give one "
    "of those, or write a cron string instead."
)


@pytest.fixture(autouse=True)
def only_this_tests_declarations(monkeypatch):
    monkeypatch.setattr(declarations, "_declared", {})
    # A first import declares every class there; only what a test declares is wanted.
    import tests.tasks_google.periodic_classes  # noqa: F401

    declarations._declared.clear()


def declare_heartbeat(every: timedelta | None = None) -> None:
    """Declare the Heartbeat class, with another `run_every` if given."""
    from tests.tasks_google.periodic_classes import Heartbeat

    declarations.declare_class(Heartbeat)
    if every is not None:
        heartbeat = declarations.declared_schedules()["Heartbeat"]
        declarations.declare(replace(heartbeat, cron=every))


def schedule_tasks(*args: str) -> tuple[list[str], list[str]]:
    out, err = io.StringIO(), io.StringIO()
    call_command("schedule_tasks", *args, stdout=out, stderr=err)
    return out.getvalue().splitlines(), err.getvalue().splitlines()


@pytest.mark.parametrize(
    ("every", "cron"),
    [
        (timedelta(minutes=1), "* * * * *"),
        *[(timedelta(minutes=n), f"*/{n} * * * *") for n in (2, 3, 4, 5, 6, 10, 12, 15, 20, 30)],
        (timedelta(minutes=60), "0 * * * *"),
        (timedelta(hours=1), "0 * * * *"),
        *[(timedelta(hours=n), f"0 */{n} * * *") for n in (2, 3, 4, 6, 8, 12)],
        (timedelta(hours=24), "0 0 * * *"),
        (timedelta(days=1), "0 0 * * *"),
    ],
)
def test_each_interval_cron_expresses_becomes_its_cron(every, cron):
    assert interval_cron(every) == cron


@pytest.mark.parametrize(
    ("every", "shown"),
    [
        (timedelta(minutes=7), "7 minutes"),
        (timedelta(minutes=90), "90 minutes"),
        (timedelta(minutes=45), "45 minutes"),
        (timedelta(hours=5), "5 hours"),
        (timedelta(hours=36), "36 hours"),
        (timedelta(days=2), "2 days"),
        (timedelta(weeks=1), "7 days"),
        (timedelta(seconds=30), "30 seconds"),
        (timedelta(minutes=5, seconds=1), "301 seconds"),
        (timedelta(0), "0 seconds"),
        (timedelta(minutes=-5), "-5 minutes"),
    ],
)
def test_other_intervals_are_refused_listing_what_cron_can_express(every, shown):
    with pytest.raises(ValidationError) as refused:
        interval_cron(every, "Heartbeat.run_every")
    assert refused.value.messages == [f"Heartbeat.run_every is {shown}, {EXPRESSIBLE}"]


@pytest.mark.django_db
def test_the_check_reports_a_refused_interval_as_a_bad_cron_naming_the_class():
    declare_heartbeat(timedelta(minutes=7))
    periodic(timedelta(hours=5), name="five-hourly")(tasks.noop_task)
    periodic(timedelta(minutes=15), name="quarterly")(tasks.noop_task)
    found = [(m.id, m.msg) for m in run_checks(tags=["schedules"])]
    assert found == [
        (
            "tasks_google.E101",
            "Schedule 'Heartbeat' (declared in tests.tasks_google.periodic_classes): "
            f"{CLASS}.run_every is 7 minutes, {EXPRESSIBLE}",
        ),
        (
            "tasks_google.E101",
            "Schedule 'five-hourly' (declared in tests.tasks_google.tasks): the interval is "
            f"5 hours, {EXPRESSIBLE}",
        ),
    ]


def test_a_class_declared_with_a_refused_interval_is_reported_by_the_check():
    from tasks_google import PeriodicTask

    class EverySevenMinutes(PeriodicTask):
        run_every = timedelta(minutes=7)

        def run(self) -> None: ...

    class Never(PeriodicTask):  # a zero interval declares a schedule too, which is refused
        run_every = timedelta(0)

        def run(self) -> None: ...

    messages = [m.msg for m in run_checks(tags=["schedules"]) if m.id == "tasks_google.E101"]
    here = "tests.tasks_google.scheduling.test_intervals"
    local = f"{here}.test_a_class_declared_with_a_refused_interval_is_reported_by_the_check"
    assert messages == [
        f"Schedule 'EverySevenMinutes' (declared in {here}): "
        f"{local}.<locals>.EverySevenMinutes.run_every is 7 minutes, {EXPRESSIBLE}",
        f"Schedule 'Never' (declared in {here}): "
        f"{local}.<locals>.Never.run_every is 0 seconds, {EXPRESSIBLE}",
    ]


@pytest.mark.django_db
def test_the_plan_shows_the_cron_of_an_interval_and_refuses_the_others(tasks_emulator):
    declare_heartbeat()
    periodic(timedelta(hours=6), name="six-hourly")(tasks.noop_task)
    assert schedule_tasks("--dry-run")[0] == [
        "[+] Heartbeat (*/30 * * * *, UTC)",
        "[+] six-hourly (0 */6 * * *, UTC)",
        "2 change(s) planned; nothing applied (--dry-run).",
    ]
    schedule_tasks()
    assert ScheduledTask.objects.get(name="Heartbeat").cron == "*/30 * * * *"
    assert schedule_tasks()[0][:2] == [
        "[=] Heartbeat (*/30 * * * *, UTC)",
        "[=] six-hourly (0 */6 * * *, UTC)",
    ]

    declare_heartbeat(timedelta(minutes=90))
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 problem"):
        call_command("schedule_tasks", stdout=io.StringIO(), stderr=err)
    assert err.getvalue().splitlines() == [
        "[!] Schedule 'Heartbeat' (declared in tests.tasks_google.periodic_classes): "
        f"{CLASS}.run_every is 90 minutes, {EXPRESSIBLE} (tasks_google.E101)"
    ]
    # The job and its row stay as they were; the listing shows the refused interval.
    assert ScheduledTask.objects.get(name="Heartbeat").cron == "*/30 * * * *"
    listed = [line for line in schedule_tasks("--list")[0] if line.startswith("Heartbeat\t")]
    assert listed[0].startswith("Heartbeat\t1:30:00\tUTC\tENABLED\tnext never ")


@pytest.mark.django_db
def test_schedule_task_takes_an_interval_and_refuses_the_others(tasks_emulator):
    row = schedule_task("tick", tasks.noop_task, timedelta(minutes=10))
    assert row.cron == "*/10 * * * *"
    job = tasks_emulator.cloud.scheduler.get_job(
        scheduler_v1.GetJobRequest(name=row.remote_job_name)
    )
    assert job.schedule == "*/10 * * * *"
    with pytest.raises(ValidationError) as refused:
        schedule_task("tock", tasks.noop_task, timedelta(minutes=7))
    assert refused.value.messages == [
        f"the interval of schedule 'tock' is 7 minutes, {EXPRESSIBLE}"
    ]
    assert not ScheduledTask.objects.filter(name="tock").exists()


@pytest.mark.django_db
def test_a_periodic_task_with_an_interval_runs_at_each_slot():
    from tests.tasks_google.periodic_classes import HEARTBEAT_FIRES

    HEARTBEAT_FIRES.clear()
    declare_heartbeat()
    with emulated(start=datetime(2026, 1, 5, 7, 58, tzinfo=UTC)) as cloud:
        schedule_tasks()
        cloud.advance(minutes=33)  # the 08:00 and 08:30 slots
        cloud.run_until_idle()
    slots = [datetime(2026, 1, 5, 8, minute, tzinfo=UTC) for minute in (0, 30)]
    fires = ScheduleFire.objects.filter(job_name="Heartbeat").order_by("schedule_time")
    assert [fire.schedule_time for fire in fires] == slots
    assert [TaskExecution.objects.get(pk=fire.execution_id).status for fire in fires] == [
        TaskResultStatus.SUCCESSFUL
    ] * 2
    assert [fire.schedule_time for fire in HEARTBEAT_FIRES] == slots
