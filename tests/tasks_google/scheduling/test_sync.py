"""`manage.py schedule_tasks`: plan, apply, idempotence, renames, namespace, runbook operations."""

import io
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from google.cloud import scheduler_v1

from emulator.kit.faults import FaultRule, RpcError
from tasks_google import periodic, schedule_task
from tasks_google.framework import TaskResultStatus
from tasks_google.models import ScheduledTask, TaskExecution
from tasks_google.scheduling import declarations
from tests.settings import TASKS
from tests.tasks_google import bad_schedules_project, tasks

pytestmark = pytest.mark.django_db
JOBS = "projects/demo-project/locations/us-central1/jobs"
NOOP = "tests.tasks_google.tasks.noop_task"
MEANING = "tests.tasks_google.tasks.calculate_meaning_of_life"
HERE = "declared in tests.tasks_google.tasks"


@pytest.fixture(autouse=True)
def only_this_tests_declarations(monkeypatch):
    monkeypatch.setattr(declarations, "_declared", {})


def run(*args) -> list[str]:
    out = io.StringIO()
    call_command("schedule_tasks", *args, stdout=out)
    return out.getvalue().splitlines()


def run_refused(*args) -> tuple[str, list[str], list[str]]:
    """The CommandError message, stdout lines and stderr lines of a refused run."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("schedule_tasks", *args, stdout=out, stderr=err)
    return str(refused.value), out.getvalue().splitlines(), err.getvalue().splitlines()


def remote_jobs(cloud) -> dict:
    parent = "projects/demo-project/locations/us-central1"
    page = cloud.cloud.scheduler.list_jobs(scheduler_v1.ListJobsRequest(parent=parent))
    return {job.name.rsplit("/", 1)[-1]: job for job in page.jobs}


def test_plan_then_apply_then_nothing_to_do(tasks_emulator):
    periodic("*/10 * * * *", name="tick")(tasks.noop_task)
    ScheduledTask.objects.create(name="from-admin", task_path=NOOP, cron="0 1 * * *")
    # Each line shows the cron and time zone Cloud Scheduler gets.
    assert run("--dry-run") == [
        "[+] from-admin (0 1 * * *, UTC)",
        "[+] tick (*/10 * * * *, UTC)",
        "2 change(s) planned; nothing applied (--dry-run).",
    ]
    assert remote_jobs(tasks_emulator) == {}
    assert run()[-1] == "2 change(s) applied."
    assert set(remote_jobs(tasks_emulator)) == {"tick", "from-admin"}
    assert ScheduledTask.objects.get(name="tick").declared_in_code
    # Idempotent: a second run plans nothing.
    assert run() == [
        "[=] from-admin (0 1 * * *, UTC)",
        "[=] tick (*/10 * * * *, UTC)",
        "0 change(s) applied.",
    ]


def test_updates_show_the_fields_that_differ_and_are_applied(tasks_emulator):
    periodic("*/10 * * * *", name="tick")(tasks.noop_task)
    run()
    declarations._declared.clear()
    periodic("*/5 * * * *", name="tick", time_zone="Asia/Tokyo")(tasks.noop_task)
    assert run("--dry-run")[0] == "[~] tick (*/5 * * * *, Asia/Tokyo): schedule, time zone"
    run()
    job = remote_jobs(tasks_emulator)["tick"]
    assert (job.schedule, job.time_zone) == ("*/5 * * * *", "Asia/Tokyo")
    assert run()[0] == "[=] tick (*/5 * * * *, Asia/Tokyo)"


def test_renaming_deletes_the_old_job(tasks_emulator):
    periodic("*/10 * * * *", name="old-name")(tasks.noop_task)
    run()
    declarations._declared.clear()
    periodic("*/10 * * * *", name="new-name")(tasks.noop_task)
    assert run("--dry-run")[:2] == [
        "[+] new-name (*/10 * * * *, UTC)",
        "[-] old-name (*/10 * * * *, UTC)",
    ]
    run()
    assert set(remote_jobs(tasks_emulator)) == {"new-name"}
    assert list(ScheduledTask.objects.values_list("name", flat=True)) == ["new-name"]


def test_only_this_projects_namespace_is_touched(tasks_emulator, settings):
    options = {**TASKS["default"]["OPTIONS"], "schedule_job_prefix": "shop--"}
    settings.TASKS = {**TASKS, "default": {**TASKS["default"], "OPTIONS": options}}
    parent = "projects/demo-project/locations/us-central1"
    tasks_emulator.cloud.scheduler.create_job(
        scheduler_v1.CreateJobRequest(
            parent=parent,
            job=scheduler_v1.Job(
                name=f"{parent}/jobs/billing--invoices",
                schedule="0 0 * * *",
                http_target=scheduler_v1.HttpTarget(uri="https://billing.example/run"),
            ),
        )
    )
    periodic("*/10 * * * *", name="tick")(tasks.noop_task)
    assert run("--dry-run")[0] == "[+] shop--tick (*/10 * * * *, UTC)"
    run()
    assert set(remote_jobs(tasks_emulator)) == {"billing--invoices", "shop--tick"}
    declarations._declared.clear()
    assert run()[0] == "[-] shop--tick (*/10 * * * *, UTC)"
    assert set(remote_jobs(tasks_emulator)) == {"billing--invoices"}


def test_without_affixes_the_jobs_posting_to_schedule_url_are_this_projects(
    tasks_emulator, settings
):
    options = {**TASKS["default"]["OPTIONS"], "schedule_url": "https://cron.example/fire/"}
    settings.TASKS = {**TASKS, "default": {**TASKS["default"], "OPTIONS": options}}
    parent = "projects/demo-project/locations/us-central1"
    # Another deployment's job, posting to this base_url's default schedule/ path.
    tasks_emulator.cloud.scheduler.create_job(
        scheduler_v1.CreateJobRequest(
            parent=parent,
            job=scheduler_v1.Job(
                name=f"{parent}/jobs/other",
                schedule="0 0 * * *",
                http_target=scheduler_v1.HttpTarget(uri="http://app.test/tasks/schedule/"),
            ),
        )
    )
    periodic("*/10 * * * *", name="tick")(tasks.noop_task)
    run()
    assert remote_jobs(tasks_emulator)["tick"].http_target.uri == "https://cron.example/fire/"
    declarations._declared.clear()
    assert run()[0] == "[-] tick (*/10 * * * *, UTC)"
    assert set(remote_jobs(tasks_emulator)) == {"other"}


def test_periodic_task_class_runs_through_django_tasks(tasks_emulator):
    from tests.tasks_google.periodic_classes import CleanupSessions

    # Declared at import (when this test imports it first, along with the others there).
    declarations._declared.clear()
    declarations.declare_class(CleanupSessions)
    assert run()[0] == "[+] CleanupSessions (0 * * * *, Europe/Paris)"
    job = remote_jobs(tasks_emulator)["CleanupSessions"]
    assert (job.schedule, job.time_zone) == ("0 * * * *", "Europe/Paris")
    run("--run", "CleanupSessions")
    tasks_emulator.run_until_idle()
    [execution] = TaskExecution.objects.all()
    assert execution.status == TaskResultStatus.SUCCESSFUL
    assert execution.return_value == "cleaned sessions older than 30 days"


def test_eager_runs_each_declared_task_once_locally():
    periodic("*/10 * * * *", name="meaning")(tasks.calculate_meaning_of_life)
    assert run("--eager") == ["meaning: 42"]


def test_pause_resume_and_list(tasks_emulator):
    schedule_task("nightly", tasks.noop_task, "0 2 * * *")
    run("--pause", "nightly")
    assert remote_jobs(tasks_emulator)["nightly"].state == scheduler_v1.Job.State.PAUSED
    assert "PAUSED" in run("--list")[0]
    run("--resume", "nightly")
    assert remote_jobs(tasks_emulator)["nightly"].state == scheduler_v1.Job.State.ENABLED


def test_delete_all_asks_unless_yes(tasks_emulator, monkeypatch):
    schedule_task("a", tasks.noop_task, "0 2 * * *")
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    with pytest.raises(Exception, match="Nothing deleted"):
        run("--delete-all")
    assert set(remote_jobs(tasks_emulator)) == {"a"}
    assert run("--delete-all", "--yes")[-1] == "Deleted 1 job(s)."
    assert remote_jobs(tasks_emulator) == {}


def test_class_hooks_set_headers_and_oidc(tasks_emulator):
    from tests.tasks_google.periodic_classes import PublicPing

    declarations._declared.clear()  # a first import declared every class there
    declarations.declare_class(PublicPing)
    assert run()[0] == "[+] PublicPing (*/15 * * * *, UTC)"
    job = remote_jobs(tasks_emulator)["PublicPing"]
    assert job.http_target.headers["X-Purpose"] == "ping"
    assert not job.http_target.oidc_token.service_account_email
    assert job.retry_config.retry_count == 2
    assert run()[0] == "[=] PublicPing (*/15 * * * *, UTC)"


def test_bad_schedules_are_listed_and_nothing_is_applied(tasks_emulator):
    periodic("*/10 * * * *", name="tick")(tasks.noop_task)
    periodic("61 * * * *", name="bad-cron")(tasks.noop_task)
    periodic("@daily", name="bad-zone", time_zone="Mars/Olympus")(tasks.noop_task)
    ScheduledTask.objects.create(name="gone", task_path="shop.tasks.removed", cron="0 1 * * *")
    ScheduledTask.objects.create(name="extra-args", task_path=MEANING, args=[1], cron="0 1 * * *")
    for args in (["--dry-run"], []):
        message, out, err = run_refused(*args)
        assert message == "4 problem(s) above; nothing applied."
        assert out == ["[+] tick (*/10 * * * *, UTC)"]
        assert err[:2] == [
            f"[!] Schedule 'bad-cron' ({HERE}): cron '61 * * * *': the minute value 61 is not "
            "between 0 and 59. (tasks_google.E101)",
            f"[!] Schedule 'bad-zone' ({HERE}): 'Mars/Olympus' is not a time zone of the tz "
            "database (e.g. 'UTC', 'Europe/Paris'). (tasks_google.E102)",
        ]
        assert err[2].startswith(
            "[!] Schedule 'extra-args' (a ScheduledTask in the database): "
            "calculate_meaning_of_life() does not accept args=[1], kwargs={}: too many"
        )
        assert err[2].endswith("(tasks_google.E105)")
        assert err[3].startswith(
            "[!] Schedule 'gone' (a ScheduledTask in the database): Task 'shop.tasks.removed' "
            "cannot be imported: "
        )
        assert err[3].endswith("(tasks_google.E104)") and len(err) == 4
    assert remote_jobs(tasks_emulator) == {}
    assert sorted(ScheduledTask.objects.values_list("name", flat=True)) == ["extra-args", "gone"]
    assert not ScheduledTask.objects.filter(synced_at__isnull=False).exists()


def test_a_schedule_that_turns_bad_keeps_its_job_until_fixed(tasks_emulator):
    periodic("*/10 * * * *", name="tick")(tasks.noop_task)
    run()
    declarations._declared.clear()
    periodic("*/10 * * * *", name="tick", time_zone="Europe/Pariss")(tasks.noop_task)
    periodic("*/5 * * * *", name="tock")(tasks.noop_task)
    _, out, err = run_refused()
    # Neither deleted nor updated, and the valid new one waits too.
    assert out == ["[+] tock (*/5 * * * *, UTC)"] and len(err) == 1
    assert set(remote_jobs(tasks_emulator)) == {"tick"}
    assert remote_jobs(tasks_emulator)["tick"].time_zone == "UTC"


def test_a_refused_change_names_the_job_and_what_was_applied(tasks_emulator):
    periodic("*/10 * * * *", name="a-first")(tasks.noop_task)
    periodic("*/10 * * * *", name="b-second")(tasks.noop_task)
    tasks_emulator.cloud.faults.add(
        FaultRule(
            service="scheduler",
            operation="CreateJob",
            job="b-second",
            effect=RpcError(code="PERMISSION_DENIED"),
        )
    )
    message, _, _ = run_refused()
    assert message.startswith("Cloud Scheduler refused to create job b-second: 403 ")
    assert message.endswith("(1 change(s) applied before it, none after).")
    assert set(remote_jobs(tasks_emulator)) == {"a-first"}
    assert ScheduledTask.objects.get(name="b-second").sync_error.startswith("PermissionDenied")


def test_list_names_the_last_result_and_the_fire_error(tasks_emulator):
    schedule_task("fine", tasks.noop_task, "0 3 * * *")
    schedule_task("nightly", tasks.noop_task, "0 2 * * *")
    ScheduledTask.objects.filter(name="nightly").update(task_path="shop.tasks.removed")
    run("--run", "fine")
    run("--run", "nightly")
    tasks_emulator.run_until_idle()
    listed = {line.split("\t")[0]: line.split("\t") for line in run("--list")}
    assert listed["fine"][3:4] + listed["fine"][5:] == ["ENABLED", "last result OK"]
    assert listed["nightly"][5] == "last result NOT_FOUND"
    assert listed["nightly"][6].startswith(
        "fire error: Task 'shop.tasks.removed' cannot be imported: "
    )


@pytest.mark.django_db(transaction=True)
def test_manage_py_schedule_tasks_refuses_bad_schedules_without_a_traceback(tmp_path):
    ScheduledTask.objects.create(name="gone", task_path="shop.tasks.removed", cron="0 1 * * *")
    env = bad_schedules_project.project_environment(
        tmp_path, TASKS_GOOGLE_TEST_DB_NAME=connection.settings_dict["NAME"]
    )

    def schedule_tasks(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "django", "schedule_tasks", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True)

    # The system checks run first and stop it.
    checked = schedule_tasks("--dry-run")
    assert checked.returncode == 1 and "Traceback" not in checked.stderr
    assert f"(tasks_google.E101) {bad_schedules_project.MONTH_END_PROBLEM}" in checked.stderr
    # Past them, the plan: one line per problem, including the database's.
    for args in (["--skip-checks", "--dry-run"], ["--skip-checks"]):
        planned = schedule_tasks(*args)
        assert planned.returncode == 1 and "Traceback" not in planned.stderr
        lines = planned.stderr.splitlines()
        assert lines[0] == f"[!] {bad_schedules_project.NIGHTLY_PROBLEM} (tasks_google.E102)"
        assert lines[1].startswith("[!] Schedule 'gone' (a ScheduledTask in the database)")
        assert lines[2] == f"[!] {bad_schedules_project.MONTH_END_PROBLEM} (tasks_google.E101)"
        assert lines[3:] == ["CommandError: 3 problem(s) above; nothing applied."]


def test_two_periodic_task_classes_cannot_share_a_schedule_name():
    from tasks_google import PeriodicTask

    class Cleanup(PeriodicTask):
        run_every = "@daily"

        def run(self) -> None: ...

    with pytest.raises(ValueError, match="Two schedules are named 'Cleanup'"):

        class Purge(PeriodicTask):
            run_every = "@hourly"

            @classmethod
            def schedule_name(cls) -> str:
                return "Cleanup"

            def run(self) -> None: ...
